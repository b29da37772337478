#!/usr/bin/env python3
"""test_bayes.py - the Bayes classifier against a real redis-server,
through Postfix (issue 15).

1. silent below bayes_min_spam/bayes_min_ham: no BAYES_* before training;
2. parapetctl learn spam MBOX, learn ham MAILDIR: then similar messages
   through Postfix get BAYES_99 (spam) and BAYES_00 (ham) in X-Spam-Status,
   and parapetctl scan shows the probability and the strongest tokens;
3. digest: learning again changes nothing, the other class moves it,
   forget undoes it (bayes stats and the totals hash); a batch of messages
   in one parapetctl command (one script call) leaves the counts as
   learning them one by one (a batch of new messages too, each token key
   expiring after bayes_token_ttl x its count), with one HINCRBY per
   distinct token;
4. 1 MB of unique words: capped at 1,000 tokens, the message goes on;
5. redis-server SIGKILLed under a stream: every message 250, each
   delivered once, the messages during the outage without BAYES_*;
6. autolearn (SpamAssassin's AutoLearnThreshold) on a second parapet
   with its own Redis: 13 points (6 header, 7 body) learned as spam, once
   however often it comes; 13 header points and no body points not
   learned; a message that hits nothing learned as ham; off by default
   (the first parapet learns nothing from its verdicts).
"""
import json
import os
import random
import re
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BUILDDIR, Parapet, Postfix, Redis, Sink, TestRun,  # noqa: E402
                     make_message, send, send_many, wait_until)

PREFIX = "parapet:"
RCPT = "bob@rcpt.test"
CTL = os.path.join(BUILDDIR, "milter", "parapetctl")
MIN = 20
SPAM_WORDS = ("viagra cheap pills casino jackpot winner lottery prize bitcoin investment "
              "guaranteed unsubscribe limited offer exclusive discount pharmacy replica "
              "watches loans credit approved urgent claim bonus free").split()
HAM_WORDS = ("meeting agenda project review quarterly report budget schedule minutes "
             "deadline draft attached comments kernel patch release build tests thanks "
             "regards lunch tomorrow colleague").split()
RULES = "score REDIS_UNAVAILABLE 0.0\n"


