/*
 * dashboard.js - the parapet dashboard's page logic.
 *
 * Everything shown comes from the JSON API of `parapetctl dashboard`
 * (milter/admin/dashboard.h).  Text that came from mail (addresses, domains,
 * HELO names, symbols) is only ever put into the page with textContent
 * or as an attribute value, never as markup.  Writes are POSTs with the
 * X-Parapet-Dashboard header the server requires.  The chart is plain
 * SVG drawn here: no third-party code.
 */
'use strict';

(function () {
  const HDR = { 'X-Parapet-Dashboard': '1' };
  const ACTIONS = ['accept', 'quarantine', 'tempfail', 'reject', 'other'];
  const SVGNS = 'http://www.w3.org/2000/svg';
  const REFRESH_MS = 5000;
  let info = { writes: false };
  let lastSearch = '';
  let timer = null;

  function $(id) { return document.getElementById(id); }

  /* el - an element whose text (never markup) is text */
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function svg(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }

  function say(msg, bad) {
    const s = $('status');
    s.textContent = msg;
    s.className = bad ? 'bad' : '';
  }

  async function api(path, opts) {
    const o = Object.assign({ headers: HDR, credentials: 'same-origin', cache: 'no-store' }, opts || {});
    const r = await fetch(path, o);
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) throw new Error((body && body.error) || ('HTTP ' + r.status));
    return body;
  }

  function num(v, d) {
    return typeof v === 'number' && isFinite(v) ? v.toFixed(d) : '';
  }

  function utc(ts) {
    const n = Number(ts);
    if (!isFinite(n) || n <= 0) return '';
    return new Date(n * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
  }

  /* ------------------------------------------------------------ marks */

  function markButtons(kind, value, exists) {
    const td = el('td', null, 'marks');
    const ops = [['spam', 'mark spam', 'mark-spam'], ['ham', 'mark ham', 'mark-ham'],
      ['clear', 'clear', 'clear']];
    for (const [op, label, cls] of ops) {
      const b = el('button', label, cls);
      b.type = 'button';
      b.dataset.op = op;
      b.dataset.kind = kind;
      b.dataset.value = value;
      if (!info.writes) {
        b.disabled = true;
        b.title = 'writes are disabled (--password-file or --allow-writes)';
      } else if (op === 'clear' && !exists) {
        b.disabled = true;
      }
      b.addEventListener('click', () => mark(kind, value, op));
      td.appendChild(b);
    }
    return td;
  }

  async function mark(kind, value, op) {
    try {
      const r = await api('/api/mark', {
        method: 'POST',
        headers: Object.assign({ 'Content-Type': 'application/json' }, HDR),
        body: JSON.stringify({ kind: kind, value: value, op: op })
      });
      const e = r.entry;
      say(kind + ' ' + e.value + ': ' + (op === 'clear'
        ? (r.existed ? 'cleared' : 'had no reputation')
        : 'marked ' + op + ' (spam ' + num(e.spam, 2) + ', ham ' + num(e.ham, 2) + ')'));
    } catch (err) {
      say(kind + ' ' + value + ': ' + err.message, true);
    }
    await Promise.all([loadTop(), lastSearch ? search(lastSearch) : null]);
  }

  function keyRow(e, first) {
    const tr = el('tr');
    tr.dataset.kind = e.kind;
    tr.dataset.value = e.value;
    tr.dataset.exists = e.exists ? '1' : '0';
    if (first !== undefined) tr.appendChild(el('td', first, 'num'));
    else tr.appendChild(el('td', e.kind));
    tr.appendChild(el('td', e.value, 'value'));
    tr.appendChild(el('td', e.exists ? num(e.spam, 2) : '-', 'num spam'));
    tr.appendChild(el('td', e.exists ? num(e.ham, 2) : '-', 'num ham'));
    tr.appendChild(el('td', e.score === null ? '-' : num(e.score, 2), 'num score'));
    if (first === undefined) tr.appendChild(el('td', e.exists ? utc(e.seen) : 'no reputation'));
    tr.appendChild(markButtons(e.kind, e.value, e.exists));
    return tr;
  }

  /* ------------------------------------------------------------ top */

  async function loadTop() {
    const kind = $('top-kind').value;
    const n = $('top-n').value;
    const tbody = $('top-table').tBodies[0];
    try {
      const r = await api('/api/top?kind=' + encodeURIComponent(kind) + '&n=' + encodeURIComponent(n));
      tbody.replaceChildren(...r.entries.map((e, i) => keyRow(e, i + 1)));
      if (r.entries.length === 0) {
        const tr = el('tr');
        const td = el('td', 'no keys of kind ' + kind);
        td.colSpan = 6;
        tr.appendChild(td);
        tbody.appendChild(tr);
      }
      $('top-table').dataset.kind = kind;
    } catch (err) {
      say('top: ' + err.message, true);
    }
  }

  /* ------------------------------------------------------------ search */

  async function search(q) {
    const tbody = $('search-results').tBodies[0];
    $('search-error').textContent = '';
    try {
      const r = await api('/api/rep?q=' + encodeURIComponent(q));
      lastSearch = q;
      tbody.replaceChildren(...r.entries.map((e) => keyRow(e)));
      $('search-results').dataset.query = q;
    } catch (err) {
      tbody.replaceChildren();
      $('search-error').textContent = q + ': ' + err.message;
    }
  }

  /* ------------------------------------------------------------ feed */

  function feedQuery() {
    const p = new URLSearchParams();
    for (const [name, id] of [['action', 'f-action'], ['ip', 'f-ip'], ['domain', 'f-domain'],
      ['symbol', 'f-symbol'], ['count', 'f-count']]) {
      const v = $(id).value.trim();
      if (v) p.set(name, v);
    }
    return p.toString();
  }

  function feedRow(m) {
    const tr = el('tr');
    tr.dataset.id = m.id;
    tr.dataset.qid = m.qid || '';
    const cells = [
      [utc(m.ts), 'ts'], [m.qid, 'qid'], [m.ip, 'ip'], [m.helo, 'helo'],
      [m.mfrom, 'mfrom'], [m.from, 'from'], [m.rcpts, 'rcpts'], [m.score, 'num score'],
      [m.action, 'action action-' + String(m.action || '').replace(/[^a-z]/g, '')],
      [m.symbols ? m.symbols.split(',').join(', ') : '', 'symbols'], [m.ms, 'num ms']
    ];
    for (const [text, cls] of cells) tr.appendChild(el('td', text, cls));
    return tr;
  }

  async function loadFeed() {
    const tbody = $('feed-table').tBodies[0];
    try {
      const r = await api('/api/feed?' + feedQuery());
      tbody.replaceChildren(...r.entries.map(feedRow));
      $('feed-count').textContent = r.entries.length + ' message' +
        (r.entries.length === 1 ? '' : 's') + ' shown (' + r.scanned + ' log entries read)';
      $('feed-table').dataset.count = String(r.entries.length);
    } catch (err) {
      say('feed: ' + err.message, true);
    }
  }

  /* ------------------------------------------------------------ chart */

  async function loadChart() {
    const hours = $('hours').value;
    const box = $('chart');
    try {
      const r = await api('/api/stats?hours=' + encodeURIComponent(hours));
      box.replaceChildren(drawChart(r.hours));
      let total = 0;
      for (const h of r.hours) for (const a of ACTIONS) total += h[a];
      box.dataset.total = String(total);
    } catch (err) {
      say('stats: ' + err.message, true);
    }
  }

  /* drawChart - stacked bars, one per hour, in a 600x220 view box */
  function drawChart(rows) {
    const W = 600, H = 220, L = 36, B = 20, T = 8;
    const s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'messages per hour by action' });
    let max = 1;
    for (const h of rows) {
      let t = 0;
      for (const a of ACTIONS) t += h[a];
      max = Math.max(max, t);
    }
    const step = Math.pow(10, Math.floor(Math.log10(max)));
    const top = Math.ceil(max / step) * step;
    const y = (v) => H - B - (H - B - T) * v / top;
    for (const v of [0, top / 2, top]) {
      s.appendChild(svg('line', { x1: L, x2: W, y1: y(v), y2: y(v), class: 'axis' }));
      const t = svg('text', { x: L - 4, y: y(v) + 3, 'text-anchor': 'end' });
      t.textContent = String(Math.round(v));
      s.appendChild(t);
    }
    const bw = (W - L) / Math.max(rows.length, 1);
    const every = Math.ceil(rows.length / 12);
    rows.forEach((h, i) => {
      const x = L + i * bw;
      let acc = 0;
      for (const a of ACTIONS) {
        if (!h[a]) continue;
        const r = svg('rect', { x: x + 1, width: Math.max(bw - 2, 1), y: y(acc + h[a]),
          height: y(acc) - y(acc + h[a]), class: 'bar-' + a });
        const title = svg('title', {});
        title.textContent = h.hour.slice(0, 4) + '-' + h.hour.slice(4, 6) + '-' + h.hour.slice(6, 8) +
          ' ' + h.hour.slice(8, 10) + 'h UTC: ' + h[a] + ' ' + a;
        r.appendChild(title);
        s.appendChild(r);
        acc += h[a];
      }
      if (i % every === 0) {
        const t = svg('text', { x: x + bw / 2, y: H - 6, 'text-anchor': 'middle' });
        t.textContent = h.hour.slice(8, 10) + 'h';
        s.appendChild(t);
      }
    });
    return s;
  }

  /* ------------------------------------------------------------ start */

  function refresh() {
    return Promise.all([loadFeed(), loadChart(), loadTop()]);
  }

  function schedule() {
    if (timer) clearInterval(timer);
    timer = $('live').checked ? setInterval(refresh, REFRESH_MS) : null;
  }

  async function start() {
    const legend = $('legend');
    for (const a of ACTIONS) legend.appendChild(el('li', a, a));
    try {
      info = await api('/api/info');
      $('mode').textContent = info.writes ? 'writes enabled' : 'read only';
      $('mode').className = 'badge' + (info.writes ? ' writes' : '');
      $('version').textContent = info.version;
      $('redis').textContent = info.redis || '(none)';
    } catch (err) {
      say('info: ' + err.message, true);
    }
    $('feed-filter').addEventListener('submit', (ev) => { ev.preventDefault(); loadFeed(); });
    $('f-action').addEventListener('change', loadFeed);
    $('search-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const q = $('search').value.trim();
      if (q) search(q);
    });
    $('top-kind').addEventListener('change', loadTop);
    $('top-n').addEventListener('change', loadTop);
    $('hours').addEventListener('change', loadChart);
    $('live').addEventListener('change', schedule);
    await refresh();
    schedule();
    document.body.dataset.ready = '1';
  }

  document.addEventListener('DOMContentLoaded', start);
})();
