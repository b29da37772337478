#!/usr/bin/env python3
"""test_postfix.py - parapet behind a real, private Postfix (SPEC §3, §4, §7).

One Postfix instance (smtpd_milters = parapet's unix socket) relays every
accepted message to a capturing sink; the checks are on the SMTP replies
the client sees and on what arrives at the sink:

  1. ham: 250, delivered with X-Spam-Status (No, score=.. required=5.0
     tests=..), X-Spam-Score and our Authentication-Results
  2. reject_score reached: 550 5.7.1, not delivered (also at exactly 15.0)
  3. tag_score reached: X-Spam-Flag: YES (also at exactly 5.0)
  4. forged X-Spam-* and our-authserv-id Authentication-Results removed,
     a foreign Authentication-Results kept
  5. over max_scan_bytes: delivered byte-identical to what Postfix with a
     do-nothing milter (tests/nullmilter) delivers, SCAN_TRUNCATED, and the
     part past the limit is not scanned
  6. malformed input: a 2xx/5xx verdict (never 4xx), parapet alive and
     answering the next message; MIME_BROKEN for a boundary-less multipart
  7. trusted_networks via XCLIENT: not scanned; another TEST-NET address is
  8. one log line per message with the Postfix queue id (from the maillog)
  9. 50 SMTP sessions at once (500 messages, the first 50 held after MAIL
     FROM until all are open): parapet has 50 MTA connections at the same
     time (its metrics gauge, scraped all along), every message gets 250,
     is delivered once with the score of its own content, and has one log
     line.  The ThreadSanitizer build runs this for races (scripts/test.sh).

Exit 0 all passed, 1 any failure, 77 skip (not root / no Postfix; never
when CI=true).  Ends with "N passed, N failed".
"""

import os
import re
import sys
import threading
import time
import urllib.request

sys.dont_write_bytecode = True	# no __pycache__ in the source tree (distcheck: read-only)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (NullMilter, Parapet, Postfix, Sink, TestRun,  # noqa: E402
                     free_port, make_message, send, send_many, slow, wait_until)

AUTHSERV = "mx.parapet.test"
SENDER = "alice@sender.test"
RCPT = "bob@rcpt.test"

# rule name -> score; SCAN_TRUNCATED / MIME_BROKEN get small scores so that
# they show in tests= whatever parapet does with 0-score symbols
SCORES = {
    "TEST_REJECT": 20.0, "TEST_FIFTEEN": 15.0, "TEST_TAG": 6.0, "TEST_FIVE": 5.0,
    "TEST_HAM": 0.5, "TEST_HEAD": 0.3, "TEST_TAIL": 0.7,
    "SCAN_TRUNCATED": 0.1, "MIME_BROKEN": 0.1,
}
RULES = """\
# tests/integration/test_postfix.py
body     TEST_REJECT   /XREJECTX/
score    TEST_REJECT   20
describe TEST_REJECT   test: reject marker
body     TEST_FIFTEEN  /XFIFTEENX/
score    TEST_FIFTEEN  15
body     TEST_TAG      /XTAGX/
score    TEST_TAG      6
describe TEST_TAG      test: tag marker
body     TEST_FIVE     /XFIVEX/
score    TEST_FIVE     5
body     TEST_HAM      /XHAMX/
score    TEST_HAM      0.5
body     TEST_HEAD     /XHEADMARKX/
score    TEST_HEAD     0.3
body     TEST_TAIL     /XTAILMARKX/
score    TEST_TAIL     0.7
score    SCAN_TRUNCATED 0.1
score    MIME_BROKEN    0.1
"""
CONFIG = {
    "authserv_id": AUTHSERV,
    "tag_score": "5.0",
    "reject_score": "15.0",
    "max_scan_bytes": "65536",
    "trusted_networks": "198.51.100.0/24",
    "on_error": "tempfail",
}

