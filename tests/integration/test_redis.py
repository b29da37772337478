#!/usr/bin/env python3
"""test_redis.py - reputation and greylisting against a real redis-server (SPEC §3, §6, §7).

A private redis-server (its own loopback port and directory), parapet and a
private Postfix relaying to a sink.  Messages come from TEST-NET client
addresses via XCLIENT.

  1. schema: after a ham and a spam message, every key of SPEC §6 read back
     with redis-cli: names, types, hash fields, TTLs, top:KIND scores,
     stats:HOUR counts, the log stream's fields in order; REP_IP appears
     once rep_min_count is reached and scales with the ratio; parapetctl
     rep show/top/set/clear, learn, tail and stats against the same data.
  2. decay over a fake clock (PARAPET_TEST_NOW, the programs' test hook):
     a count halves per rep_half_life at read time (rep show) and at write
     time (the Lua script gets the time as an argument: `seen` is the fake
     time, not the server's).
  3. greylisting: a first-seen triplet in [greylist_score, reject_score)
     gets 451 4.7.1, a retry before greylist_delay 451 again, after it 250,
     and is remembered (grey:HASH "pass:", TTL 30 days); another recipient
     is a new triplet; below greylist_score and at reject_score no
     greylisting; tempfailed messages are logged but not counted in rep.
  4. round trips per message from INFO commandstats and the server's read
     count: 1 pipelined read + 1 EVALSHA write (<= 2), + 1 EVALSHA for
     greylisting; parapet's own count (debug log) agrees.
  5. 1,000 messages over 10 sessions while redis-server is SIGKILLed and
     restarted on the same port: every message gets 250 and is delivered
     exactly once; REDIS_UNAVAILABLE during the outage; no message's
     milter time exceeds redis_timeout_ms plus scan time; at most one
     warning a minute; reputation is written again after the restart.
  6. redis = unix:/path, redis_password and redis_db on a second server.
  7. good reputation is credited only to an authenticated identity: a
     well-reputed From or MAIL FROM domain without SPF (or DKIM) for it
     gets no REP_FROM / REP_MFROM; with SPF pass (aligned, also relaxed)
     it does; bad reputation applies either way.

Exit 0 all passed, 1 any failure, 77 skip (not root / no Postfix / no
redis-server; never when CI=true).  Ends with "N passed, N failed".
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BUILDDIR, Parapet, Postfix, Redis, Sink, TestRun,  # noqa: E402
                     make_message, send, send_many, wait_until)

RULES = """\
# tests/integration/test_redis.py
body     T_HAM        /XHAMX/
score    T_HAM        0.1
body     T_GREY       /XGREYX/
score    T_GREY       3.5
body     T_SPAM       /XSPAMX/
score    T_SPAM       9.0
body     T_REJECT     /XREJECTX/
score    T_REJECT     20.0
score    REP_IP       3.0
score    REP_NET      2.0
score    REP_MFROM    1.5
score    REP_FROM     1.5
score    REP_DKIM     3.0
score    GREYLIST     0.0
score    REDIS_UNAVAILABLE 0.0
"""
TIMEOUT_MS = 100
PREFIX = "parapet:"
RCPT = "bob@rcpt.test"
CTL = os.path.join(BUILDDIR, "milter", "parapetctl")


def ctl(conf, *args, env=None):
    """ctl - run parapetctl -c conf ARGS; (rc, stdout, stderr)"""
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([CTL, "-c", conf] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=60, env=e)
    return p.returncode, p.stdout, p.stderr


def msg(test_id, marker, sender="Alice <alice@From.Test>"):
    return make_message(test_id, body="Test message %s. %s\n" % (test_id, marker),
                        sender=sender)


def hgetall(r, key):
    v = r.call("HGETALL", key) or []
    return dict(zip(v[0::2], v[1::2]))


def written(r, key, field, value, timeout=15):
    """written - wait until key's field reaches value: parapet writes
    reputation after it has replied (at the connection's next callback,
    its close here), so the write may land just after send() returns"""
    def ok():
        try:
            return float(hgetall(r, key).get(field, "nan")) >= value
        except ValueError:
            return False
    return wait_until(ok, timeout)


def utc_hour(t=None):
    return time.strftime("%Y%m%d%H", time.gmtime(t))


def verdict_lines(parapet, since=0):
    """verdict_lines - the parsed qid=... log lines of parapet"""
    out = []
    for line in parapet.log(since).splitlines():
        m = re.search(r"qid=(\S+) ip=(\S+) from=(\S+) rcpts=(\d+) score=(\S+) "
                      r"action=(\S+) symbols=(\S*) ms=([\d.]+)", line)
        if m:
            out.append(dict(qid=m.group(1), ip=m.group(2), action=m.group(6),
                            symbols=m.group(7).split(",") if m.group(7) else [],
                            ms=float(m.group(8))))
    return out


# ---------------------------------------------------------------- 1. schema

def test_schema(run, c):
    r, pf, sink = c.redis, c.pf, c.sink
    ip = "198.51.100.10"
    t0 = time.time()
    rep = send(pf.port, "alice@Sender.Test", [RCPT], msg("schema-ham", "XHAMX"),
               xclient_addr=ip)
    run.check(rep.code == 250, "ham from %s: 250" % ip, repr(rep))
    written(r, "%srep:ip:%s" % (PREFIX, ip), "ham", 1.0)
    keys = {"ip": ip, "net": "198.51.100.0/24", "mfrom": "sender.test", "from": "from.test"}
    for kind, value in keys.items():
        k = "%srep:%s:%s" % (PREFIX, kind, value)
        typ = r.cli("TYPE", k).strip()
        h = hgetall(r, k)
        ttl = int(r.cli("TTL", k).strip() or -3)
        run.check(typ == "hash" and set(h) == {"spam", "ham", "seen", "first"},
                  "%s: hash with fields spam ham seen first (redis-cli)" % k, "%s %r" % (typ, h))
        ok = (h and float(h["ham"]) == 1.0 and float(h["spam"]) == 0.0 and
              abs(int(h["seen"]) - t0) < 30 and h["seen"] == h["first"])
        run.check(ok, "%s: ham 1, spam 0, seen == first == now" % k, repr(h))
        run.check(90 * 86400 - 30 <= ttl <= 90 * 86400, "%s: expires in 90 days" % k,
                  "TTL %d" % ttl)
        tk = "%stop:%s" % (PREFIX, kind)
        run.check(r.cli("TYPE", tk).strip() == "zset" and
                  r.call("ZSCORE", tk, value) is not None and
                  float(r.call("ZSCORE", tk, value)) == 0.0,
                  "%s: zset, member %s with spam count 0" % (tk, value),
                  r.cli("ZRANGE", tk, 0, -1, "WITHSCORES"))
    run.check(not r.call("KEYS", PREFIX + "rep:dkim:*"),
              "no dkim key without a valid DKIM signature")
    sk = "%sstats:%s" % (PREFIX, utc_hour())
    st = hgetall(r, sk)
    sttl = int(r.cli("TTL", sk).strip() or -3)
    run.check(r.cli("TYPE", sk).strip() == "hash" and st.get("accept") == "1",
              "%s: hash, accept 1" % sk, repr(st))
    run.check(30 * 86400 - 30 <= sttl <= 30 * 86400, "%s: expires in 30 days" % sk,
              "TTL %d" % sttl)
    lk = PREFIX + "log"
    run.check(r.cli("TYPE", lk).strip() == "stream", "%s is a stream" % lk)
    entries = r.call("XRANGE", lk, "-", "+")
    fields = entries[-1][1] if entries else []
    names = fields[0::2]
    want = ["qid", "ts", "ip", "helo", "mfrom", "from", "rcpts", "score", "action",
            "symbols", "ms"]
    run.check(names == want, "log entry fields in SPEC §6 order", repr(names))
    f = dict(zip(fields[0::2], fields[1::2]))
    qids = [v["qid"] for v in verdict_lines(c.parapet) if v["ip"] == ip]
    run.check(f.get("ip") == ip and f.get("helo") == "client.parapet.test" and
              f.get("mfrom") == "alice@Sender.Test" and f.get("from") == "alice@From.Test" and
              f.get("rcpts") == RCPT and f.get("action") == "accept" and
              "T_HAM" in f.get("symbols", "").split(",") and
              abs(float(f.get("ts", 0)) - t0) < 30 and float(f.get("ms", -1)) >= 0 and
              f.get("qid") in qids,
              "log entry values (qid as in parapet's log line)", repr(f))

    # a spam message from the same client: spam 1 on every key
    rep = send(pf.port, "alice@Sender.Test", [RCPT], msg("schema-spam", "XSPAMX"),
               xclient_addr=ip)
    run.check(rep.code == 250, "spam (tagged, not rejected): 250", repr(rep))
    written(r, "%srep:ip:%s" % (PREFIX, ip), "spam", 1.0)
    h = hgetall(r, "%srep:ip:%s" % (PREFIX, ip))
    run.check(h and float(h["spam"]) == 1.0 and 0.99 < float(h["ham"]) <= 1.0,
              "spam adds 1 to spam (ham decayed by seconds only)", repr(h))
    run.check(float(r.call("ZSCORE", PREFIX + "top:ip", ip)) == 1.0,
              "top:ip score is the spam count")
    # rep_min_count = 2: the third message sees REP_IP = 3.0 * (1 - 1) / 2 = 0
    # and REP_* for every kind; a fourth after another spam: positive
    send(pf.port, "alice@Sender.Test", [RCPT], msg("schema-3", "XHAMX"), xclient_addr=ip)
    m = sink.wait_for_id("schema-3", 30)
    tests = m.spam_tests() if m else []
    run.check(all(s in (tests or []) for s in ("REP_IP", "REP_NET", "REP_MFROM", "REP_FROM")),
              "REP_IP, REP_NET, REP_MFROM, REP_FROM once rep_min_count (2) messages",
              repr(tests))
    for _ in range(3):
        send(pf.port, "alice@Sender.Test", [RCPT], msg("schema-s", "XSPAMX"), xclient_addr=ip)
    send(pf.port, "other@Elsewhere.Test", [RCPT], msg("schema-4", "XHAMX", "x@y.test"),
         xclient_addr=ip)
    m = sink.wait_for_id("schema-4", 30)
    lines = [v for v in verdict_lines(c.parapet) if v["ip"] == ip]
    # REP_IP's value is in the hit's detail; the score shows it: 4 spam vs
    # 2 ham (decayed by seconds) -> 3.0 * (4 - 2) / 6 = +1.0
    score = float(m.first("X-Spam-Score")) if m else None
    run.check(m is not None and abs(score - (0.1 + 1.0 + 2.0 * (4 - 2) / 6)) < 0.15,
              "REP_IP and REP_NET scaled by their weights: 0.1 + 3*(4-2)/6 + 2*(4-2)/6",
              "X-Spam-Score %r, log %r" % (score, lines[-1:]))

    conf = c.parapet.conf_path
    rc, out, err = ctl(conf, "rep", "show", "ip", ip, "--json")
    j = json.loads(out) if rc == 0 else {}
    run.check(rc == 0 and j.get("exists") and abs(j["spam"] - 4) < 0.01 and
              abs(j["ham"] - 3) < 0.01 and abs(j["score"] - 3.0 / 7) < 0.01 and
              j.get("ttl", 0) > 0, "parapetctl rep show --json", out + err)
    rc, out, err = ctl(conf, "rep", "top", "mfrom", "1")
    run.check(rc == 0 and "sender.test" in out and "elsewhere.test" not in out,
              "parapetctl rep top mfrom 1 (table)", out + err)
    rc, out, err = ctl(conf, "rep", "set", "from", "Bad.Example", "spam", "50")
    h = hgetall(r, PREFIX + "rep:from:bad.example")
    run.check(rc == 0 and h.get("spam") == "50.000000" and float(h.get("ham", 1)) == 0 and
              float(r.call("ZSCORE", PREFIX + "top:from", "bad.example")) == 50,
              "parapetctl rep set (lower-cased, top:from updated)", out + err + repr(h))
    rc, out, err = ctl(conf, "rep", "clear", "from", "bad.example")
    run.check(rc == 0 and r.call("EXISTS", PREFIX + "rep:from:bad.example") == 0 and
              r.call("ZSCORE", PREFIX + "top:from", "bad.example") is None,
              "parapetctl rep clear removes the hash and the top member", out + err)
    rc, out, err = ctl(conf, "rep", "show", "ip", "not-an-ip")
    run.check(rc == 1 and "not a valid ip" in err, "rep show rejects a bad value", out + err)
    eml = os.path.join(run.workdir, "learn.eml")
    with open(eml, "wb") as fp:
        fp.write(b"Return-Path: <x@Learn-Mfrom.Test>\r\nReceived: from h (h [203.0.113.77]) "
                 b"by mx.test\r\nFrom: L <l@Learn-From.Test>\r\nSubject: s\r\n\r\nbody\r\n")
    rc, out, err = ctl(conf, "learn", "spam", eml, eml)
    ok = all(float(hgetall(r, PREFIX + k).get("spam", 0)) > 1.99 for k in (
        "rep:ip:203.0.113.77", "rep:net:203.0.113.0/24", "rep:mfrom:learn-mfrom.test",
        "rep:from:learn-from.test"))
    run.check(rc == 0 and ok, "parapetctl learn spam: ip from Received, mfrom from "
              "Return-Path, from; twice = 2 (bayes off: no digest)", out + err)
    xlen = r.call("XLEN", PREFIX + "log")
    rc, out, err = ctl(conf, "tail", "--all", "--count", str(xlen), "--json")
    tl = [json.loads(x) for x in out.splitlines()] if rc == 0 else []
    run.check(rc == 0 and len(tl) == xlen and tl[0].get("ip") == ip and
              all(x["action"] for x in tl) and xlen >= 7,
              "parapetctl tail --all --count N --json: every verdict (learn adds none)",
              "%d of %d\n%s" % (len(tl), xlen, (out + err)[-2000:]))
    got = []
    th = threading.Thread(target=lambda: got.append(ctl(conf, "tail", "--count", "1")))
    th.start()
    time.sleep(0.8)
    send(pf.port, "alice@Sender.Test", [RCPT], msg("schema-tail", "XHAMX"),
         xclient_addr="192.0.2.33")
    th.join(30)
    line = got[0][1] if got else ""
    run.check(got and got[0][0] == 0 and "ip=192.0.2.33" in line and "action=accept" in line
              and len(line.splitlines()) == 1,
              "parapetctl tail follows new verdicts (XREAD BLOCK)", repr(got))
    rc, out, err = ctl(conf, "stats", "2", "--json")
    rows = json.loads(out) if rc == 0 else []
    run.check(rc == 0 and len(rows) == 2 and rows[-1]["hour"] == utc_hour() and
              rows[-1]["accept"] == int(hgetall(r, "%sstats:%s" % (PREFIX, utc_hour()))["accept"]),
              "parapetctl stats 2 --json: the stats:HOUR hash", out + err)
    rc, out, err = ctl(conf, "stats", "1")
    run.check(rc == 0 and "accept" in out.splitlines()[0], "parapetctl stats (table)", out + err)


# ---------------------------------------------------------------- 2. decay

def test_decay(run, c):
    conf, r = c.parapet.conf_path, c.redis
    hl = 604800
    t0 = 1700000000
    key = PREFIX + "rep:ip:192.0.2.50"
    rc, out, err = ctl(conf, "rep", "set", "ip", "192.0.2.50", "spam", "8",
                       env={"PARAPET_TEST_NOW": str(t0)})
    h = hgetall(r, key)
    run.check(rc == 0 and h.get("seen") == str(t0) and float(h["spam"]) == 8,
              "rep set at fake time t0: seen = t0", repr(h) + err)
    rc, out, err = ctl(conf, "rep", "show", "ip", "192.0.2.50", "--json",
                       env={"PARAPET_TEST_NOW": str(t0 + hl)})
    j = json.loads(out) if rc == 0 else {}
    run.check(rc == 0 and abs(j.get("spam", 0) - 4.0) < 0.01 and j.get("spam_stored") == 8,
              "one half-life later a read sees spam 4 (stored 8)", out + err)
    eml = os.path.join(run.workdir, "decay.eml")
    with open(eml, "wb") as fp:
        fp.write(b"From: d@decay.test\r\nSubject: s\r\n\r\nbody\r\n")
    rc, out, err = ctl(conf, "learn", "ham", "--ip", "192.0.2.50", eml,
                       env={"PARAPET_TEST_NOW": str(t0 + 2 * hl)})
    h = hgetall(r, key)
    run.check(rc == 0 and abs(float(h.get("spam", 0)) - 2.0) < 1e-4 and
              abs(float(h.get("ham", 0)) - 1.0) < 1e-4 and h.get("seen") == str(t0 + 2 * hl)
              and h.get("first") == str(t0),
              "two half-lives later the script decays 8 -> 2, adds ham 1, seen = the "
              "script's time argument (not the server's TIME)", repr(h) + err)
    rc, out, err = ctl(conf, "rep", "show", "ip", "192.0.2.50", "--json",
                       env={"PARAPET_TEST_NOW": str(t0 + 12 * hl)})
    j = json.loads(out) if rc == 0 else {}
    run.check(rc == 0 and j.get("score") is None and j.get("spam") < 0.01,
              "ten more half-lives: below rep_min_count, REP_IP silent", out + err)


# ---------------------------------------------------------------- 3. greylisting

def test_greylist(run, c):
    pf, r = c.pf, c.redis
    # a network, senders and From: domain no other section uses, so that
    # reputation does not move these scores out of the greylisting band
    ip, sender = "198.18.1.20", "grey@Grey.Test"
    # greylisting on by a reload: the redis_* keys are unchanged, so the
    # pool (and its connections) is kept
    conns0 = int(r.info("stats")["total_connections_received"])
    mark = c.parapet.log_size()
    c.parapet.config["greylist"] = "yes"
    c.parapet.write_config()
    c.parapet.signal(signal.SIGUSR1)
    run.check(wait_until(lambda: "rules reloaded" in c.parapet.log(mark), 20),
              "reload with greylist = yes")
    send(pf.port, "x@reload.test", [RCPT], msg("reload-1", "XHAMX"), xclient_addr="192.0.2.77")
    conns = int(r.info("stats")["total_connections_received"]) - conns0
    run.check(conns == 1, "reload with the same redis_* keys keeps the pool: no new "
              "connection from parapet", "%d new connections (1 is this INFO)" % conns)
    mark = c.parapet.log_size()

    def g(tid, rcpts=(RCPT,), marker="XGREYX", addr=ip):
        return send(pf.port, sender, list(rcpts), msg(tid, marker, "G <g@grey-from.test>"),
                    xclient_addr=addr)

    r1 = g("grey-1")
    run.check(r1.code == 451 and "4.7.1" in r1.message and "Greylisted" in r1.message,
              "score 3.5 in [greylist_score 3, reject 15), first seen: 451 4.7.1", repr(r1))
    keys = r.call("KEYS", PREFIX + "grey:*")
    v = r.call("GET", keys[0]) if len(keys) == 1 else ""
    ttl = r.call("TTL", keys[0]) if keys else -3
    run.check(len(keys) == 1 and re.fullmatch(PREFIX + "grey:[0-9a-f]{40}", keys[0]) and
              r.cli("TYPE", keys[0]).strip() == "string" and v.startswith("wait:") and
              c.grey_window - 5 <= ttl <= c.grey_window,
              "grey:HASH string 'wait:FIRST' with TTL greylist_window", repr((keys, v, ttl)))
    r2 = g("grey-2")
    run.check(r2.code == 451, "retry before greylist_delay: 451 again", repr(r2))
    time.sleep(c.grey_delay + 0.2)
    r3 = g("grey-3")
    run.check(r3.code == 250, "retry after greylist_delay (%d s): 250" % c.grey_delay, repr(r3))
    v = r.call("GET", keys[0]) if keys else ""
    ttl = r.call("TTL", keys[0]) if keys else -3
    run.check(v.startswith("pass:") and 30 * 86400 - 5 <= ttl <= 30 * 86400,
              "passed triplet remembered 30 days ('pass:', TTL)", repr((v, ttl)))
    r4 = g("grey-4", addr="198.18.1.99")	# same /24, same sender and recipient
    run.check(r4.code == 250, "remembered: the next message (same /24) gets 250 at once",
              repr(r4))
    # (T_SPAM as well: the ham history of this /24 lowers the score now)
    r5 = g("grey-5", rcpts=(RCPT, "carol@rcpt.test"), marker="XGREYX XSPAMX")
    run.check(r5.code == 451, "a new recipient is a new triplet: 451 (every triplet must "
              "have passed)", repr(r5))
    r6 = g("grey-6", marker="XHAMX", addr="198.18.1.150")
    r7 = g("grey-7", marker="XREJECTX XGREYX", addr="192.0.2.150")
    run.check(r6.code == 250 and r7.code == 550,
              "below greylist_score: 250; at reject_score: 550, not greylisted",
              repr((r6, r7)))
    m = c.sink.wait_for_id("grey-3", 30)
    run.check(m is not None and "GREYLIST" not in (m.spam_tests() or []),
              "the passed message is delivered without GREYLIST")
    # tempfails are logged and counted per hour, not in reputation
    lines = [v for v in verdict_lines(c.parapet, mark) if v["action"] == "tempfail"]
    run.check(len(lines) == 3 and all("GREYLIST" in v["symbols"] for v in lines),
              "3 tempfail verdicts with GREYLIST in the log", repr(lines))
    h = hgetall(r, PREFIX + "rep:ip:" + ip)
    run.check(h and float(h["ham"]) + float(h["spam"]) < 1.01,
              "greylisted tries are not counted in rep (only the passed one)", repr(h))
    entries = r.call("XREVRANGE", PREFIX + "log", "+", "-", "COUNT", "20")
    tf = [dict(zip(e[1][0::2], e[1][1::2])) for e in entries]
    tf = [x for x in tf if x.get("action") == "tempfail" and x.get("ip") == ip]
    run.check(len(tf) == 3 and all("GREYLIST" in x["symbols"] for x in tf),
              "tempfails are in the log stream", repr(tf))
    st = hgetall(r, "%sstats:%s" % (PREFIX, utc_hour()))
    run.check(int(st.get("tempfail", 0)) >= 3 and int(st.get("reject", 0)) >= 1,
              "stats:HOUR counts tempfail and reject", repr(st))


# ---------------------------------------------------------------- 4. round trips

def test_round_trips(run, c):
    r, pf = c.redis, c.pf
    n = 40

    def measure(jobs):
        r.call("CONFIG", "RESETSTAT")
        reads0 = int(r.info("stats")["total_reads_processed"])
        mark = c.parapet.log_size()
        outs = send_many(pf.port, jobs, concurrency=4)
        # the write (and the round-trip log line) comes after the reply,
        # at the connection's close: wait for all of them
        wait_until(lambda: len(re.findall(r"redis round_trips=",
                                          c.parapet.log(mark))) >= len(jobs), 20)
        reads = int(r.info("stats")["total_reads_processed"]) - reads0
        cs = {}
        for k, v in r.info("commandstats").items():
            cs[k[len("cmdstat_"):]] = int(re.search(r"calls=(\d+)", v).group(1))
        rts = [int(x) for x in re.findall(r"redis round_trips=(\d+)",
                                         c.parapet.log(mark))]
        return outs, cs, reads - 2, rts	# our own RESETSTAT and INFO stats

    jobs = [dict(mail_from="rt%d@rt.test" % i, rcpts=[RCPT], xclient_addr="192.0.2.%d" % (i + 1),
                 data_bytes=msg("rt-%d" % i, "XHAMX")) for i in range(n)]
    outs, cs, reads, rts = measure(jobs)
    run.note("ham: commandstats %r; server reads %d for %d messages; parapet's counts %r"
             % ({k: v for k, v in cs.items() if k in ("evalsha", "hmget", "eval", "script",
                                                         "role", "select", "auth")},
                reads, n, sorted(set(rts))))
    run.check(all(o.final.code == 250 for o in outs), "%d ham messages: 250" % n)
    run.check(cs.get("evalsha", 0) == n and cs.get("eval", 0) == 0,
              "one EVALSHA per message (the write), never EVAL", repr(cs))
    # every HMGET outside the script comes in the one pipelined read: 4 keys
    # per message (ip, net, mfrom, from) plus 4 inside the script
    run.check(cs.get("hmget", 0) == n * 4 * 2, "HMGET: 4 keys pipelined + 4 in the script",
              repr(cs.get("hmget")))
    run.check(reads <= 2 * n + 8, "server socket reads <= 2 per message (+ connection "
              "set-up): %.2f per message" % (reads / n), "%d reads" % reads)
    # a message opens a connection when the pool has none idle: for its
    # read, its write or both (4 sessions at once grow the pool by up to
    # 4), each one more round trip
    run.check(len(rts) == n and min(rts) >= 2 and sorted(rts)[n // 2] == 2 and
              sum(rts) - 2 * n <= 4,
              "parapet counts 2 round trips per message (+1 for each connection it "
              "opens, <= 4 in all with 4 sessions)", repr(rts))
    c.rt_ham = (reads / n, cs.get("evalsha", 0) / n)

    # new triplets on fresh networks: each is greylisted
    jobs = [dict(mail_from="rtg%d@rtg.test" % i, rcpts=[RCPT],
                 xclient_addr="198.18.%d.1" % (10 + i),
                 data_bytes=msg("rtg-%d" % i, "XGREYX", "G <g@rtg-from.test>"))
            for i in range(n)]
    outs, cs, reads, rts = measure(jobs)
    run.note("greylisted: commandstats evalsha %d; server reads %d for %d messages"
             % (cs.get("evalsha", 0), reads, n))
    run.check(all(o.final.code == 451 for o in outs), "%d greylisted messages: 451" % n)
    run.check(cs.get("evalsha", 0) == 2 * n, "two EVALSHA per message: greylist + write",
              repr(cs))
    run.check(reads <= 3 * n + 8, "server socket reads <= 3 per message: %.2f" % (reads / n))
    run.check(len(rts) == n and sorted(rts)[n // 2] == 3,
              "parapet counts 3 round trips per greylisted message", repr(rts))
    c.rt_grey = (reads / n, cs.get("evalsha", 0) / n)


# ---------------------------------------------------------------- 5. kill under a stream

def test_kill_restart(run, c):
    r, pf, sink = c.redis, c.pf, c.sink
    n = 1000
    ids = ["kill-%d" % i for i in range(n)]
    jobs = [dict(mail_from="k%d@kill.test" % (i % 7), rcpts=[RCPT],
                 xclient_addr="198.19.0.%d" % (100 + i % 50),
                 data_bytes=msg(ids[i], "XHAMX", "K <k@kill.test>")) for i in range(n)]
    mark = c.parapet.log_size()
    done = [0]
    lock = threading.Lock()
    events = {}

    def on_done(o):
        with lock:
            done[0] += 1

    def killer():
        wait_until(lambda: done[0] >= 200, 120)
        events["kill"] = time.monotonic()
        r.kill()
        wait_until(lambda: done[0] >= 500 and time.monotonic() - events["kill"] > 0.5, 120)
        events["restart"] = time.monotonic()
        r.start()

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    t0 = time.monotonic()
    outs = send_many(pf.port, jobs, concurrency=10, on_done=on_done)
    el = time.monotonic() - t0
    t.join(60)
    codes = {}
    for o in outs:
        codes[o.final.code] = codes.get(o.final.code, 0) + 1
    run.note("%d messages in %.1f s: %r; kill at %.1f s, restart at %.1f s" % (
        n, el, codes, events.get("kill", 0) - t0, events.get("restart", 0) - t0))
    run.check(codes == {250: n}, "every message got 250 (Redis away is not a failure)",
              repr(codes))
    run.check(wait_until(lambda: all(sink.by_id(i) for i in ids), 60),
              "all %d messages delivered" % n)
    counts = sink.id_counts()
    run.check(all(counts.get(i) == 1 for i in ids), "each delivered exactly once",
              repr({i: counts.get(i) for i in ids if counts.get(i) != 1}))
    vl = verdict_lines(c.parapet, mark)
    unav = [v for v in vl if "REDIS_UNAVAILABLE" in v["symbols"]]
    run.check(len(vl) == n and 0 < len(unav) < n,
              "REDIS_UNAVAILABLE on the messages during the outage (%d of %d)" % (
                  len(unav), n))
    worst = max(v["ms"] for v in vl) if vl else 0
    scan_max = max((v["ms"] for v in vl if "REDIS_UNAVAILABLE" not in v["symbols"]),
                   default=0)
    c.kill_stats = (len(unav), worst)
    run.note("%d of %d messages had REDIS_UNAVAILABLE; worst milter time %.1f ms (%.1f ms "
             "with Redis up)" % (len(unav), n, worst, scan_max))
    run.check(worst <= TIMEOUT_MS + 150,
              "no message spent more than redis_timeout_ms (%d) + scan time in parapet: "
              "worst %.1f ms" % (TIMEOUT_MS, worst), "worst with Redis up %.1f" % scan_max)
    log = c.parapet.log(mark)
    warns = re.findall(r"redis 127\.0\.0\.1:\d+: .*further warnings suppressed", log)
    run.check(len(warns) <= 1, "at most one warning for the outage (one a minute)",
              "\n".join(warns))
    run.check("connected again" in log, "parapet logs the reconnect")
    # after the restart: reputation written again (the restarted server is empty)
    last = [v for v in vl[-100:] if "REDIS_UNAVAILABLE" not in v["symbols"]]
    xlen = r.call("XLEN", PREFIX + "log")
    nkeys = len(r.call("KEYS", PREFIX + "rep:ip:*"))
    run.check(len(last) >= 90 and xlen >= len(last) and nkeys >= 10,
              "after the restart: the last messages scanned with Redis, log and rep keys "
              "written again", "%d ok in the last 100, XLEN %d, %d ip keys" % (
                  len(last), xlen, nkeys))


# ---------------------------------------------------------------- 6. unix socket, AUTH, SELECT

def test_unix_auth_db(run, c):
    r2 = Redis(os.path.join(run.workdir, "redis2"), unixsocket=True, password="s3cret#x")
    r2.start()
    p2 = Parapet(os.path.join(run.workdir, "parapet2"), {
        "redis": "unix:" + r2.socket_path, "redis_password": "s3cret#x", "redis_db": "3",
        "redis_prefix": "pp2:", "greylist": "no"}, RULES)
    rc, out, err = ctl(p2.conf_path, "rep", "set", "ip", "192.0.2.9", "ham", "3")
    run.check(rc == 0, "parapetctl over unix:%s with AUTH" % r2.socket_path, out + err)
    v = resp_select(r2, "HGETALL", "pp2:rep:ip:192.0.2.9")
    run.check(v and "ham" in v, "written to redis_db 3 with redis_prefix pp2:", repr(v))
    run.check(r2.call("DBSIZE") == 0, "nothing in db 0")
    bad = Parapet(os.path.join(run.workdir, "parapet3"), {
        "redis": "unix:" + r2.socket_path, "redis_password": "wrong"}, RULES)
    rc, out, err = ctl(bad.conf_path, "rep", "show", "ip", "192.0.2.9")
    run.check(rc == 1 and "AUTH failed" in err, "a wrong password is reported", out + err)
    r2.stop()


# ---------------------------------------------------------------- 7. credit

def test_credit(run, c):
    """good reputation of mfrom/from only for an authenticated identity"""
    conf, pf, sink = c.parapet.conf_path, c.pf, c.sink
    good, bad, ip = "good-rep.test", "bad-rep.test", "192.0.2.60"
    c.parapet.dns.set_zone({good: [{"TXT": "v=spf1 ip4:192.0.2.0/24 -all"}],
                            "bounce." + good: [{"TXT": "v=spf1 ip4:192.0.2.0/24 -all"}]})
    for kind in ("mfrom", "from"):
        rc, out, err = ctl(conf, "rep", "set", kind, good, "ham", "50")
        run.check(rc == 0, "rep set %s %s ham 50" % (kind, good), out + err)
        rc, out, err = ctl(conf, "rep", "set", kind, bad, "spam", "50")
        run.check(rc == 0, "rep set %s %s spam 50" % (kind, bad), out + err)

    def tests_of(tid, mfrom, from_hdr, addr=ip):
        rep = send(pf.port, mfrom, [RCPT], msg(tid, "XHAMX", from_hdr), xclient_addr=addr)
        m = sink.wait_for_id(tid, 30) if rep.code == 250 else None
        return rep, (m.spam_tests() or []) if m else None

    rep, t = tests_of("credit-spoofed-from", "x@spoofer.test", "G <g@%s>" % good)
    run.check(t is not None and "REP_FROM" not in t and "REP_MFROM" not in t,
              "a From of a well-reputed domain without SPF or DKIM for it: no REP_FROM "
              "(its good reputation is not credited)", repr((rep, t)))
    rep, t = tests_of("credit-spoofed-mfrom", "x@" + good, "G <g@%s>" % good,
                      addr="203.0.113.60")
    run.check(t is not None and "SPF_FAIL" in t and "REP_MFROM" not in t and
              "REP_FROM" not in t,
              "MAIL FROM a well-reputed domain from a client its SPF refuses: no REP_MFROM, "
              "no REP_FROM", repr((rep, t)))
    rep, t = tests_of("credit-auth", "a@" + good, "G <g@%s>" % good)
    run.check(t is not None and "SPF_PASS" in t and "REP_MFROM" in t and "REP_FROM" in t,
              "SPF pass for the MAIL FROM domain, From aligned: REP_MFROM and REP_FROM "
              "credited", repr((rep, t)))
    rep, t = tests_of("credit-relaxed", "a@bounce." + good, "G <g@%s>" % good)
    run.check(t is not None and "SPF_PASS" in t and "REP_FROM" in t,
              "SPF pass for a subdomain (relaxed alignment): REP_FROM credited",
              repr((rep, t)))
    ms = sink.by_id("credit-auth")
    score = float(ms[0].first("X-Spam-Score")) if ms else None
    run.check(score is not None and score < 0, "... and the score is lowered by them",
              repr(score))
    rep, t = tests_of("credit-penalty", "x@spoofer.test", "B <b@%s>" % bad)
    run.check(t is not None and "REP_FROM" in t,
              "bad reputation applies without authentication: REP_FROM for %s" % bad,
              repr((rep, t)))


def resp_select(r, *args):
    """resp_select - a command on db 3 (SELECT and the command on one connection)"""
    import socket as so
    with so.create_connection(("127.0.0.1", r.port), timeout=5) as s:
        f = s.makefile("rb")
        out = b""
        for cmd in (("AUTH", r.password), ("SELECT", "3"), args):
            out += b"*%d\r\n" % len(cmd) + b"".join(
                b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in cmd)
        s.sendall(out)
        from harness import _resp_read
        _resp_read(f)
        _resp_read(f)
        return _resp_read(f)


def main():
    with TestRun("test_redis") as run:
        run.require_root_and_postfix()
        wd = run.workdir

        class Ctx:
            pass
        c = Ctx()
        c.grey_delay = 2
        c.grey_window = 600
        c.redis = Redis(os.path.join(wd, "redis")).start()
        c.sink = Sink().start()
        c.parapet = Parapet(os.path.join(wd, "parapet"), {
            "redis": "127.0.0.1:%d" % c.redis.port,
            "redis_timeout_ms": str(TIMEOUT_MS),
            "rep_min_count": "2",
            "greylist": "no",	# until section 3 (a reload turns it on)
            "greylist_score": "3.0",
            "greylist_delay": str(c.grey_delay),
            "greylist_window": str(c.grey_window),
            "log_level": "debug",
            "log_max": "5000",
        }, RULES)
        c.parapet.start()
        # RFC 2544's 198.18.0.0/15 as well: more networks with no history
        c.pf = Postfix(os.path.join(wd, "postfix"), c.sink.port, milter=c.parapet.socket_spec,
                       main_extra={"mynetworks": "127.0.0.0/8 192.0.2.0/24 198.51.100.0/24 "
                                                 "203.0.113.0/24 198.18.0.0/15"}).start()
        run.on_fail(lambda: "parapet log (tail):\n" + c.parapet.log()[-5000:])
        with run.section("1. schema (SPEC §6) and parapetctl"):
            test_schema(run, c)
        with run.section("2. decay over a fake clock"):
            test_decay(run, c)
        with run.section("3. greylisting"):
            test_greylist(run, c)
        with run.section("4. round trips per message"):
            test_round_trips(run, c)
        with run.section("5. redis-server SIGKILLed and restarted under 1,000 messages"):
            test_kill_restart(run, c)
        with run.section("6. unix socket, AUTH, SELECT"):
            test_unix_auth_db(run, c)
        with run.section("7. good reputation only for authenticated senders"):
            test_credit(run, c)
        with run.section("stop"):
            run.check(c.parapet.stop(timeout=30) == 0, "parapet exits 0 on SIGTERM")


if __name__ == "__main__":
    main()