def ctl(conf, *args):
    p = subprocess.run([CTL, "-c", conf] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def words(rng, vocab, n=40):
    return " ".join(rng.choice(vocab) for _ in range(n))


def mail(test_id, rng, vocab, sender):
    return make_message(test_id, subject=words(rng, vocab, 4), body=words(rng, vocab) + "\n",
                        sender=sender)


def status(m):
    """status - the X-Spam-Status field of a delivered message"""
    hm = re.search(rb"X-Spam-Status: (.*(?:\r\n[ \t].*)*)", m.data)
    return hm.group(1).decode(errors="replace").replace("\r\n", "") if hm else ""


def sent_statuses(c, jobs):
    outs = send_many(c.pf.port, jobs, concurrency=4)
    ids = [j["data_bytes"].split(b"X-Test-Id: ")[1].split(b"\r\n")[0].decode() for j in jobs]
    wait_until(lambda: all(c.sink.by_id(i) for i in ids), 60)
    return outs, [status(c.sink.by_id(i)[0]) if c.sink.by_id(i) else "" for i in ids]


def test_untrained(run, c, rng):
    jobs = [dict(mail_from="s@spam.test", rcpts=[RCPT],
                 data_bytes=mail("untrained-%d" % i, rng, SPAM_WORDS, "s@spam.test"))
            for i in range(3)]
    outs, st = sent_statuses(c, jobs)
    run.check(all(o.final.code == 250 for o in outs) and st and
              not any("BAYES_" in s for s in st),
              "untrained (0 of %d learned): no BAYES_* symbol" % MIN, repr(st))


def test_learn_classify(run, c, rng):
    wd, conf = run.workdir, c.parapet.conf_path
    mbox = os.path.join(wd, "spam.mbox")
    with open(mbox, "wb") as fp:
        for i in range(MIN + 5):
            fp.write(b"From spammer@spam.test Mon Jan  1 00:00:00 2024\n")
            fp.write(mail("train-spam-%d" % i, rng, SPAM_WORDS, "s%d@spam.test" % i)
                     .replace(b"\r\n", b"\n") + b"\n")
    maildir = os.path.join(wd, "Maildir", ".Ham")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir, sub))
    for i in range(MIN + 5):
        with open(os.path.join(maildir, "cur" if i % 2 else "new", "%d.host:2,S" % i), "wb") as fp:
            fp.write(mail("train-ham-%d" % i, rng, HAM_WORDS, "h%d@ham.test" % i))
    with open(os.path.join(maildir, "tmp", "partial"), "wb") as fp:
        fp.write(b"Subject: half-written\r\n\r\nviagra\r\n")
    reads0 = int(c.redis.info("stats")["total_reads_processed"])
    rc, out, err = ctl(conf, "learn", "spam", mbox)
    reads = int(c.redis.info("stats")["total_reads_processed"]) - reads0 - 1  # our INFO
    run.check(rc == 0 and "%d messages: %d learned" % (MIN + 5, MIN + 5) in out,
              "learn spam MBOX: each message of the mbox learned", out + err)
    # one script call per message for Bayes and one for reputation, but
    # batched: a pipelined round trip carries many messages' calls
    run.check(reads < MIN + 5, "learn spam MBOX: messages batched per round trip "
              "(%d server reads for %d messages)" % (reads, MIN + 5))
    rc, out, err = ctl(conf, "learn", "ham", maildir)
    run.check(rc == 0 and "%d messages: %d learned" % (MIN + 5, MIN + 5) in out,
              "learn ham MAILDIR: cur/ and new/, not tmp/", out + err)
    tot = c.redis.call("HMGET", PREFIX + "bayes", "spam", "ham")
    run.check(tot == [str(MIN + 5), str(MIN + 5)], "totals hash: spam and ham counts", repr(tot))
    rc, out, err = ctl(conf, "bayes", "stats")
    ntok = len(c.redis.call("KEYS", PREFIX + "b:*"))
    run.check(rc == 0 and "spam learned   %d" % (MIN + 5) in out and
              "tokens         %d " % ntok in out and "voting" in out,
              "parapetctl bayes stats: counts, tokens, voting", out + err)
    ttl = c.redis.call("TTL", c.redis.call("KEYS", PREFIX + "b:*")[0])
    run.check(0 < ttl <= 3600 * 12, "token keys expire (bayes_token_ttl x count, at most x12)",
              repr(ttl))

    jobs = [dict(mail_from="n%d@spam.test" % i, rcpts=[RCPT],
                 data_bytes=mail("new-spam-%d" % i, rng, SPAM_WORDS, "n%d@spam.test" % i))
            for i in range(10)]
    jobs += [dict(mail_from="n%d@ham.test" % i, rcpts=[RCPT],
                  data_bytes=mail("new-ham-%d" % i, rng, HAM_WORDS, "n%d@ham.test" % i))
             for i in range(10)]
    outs, st = sent_statuses(c, jobs)
    run.note("spam: %r" % st[:2])
    run.note("ham: %r" % st[10:12])
    run.check(all(o.final.code == 250 for o in outs), "20 messages: 250")
    run.check(all("BAYES_99" in s for s in st[:10]), "10 similar spam: BAYES_99",
              repr(st[:10]))
    run.check(all("BAYES_00" in s for s in st[10:]), "10 similar ham: BAYES_00",
              repr(st[10:]))
    eml = os.path.join(wd, "one.eml")
    with open(eml, "wb") as fp:
        fp.write(mail("scan-one", rng, SPAM_WORDS, "x@spam.test"))
    rc, out, err = ctl(conf, "scan", "--no-dns", eml)
    run.check(rc == 0 and re.search(r"bayes: probability 1\.0000 \(%d spam, %d ham learned"
                                    % (MIN + 5, MIN + 5), out) and "spammy:" in out,
              "parapetctl scan: the probability and the strongest tokens", out + err)
    # --bayes-cpu (scripts/bench/bayes's CPU figure): the classifier's own
    # CPU on each message it ran on, and nothing without the option
    rc, out, err = ctl(conf, "scan", "--no-dns", "--json", "--bayes-cpu", eml, eml)
    cpu = [json.loads(ln)["bayes"].get("cpu_us") for ln in out.splitlines()] if rc == 0 else []
    run.check(len(cpu) == 2 and all(isinstance(x, float) and 0 < x < 1e6 for x in cpu),
              "parapetctl scan --bayes-cpu: the classifier's CPU, each message", out + err)
    rc, out, err = ctl(conf, "scan", "--no-dns", "--json", eml)
    run.check(rc == 0 and "cpu_us" not in out, "parapetctl scan: no cpu_us without --bayes-cpu",
              out + err)
    c.mbox = mbox