STATUS_RE = re.compile(r"^(Yes|No), score=(-?\d+\.\d) required=5\.0 tests=(\S+)$")


def norm(v):
    """norm - an unfolded header value with folding whitespace squeezed to
    one space, and none after a comma inside a (folded) tests= list."""
    v = re.sub(r"\s+", " ", v).strip()
    head, sep, tests = v.partition(" tests=")
    return head + sep + re.sub(r",\s+", ",", tests)


class Ctx:
    """Ctx - what every section shares."""

    def __init__(self, run, sink, parapet, postfix):
        self.run = run
        self.sink = sink
        self.parapet = parapet
        self.pf = postfix
        self.pid = parapet.pid
        # message-id -> (test id, expected action) for section 8
        self.expect_log = {}

    def send(self, test_id, data, xclient_addr=None, mail_from=SENDER, rcpts=(RCPT,)):
        return send(self.pf.port, mail_from, list(rcpts), data, xclient_addr=xclient_addr)

    def deliver(self, test_id, data, action=True, **kw):
        """deliver - send; on 2xx wait for the sink copy.  Unless action is
        false (a message parapet does not see), the message is recorded for
        the log check.  Returns (reply, SinkMessage or None)."""
        r = self.send(test_id, data, **kw)
        got = self.sink.wait_for_id(test_id, 30) if r.ok else None
        # the log line must agree with what the client saw
        seen = "accept" if r.ok else "reject" if (
            r.perm and r.message.startswith("5.7.1 Message rejected as spam")) else None
        if action and seen:
            self.expect_log["<%s@parapet.test>" % test_id] = (test_id, seen)
        return r, got

    def status(self, m):
        """status - (Yes/No, score float, [tests], raw) of the one
        X-Spam-Status, or None when it is missing or malformed."""
        vals = m.header("X-Spam-Status")
        if len(vals) != 1:
            return None
        mm = STATUS_RE.match(norm(vals[0]))
        if not mm:
            return None
        tests = [t for t in mm.group(3).split(",") if t and t != "none"]
        return mm.group(1), float(mm.group(2)), tests, norm(vals[0])

    def check_alive(self, what):
        """check_alive - same parapet pid running, and the next message gets
        a verdict from it (X-Spam-Status on delivery)."""
        run = self.run
        run.check(self.parapet.running() and self.parapet.pid == self.pid,
                  "%s: parapet (pid %d) still running" % (what, self.pid),
                  "exit status %s" % (self.parapet.proc.poll(),))
        tid = "alive-%s" % re.sub(r"\W+", "-", what)
        r, m = self.deliver(tid, make_message(tid, body="XHAMX after %s\n" % what))
        run.check(r.ok and m is not None and self.status(m) is not None,
                  "%s: the next message is scanned and delivered" % what,
                  "reply %r, delivered %r" % (r, m and m.header("X-Spam-Status")))


def test_ham(c):
    run = c.run
    r, m = c.deliver("ham-1", make_message(
        "ham-1", subject="Lunch on Friday?",
        body="Hi Bob,\n\nare we still on for lunch on Friday? XHAMX\n\nAlice\n"))
    run.check(r.code == 250, "ham: 250 at end of data", repr(r))
    if not run.check(m is not None, "ham: delivered to the sink"):
        return
    st = c.status(m)
    run.check(st is not None, "ham: exactly one X-Spam-Status in SpamAssassin format "
              "'No, score=N.N required=5.0 tests=...'", repr(m.header("X-Spam-Status")))
    if st:
        flag, score, tests, raw = st
        run.check(flag == "No", "ham: X-Spam-Status says No", raw)
        run.check("TEST_HAM" in tests, "ham: tests= lists the rule that hit (TEST_HAM)", raw)
        want = sum(SCORES.get(t, 0.0) for t in tests)
        run.check(abs(score - want) < 0.05 and abs(score - 0.5) < 0.05,
                  "ham: score is the sum of the scores of the listed tests (0.5)",
                  "%s; sum of listed = %.2f" % (raw, want))
        xs = m.header("X-Spam-Score")
        run.check(len(xs) == 1 and re.fullmatch(r"-?\d+\.\d", xs[0].strip())
                  and abs(float(xs[0]) - score) < 0.001,
                  "ham: exactly one X-Spam-Score, equal to the X-Spam-Status score",
                  "%r vs %s" % (xs, raw))
    run.check(m.header("X-Spam-Flag") == [], "ham: no X-Spam-Flag",
              repr(m.header("X-Spam-Flag")))
    ar = m.header("Authentication-Results")
    ours = [v for v in ar if re.match(r"\s*%s\s*;" % re.escape(AUTHSERV), v)]
    run.check(len(ours) == 1 and len(ar) == 1 and
              re.match(r"%s;\s*\S" % re.escape(AUTHSERV), norm(ours[0])),
              "ham: one Authentication-Results: %s; <results>" % AUTHSERV, repr(ar))


