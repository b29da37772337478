#!/usr/bin/env python3
"""test_auth.py - SPF through the real Postfix (SPEC §4, §5, §7).

A DnsServer (tests/dnsserver.py) publishes an SPF record for the sender
domain; Postfix pretends the client address with XCLIENT ADDR.

  1. an allowed client (192.0.2.10): Authentication-Results
     "mx.parapet.test; spf=pass smtp.mailfrom=alice@spf.example.net" and
     SPF_PASS in X-Spam-Status;
  2. an IPv6 client inside the record's ip6: network: spf=pass;
  3. a client outside the record (203.0.113.5): spf=fail and SPF_FAIL;
  4. a sender domain whose DNS never answers: SPF_TEMPERROR, and the
     message still gets its verdict within dns_timeout_ms plus a margin;
  5. the null sender: the HELO identity (smtp.helo=).

Exit 0 all passed, 1 any failure, 77 skip (not root / no Postfix; never
when CI=true).  Ends with "N passed, N failed".
"""

import os
import re
import sys
import time

sys.dont_write_bytecode = True	# no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DnsServer, Parapet, Postfix, Sink, TestRun,  # noqa: E402
                     make_message, send)

AUTHSERV = "mx.parapet.test"
RCPT = "bob@rcpt.test"
HELO = "client.parapet.test"
TIMEOUT_MS = 1000
ZONE = {
    "spf.example.net": [{"TXT": "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8:5::/48 -all"}],
    "slow.example.net": ["TIMEOUT"],
    HELO: [{"TXT": "v=spf1 ip4:192.0.2.10 -all"}],
}


def norm(v):
    return re.sub(r"\s+", " ", v).strip()


def main():
    with TestRun("test_auth") as run:
        run.require_root_and_postfix()
        wd = run.workdir
        dns = DnsServer(os.path.join(wd, "dns"), ZONE).start()
        sink = Sink().start()
        parapet = Parapet(os.path.join(wd, "parapet"),
                          {"authserv_id": AUTHSERV, "dns_timeout_ms": str(TIMEOUT_MS)},
                          "", dns=dns)
        parapet.start()
        # XCLIENT ADDR=IPV6:... needs IPv6 enabled, and relaying for it
        pf = Postfix(os.path.join(wd, "postfix"), sink.port, milter=parapet.socket_spec,
                     main_extra={"inet_protocols": "all",
                                 "mynetworks": "127.0.0.0/8 192.0.2.0/24 198.51.100.0/24 "
                                               "203.0.113.0/24 [2001:db8::]/32"})
        pf.start()
        run.on_fail(lambda: "parapet log (tail):\n" + parapet.log()[-4000:])
        run.on_fail(lambda: "DNS queries:\n" + repr(dns.queries()[-40:]))

        def deliver(tid, mail_from, addr):
            t0 = time.monotonic()
            r = send(pf.port, mail_from, [RCPT], make_message(tid), xclient_addr=addr,
                     helo=HELO)
            secs = time.monotonic() - t0
            m = sink.wait_for_id(tid, 30) if r.ok else None
            return r, m, secs

        def ours(m):
            return [norm(v) for v in m.header("Authentication-Results")
                    if norm(v).startswith(AUTHSERV + ";")]

        def tests_of(m):
            return m.spam_tests() or []

        cases = [
            ("1. allowed client", "spf-pass", "alice@spf.example.net", "192.0.2.10",
             "spf=pass smtp.mailfrom=alice@spf.example.net", "SPF_PASS"),
            ("2. allowed IPv6 client", "spf-pass6", "alice@spf.example.net",
             "IPV6:2001:db8:5::25", "spf=pass smtp.mailfrom=alice@spf.example.net",
             "SPF_PASS"),
            ("3. client not in the record", "spf-fail", "alice@spf.example.net",
             "203.0.113.5", "spf=fail smtp.mailfrom=alice@spf.example.net", "SPF_FAIL"),
            ("4. sender DNS never answers", "spf-timeout", "carol@slow.example.net",
             "192.0.2.10", "spf=temperror smtp.mailfrom=carol@slow.example.net",
             "SPF_TEMPERROR"),
            ("5. null sender", "spf-null", "", "192.0.2.10",
             "spf=pass smtp.helo=%s" % HELO, "SPF_PASS"),
        ]
        for title, tid, mail_from, addr, want_ar, want_sym in cases:
            with run.section(title):
                r, m, secs = deliver(tid, mail_from, addr)
                if not run.check(r.ok and m is not None, "%s: accepted and delivered" % tid,
                                 repr(r)):
                    continue
                ar = ours(m)
                run.check(len(ar) == 1 and ("%s; %s" % (AUTHSERV, want_ar)) in ar[0],
                          "%s: Authentication-Results: %s; %s" % (tid, AUTHSERV, want_ar),
                          repr(ar))
                syms = tests_of(m)
                run.check(want_sym in syms, "%s: %s in X-Spam-Status" % (tid, want_sym),
                          repr(m.header("X-Spam-Status")))
                if tid == "spf-timeout":
                    run.check(secs < TIMEOUT_MS / 1000.0 + 2.0,
                              "%s: verdict within dns_timeout_ms + 2 s (%.2f s)" % (tid, secs))
                if tid == "spf-pass":
                    run.check("SPF_HELO_PASS" in syms,
                              "%s: the HELO identity is checked too (SPF_HELO_PASS)" % tid,
                              repr(syms))
        with run.section("stop"):
            run.check(parapet.stop(timeout=30) == 0, "parapet exits 0 on SIGTERM")


if __name__ == "__main__":
    main()
