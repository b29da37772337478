#!/usr/bin/env python3
"""test_dashboard.py - `parapetctl dashboard` (issue 7, part 2) in a real
browser, over a Redis filled by a real Postfix stream.

A throwaway redis-server, parapet with `redis = ...` behind a private
Postfix, and a stream of ham, quarantined spam, rejected spam and one
message whose From display name is <script>alert(1)</script>.  One more
log entry with markup in every field (client, HELO, senders, symbols) is
added with XADD, as any other writer of the stream could, and a markup
member is put into top:ip.  Then three dashboards over that Redis:

  rw   --allow-writes           the browser test and the write checks
  ro   --host dash.parapet.test writes refused; one more Host name
  auth --password-file FILE     Basic authentication

Plain HTTP checks (urllib): API answers match Redis; feed filters by
action, IP, domain and symbol; the top list equals `parapetctl rep top`;
writes are refused without --allow-writes (403), by GET (405), without
the X-Parapet-Dashboard header or from another Origin (403); 401 without
and 200 with credentials; hostile values come back as escaped JSON; a
Host that does not name the dashboard (DNS rebinding) is 421 on every
path, writes included, while localhost:PORT and a --host name pass.

Browser checks (tests/browser/dashboard.spec.js: playwright-core driving
Debian's /usr/bin/chromium, headless, --no-sandbox, no background
networking; npm ci of the committed lock into the build tree): the feed
shows every message, the markup values appear as literal text and run no
script (no dialog, no injected element), the top list equals `parapetctl
rep top ip --json`, the search box finds an IP's keys, "mark spam" and
"clear" change Redis (checked with redis-cli), filters work, and the
read-only dashboard disables the buttons.  With Redis stopped the API
answers 502 at once and the page is still served.  Screenshots go to
$PARAPET_BUILDDIR/tests/artifacts/dashboard-*.png.

Ends with "N passed, N failed".
"""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
from harness import (BUILDDIR, SRCDIR, Parapet, Postfix, Sink, Skip,  # noqa: E402
                     TestRun, free_port, make_message, send_many, wait_until)

CHROMIUM = "/usr/bin/chromium"
PREFIX = "parapet:"
RULES = """\
body     T_SPAMMARK  /XSPAMX/
score    T_SPAMMARK  8
body     T_REJMARK   /XREJECTX/
score    T_REJMARK   20
header   T_SUBJ      Subject =~ /dashboard/
score    T_SUBJ      0.1
"""
MIN_COUNT = 3			# rep_min_count: what "mark spam" sets
HAM_IPS = ["192.0.2.%d" % i for i in range(10, 16)]
SPAM_IPS = ["203.0.113.%d" % i for i in range(20, 25)]
REJ_IPS = ["198.51.100.%d" % i for i in range(50, 53)]
XSS_FROM = '"<script>alert(1)</script>" <x@evil.test>'
XSS_HELO = "<script>alert(7)</script>"
HOSTILE = {
    "qid": "HOSTILE1",
    "ip": '"><img src=x onerror=alert(2)>',
    "helo": "<svg/onload=alert(3)>",
    "mfrom": "<b>bold</b>@odd.test",
    "from": '"<script>alert(4)</script>" <x@odd.test>',
    "rcpts": "<i>r</i>@rcpt.test",
    "score": "1.00",
    "action": "accept",
    "symbols": "<img src=x onerror=alert(5)>,T_ODD",
    "ms": "1.0",
}
TOP_HOSTILE = "<img src=x onerror=alert(6)>"


# ---------------------------------------------------------------- servers

class Dashboard(harness._Daemon):
    """Dashboard - `parapetctl -c CONF dashboard --listen 127.0.0.1:PORT ...`."""

    def __init__(self, workdir, conf, extra, name):
        self.name = name
        super().__init__(workdir)
        self.port = free_port()
        self.conf = conf
        self.extra = extra
        self.url = "http://127.0.0.1:%d" % self.port

    def argv(self):
        return [os.path.join(BUILDDIR, "milter", "parapetctl"), "-c", self.conf, "dashboard",
                "--listen", "127.0.0.1:%d" % self.port] + self.extra

    def _ready(self):
        return harness._tcp_ready(self.port)