def test_reject(c):
    run = c.run
    r, _ = c.deliver("reject-1", make_message(
        "reject-1", subject="You won", body="Claim your prize now XREJECTX\n"))
    run.check(r.code == 550 and
              re.fullmatch(r"5\.7\.1 Message rejected as spam \(ref [0-9A-Za-z]+\)", r.message),
              "reject: score 20 >= reject_score 15 gives '550 5.7.1 Message rejected as spam "
              "(ref QUEUEID)'", repr(r))
    r, _ = c.deliver("reject-15", make_message(
        "reject-15", body="exactly at the threshold XFIFTEENX\n"))
    run.check(r.code == 550 and r.message.startswith("5.7.1"),
              "reject: score exactly 15.0 (= reject_score) is rejected (SPEC: at or above)",
              repr(r))
    c.rejected = ["reject-1", "reject-15"]


def test_tag(c):
    run = c.run
    for tid, marker, score in (("tag-6", "XTAGX", 6.0), ("tag-5", "XFIVEX", 5.0)):
        r, m = c.deliver(tid, make_message(tid, body="cheap stuff %s\n" % marker))
        what = "tag: score %.1f" % score
        if not run.check(r.code == 250 and m is not None,
                         "%s (< reject_score) accepted and delivered" % what, repr(r)):
            continue
        run.check(m.header("X-Spam-Flag") == ["YES"],
                  "%s (>= tag_score 5.0) gets exactly one 'X-Spam-Flag: YES'" % what,
                  repr(m.header("X-Spam-Flag")))
        st = c.status(m)
        run.check(st is not None and st[0] == "Yes" and abs(st[1] - score) < 0.05,
                  "%s: X-Spam-Status 'Yes, score=%.1f required=5.0 ...'" % (what, score),
                  repr(m.header("X-Spam-Status")))
        run.check(m.header("X-Spam-Score") == ["%.1f" % score],
                  "%s: X-Spam-Score %.1f" % (what, score), repr(m.header("X-Spam-Score")))


