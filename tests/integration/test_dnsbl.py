#!/usr/bin/env python3
"""test_dnsbl.py - DNS blocklists (issue 16 items 1, 2, 5) against the test
DNS server (tests/dnsserver.py), through `parapetctl scan` and through the
real Postfix (the client address claimed with XCLIENT ADDR).

Rule file: SpamAssassin's syntax (check_rbl, check_rbl_sub, check_rbl_txt,
urirhssub, uridnsbl_skip_domain) over zones served on loopback:

  1. a listed IPv4 client: the any-answer rule, the exact, bitmask and
     regex subtests, the TXT rule; the detail names the IP and the zone;
  2. a listed IPv6 client (nibble name) and an unlisted IPv4 one;
  3. a client the list refuses (127.255.255.254): no hit, "refused" in
     /metrics, one log line;
  4. a client whose lookup never answers: no hit, the message gets its
     verdict within dns_timeout_ms plus a margin, "timeout" in /metrics;
  5. URI domains: a listed registrable domain in a link (a host below it),
     a range subtest, a listed From domain, a skipped domain never asked,
     an unlisted one asked;
  6. /metrics: parapet_dnsbl_lookups_total per zone and result;
  7. relays from Received (parapetctl scan): with internal_networks naming
     the client, -lastexternal is the listed relay behind it, and a
     -firsttrusted set asks the same relay.

Exit 0 all passed, 1 any failure, 77 skip (not root / no Postfix; never
when CI=true).  Ends with "N passed, N failed".
"""

import json
import os
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True	# no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BUILDDIR, DnsServer, Parapet, Postfix, Sink,  # noqa: E402
                     TestRun, free_port, make_message, send)

TIMEOUT_MS = 1000
MARGIN_S = 1.5
LISTED = "192.0.2.99"
UNLISTED = "192.0.2.10"
LISTED6 = "2001:db8::99"
REFUSED = "192.0.2.77"
SLOW = "192.0.2.55"


def rev4(ip):
    return ".".join(reversed(ip.split(".")))


def nibbles(ip6):
    import ipaddress
    h = ipaddress.IPv6Address(ip6).exploded.replace(":", "")
    return ".".join(reversed(h))


ZONE = {
    rev4(LISTED) + ".bl.test": [{"A": "127.0.0.2"}, {"A": "127.0.0.10"}],
    rev4(LISTED) + ".txt.test": [{"TXT": "Blocked - see https://www.spamcop.net/bl.shtml"}],
    nibbles(LISTED6) + ".bl.test": [{"A": "127.0.0.4"}],
    rev4(REFUSED) + ".bl.test": [{"A": "127.255.255.254"}],
    rev4(SLOW) + ".slow.test": ["TIMEOUT"],
    "evil.com.dbl.test": [{"A": "127.0.1.2"}],
    "badfrom.example.dbl.test": [{"A": "127.0.1.3"}],
    "skipped.com.dbl.test": [{"A": "127.0.1.2"}],
}

RULES = r"""
header   RCVD_IN_T_ANY    eval:check_rbl('tbl', 'bl.test.')
score    RCVD_IN_T_ANY    0.1
header   RCVD_IN_T_EQ     eval:check_rbl_sub('tbl', '127.0.0.2')
score    RCVD_IN_T_EQ     0.1
header   RCVD_IN_T_MASK   eval:check_rbl_sub('tbl', '8')
score    RCVD_IN_T_MASK   0.1
header   RCVD_IN_T_NOMASK eval:check_rbl_sub('tbl', '16')
score    RCVD_IN_T_NOMASK 0.1
header   RCVD_IN_T_RE     eval:check_rbl('tbl-lastexternal', 'bl.test.', '^127\.0\.0\.1[01]$')
score    RCVD_IN_T_RE     0.1
header   RCVD_IN_T_V6     eval:check_rbl_sub('tbl', '127.0.0.4')
score    RCVD_IN_T_V6     0.1
header   RCVD_IN_T_TXT    eval:check_rbl_txt('ttxt', 'txt.test.', '(?i:spamcop)')
score    RCVD_IN_T_TXT    0.1
header   RCVD_IN_T_SLOW   eval:check_rbl('tslow', 'slow.test.')
score    RCVD_IN_T_SLOW   0.1
urirhssub URIBL_T_SPAM    dbl.test. A 127.0.1.2
body     URIBL_T_SPAM     eval:check_uridnsbl('URIBL_T_SPAM')
score    URIBL_T_SPAM     0.1
urirhssub URIBL_T_RANGE   dbl.test. A 127.0.1.3-127.0.1.9
body     URIBL_T_RANGE    eval:check_uridnsbl('URIBL_T_RANGE')
score    URIBL_T_RANGE    0.1
uridnsbl_skip_domain skipped.com
"""

