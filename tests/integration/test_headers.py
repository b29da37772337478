#!/usr/bin/env python3
"""test_headers.py - forged and key header fields through the real Postfix
(SPEC §4, issue 12): what the sink receives.

parapet keeps 1,000 header fields of a message; past them it still keeps
From, Authentication-Results and X-Spam-* (200 more at most), and clients it
does not scan still have their forged fields removed.

  1. 1,000 filler fields, then "Authentication-Results: <our id>; dkim=pass"
     and "X-Spam-Flag: NO": both removed at delivery, a foreign
     Authentication-Results after the fillers kept, HEADERS_TRUNCATED;
  2. 1,000 filler fields, then the only From, of a p=reject domain the
     client does not send for: DMARC_FAIL_REJECT and dmarc=fail, not
     DMARC_NONE; a second From after the fillers: FROM_MULTIPLE;
  3. more key fields after the fillers than parapet keeps: 550 5.6.0, not
     delivered;
  4. a client in trusted_networks and 5. a SASL-authenticated client
     (XCLIENT LOGIN=, {auth_authen}): not scanned (a message scoring 20 is
     delivered, nothing added), but the forged X-Spam-* and our own
     Authentication-Results are removed and a foreign one is kept.

Exit 0 all passed, 1 any failure, 77 skip (not root / no Postfix; never
when CI=true).  Ends with "N passed, N failed".
"""

import os
import re
import sys

sys.dont_write_bytecode = True	# no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DnsServer, Parapet, Postfix, Sink, TestRun,  # noqa: E402
                     make_message, send)

AUTHSERV = "mx.parapet.test"
RCPT = "bob@rcpt.test"
TRUSTED_IP = "198.51.100.10"
OUTSIDE_IP = "203.0.113.5"
ZONE = {
    "_dmarc.bank.example": [{"TXT": "v=DMARC1; p=reject"}],
    "evil.example": [{"TXT": "v=spf1 -all"}],
}
RULES = """\
# tests/integration/test_headers.py
body     TEST_REJECT   /XREJECTX/
score    TEST_REJECT   20
"""
FILLERS = [("X-Filler-%04d" % i, "padding field %d" % i) for i in range(1000)]
FORGED = [
    ("X-Spam-Flag", "NO"),
    ("X-Spam-Status", "No, score=-9.0 required=5.0 tests=FORGED"),
    ("X-Spam-Score", "-9.0"),
    ("Authentication-Results", "%s; dkim=pass header.d=bank.example" % AUTHSERV),
    ("Authentication-Results", "other.example; spf=pass smtp.mailfrom=kept.example"),
    ("Authentication-Results", "%s; dmarc=pass header.from=bank.example" % AUTHSERV.upper()),
]


def norm(v):
    return re.sub(r"\s+", " ", v).strip()


def spam_fields(m):
    return [(n, v) for n, v in m.headers() if n.lower().startswith("x-spam-")]