def test_forged(c):
    run = c.run
    forged = [
        ("X-Spam-Flag", "YES"),
        ("X-Spam-Status", "Yes, score=99.0 required=5.0 tests=FORGED_ONE"),
        ("X-Spam-Score", "99.0"),
        ("X-Spam-Status", "Yes, score=98.0 required=5.0 tests=FORGED_TWO"),
        ("Authentication-Results", "%s; spf=pass smtp.mailfrom=forged.test" % AUTHSERV),
        ("Authentication-Results", "other.example; spf=pass smtp.mailfrom=kept.test"),
        ("Authentication-Results", "%s;\r\n\tdkim=pass header.d=forged2.test" % AUTHSERV),
    ]
    r, m = c.deliver("forged-1", make_message("forged-1", headers=forged,
                                              body="Ordinary text. XHAMX\n"))
    if not run.check(r.code == 250 and m is not None, "forged: ham with forged headers delivered",
                     repr(r)):
        return
    run.check(m.header("X-Spam-Flag") == [],
              "forged: the incoming X-Spam-Flag: YES is removed (ham adds none)",
              repr(m.header("X-Spam-Flag")))
    st = c.status(m)
    run.check(st is not None and st[0] == "No" and "FORGED" not in st[3],
              "forged: both incoming X-Spam-Status removed; only parapet's 'No, ...' arrives",
              repr(m.header("X-Spam-Status")))
    run.check(len(m.header("X-Spam-Score")) == 1 and "99.0" not in m.header("X-Spam-Score")
              and st is not None and float(m.header("X-Spam-Score")[0]) == st[1],
              "forged: incoming X-Spam-Score removed; only parapet's arrives",
              repr(m.header("X-Spam-Score")))
    ar = [norm(v) for v in m.header("Authentication-Results")]
    ours = [v for v in ar if v.lower().startswith(AUTHSERV + ";")]
    others = [v for v in ar if v.startswith("other.example;")]
    run.check(len(ours) == 1 and "forged" not in ours[0],
              "forged: both incoming Authentication-Results with our authserv-id removed, "
              "parapet's own added", repr(ar))
    run.check(others == ["other.example; spf=pass smtp.mailfrom=kept.test"] and len(ar) == 2,
              "forged: Authentication-Results of another authserv-id kept unchanged", repr(ar))

    # header names are case-insensitive (RFC 5322 §1.2.2), and so is the
    # authserv-id, a domain name (RFC 8601 §2.5, RFC 4343)
    forged = [
        ("x-spam-flag", "YES"),
        ("X-SPAM-STATUS", "Yes, score=99.0 required=5.0 tests=FORGED_CASE"),
        ("x-spam-score", "99.0"),
        ("authentication-results", "MX.Parapet.TEST; spf=pass smtp.mailfrom=forged.test"),
    ]
    r, m = c.deliver("forged-case", make_message("forged-case", headers=forged,
                                                 body="Ordinary text. XHAMX\n"))
    if not run.check(r.code == 250 and m is not None,
                     "forged (other case): ham delivered", repr(r)):
        return
    names = [n for n, _ in m.headers()]
    spam = [(n, v) for n, v in m.headers() if n.lower().startswith("x-spam-")]
    run.check(sorted(n for n, _ in spam) == ["X-Spam-Level", "X-Spam-Score", "X-Spam-Status"]
              and "FORGED" not in repr(spam) and "99.0" not in repr(spam),
              "forged (other case): lower/upper-case x-spam-* field names are removed too",
              repr(spam))
    ar = [norm(v) for v in m.header("Authentication-Results")]
    run.check(len(ar) == 1 and "forged" not in ar[0],
              "forged (other case): Authentication-Results with our authserv-id in other "
              "letter case is removed", "%r (fields: %r)" % (ar, names))


def big_message(test_id):
    """big_message - ~300 KB: a marker in the first line, one past 64 KB"""
    lines = ["First line with XHEADMARKX in the scanned part."]
    i = 0
    while sum(len(x) + 2 for x in lines) < 300 * 1024:
        i += 1
        if i == 3500:		# about 245 KB in: far past max_scan_bytes
            lines.append("Here is XTAILMARKX, past max_scan_bytes.")
        elif i % 97 == 0:
            lines.append(".a line that starts with a dot %06d" % i)
        else:
            lines.append("line %06d The quick brown fox jumps over the lazy dog 0123456789" % i)
    return make_message(test_id, subject="big", body="\n".join(lines) + "\n")