def test_digest(run, c, rng):
    conf, r = c.parapet.conf_path, c.redis
    eml = os.path.join(run.workdir, "digest.eml")
    with open(eml, "wb") as fp:
        fp.write(mail("digest", rng, SPAM_WORDS + ["uniqueword%d" % i for i in range(5)],
                      "d@digest.test"))
    before = r.call("HMGET", PREFIX + "bayes", "spam", "ham")
    rc, out, err = ctl(conf, "learn", "spam", eml)
    run.check(rc == 0 and "bayes=learned" in out, "learn spam: learned", out + err)
    snap = {k: r.call("HGETALL", k) for k in r.call("KEYS", PREFIX + "b:*")}
    rc, out, err = ctl(conf, "learn", "spam", eml)
    snap2 = {k: r.call("HGETALL", k) for k in r.call("KEYS", PREFIX + "b:*")}
    run.check(rc == 0 and "already learned" in out and snap == snap2,
              "learn the same message again: no token count changes", out + err)
    rc, out, err = ctl(conf, "learn", "ham", eml)
    tot = r.call("HMGET", PREFIX + "bayes", "spam", "ham")
    run.check(rc == 0 and "bayes=moved" in out and tot == [before[0], str(int(before[1]) + 1)],
              "learn as ham: moved (spam total back, ham +1)", out + err + repr(tot))
    rc, out, err = ctl(conf, "forget", eml)
    tot = r.call("HMGET", PREFIX + "bayes", "spam", "ham")
    snap3 = {k: r.call("HGETALL", k) for k in r.call("KEYS", PREFIX + "b:*")}
    orig = {k: v for k, v in snap.items()}
    run.check(rc == 0 and "forgotten" in out and tot == before,
              "forget: totals as before the first learn", out + err + repr(tot))
    gone = [k for k in orig if k not in snap3]
    run.check(len(gone) >= 5, "forget: the message's own tokens are gone (%d keys)" % len(gone))
    rc, out, err = ctl(conf, "forget", eml)
    run.check(rc == 0 and "not learned" in out, "forget again: not learned", out + err)


def bayes_snapshot(r):
    """bayes_snapshot - every token key's counts and the totals"""
    snap = {k: r.call("HGETALL", k) for k in r.call("KEYS", PREFIX + "b:*")}
    return snap, r.call("HMGET", PREFIX + "bayes", "spam", "ham")


def ttl_check(r, before):
    """ttl_check - every token key whose counts changed since the snapshot
    before expires at least bayes_token_ttl (3600) x min(its larger
    count, 12) from now (a key that grew gets that; one shared with
    earlier tests may already have more; keys left alone are not checked:
    their TTL has been falling since they were written); the keys that
    fail"""
    bad = []
    for k, flat in bayes_snapshot(r)[0].items():
        if before.get(k) == flat:
            continue
        counts = dict(zip(*[iter(flat)] * 2))
        c = min(max(int(v) for v in counts.values()), 12)
        ttl = r.call("TTL", k)
        if ttl < 0 or ttl > 3600 * 12 or ttl < 3600 * c - 60:
            bad.append((k, counts, ttl))
    return bad