IP_SYMS = ["RCVD_IN_T_ANY", "RCVD_IN_T_EQ", "RCVD_IN_T_MASK", "RCVD_IN_T_RE",
           "RCVD_IN_T_TXT"]
ALL_SYMS = IP_SYMS + ["RCVD_IN_T_NOMASK", "RCVD_IN_T_V6", "RCVD_IN_T_SLOW",
                      "URIBL_T_SPAM", "URIBL_T_RANGE"]


def scrape(port):
    """scrape - {(zone, result): value} of parapet_dnsbl_lookups_total."""
    out = {}
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("parapet_dnsbl_lookups_total{"):
                labels, value = line.rsplit(" ", 1)
                lab = dict(kv.split("=", 1) for kv in labels[labels.index("{") + 1:-1].split(","))
                out[(lab["zone"].strip('"'), lab["result"].strip('"'))] = float(value)
    return out


def main():
    with TestRun("test_dnsbl") as run:
        run.require_root_and_postfix()
        wd = run.workdir
        dns = DnsServer(os.path.join(wd, "dns"), ZONE).start()
        run.on_fail(lambda: "DNS queries:\n" + repr(dns.queries()[-60:]))

        def asked(name):
            return any(q[0].lower() == name for q in dns.queries())

        with run.section("parapetctl scan"):
            rules = os.path.join(wd, "ctl-rules")
            os.makedirs(rules)
            with open(os.path.join(rules, "50-test.cf"), "w") as f:
                f.write(RULES)
            conf = os.path.join(wd, "ctl.conf")
            with open(conf, "w") as f:
                f.write("rules_dir = %s\ndns_nameservers = %s\ndns_timeout_ms = %d\n"
                        % (rules, dns.nameserver, TIMEOUT_MS))
            eml = os.path.join(wd, "m.eml")
            with open(eml, "wb") as f:
                f.write(make_message("ctl", sender="a@badfrom.example",
                                     body="see http://www.evil.com/x\n"))

            def ctl(ip, *extra):
                p = subprocess.run([os.path.join(BUILDDIR, "milter", "parapetctl"), "-c", conf,
                                    "scan", "--json", "--ip", ip] + list(extra) + [eml],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
                out = p.stdout.decode("utf-8", "replace")
                run.check(p.returncode == 0, "parapetctl scan --ip %s exits 0" % ip,
                          out + p.stderr.decode("utf-8", "replace"))
                try:
                    return {s["name"]: s for s in json.loads(out.splitlines()[0])["symbols"]}
                except (ValueError, KeyError, IndexError, TypeError):
                    return {}

            syms = ctl(LISTED)
            for s in IP_SYMS + ["URIBL_T_SPAM", "URIBL_T_RANGE"]:
                run.check(s in syms, "parapetctl scan: %s" % s, repr(syms))
            run.check("RCVD_IN_T_NOMASK" not in syms, "bitmask 16 does not match 127.0.0.2/.10")
            d = (syms.get("RCVD_IN_T_EQ") or {}).get("detail") or ""
            run.check(LISTED in d and "bl.test" in d and "127.0.0.2" in d,
                      "the detail names the IP, the zone and the answer", d)
            d = (syms.get("URIBL_T_SPAM") or {}).get("detail") or ""
            run.check("evil.com" in d and "dbl.test" in d,
                      "the URI detail names the domain and the zone", d)
            syms = ctl(LISTED, "--no-dns")
            run.check(not any(s in syms for s in ALL_SYMS), "--no-dns skips the lists",
                      repr(syms))

        with run.section("7. relays from Received"):
            rules2 = os.path.join(wd, "ctl-rules2")
            os.makedirs(rules2)
            with open(os.path.join(rules2, "50-test.cf"), "w") as f:
                f.write(RULES + "internal_networks %s\n" % UNLISTED +
                        "header RCVD_IN_T_FT eval:check_rbl('tft-firsttrusted', 'bl.test.')\n"
                        "score RCVD_IN_T_FT 0.1\n")
            conf2 = os.path.join(wd, "ctl2.conf")
            with open(conf2, "w") as f:
                f.write("rules_dir = %s\ndns_nameservers = %s\ndns_timeout_ms = %d\n"
                        % (rules2, dns.nameserver, TIMEOUT_MS))
            relayed = os.path.join(wd, "relayed.eml")
            with open(relayed, "wb") as f:
                f.write(("Received: from mx.inside.test (mx.inside.test [%s])\r\n"
                         "\tby store.inside.test (Postfix) with ESMTP id 1A2B3C\r\n"
                         "\tfor <bob@inside.test>; Thu, 3 Dec 2026 10:00:02 +0000\r\n"
                         "Received: from spammer.example (spammer.example [%s])\r\n"
                         "\tby mx.inside.test (Postfix) with ESMTP id 4D5E6F\r\n"
                         "\tfor <bob@inside.test>; Thu, 3 Dec 2026 10:00:01 +0000\r\n"
                         % (UNLISTED, LISTED)).encode() +
                        make_message("relayed", sender="a@fine.example", body="Hello.\n"))
            p = subprocess.run([os.path.join(BUILDDIR, "milter", "parapetctl"), "-c", conf2,
                                "scan", "--json", "--ip", UNLISTED, relayed],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            out = p.stdout.decode("utf-8", "replace")
            try:
                syms = {s["name"]: s for s in json.loads(out.splitlines()[0])["symbols"]}
            except (ValueError, KeyError, IndexError, TypeError):
                syms = {}
            d = (syms.get("RCVD_IN_T_RE") or {}).get("detail") or ""
            run.check("RCVD_IN_T_RE" in syms and LISTED in d,
                      "-lastexternal: the listed relay behind the internal client", out)
            run.check("RCVD_IN_T_FT" in syms, "-firsttrusted: the same relay", out)
            run.check(asked(rev4(LISTED) + ".bl.test"), "the relay's name was asked")

        with run.section("through Postfix"):
            sink = Sink().start()
            mport = free_port()
            parapet = Parapet(os.path.join(wd, "parapet"),
                              {"dns_timeout_ms": str(TIMEOUT_MS),
                               "metrics_listen": "127.0.0.1:%d" % mport}, RULES, dns=dns)
            parapet.start()
            pf = Postfix(os.path.join(wd, "postfix"), sink.port, milter=parapet.socket_spec,
                         main_extra={"inet_protocols": "all",
                                     "mynetworks": "127.0.0.0/8 192.0.2.0/24 [2001:db8::]/32"})
            pf.start()
            run.on_fail(lambda: "parapet log (tail):\n" + parapet.log()[-4000:])

            def deliver(tid, addr, sender="alice@sender.test", body="Hello.\n"):
                t0 = time.monotonic()
                r = send(pf.port, sender, ["bob@rcpt.test"],
                         make_message(tid, sender=sender, body=body), xclient_addr=addr)
                m = sink.wait_for_id(tid, 30) if r.ok else None
                run.check(m is not None, "%s: delivered" % tid, repr(r))
                return (m.spam_tests() or []) if m else [], r, time.monotonic() - t0

            with run.section("1. listed IPv4"):
                tests, _, _ = deliver("dnsbl-listed", LISTED)
                for s in IP_SYMS:
                    run.check(s in tests, "listed IPv4: %s" % s, repr(tests))
                run.check("RCVD_IN_T_V6" not in tests and "RCVD_IN_T_NOMASK" not in tests,
                          "listed IPv4: no other subtest", repr(tests))
            with run.section("2. IPv6 and unlisted"):
                tests, _, _ = deliver("dnsbl-v6", "IPV6:" + LISTED6)
                run.check("RCVD_IN_T_V6" in tests and "RCVD_IN_T_ANY" in tests,
                          "listed IPv6 (nibbles): RCVD_IN_T_V6", repr(tests))
                run.check(asked(nibbles(LISTED6) + ".bl.test"), "the nibble name was asked")
                tests, _, _ = deliver("dnsbl-unlisted", UNLISTED)
                run.check(not any(s in tests for s in ALL_SYMS), "unlisted: no list symbol",
                          repr(tests))
                run.check(asked(rev4(UNLISTED) + ".bl.test"), "unlisted: the zone was asked")
            with run.section("3. refused"):
                before = parapet.log_size()
                tests, _, _ = deliver("dnsbl-refused", REFUSED)
                run.check(not any(s in tests for s in ALL_SYMS),
                          "127.255.255.254 is no hit", repr(tests))
                log = parapet.log(before)
                run.check(log.count("127.255.255.254") == 1,
                          "the refusal is logged once", log[-2000:])
            with run.section("4. timeout"):
                tests, r, secs = deliver("dnsbl-slow", SLOW)
                run.check(not any(s in tests for s in ALL_SYMS), "timeout: no hit",
                          repr(tests))
                eod = r.eod_secs if r.eod_secs is not None else 1e9
                run.check(eod < TIMEOUT_MS / 1000.0 + MARGIN_S,
                          "timeout: verdict within dns_timeout_ms + %.1f s (%.2f s)"
                          % (MARGIN_S, eod))
            with run.section("5. URI and From domains"):
                tests, _, _ = deliver("dnsbl-uri", UNLISTED,
                                      body="a http://www.EVIL.com/p and\n"
                                           "http://skipped.com/ and http://fine.com/\n")
                run.check("URIBL_T_SPAM" in tests, "listed URI domain: URIBL_T_SPAM",
                          repr(tests))
                run.check("URIBL_T_RANGE" not in tests, "127.0.1.2 is outside the range",
                          repr(tests))
                run.check(not asked("skipped.com.dbl.test"),
                          "uridnsbl_skip_domain: never asked")
                run.check(asked("fine.com.dbl.test"), "an unlisted domain is asked")
                tests, _, _ = deliver("dnsbl-from", UNLISTED, sender="alice@badfrom.example")
                run.check("URIBL_T_RANGE" in tests and "URIBL_T_SPAM" not in tests,
                          "listed From domain: URIBL_T_RANGE", repr(tests))
            with run.section("6. /metrics"):
                m = scrape(mport)
                run.check(m.get(("bl.test", "listed"), 0) >= 2, "bl.test listed >= 2", repr(m))
                run.check(m.get(("bl.test", "unlisted"), 0) >= 1, "bl.test unlisted", repr(m))
                run.check(m.get(("bl.test", "refused"), 0) == 1, "bl.test refused 1", repr(m))
                run.check(m.get(("slow.test", "timeout"), 0) == 1, "slow.test timeout 1",
                          repr(m))
                run.check(m.get(("dbl.test", "listed"), 0) >= 2, "dbl.test listed", repr(m))


if __name__ == "__main__":
    main()