def test_big(c, null_pf):
    run = c.run
    data = big_message("big-1")
    run.check(len(data) > 300 * 1024 and data.find(b"XTAILMARKX") > 200 * 1024,
              "big: the test message is > 300 KB with a marker past 200 KB", len(data))
    r, m = c.deliver("big-1", data)
    if not run.check(r.code == 250 and m is not None,
                     "big: a message over max_scan_bytes is accepted and delivered", repr(r)):
        return
    st = c.status(m)
    run.check(st is not None and "SCAN_TRUNCATED" in st[2],
              "big: X-Spam-Status lists SCAN_TRUNCATED", repr(m.header("X-Spam-Status")))
    run.check(st is not None and "TEST_HEAD" in st[2],
              "big: a rule matching the first 64 KB still hits (TEST_HEAD)",
              repr(m.header("X-Spam-Status")))
    run.check(st is not None and "TEST_TAIL" not in st[2],
              "big: the body past max_scan_bytes is not scanned (no TEST_TAIL)",
              repr(m.header("X-Spam-Status")))
    # the reference: the same message through Postfix with a do-nothing milter
    if null_pf is None:
        run.check(False, "big: a Postfix with tests/nullmilter for the reference copy runs")
        return
    rr = send(null_pf.port, SENDER, [RCPT], big_message("big-null"))
    ref = c.sink.wait_for_id("big-null", 30) if rr.ok else None
    if not run.check(ref is not None, "big: the nullmilter reference copy is delivered", repr(rr)):
        return
    same = m.body == ref.body
    detail = ""
    if not same:
        k = next((i for i, (a, b) in enumerate(zip(m.body, ref.body)) if a != b),
                 min(len(m.body), len(ref.body)))
        detail = "lengths %d (parapet) vs %d (nullmilter); first difference at byte %d:\n" \
                 "parapet:    %r\nnullmilter: %r" % (len(m.body), len(ref.body), k,
                                                     m.body[k - 40:k + 40], ref.body[k - 40:k + 40])
    run.check(same, "big: body delivered byte-identical to the do-nothing milter's (%d bytes)"
              % len(ref.body), detail)
    sent_body = data.split(b"\r\n\r\n", 1)[1]
    run.check(ref.body == sent_body, "big: (reference) Postfix itself left this body unchanged",
              "%d vs %d bytes" % (len(ref.body), len(sent_body)))


def test_malformed(c):
    run = c.run

    def verdict(what, tid, data):
        r, m = c.deliver(tid, data)
        run.check(r.ok or r.perm, "%s: a verdict (2xx or 5xx), never 4xx or a dropped "
                  "connection" % what, repr(r))
        if r.ok:
            run.check(m is not None and c.status(m) is not None,
                      "%s: delivered and scanned (X-Spam-Status)" % what,
                      repr(m and m.header("X-Spam-Status")))
        elif r.perm:
            by = "parapet" if r.message.startswith("5.7.1 Message rejected") else "Postfix"
            run.note("%s: rejected by %s: %r" % (what, by, r))
        c.check_alive(what)
        return r, m

    # NUL bytes in the body
    body = (b"text before\x00\x00NUL bytes\r\n\x00\r\nline\x00 XHAMX\x00\r\n"
            + b"\x00" * 100 + b"\r\n")
    verdict("NUL bytes", "mal-nul", make_message("mal-nul", body=body))

    # 2,000 header fields
    extra = [("X-Filler-%04d" % i, "value %d of a very long header section" % i)
             for i in range(2000)]
    verdict("2000 header fields", "mal-hdrs", make_message("mal-hdrs", headers=extra,
                                                           body="XHAMX\n"))

    # multipart without a boundary parameter
    r, m = verdict("multipart without boundary", "mal-mime", make_message(
        "mal-mime", headers=[("MIME-Version", "1.0"),
                             ("Content-Type", "multipart/mixed")],
        body="--foo\nContent-Type: text/plain\n\nXHAMX part one\n--foo--\n"))
    if r.ok and m is not None:
        st = c.status(m)
        run.check(st is not None and "MIME_BROKEN" in st[2],
                  "multipart without boundary: X-Spam-Status lists MIME_BROKEN",
                  repr(m.header("X-Spam-Status")))

    # MIME nested 200 levels deep (a depth cap, not a stack, must stop it)
    parts = []
    for d in range(200):
        parts.append("Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d" % (d, d))
    nested = "\n".join(parts) + "\nContent-Type: text/plain\n\nXHAMX deep\n"
    nested += "".join("\n--b%d--" % d for d in reversed(range(200))) + "\n"
    verdict("MIME nested 200 deep", "mal-deep", make_message(
        "mal-deep", headers=[("MIME-Version", "1.0"),
                             ("Content-Type", "multipart/mixed; boundary=\"top\"")],
        body="--top\n" + nested + "--top--\n"))

    # broken base64 and quoted-printable
    verdict("broken base64/QP", "mal-b64", make_message(
        "mal-b64", headers=[("MIME-Version", "1.0"),
                            ("Content-Type", "multipart/alternative; boundary=\"zz\"")],
        body="--zz\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
             "!!!not*base64=====\nQUJD=RE\n===\n--zz\nContent-Type: text/html\n"
             "Content-Transfer-Encoding: quoted-printable\n\n=ZZ=4=\n<b>XHAMX=\n\n--zz"))