def main():
    with TestRun("test_headers") as run:
        run.require_root_and_postfix()
        wd = run.workdir
        dns = DnsServer(os.path.join(wd, "dns"), ZONE).start()
        sink = Sink().start()
        parapet = Parapet(os.path.join(wd, "parapet"),
                          {"authserv_id": AUTHSERV, "trusted_networks": "198.51.100.0/24"},
                          RULES, dns=dns)
        parapet.start()
        # XCLIENT LOGIN= needs SASL enabled; it stands for an AUTH
        pf = Postfix(os.path.join(wd, "postfix"), sink.port, milter=parapet.socket_spec,
                     main_extra={"smtpd_sasl_auth_enable": "yes"})
        pf.start()
        run.on_fail(lambda: "parapet log (tail):\n" + parapet.log()[-4000:])
        run.on_fail(lambda: "maillog (tail):\n" + pf.maillog()[-3000:])

        def deliver(tid, data, mail_from="alice@sender.test", addr=OUTSIDE_IP, login=None):
            r = send(pf.port, mail_from, [RCPT], data, xclient_addr=addr, xclient_login=login)
            return r, (sink.wait_for_id(tid, 30) if r.ok else None)

        def ours(m):
            return [norm(v) for v in m.header("Authentication-Results")
                    if norm(v).lower().startswith(AUTHSERV + ";")]

        def log_line(tid):
            mid = "<%s@parapet.test>" % tid
            q = pf.queue_ids().get(mid, [])
            lines = [ln for ln in parapet.log().splitlines()
                     if q and re.search(r"\bqid=%s\s" % q[0], ln)]
            return lines[0] if len(lines) == 1 else repr(lines)

        with run.section("1. forged fields after 1,000 fillers"):
            tid = "cap-forged"
            r, m = deliver(tid, make_message(tid, headers=FILLERS + FORGED, body="Hello.\n"))
            if run.check(r.ok and m is not None, "%s: delivered" % tid, repr(r)):
                run.check(len(m.header("X-Filler-0999")) == 1,
                          "%s: (setup) all 1,000 fillers arrived" % tid)
                spam = spam_fields(m)
                run.check(not any(v in ("NO", "-9.0") or "FORGED" in v for _, v in spam),
                          "%s: the forged X-Spam-Flag: NO, X-Spam-Status and X-Spam-Score "
                          "are removed" % tid, repr(spam))
                run.check(m.header("X-Spam-Flag") == [],
                          "%s: no X-Spam-Flag at all (ham adds none)" % tid,
                          repr(m.header("X-Spam-Flag")))
                ar = ours(m)
                run.check(len(ar) == 1 and "pass" not in ar[0],
                          "%s: both forged Authentication-Results with our authserv-id are "
                          "removed, parapet's own added" % tid, repr(ar))
                run.check([norm(v) for v in m.header("Authentication-Results")
                           if v.startswith("other.example")]
                          == ["other.example; spf=pass smtp.mailfrom=kept.example"],
                          "%s: the foreign Authentication-Results is kept" % tid,
                          repr(m.header("Authentication-Results")))
                run.check("HEADERS_TRUNCATED" in (m.spam_tests() or []),
                          "%s: X-Spam-Status lists HEADERS_TRUNCATED" % tid,
                          repr(m.header("X-Spam-Status")))

        with run.section("2. the only From after 1,000 fillers"):
            tid = "cap-from"
            data = make_message(tid, sender=None, headers=FILLERS + [
                ("From", "Bank Security <security@bank.example>")])
            r, m = deliver(tid, data, mail_from="attacker@evil.example")
            if run.check(r.ok and m is not None, "%s: delivered (DMARC only scores)" % tid,
                         repr(r)):
                tests = m.spam_tests() or []
                run.check("DMARC_FAIL_REJECT" in tests and "DMARC_NONE" not in tests,
                          "%s: DMARC_FAIL_REJECT for the p=reject From, not DMARC_NONE" % tid,
                          repr(tests))
                run.check(any("dmarc=fail header.from=bank.example" in a for a in ours(m)),
                          "%s: Authentication-Results says dmarc=fail header.from=bank.example"
                          % tid, repr(ours(m)))
            tid = "cap-from2"
            data = make_message(tid, sender="alice@sender.test", headers=FILLERS + [
                ("From", "Bank Security <security@bank.example>")])
            r, m = deliver(tid, data, mail_from="attacker@evil.example")
            if run.check(r.ok and m is not None, "%s: delivered" % tid, repr(r)):
                tests = m.spam_tests() or []
                run.check("FROM_MULTIPLE" in tests and not any(
                    t.startswith("DMARC_") for t in tests),
                    "%s: a second From after the fillers counts: FROM_MULTIPLE, DMARC not "
                    "evaluated" % tid, repr(tests))

        with run.section("3. too many key fields after the fillers"):
            tid = "cap-keys"
            data = make_message(tid, headers=FILLERS + [("X-Spam-Flag", "NO")] * 201)
            r, m = deliver(tid, data)
            run.check(r.code == 550 and r.message.startswith(
                "5.6.0 Message header too long to check"),
                "%s: refused with 550 5.6.0 and a clear text" % tid, repr(r))
            run.check(m is None and not sink.by_id(tid), "%s: not delivered" % tid)

        for title, tid, addr, login, note in (
                ("4. trusted_networks", "skip-trusted", TRUSTED_IP, None, "trusted_networks"),
                ("5. SASL-authenticated client", "skip-auth", OUTSIDE_IP, "alice",
                 "authenticated")):
            with run.section(title):
                data = make_message(tid, headers=FORGED, body="Would score 20: XREJECTX\n")
                r, m = deliver(tid, data, addr=addr, login=login)
                if not run.check(r.ok and m is not None,
                                 "%s: accepted unscanned although it would score 20" % tid,
                                 repr(r)):
                    continue
                run.check(spam_fields(m) == [],
                          "%s: the forged X-Spam-* fields are removed and none added" % tid,
                          repr(spam_fields(m)))
                ar = [norm(v) for v in m.header("Authentication-Results")]
                run.check(ar == ["other.example; spf=pass smtp.mailfrom=kept.example"],
                          "%s: our forged Authentication-Results (dkim=pass, dmarc=pass) are "
                          "removed, the foreign one kept, none added" % tid, repr(ar))
                ln = log_line(tid)
                run.check(" action=accept symbols= " in ln and ln.endswith("note=" + note),
                          "%s: one log line, accepted unscanned, note=%s" % (tid, note), ln)

        with run.section("stop"):
            log = parapet.log()
            san = [ln for ln in log.splitlines()
                   if re.search(r"Sanitizer|runtime error:|Assertion .* failed", ln)]
            run.check(not san, "no sanitizer or assertion report", "\n".join(san[:20]))
            run.check(parapet.stop(timeout=30) == 0, "parapet exits 0 on SIGTERM")


if __name__ == "__main__":
    main()