def test_batch(run, c, rng):
    conf, r = c.parapet.conf_path, c.redis
    vocab = ["batchword%d" % i for i in range(30)]
    files = {}
    for name in "ABCDEF":
        files[name] = os.path.join(run.workdir, "batch-%s.eml" % name)
        with open(files[name], "wb") as fp:
            fp.write(mail("batch-" + name, rng, vocab, "b@batch.test"))
    A, B, C, D, E, F = (files[x] for x in "ABCDEF")
    # the steps: (command, files, the words expected in order); the first
    # batch is all new messages (the script takes the client's per-token
    # counts), the others need the script's own sums (a repeat, moves,
    # forgets)
    steps = [("learn spam", [E, F], ["learned", "learned"]),
             ("learn spam", [A, B, C, A], ["learned", "learned", "learned", "already learned"]),
             ("learn ham", [A, D, A], ["moved", "learned", "already learned"]),
             ("forget", [B, B], ["forgotten", "not learned"])]
    undo = ("forget", [A, C, D, E, F], ["forgotten"] * 5)

    def do(cmd, fs, want, one_by_one):
        got = []
        for part in ([[f] for f in fs] if one_by_one else [fs]):
            rc, out, err = ctl(conf, *(cmd.split() + part))
            for line in out.splitlines():
                if line.startswith(run.workdir):
                    got.append(line.split("bayes=")[1] if "bayes=" in line
                               else line.split(": ", 1)[1])
        return got == want, "%s: %r, wanted %r" % (cmd, got, want)

    snap0 = bayes_snapshot(r)
    ok, why = do(steps[0][0], steps[0][1], steps[0][2], False)
    run.check(ok, "one batch of new messages: each learned", why)
    bad = ttl_check(r, snap0[0])
    run.check(not bad, "one batch of new messages: every token key expires after "
              "bayes_token_ttl x its count", repr(bad[:3]))
    snap1 = bayes_snapshot(r)
    r.call("CONFIG", "RESETSTAT")
    ok, why = do(steps[1][0], steps[1][1], steps[1][2], False)
    run.check(ok, "one batch: each message decided in order (a repeat already learned)", why)
    calls = int(re.search(r"calls=(\d+)", r.info("commandstats").get("cmdstat_hincrby", "calls=0"))
                .group(1))
    changed = sum(1 for k, v in bayes_snapshot(r)[0].items() if snap1[0].get(k) != v)
    run.check(0 < calls <= changed + 4,
              "one batch: one HINCRBY per distinct token (%d calls, %d tokens)" % (calls, changed))
    for cmd, fs, want in steps[2:]:
        ok, why = do(cmd, fs, want, False)
        run.check(ok, "one batch: " + cmd, why)
    batched = bayes_snapshot(r)
    bad = ttl_check(r, snap1[0])
    run.check(not bad, "batches: every token key expires after bayes_token_ttl x its count",
              repr(bad[:3]))
    ok, why = do(*undo, False)
    run.check(ok and bayes_snapshot(r) == snap0, "one batch: forget restores every count", why)
    for cmd, fs, want in steps:
        ok, why = do(cmd, fs, want, True)
        run.check(ok, "one by one: " + cmd, why)
    run.check(bayes_snapshot(r) == batched, "batched counts equal one-by-one counts")
    ok, why = do(*undo, True)
    run.check(ok and bayes_snapshot(r) == snap0, "one by one: forget restores every count", why)


def test_cap(run, c, rng):
    body = " ".join("w%07dx" % i for i in range(110000)) + "\n"
    data = make_message("cap", subject="cap", body=body, sender="cap@cap.test")
    eml = os.path.join(run.workdir, "cap.eml")
    with open(eml, "wb") as fp:
        fp.write(data)
    rc, out, err = ctl(c.parapet.conf_path, "scan", "--no-dns", eml)
    run.check(rc == 0 and re.search(r"of 1000 tokens used, capped", out) and "BAYES_" not in out,
              "1 MB of unique words: 1,000 tokens, capped (%d bytes)" % len(data), out[-600:] + err)
    t0 = time.monotonic()
    o = send(c.pf.port, "cap@cap.test", [RCPT], data)
    run.check(getattr(o, "final", o).code == 250, "the 1 MB message goes on: 250 in %.2f s"
              % (time.monotonic() - t0))