def test_trusted(c):
    run = c.run
    # scanned, this would be rejected: XREJECTX scores 20
    r, m = c.deliver("trusted-1", make_message(
        "trusted-1", body="From a trusted relay. XREJECTX\n"),
        action=None, xclient_addr="198.51.100.10")
    if run.check(r.code == 250 and m is not None,
                 "trusted: a client in trusted_networks (XCLIENT ADDR=198.51.100.10) is "
                 "accepted although its message would score 20", repr(r)):
        run.check(m.header("X-Spam-Status") == [] and m.header("X-Spam-Score") == []
                  and m.header("X-Spam-Flag") == [],
                  "trusted: delivered without X-Spam-* headers (not scanned)",
                  repr([h for h in m.headers() if h[0].lower().startswith("x-spam")]))
        run.check("198.51.100.10" in (m.first("Received") or ""),
                  "trusted: (setup) Postfix took the XCLIENT address", m.first("Received"))
    r, m = c.deliver("untrusted-1", make_message(
        "untrusted-1", body="From elsewhere. XHAMX\n"), xclient_addr="203.0.113.7")
    if run.check(r.code == 250 and m is not None,
                 "trusted: a client outside trusted_networks (203.0.113.7) is accepted",
                 repr(r)):
        st = c.status(m)
        run.check(st is not None and "TEST_HAM" in st[2],
                  "trusted: the client outside trusted_networks is scanned (X-Spam-Status)",
                  repr(m.header("X-Spam-Status")))
    r, _ = c.deliver("untrusted-rej", make_message(
        "untrusted-rej", body="From elsewhere. XREJECTX\n"),
        xclient_addr="203.0.113.7")
    run.check(r.code == 550, "trusted: the same spam from outside trusted_networks is rejected",
              repr(r))
    c.rejected.append("untrusted-rej")
    c.untrusted_ip_mid = "<untrusted-1@parapet.test>"


