/*
 * dashboard.spec.js - the dashboard in a real browser: playwright-core
 * drives Debian's chromium (headless, --no-sandbox, no background
 * networking; playwright never downloads a browser).  Run by
 * test_dashboard.py, which starts the servers and passes what Redis holds
 * in the JSON file $DASH_PARAMS.  Prints one "ok - NAME" or
 * "not ok - NAME -- DETAIL" line per check; exit 1 if any failed.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { chromium } = require('playwright-core');

const P = JSON.parse(fs.readFileSync(process.env.DASH_PARAMS, 'utf8'));
let failed = 0;

function check(cond, name, detail) {
  if (cond) {
    console.log('ok - ' + name);
  } else {
    failed++;
    const d = detail === undefined ? '' : ' -- ' + JSON.stringify(detail).slice(0, 1500);
    console.log('not ok - ' + name + d);
  }
  return cond;
}

function cli(...args) {
  return execFileSync('redis-cli', ['-p', String(P.redis_port), '--raw', ...args],
    { encoding: 'utf8' }).trim();
}

function hget(kind, value, field) {
  const v = cli('HGET', P.prefix + 'rep:' + kind + ':' + value, field);
  return v === '' ? null : Number(v);
}

const CELL = { ts: 0, qid: 1, ip: 2, helo: 3, mfrom: 4, from: 5, rcpts: 6, score: 7,
  action: 8, symbols: 9, ms: 10 };

async function feedRows(page) {
  return page.$$eval('#feed-table tbody tr', (trs) => trs.map((tr) => ({
    qid: tr.dataset.qid,
    cells: Array.from(tr.cells).map((td) => td.textContent)
  })));
}

async function shot(page, name) {
  const file = path.join(P.artifacts, 'dashboard-' + name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  console.log('# screenshot ' + file);
}

async function main() {
  const browser = await chromium.launch({
    executablePath: P.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage',
      '--disable-gpu', '--no-first-run', '--disable-component-update', '--disable-sync',
      '--disable-extensions']
  });
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await ctx.newPage();
  const dialogs = [];
  const errors = [];
  const foreign = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('request', (r) => { if (!r.url().startsWith(P.url + '/')) foreign.push(r.url()); });

  await page.goto(P.url + '/');
  await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });

  /* ---- the feed */
  let rows = await feedRows(page);
  check(rows.length === P.feed.length, 'the feed shows all ' + P.feed.length + ' log entries',
    rows.length);
  check(JSON.stringify(rows.map((r) => r.qid)) === JSON.stringify(P.feed.map((e) => e.qid)),
    'feed rows are the log entries newest first, by queue id',
    { got: rows.map((r) => r.qid), want: P.feed.map((e) => e.qid) });
  const bad = P.feed.filter((e, i) => !rows[i] || rows[i].cells[CELL.ip] !== e.ip ||
    rows[i].cells[CELL.action] !== e.action || rows[i].cells[CELL.qid] !== e.qid);
  check(bad.length === 0, 'each row shows its queue id, client IP and action', bad.slice(0, 3));

  /* ---- mail-derived markup is text */
  const H = P.hostile;
  const h = rows.find((r) => r.qid === H.qid);
  check(h && h.cells[CELL.ip] === H.ip && h.cells[CELL.helo] === H.helo &&
    h.cells[CELL.mfrom] === H.mfrom && h.cells[CELL.from] === H.from &&
    h.cells[CELL.rcpts] === H.rcpts &&
    h.cells[CELL.symbols] === H.symbols.split(',').join(', '),
  'markup in every field of a log entry is shown as literal text', h);
  const x = rows.find((r) => r.qid === P.xss_qid);
  const xw = P.feed.find((e) => e.qid === P.xss_qid);
  check(x && xw && x.cells[CELL.from] === xw.from && x.cells[CELL.helo] === xw.helo &&
    xw.helo === P.xss_helo,
  'the Postfix message with <script> in From and HELO: its row shows exactly the text ' +
    'Redis holds, HELO ' + P.xss_helo + ' as text', { row: x, redis: xw });
  const scriptText = await page.locator('#feed-table td', { hasText: '<script>alert(4)</script>' }).count();
  check(scriptText === 1, 'the text "<script>alert(4)</script>" is visible as text', scriptText);
  const injected = await page.evaluate(() =>
    document.querySelectorAll('main script, main img, main iframe, #feed-table svg, ' +
      '#feed-table b, #feed-table i, #top-table img, #search-results img').length);
  check(injected === 0, 'no element was created from mail-derived text', injected);
  await shot(page, 'full');

  /* ---- top spam sources = parapetctl rep top ip --json */
  const top = await page.$$eval('#top-table tbody tr[data-value]', (trs) => trs.map((tr) => ({
    value: tr.dataset.value,
    text: tr.cells[1].textContent,
    spam: tr.querySelector('.spam').textContent,
    ham: tr.querySelector('.ham').textContent
  })));
  const want = (P.top_ip || []).map((e) => ({
    value: e.value,
    text: e.value,
    spam: e.exists ? e.spam.toFixed(2) : '-',
    ham: e.exists ? e.ham.toFixed(2) : '-'
  }));
  check(want.length > 5 && JSON.stringify(top) === JSON.stringify(want),
    'top ip list equals `parapetctl rep top ip --json` (' + want.length + ' keys)',
    { got: top, want: want });

  /* ---- search box */
  const ip = P.search_ip;
  await page.fill('#search', ip);
  await page.click('#search-button');
  await page.waitForSelector('#search-results[data-query="' + ip + '"] tbody tr');
  let found = await page.$$eval('#search-results tbody tr', (trs) => trs.map((tr) => ({
    kind: tr.dataset.kind, value: tr.dataset.value, spam: tr.querySelector('.spam').textContent,
    ham: tr.querySelector('.ham').textContent })));
  check(found.length === 2 && found[0].kind === 'ip' && found[0].value === ip &&
    found[1].kind === 'net',
  'search for ' + ip + ' shows its ip and net keys', found);
  check(found[0] && found[0].spam === (P.search_spam || 0).toFixed(2) &&
    found[0].ham === (P.search_ham || 0).toFixed(2),
  'its counts are those in Redis (spam ' + P.search_spam + ', ham ' + P.search_ham + ')', found);
  await shot(page, 'search');

  /* ---- mark spam, then clear */
  const before = hget('ip', ip, 'spam');
  await page.click('#search-results tr[data-kind="ip"] button.mark-spam');
  await page.waitForFunction(() => /marked spam/.test(document.getElementById('status').textContent),
    null, { timeout: 10000 });
  const spam = hget('ip', ip, 'spam');
  const ham = hget('ip', ip, 'ham');
  check(spam === P.min_count && ham === 0 && before !== spam,
    '"mark spam" sets spam ' + P.min_count + ', ham 0 (redis-cli HGET)',
    { before: before, spam: spam, ham: ham });
  await page.waitForFunction((v) => {
    const td = document.querySelector('#search-results tr[data-kind="ip"] .spam');
    return td && td.textContent === v;
  }, P.min_count.toFixed(2), { timeout: 10000 });
  check(true, 'the search result shows the new spam count');
  await shot(page, 'marked');
  await page.click('#search-results tr[data-kind="ip"] button.clear');
  await page.waitForFunction(() => /cleared/.test(document.getElementById('status').textContent),
    null, { timeout: 10000 });
  const exists = cli('EXISTS', P.prefix + 'rep:ip:' + ip);
  const member = cli('ZSCORE', P.prefix + 'top:ip', ip);
  check(exists === '0' && member === '', '"clear" deletes the key and its top:ip member (redis-cli)',
    { exists: exists, zscore: member });
  await page.waitForSelector('#search-results tr[data-kind="ip"][data-exists="0"]');
  check(true, 'the search result shows no reputation after clear');
  const topNow = await page.$$eval('#top-table tbody tr[data-value]', (trs) => trs.map((tr) => tr.dataset.value));
  check(!topNow.includes(ip), 'the top list was reloaded without the cleared key', topNow);

  /* ---- filters */
  await page.uncheck('#live');
  await page.selectOption('#f-action', 'reject');
  await page.waitForSelector('#feed-table[data-count="' + P.n_reject + '"]', { timeout: 10000 });
  rows = await feedRows(page);
  check(rows.length === P.n_reject && rows.every((r) => r.cells[CELL.action] === 'reject'),
    'action filter: ' + P.n_reject + ' rejected messages', rows.map((r) => r.cells[CELL.action]));
  await page.selectOption('#f-action', '');
  await page.fill('#f-symbol', 'T_ODD');
  await page.click('#feed-apply');
  await page.waitForSelector('#feed-table[data-count="1"]', { timeout: 10000 });
  rows = await feedRows(page);
  check(rows.length === 1 && rows[0].qid === H.qid, 'symbol filter finds the one entry with T_ODD',
    rows);
  await page.fill('#f-symbol', '');
  await page.fill('#f-ip', '203.0.113.');
  await page.click('#feed-apply');
  const nSpamIp = P.feed.filter((e) => e.ip.startsWith('203.0.113.')).length;
  await page.waitForSelector('#feed-table[data-count="' + nSpamIp + '"]', { timeout: 10000 });
  rows = await feedRows(page);
  check(rows.every((r) => r.cells[CELL.ip].startsWith('203.0.113.')),
    'IP prefix filter: ' + nSpamIp + ' messages from 203.0.113.*', rows.length);
  await shot(page, 'filter');

  /* ---- chart */
  const bars = await page.locator('#chart svg rect').count();
  const total = await page.getAttribute('#chart', 'data-total');
  check(bars > 0 && Number(total) === P.stats_total,
    'the chart draws the hour\'s ' + P.stats_total + ' messages', { bars: bars, total: total });

  /* ---- a read-only dashboard */
  const ro = await ctx.newPage();
  ro.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  await ro.goto(P.ro_url + '/');
  await ro.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
  const btns = await ro.$$eval('#top-table button', (bs) => bs.map((b) => b.disabled));
  check(btns.length > 0 && btns.every((d) => d), 'read-only dashboard: every mark button is disabled',
    btns);
  check(/read only/.test(await ro.textContent('#mode')), 'read-only dashboard says so');
  await shot(ro, 'readonly');

  check(dialogs.length === 0, 'no dialog (alert) ever opened', dialogs);
  check(errors.length === 0, 'no JavaScript errors', errors);
  check(foreign.length === 0, 'the page loads nothing from anywhere else', foreign);
  await browser.close();
}

main().then(() => process.exit(failed ? 1 : 0), (e) => {
  console.log('not ok - dashboard.spec.js ran without an exception -- ' +
    JSON.stringify(String(e && e.stack ? e.stack : e)));
  process.exit(1);
});