def test_kill(run, c, rng):
    n = 300
    ids = ["kill-%d" % i for i in range(n)]
    jobs = [dict(mail_from="k@kill.test", rcpts=[RCPT],
                 data_bytes=mail(ids[i], rng, SPAM_WORDS, "k@kill.test")) for i in range(n)]
    done = [0]
    lock = threading.Lock()

    def on_done(o):
        with lock:
            done[0] += 1

    def killer():
        wait_until(lambda: done[0] >= 60, 120)
        c.redis.kill()

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    outs = send_many(c.pf.port, jobs, concurrency=8, on_done=on_done)
    t.join(60)
    codes = {}
    for o in outs:
        codes[o.final.code] = codes.get(o.final.code, 0) + 1
    run.check(codes == {250: n}, "every message 250 with Redis killed mid-stream", repr(codes))
    run.check(wait_until(lambda: all(c.sink.by_id(i) for i in ids), 60),
              "all %d delivered" % n)
    counts = c.sink.id_counts()
    run.check(all(counts.get(i) == 1 for i in ids), "each delivered exactly once")
    st = [status(c.sink.by_id(i)[0]) for i in ids]
    with_b = sum("BAYES_" in s for s in st)
    run.note("%d of %d with BAYES_* (before the kill)" % (with_b, n))
    run.check(0 < with_b < n and all("BAYES_" not in s for s in st[-50:]),
              "BAYES_* before the kill, none after it", "%d with" % with_b)


AL_RULES = """header AL_HEAD Subject =~ /AUTOLEARN-SPAM/
score AL_HEAD 6
body AL_BODY /autolearnspambody/
score AL_BODY 7
header AL_HEAD_ONLY Subject =~ /HEADER-ONLY/
score AL_HEAD_ONLY 13
score REDIS_UNAVAILABLE 0.0
"""