def test_log(c):
    run = c.run
    qids = c.pf.queue_ids()
    log = c.parapet.log()
    lines = [ln for ln in log.splitlines() if " qid=" in ln or ln.startswith("qid=")
             or "info: qid=" in ln]
    run.check(len(c.expect_log) >= 10, "log: (setup) at least 10 messages reached a verdict",
              len(c.expect_log))
    bad = []
    for mid, (tid, action) in sorted(c.expect_log.items()):
        q = qids.get(mid, [])
        if len(q) != 1:
            bad.append("%s: %d queue ids in the maillog: %r" % (tid, len(q), q))
            continue
        qid = q[0]
        mine = [ln for ln in lines if re.search(r"(^|\s)qid=%s(\s|$)" % qid, ln)]
        if len(mine) != 1:
            bad.append("%s (qid %s): %d log lines: %r" % (tid, qid, len(mine), mine))
            continue
        ln = mine[0]
        fields = dict(re.findall(r"(\w+)=(\S*)", ln))
        problems = []
        if fields.get("action") != action:
            problems.append("action=%s, want %s" % (fields.get("action"), action))
        if not re.fullmatch(r"-?\d+(\.\d+)?", fields.get("score", "")):
            problems.append("no numeric score=")
        if "symbols" not in fields:
            problems.append("no symbols=")
        if not re.fullmatch(r"\d+(\.\d+)?", fields.get("ms", "")):
            problems.append("no numeric ms=")
        for m in c.sink.by_id(tid):
            if "id %s" % qid not in norm(m.first("Received") or ""):
                problems.append("delivered copy's Received has no 'id %s'" % qid)
            xs = m.first("X-Spam-Score")
            if (xs is not None and "no numeric score=" not in problems
                    and abs(float(xs) - float(fields["score"])) > 0.001):
                problems.append("score=%s but X-Spam-Score %s" % (fields["score"], xs))
        if mid == getattr(c, "untrusted_ip_mid", None) and fields.get("ip") != "203.0.113.7":
            problems.append("ip=%s, want the XCLIENT address 203.0.113.7" % fields.get("ip"))
        if problems:
            bad.append("%s (qid %s): %s\n    %s" % (tid, qid, "; ".join(problems), ln))
    run.check(not bad, "log: exactly one line per message with qid=<the maillog's queue id>, "
              "action=, score=, symbols=, ms= (%d messages)" % len(c.expect_log), "\n".join(bad))
    san = [ln for ln in log.splitlines()
           if re.search(r"Sanitizer|runtime error:|Assertion .* failed", ln)]
    run.check(not san, "log: no sanitizer or assertion report", "\n".join(san[:20]))


STREAM_SESSIONS = 50
STREAM_MESSAGES = 500


def milter_connections(port):
    """milter_connections - parapet_milter_connections from /metrics"""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        m = re.search(r"(?m)^parapet_milter_connections (\d+)$", r.read().decode())
    return int(m.group(1)) if m else None


def test_stream(c):
    run = c.run
    ids = ["stream-%d" % i for i in range(STREAM_MESSAGES)]
    # every other message also carries the tag marker: a verdict that
    # leaked from one session into another would show the wrong score
    want = {t: (6.5 if i % 2 else 0.5) for i, t in enumerate(ids)}
    jobs = [dict(mail_from=SENDER, rcpts=[RCPT],
                 data_bytes=make_message(t, body="Stream %s. XHAMX%s\n" % (
                     t, " XTAGX" if want[t] > 5 else "")))
            for t in ids]
    # the first message of each session waits after MAIL FROM, so all of
    # them are open in parapet at once (held longer when parapet is slow)
    for j in jobs[:STREAM_SESSIONS]:
        j["pause_after_mail"] = slow(2.0)
    peak, errors = [0], []
    done = threading.Event()

    def scraper():
        while not done.is_set():
            try:
                n = milter_connections(c.metrics_port)
                peak[0] = max(peak[0], n or 0)
            except Exception as e:
                errors.append(repr(e))
            done.wait(0.05)

    mark = c.parapet.log_size()
    t = threading.Thread(target=scraper, name="scraper", daemon=True)
    t.start()
    t0 = time.monotonic()
    try:
        outs = send_many(c.pf.port, jobs, concurrency=STREAM_SESSIONS)
    finally:
        done.set()
        t.join()
    run.note("%d messages over %d sessions in %.1f s; peak parapet_milter_connections %d"
             % (len(ids), STREAM_SESSIONS, time.monotonic() - t0, peak[0]))
    run.check(peak[0] >= STREAM_SESSIONS, "stream: (setup) %d MTA connections open in "
              "parapet at once (peak %d)" % (STREAM_SESSIONS, peak[0]))
    run.check(not errors, "stream: /metrics answered every scrape during the stream",
              "\n".join(errors[:5]))
    bad = [(ids[o.index], o.final) for o in outs if o.final is None or o.final.code != 250]
    run.check(not bad, "stream: all %d messages got 250" % len(ids), repr(bad[:10]))
    run.check(wait_until(lambda: all(c.sink.by_id(i) for i in ids), slow(60)),
              "stream: all %d messages delivered" % len(ids))
    counts = c.sink.id_counts()
    run.check(all(counts.get(i) == 1 for i in ids), "stream: each delivered exactly once",
              repr({i: counts.get(i) for i in ids if counts.get(i) != 1}))
    wrong = []
    for i in ids:
        for m in c.sink.by_id(i):
            st = c.status(m)
            if st is None or abs(st[1] - want[i]) > 0.05 or (st[0] == "Yes") != (want[i] > 5):
                wrong.append((i, m.header("X-Spam-Status")))
    run.check(not wrong, "stream: every copy carries the verdict of its own content "
              "(0.5 ham, 6.5 tagged)", repr(wrong[:10]))
    lines = [ln for ln in c.parapet.log(mark).splitlines() if " qid=" in ln and " ms=" in ln]
    run.check(len(lines) == len(ids), "stream: one log line per message (%d for %d)"
              % (len(lines), len(ids)), "\n".join(lines[:5]))