def http(url, method="GET", body=None, headers=None, auth=None):
    """http - (status, headers, body bytes); never raises for HTTP errors."""
    h = dict(headers or {})
    if auth:
        h["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, method=method, data=data, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def api_json(url, **kw):
    st, hd, body = http(url, **kw)
    try:
        return st, json.loads(body.decode())
    except ValueError:
        return st, None


def post_mark(d, fields, headers=None, form=False, auth=None):
    h = {"X-Parapet-Dashboard": "1"}
    h.update(headers or {})
    if form:
        h["Content-Type"] = "application/x-www-form-urlencoded"
        body = urllib.parse.urlencode(fields)
    else:
        h["Content-Type"] = "application/json"
        body = json.dumps(fields)
    return http(d.url + "/api/mark", method="POST", body=body, headers=h, auth=auth)


def ctl(conf, *args):
    r = subprocess.run([os.path.join(BUILDDIR, "milter", "parapetctl"), "-c", conf] + list(args),
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def hget(redis, kind, value, field):
    v = redis.cli("HGET", "%srep:%s:%s" % (PREFIX, kind, value), field).strip()
    return float(v) if v else None


# ---------------------------------------------------------------- node side

def npm_install(run, dest):
    """npm_install - the committed package.json + lock into dest (the build
    tree), `npm ci` only when the lock changed; Skip without node/npm."""
    for prog in ("node", "npm"):
        if shutil.which(prog) is None:
            run.skip("%s is missing (scripts/deps.sh installs nodejs and npm)" % prog)
    if not os.access(CHROMIUM, os.X_OK):
        run.skip("%s is missing (scripts/deps.sh installs Debian's chromium)" % CHROMIUM)
    os.makedirs(dest, exist_ok=True)
    lock = open(os.path.join(HERE, "package-lock.json"), "rb").read()
    stamp = os.path.join(dest, "node_modules", ".parapet-lock-sha256")
    want = hashlib.sha256(lock + open(os.path.join(HERE, "package.json"), "rb").read()).hexdigest()
    if os.path.exists(stamp) and open(stamp).read().strip() == want:
        return
    for f in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(HERE, f), dest)
    env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1", npm_config_audit="false",
               npm_config_fund="false", npm_config_update_notifier="false")
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=dest, env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise Skip("npm ci in %s failed (network to the npm registry?):\n%s" % (
            dest, (r.stdout + r.stderr)[-2000:]))
    with open(stamp, "w") as f:
        f.write(want + "\n")