def test_autolearn(run, c, rng):
    wd = run.workdir
    r = Redis(os.path.join(wd, "redis-al")).start()
    p = Parapet(os.path.join(wd, "parapet-al"), {
        "redis": "127.0.0.1:%d" % r.port, "redis_timeout_ms": "500", "greylist": "no",
        "reject_score": "1000", "bayes": "yes", "bayes_auto_learn": "yes",
    }, AL_RULES).start()
    pf = Postfix(os.path.join(wd, "postfix-al"), c.sink.port, milter=p.socket_spec).start()
    try:
        def totals():
            return [int(x or 0) for x in r.call("HMGET", PREFIX + "bayes", "spam", "ham")]

        def seen():
            return sorted(r.call("GET", k) for k in r.call("KEYS", PREFIX + "bayes:seen:*"))

        spam = make_message("al-spam", subject="AUTOLEARN-SPAM offer",
                            body="autolearnspambody " + words(rng, SPAM_WORDS) + "\n")
        job = dict(mail_from="s@al.test", rcpts=[RCPT], data_bytes=spam)
        outs, st = sent_statuses(Ctx2(pf, c.sink), [job])
        run.check(outs[0].final.code == 250 and "AL_HEAD" in st[0] and "AL_BODY" in st[0],
                  "13 points: 6 header, 7 body", repr(st))
        run.check(wait_until(lambda: totals() == [1, 0], 10),
                  "learned as spam (autolearn)", repr(totals()))
        run.check(seen() == ["s"], "its digest recorded as spam", repr(seen()))
        outs, _ = sent_statuses(Ctx2(pf, c.sink), [dict(job, data_bytes=spam.replace(
            b"X-Test-Id: al-spam", b"X-Test-Id: al-spam-again"))])
        time.sleep(0.5)
        run.check(totals() == [1, 0], "the same message again: learned once (digest)",
                  repr(totals()))
        hdr = make_message("al-hdr", subject="HEADER-ONLY " + words(rng, HAM_WORDS, 3),
                           body=words(rng, HAM_WORDS) + "\n")
        outs, st = sent_statuses(Ctx2(pf, c.sink), [dict(job, data_bytes=hdr)])
        run.check("AL_HEAD_ONLY" in st[0] and "score=13.0" in st[0], "13 header points",
                  repr(st))
        time.sleep(0.5)
        run.check(totals() == [1, 0], "no body points: not learned as spam", repr(totals()))
        ham = make_message("al-ham", subject=words(rng, HAM_WORDS, 4),
                           body=words(rng, HAM_WORDS) + "\n")
        outs, st = sent_statuses(Ctx2(pf, c.sink), [dict(job, data_bytes=ham)])
        run.check(wait_until(lambda: totals() == [1, 1], 10),
                  "nothing hit (score 0 < 0.1): learned as ham", repr((totals(), st)))
        run.check(seen() == ["h", "s"], "digests: one spam, one ham", repr(seen()))
        run.check(re.search(r"bayes autolearn=spam learned", p.log()) is not None,
                  "the log says what autolearn did")
    finally:
        pf.stop()
        p.stop(timeout=30)
        r.stop()
    # the first parapet (bayes_auto_learn not set) never learns from verdicts
    before = c.redis.call("HMGET", PREFIX + "bayes", "spam", "ham")
    jobs = [dict(mail_from="d@al.test", rcpts=[RCPT],
                 data_bytes=make_message("al-default-%d" % i, subject=words(rng, HAM_WORDS, 4),
                                         body=words(rng, HAM_WORDS) + "\n"))
            for i in range(3)]
    outs, st = sent_statuses(c, jobs)
    time.sleep(0.5)
    after = c.redis.call("HMGET", PREFIX + "bayes", "spam", "ham")
    run.check(all(o.final.code == 250 for o in outs) and before == after,
              "bayes_auto_learn off by default: nothing learned", repr((before, after, st)))


class Ctx2:
    """Ctx2 - the parts of the context sent_statuses uses"""

    def __init__(self, pf, sink):
        self.pf, self.sink = pf, sink


def main():
    with TestRun("test_bayes") as run:
        run.require_root_and_postfix()
        wd = run.workdir
        rng = random.Random(15)

        class Ctx:
            pass
        c = Ctx()
        c.redis = Redis(os.path.join(wd, "redis")).start()
        c.sink = Sink().start()
        c.parapet = Parapet(os.path.join(wd, "parapet"), {
            "redis": "127.0.0.1:%d" % c.redis.port,
            "redis_timeout_ms": "200",
            "greylist": "no",
            "reject_score": "1000",
            "bayes": "yes",
            "bayes_min_spam": str(MIN),
            "bayes_min_ham": str(MIN),
            "bayes_token_ttl": "3600",
        }, RULES, shipped_rules=True)
        c.parapet.start()
        c.pf = Postfix(os.path.join(wd, "postfix"), c.sink.port,
                       milter=c.parapet.socket_spec).start()
        run.on_fail(lambda: "parapet log (tail):\n" + c.parapet.log()[-3000:])
        with run.section("1. silent below the minimum"):
            test_untrained(run, c, rng)
        with run.section("2. learn an mbox and a Maildir, classify similar mail"):
            test_learn_classify(run, c, rng)
        with run.section("3. digest: dedupe, move, forget"):
            test_digest(run, c, rng)
        with run.section("3b. a batch: as learned one by one, each token written once"):
            test_batch(run, c, rng)
        with run.section("4. 1 MB of unique words"):
            test_cap(run, c, rng)
        with run.section("6. autolearn"):
            test_autolearn(run, c, rng)
        with run.section("5. redis-server killed mid-stream"):
            test_kill(run, c, rng)
        with run.section("stop"):
            run.check(c.parapet.stop(timeout=30) == 0, "parapet exits 0 on SIGTERM")


if __name__ == "__main__":
    main()