def main():
    with TestRun("test_postfix") as run:
        run.require_root_and_postfix()
        wd = run.workdir
        sink = Sink().start()
        metrics_port = free_port()
        parapet = Parapet(os.path.join(wd, "parapet"),
                          dict(CONFIG, metrics_listen="127.0.0.1:%d" % metrics_port), RULES)
        parapet.start()
        pf = Postfix(os.path.join(wd, "postfix"), sink.port, milter=parapet.socket_spec)
        pf.start()
        run.on_fail(lambda: "parapet log (tail):\n" + parapet.log()[-6000:])
        run.on_fail(lambda: "maillog (tail):\n" + pf.maillog()[-6000:])
        null_pf = None
        try:
            null = NullMilter(os.path.join(wd, "nullmilter")).start()
            null_pf = Postfix(os.path.join(wd, "postfix-null"), sink.port,
                              milter=null.socket_spec).start()
        except Exception as e:
            run.note("reference Postfix with nullmilter did not start: %s" % e)
        c = Ctx(run, sink, parapet, pf)
        c.rejected = []
        c.metrics_port = metrics_port
        with run.section("1. ham"):
            test_ham(c)
        with run.section("2. reject"):
            test_reject(c)
        with run.section("3. tag"):
            test_tag(c)
        with run.section("4. forged headers"):
            test_forged(c)
        with run.section("5. over max_scan_bytes"):
            test_big(c, null_pf)
        with run.section("6. malformed messages"):
            test_malformed(c)
        with run.section("7. trusted_networks"):
            test_trusted(c)
        with run.section("queue drained, rejected messages not delivered"):
            run.check(pf.wait_drained(60), "the Postfix queue drains",
                      "\n".join(pf.queue_files()[:20]))
            leaked = [t for t in c.rejected if c.sink.by_id(t)]
            run.check(not leaked and c.rejected, "no rejected message reached the sink "
                      "(%d rejected)" % len(c.rejected), repr(leaked))
            run.check(not sink.duplicates(), "no message delivered twice",
                      repr(sink.duplicates()))
        with run.section("8. log lines"):
            test_log(c)
        with run.section("9. %d SMTP sessions at once" % STREAM_SESSIONS):
            test_stream(c)
            run.check(pf.wait_drained(slow(60)), "stream: the Postfix queue drains",
                      "\n".join(pf.queue_files()[:20]))
        with run.section("stop"):
            pid = parapet.pid
            rc = parapet.stop(timeout=30)
            run.check(rc == 0, "parapet (pid %d) exits 0 on SIGTERM" % pid, "status %r" % rc)


if __name__ == "__main__":
    main()