def run_spec(run, nm_dir, params_path):
    """run_spec - node dashboard.spec.js; each of its ok / not ok lines is
    one check here."""
    env = dict(os.environ, NODE_PATH=os.path.join(nm_dir, "node_modules"),
               DASH_PARAMS=params_path)
    t = time.monotonic()
    r = subprocess.run(["node", os.path.join(HERE, "dashboard.spec.js")], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
    n = 0
    for line in r.stdout.splitlines():
        if line.startswith("ok - "):
            run.check(True, "browser: " + line[5:])
            n += 1
        elif line.startswith("not ok - "):
            name, _, detail = line[9:].partition(" -- ")
            run.check(False, "browser: " + name, detail)
            n += 1
        else:
            run.note(line)
    run.check(r.returncode == 0 and n > 0,
              "dashboard.spec.js ran to the end (%d checks, %.1f s)" % (n, time.monotonic() - t),
              "exit %s\n%s" % (r.returncode, r.stderr[-3000:]))


# ---------------------------------------------------------------- test

def main():
    with TestRun("test_dashboard") as run:
        run.require_root_and_postfix()
        if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
            run.skip("redis-server / redis-cli missing (Debian package redis-server)")
        nm_dir = os.path.join(BUILDDIR, "tests", "browser")
        npm_install(run, nm_dir)
        artifacts = os.path.join(BUILDDIR, "tests", "artifacts")
        os.makedirs(artifacts, exist_ok=True)
        os.environ["PARAPET_DASHBOARD_DIR"] = os.path.join(SRCDIR, "dashboard")
        wd = run.workdir

        redis = harness.Redis(os.path.join(wd, "redis")).start()
        sink = Sink().start()
        parapet = Parapet(os.path.join(wd, "parapet"), {
            "redis": "127.0.0.1:%d" % redis.port,
            "redis_timeout_ms": "3000",
            "greylist": "no",
            "quarantine_score": "7",
            "rep_min_count": str(MIN_COUNT),
        }, RULES)
        parapet.start()
        pf = Postfix(os.path.join(wd, "postfix"), sink.port, milter=parapet.socket_spec)
        pf.start()
        run.on_fail(lambda: "parapet log (tail):\n" + parapet.log()[-3000:])

        # ------------------------------------------------ the stream
        jobs, kinds = [], []

        def job(kind, ip, mfrom, n, body):
            tid = "dash-%s-%d" % (kind, n)
            jobs.append(dict(mail_from=mfrom, rcpts=["bob@rcpt.test"], xclient_addr=ip,
                             data_bytes=make_message(tid, subject="dashboard %s" % kind,
                                                     body=body, sender=mfrom)))
            kinds.append(kind)

        for i in range(12):
            job("ham", HAM_IPS[i % len(HAM_IPS)], "alice@good.test", i, "hello\n")
        for i in range(10):
            job("spam", SPAM_IPS[i % len(SPAM_IPS)], "promo@bad.test", i, "XSPAMX offer\n")
        for i in range(6):
            job("reject", REJ_IPS[i % len(REJ_IPS)], "scam@worse.test", i, "XREJECTX\n")
        jobs.append(dict(mail_from="x@evil.test", rcpts=["bob@rcpt.test"],
                         xclient_addr="192.0.2.99", helo=XSS_HELO,
                         data_bytes=make_message("dash-xss", subject="dashboard xss",
                                                 body="hi\n", sender=XSS_FROM)))
        kinds.append("ham")
        n_ham = kinds.count("ham")
        n_spam = kinds.count("spam")
        n_rej = kinds.count("reject")

        with run.section("stream through Postfix into Redis"):
            outcomes = send_many(pf.port, jobs, concurrency=6)
            codes = [o.final.code if o.final else None for o in outcomes]
            want = [550 if k == "reject" else 250 for k in kinds]
            run.check(codes == want, "SMTP replies: ham/spam 250, reject 550", repr(codes))
            total = len(jobs)
            run.check(wait_until(lambda: redis.call("XLEN", PREFIX + "log") == total, 30),
                      "the log stream holds all %d verdicts" % total,
                      str(redis.call("XLEN", PREFIX + "log")))
            log = redis.call("XRANGE", PREFIX + "log", "-", "+")
            entries = [dict(zip(f[0::2], f[1::2]), id=i) for i, f in log]
            qids = [e["qid"] for e in entries]
            run.check(len(set(qids)) == total and all(qids), "every entry has its own queue id",
                      repr(qids))
            xss_entry = [e for e in entries if e.get("ip") == "192.0.2.99"]
            run.check(len(xss_entry) == 1, "the <script> message is in the log")
            xss_entry = xss_entry[0] if xss_entry else {}
            # the log's `from` is the angle-addr of From: (rep_stage.c), so
            # the display name itself is not in it; the HELO is, verbatim
            run.note("log 'from' of the <script> message: %r" % xss_entry.get("from"))
            run.check(xss_entry.get("helo") == XSS_HELO,
                      "Postfix passed the HELO %s into the log" % XSS_HELO,
                      repr(xss_entry.get("helo")))
            # the other writer: markup in every field
            args = ["XADD", PREFIX + "log", "*"]
            for k in ("qid", "ip", "helo", "mfrom", "from", "rcpts", "score", "action",
                      "symbols", "ms"):
                args += [k, HOSTILE[k]]
            args += ["ts", str(int(time.time()))]
            redis.call(*args)
            redis.call("ZADD", PREFIX + "top:ip", "0.5", TOP_HOSTILE)
            entries = [dict(zip(f[0::2], f[1::2]), id=i)
                       for i, f in redis.call("XRANGE", PREFIX + "log", "-", "+")]

        conf = parapet.conf_path
        pwfile = os.path.join(wd, "dashboard.pw")
        with open(pwfile, "w") as f:
            f.write("admin:s3cret-Pw\n")
        os.chmod(pwfile, 0o600)
        rw = Dashboard(os.path.join(wd, "dash-rw"), conf, ["--allow-writes"], "dash-rw").start()
        ro = Dashboard(os.path.join(wd, "dash-ro"), conf, ["--host", "dash.parapet.test"],
                       "dash-ro").start()
        au = Dashboard(os.path.join(wd, "dash-auth"), conf, ["--password-file", pwfile],
                       "dash-auth").start()
        run.on_fail(lambda: "dashboard logs:\n" + rw.log()[-2000:] + ro.log()[-1000:] +
                    au.log()[-1000:])

        with run.section("HTTP: pages and read API"):
            st, hd, body = http(rw.url + "/")
            run.check(st == 200 and b"dashboard.js" in body, "GET / serves index.html", st)
            csp = hd.get("Content-Security-Policy", "")
            run.check("script-src 'self'" in csp and "default-src 'none'" in csp,
                      "a strict Content-Security-Policy", csp)
            run.check(hd.get("X-Content-Type-Options") == "nosniff", "nosniff")
            for f in ("dashboard.js", "dashboard.css"):
                st, hd, body = http(rw.url + "/" + f)
                run.check(st == 200 and len(body) > 100, "GET /%s" % f, st)
            for bad in ("/../parapet.conf", "/%2e%2e/etc/passwd", "/.hidden.js", "/nope.html"):
                st, _, _ = http(rw.url + bad)
                run.check(st == 404, "GET %s is 404" % bad, st)
            st, j = api_json(rw.url + "/api/info")
            run.check(st == 200 and j["writes"] is True and j["auth"] is False,
                      "/api/info: writes on, no auth (--allow-writes)", j)
            st, j = api_json(rw.url + "/api/feed?count=1000")
            got = [e["qid"] for e in j["entries"]] if j else []
            want = [e["qid"] for e in reversed(entries)]
            run.check(st == 200 and got == want,
                      "/api/feed lists every log entry, newest first (%d)" % len(want),
                      "%r\n%r" % (got, want))
            for name, q, pred in (
                    ("action=reject", "action=reject", lambda e: e["action"] == "reject"),
                    ("action=quarantine", "action=quarantine",
                     lambda e: e["action"] == "quarantine"),
                    ("ip=203.0.113.", "ip=203.0.113.", lambda e: e["ip"].startswith("203.0.113.")),
                    ("domain=bad.test", "domain=bad.test",
                     lambda e: e.get("mfrom", "").endswith("@bad.test")),
                    ("symbol=T_REJMARK", "symbol=T_REJMARK",
                     lambda e: "T_REJMARK" in e.get("symbols", "").split(",")),
                    ("symbol=T_ODD&action=accept", "symbol=T_ODD&action=accept",
                     lambda e: "T_ODD" in e.get("symbols", "").split(","))):
                st, j = api_json(rw.url + "/api/feed?count=1000&" + q)
                got = sorted(e["id"] for e in j["entries"]) if j else None
                want = sorted(e["id"] for e in entries if pred(e))
                run.check(st == 200 and got == want and want,
                          "/api/feed?%s: %d entries, as Redis has them" % (name, len(want)),
                          "%r\n%r" % (got, want))
            run.check(len(api_json(rw.url + "/api/feed?action=reject")[1]["entries"]) == n_rej,
                      "rejected messages in the feed = %d" % n_rej)
            st, j = api_json(rw.url + "/api/stats?hours=2")
            tot = {a: sum(h[a] for h in j["hours"]) for a in ("accept", "quarantine", "reject")}
            run.check(tot == {"accept": n_ham, "quarantine": n_spam, "reject": n_rej},
                      "/api/stats: %d accept, %d quarantine, %d reject" % (n_ham, n_spam, n_rej),
                      repr(tot))
            rc, out, err = ctl(conf, "rep", "top", "ip", "20", "--json")
            cli_top = json.loads(out) if rc == 0 else []
            st, j = api_json(rw.url + "/api/top?kind=ip&n=20")
            run.check([(e["value"], round(e.get("spam", 0), 1), round(e.get("ham", 0), 1))
                       for e in j["entries"]] ==
                      [(e["value"], round(e.get("spam", 0), 1), round(e.get("ham", 0), 1))
                       for e in cli_top] and len(cli_top) > 5,
                      "/api/top?kind=ip equals `parapetctl rep top ip --json`",
                      "%r\n%r" % (j, cli_top))
            st, j = api_json(rw.url + "/api/rep?q=" + SPAM_IPS[0])
            kinds_got = [e["kind"] for e in j["entries"]] if j else None
            run.check(st == 200 and kinds_got == ["ip", "net"] and
                      j["entries"][0]["spam"] == round(hget(redis, "ip", SPAM_IPS[0], "spam"), 4),
                      "/api/rep?q=IP gives its ip and net keys with Redis's counts", j)
            st, j = api_json(rw.url + "/api/rep?q=bad.test")
            run.check(st == 200 and [e["kind"] for e in j["entries"]] == ["mfrom", "from", "dkim"]
                      and j["entries"][0]["exists"], "/api/rep?q=DOMAIN gives mfrom, from, dkim", j)
            st, j = api_json(rw.url + "/api/rep?q=" + urllib.parse.quote("<b>"))
            run.check(st == 400, "/api/rep with markup as the query is 400", (st, j))

        with run.section("HTTP: hostile values are escaped JSON"):
            st, hd, body = http(rw.url + "/api/feed?ip=" + urllib.parse.quote('"><img'))
            run.check(st == 200 and hd.get("Content-Type", "").startswith("application/json"),
                      "feed is application/json", hd.get("Content-Type"))
            run.check(b"<" not in body and b">" not in body,
                      "no raw < or > in the JSON (escaped as \\u003c / \\u003e)", body[:400])
            j = json.loads(body)
            e = j["entries"][0] if j["entries"] else {}
            run.check(all(e.get(k) == HOSTILE[k] for k in HOSTILE),
                      "the hostile entry decodes to exactly what Redis holds", repr(e))
            st, hd, body = http(rw.url + "/api/top?kind=ip&n=50")
            run.check(b"<img" not in body and TOP_HOSTILE in
                      [x["value"] for x in json.loads(body)["entries"]],
                      "a markup member of top:ip comes back escaped", body[:300])

        mark_ham_ip = HAM_IPS[1]
        with run.section("HTTP: access control"):
            before = hget(redis, "ip", mark_ham_ip, "spam")
            st, hd, body = post_mark(ro, {"kind": "ip", "value": mark_ham_ip, "op": "spam"})
            run.check(st == 403, "read-only dashboard: POST /api/mark is 403", (st, body))
            run.check(hget(redis, "ip", mark_ham_ip, "spam") == before,
                      "... and Redis is unchanged")
            st, j = api_json(ro.url + "/api/info")
            run.check(j and j["writes"] is False, "/api/info says writes are off", j)
            st, hd, body = http(rw.url + "/api/mark?kind=ip&value=%s&op=spam" % mark_ham_ip)
            run.check(st == 405 and "POST" in hd.get("Allow", ""),
                      "GET /api/mark is 405 (no write through GET)", (st, body))
            run.check(hget(redis, "ip", mark_ham_ip, "spam") == before, "... Redis unchanged")
            st, hd, body = http(rw.url + "/api/feed", method="POST", body="x")
            run.check(st == 405, "POST on a read endpoint is 405", st)
            st, hd, body = post_mark(rw, {"kind": "ip", "value": mark_ham_ip, "op": "spam"},
                                     headers={"X-Parapet-Dashboard": "0"})
            run.check(st == 403, "POST without X-Parapet-Dashboard: 1 is 403", (st, body))
            # what a cross-site form would send: form body, no custom header
            h = {"Content-Type": "application/x-www-form-urlencoded",
                 "Origin": "http://evil.test"}
            st, hd, body = http(rw.url + "/api/mark", method="POST",
                                body="kind=ip&value=%s&op=spam" % mark_ham_ip, headers=h)
            run.check(st == 403, "cross-site form POST is 403", (st, body))
            st, hd, body = post_mark(rw, {"kind": "ip", "value": mark_ham_ip, "op": "spam"},
                                     headers={"Origin": "http://evil.test"})
            run.check(st == 403, "POST from another Origin is 403 even with the header",
                      (st, body))
            st, hd, body = post_mark(rw, {"kind": "ip", "value": mark_ham_ip, "op": "spam"},
                                     headers={"Sec-Fetch-Site": "cross-site"})
            run.check(st == 403, "Sec-Fetch-Site: cross-site is 403", (st, body))
            run.check(hget(redis, "ip", mark_ham_ip, "spam") == before,
                      "none of the refused writes reached Redis")
            st, hd, body = post_mark(rw, {"kind": "ip", "value": "not-an-ip", "op": "spam"})
            run.check(st == 400, "an invalid value is 400", (st, body))
            for bad in ({"kind": "ip", "value": mark_ham_ip, "op": "spam", "count": "lots"},
                        {"kind": "ip", "value": mark_ham_ip, "op": "delete"},
                        {"kind": "nope", "value": mark_ham_ip, "op": "spam"}):
                st, hd, body = post_mark(rw, bad, form=True)
                run.check(st == 400, "POST %s is 400" % urllib.parse.urlencode(bad), (st, body))
            st, hd, body = http(rw.url + "/api/mark", method="POST", body="{not json",
                                headers={"X-Parapet-Dashboard": "1",
                                         "Content-Type": "application/json"})
            run.check(st == 400, "a malformed JSON body is 400", (st, body))
            st, hd, body = http(rw.url + "/api/mark", method="POST", body="x" * 20000,
                                headers={"X-Parapet-Dashboard": "1",
                                         "Content-Type": "application/json"})
            run.check(st == 413, "a 20 kB body is 413", (st, body[:200]))
            run.check(hget(redis, "ip", mark_ham_ip, "spam") == before,
                      "none of the bad writes reached Redis")
            st, hd, body = post_mark(rw, {"kind": "ip", "value": mark_ham_ip, "op": "ham",
                                          "count": "7"}, form=True,
                                     headers={"Origin": rw.url})
            run.check(st == 200 and hget(redis, "ip", mark_ham_ip, "ham") == 7.0 and
                      hget(redis, "ip", mark_ham_ip, "spam") == 0.0,
                      "same-origin form POST op=ham count=7: redis-cli HGET ham = 7, spam = 0",
                      (st, body))
            # DNS rebinding: a page of rebind.evil.test whose name now points
            # at 127.0.0.1 is same-origin with itself: Origin equals Host,
            # the custom header is allowed.  Only the Host gives it away.
            evil = "rebind.evil.test:%d" % rw.port
            for path in ("/", "/dashboard.js", "/api/info", "/api/feed"):
                st, hd, body = http(rw.url + path, headers={"Host": evil})
                run.check(st == 421, "GET %s with Host %s is 421" % (path, evil), (st, body[:200]))
            st, hd, body = post_mark(rw, {"kind": "ip", "value": mark_ham_ip, "op": "spam"},
                                     headers={"Host": evil, "Origin": "http://" + evil,
                                              "Sec-Fetch-Site": "same-origin"})
            run.check(st == 421 and hget(redis, "ip", mark_ham_ip, "spam") == before,
                      "a rebound same-origin write is 421 and Redis is unchanged", (st, body))
            st, _, _ = http(rw.url + "/api/info", headers={"Host": "localhost:%d" % rw.port})
            run.check(st == 200, "Host localhost:PORT is accepted on loopback", st)
            st, _, _ = http(ro.url + "/", headers={"Host": "dash.parapet.test:%d" % ro.port})
            run.check(st == 200, "--host dash.parapet.test: that name is accepted", st)
            st, _, _ = http(rw.url + "/", headers={"Host": "dash.parapet.test:%d" % rw.port})
            run.check(st == 421, "... and only where it was given", st)
            st, hd, body = http(au.url + "/")
            run.check(st == 401 and hd.get("WWW-Authenticate", "").startswith("Basic "),
                      "--password-file: 401 with a Basic challenge without credentials", st)
            st, _, _ = http(au.url + "/api/feed", auth="admin:wrong")
            run.check(st == 401, "401 with a wrong password", st)
            st, _, _ = http(au.url + "/api/feed", auth="admin:s3cret-Pw")
            run.check(st == 200, "200 with the right credentials", st)
            st, hd, body = post_mark(au, {"kind": "ip", "value": mark_ham_ip, "op": "clear"})
            run.check(st == 401, "a write without credentials is 401", st)
            st, hd, body = post_mark(au, {"kind": "ip", "value": mark_ham_ip, "op": "clear"},
                                     auth="admin:s3cret-Pw")
            run.check(st == 200 and redis.cli("EXISTS", "%srep:ip:%s" % (PREFIX, mark_ham_ip)).strip()
                      == "0", "with credentials writes are on: clear deletes the key", (st, body))

        with run.section("browser (chromium via playwright-core)"):
            rc, out, err = ctl(conf, "rep", "top", "ip", "20", "--json")
            target = HAM_IPS[0]
            params = {
                "url": rw.url, "ro_url": ro.url, "artifacts": artifacts,
                "chromium": CHROMIUM, "redis_port": redis.port, "prefix": PREFIX,
                "feed": [{"qid": e["qid"], "ip": e["ip"], "from": e.get("from", ""),
                          "helo": e.get("helo", ""), "action": e["action"]}
                         for e in reversed(entries)],
                "n_reject": n_rej,
                "stats_total": len(jobs),
                "hostile": HOSTILE,
                "xss_qid": xss_entry.get("qid"),
                "xss_helo": XSS_HELO,
                "top_ip": json.loads(out) if rc == 0 else None,
                "search_ip": target,
                "search_spam": hget(redis, "ip", target, "spam"),
                "search_ham": hget(redis, "ip", target, "ham"),
                "min_count": MIN_COUNT,
            }
            params_path = os.path.join(wd, "params.json")
            with open(params_path, "w") as f:
                json.dump(params, f)
            run_spec(run, nm_dir, params_path)
            shots = sorted(f for f in os.listdir(artifacts) if f.startswith("dashboard-"))
            run.check(len(shots) >= 3, "screenshots saved (%d)" % len(shots))
            for s in shots:
                run.note("screenshot: %s" % os.path.join(artifacts, s))

        with run.section("Redis down"):
            redis.stop()
            t = time.monotonic()
            for path in ("/api/feed", "/api/top?kind=ip", "/api/stats", "/api/rep?q=192.0.2.1"):
                st, j = api_json(rw.url + path)
                run.check(st == 502 and j and "redis" in j.get("error", ""),
                          "GET %s answers 502 with the Redis error" % path, (st, j))
            st, hd, body = post_mark(rw, {"kind": "ip", "value": "192.0.2.1", "op": "spam"})
            run.check(st == 502, "a write answers 502", (st, body))
            run.check(time.monotonic() - t < 15, "... without hanging (%.1f s)" % (
                time.monotonic() - t))
            st, _, _ = http(rw.url + "/")
            run.check(st == 200, "the page itself is still served", st)

        with run.section("dashboards stop cleanly"):
            for d in (rw, ro, au):
                rc = d.stop()
                run.check(rc == 0, "%s exits 0 on SIGTERM" % d.name,
                          "exit %s\n%s" % (rc, d.log()[-3000:]))
                bad = [ln for ln in d.log().splitlines()
                       if "Sanitizer" in ln or "runtime error:" in ln]
                run.check(not bad, "%s: no sanitizer report in its log" % d.name,
                          "\n".join(bad[:20]))


if __name__ == "__main__":
    main()
