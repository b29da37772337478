#!/usr/bin/env python3
"""test_dns_deadline.py - one DNS deadline per message (dns_timeout_ms).

A DnsServer (tests/dnsserver.py) that never answers for slow.example and
every name under it: the MAIL FROM and HELO domains (SPF), the DKIM key
sel._domainkey.slow.example and _dmarc.slow.example.  A message from
alice@slow.example, signed by python3-dkim with d=slow.example s=sel, so
that SPF, DKIM and DMARC all wait for DNS.  dns_timeout_ms = 1000.

Each stage used to get dns_timeout_ms of its own, one after the other
(about 3 s here); now every DNS wait of a message ends by end of data +
dns_timeout_ms (man parapet.conf(5)):

  1. `parapetctl scan` of the message: SPF_TEMPERROR, DKIM_TEMPERROR and
     DMARC_TEMPERROR, and the whole command takes less than
     dns_timeout_ms + 0.5 s (and at least ~dns_timeout_ms: it did wait);
  2. through Postfix with parapet as its milter: the reply to the final
     "." comes within dns_timeout_ms + 0.5 s of sending it, the message
     is accepted with the three temperrors in X-Spam-Status and
     Authentication-Results, and the DNS server was asked for all three.

Exit 0 all passed, 1 any failure, 77 skip (not root / no Postfix /
no python3-dkim or opendkim-genkey; never when CI=true).  Ends with
"N passed, N failed".
"""

import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True	# no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BUILDDIR, DnsServer, Parapet, Postfix, Sink, TestRun,  # noqa: E402
                     make_message, send)

AUTHSERV = "mx.parapet.test"
TIMEOUT_MS = 1000
MARGIN_S = 0.5			# the brief's bound: dns_timeout_ms + 0.5 s
DOMAIN = "slow.example"
SENDER = "alice@" + DOMAIN
HELO = "mail." + DOMAIN
CLIENT = "192.0.2.10"
ZONE = {DOMAIN: ["TIMEOUT"], "*." + DOMAIN: ["TIMEOUT"]}
TEMPERRORS = ("SPF_TEMPERROR", "DKIM_TEMPERROR", "DMARC_TEMPERROR")


def signed_message(dkim, pem, tid):
    """signed_message - a message from SENDER signed d=DOMAIN s=sel."""
    msg = make_message(tid, subject="deadline", sender=SENDER, body="Hello.\n")
    sig = dkim.sign(msg, b"sel", DOMAIN.encode(), pem,
                    include_headers=[b"from", b"to", b"subject", b"date"])
    return sig.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + msg


def main():
    with TestRun("test_dns_deadline") as run:
        run.require_root_and_postfix()
        try:
            import dkim
        except ImportError:
            run.skip("python3-dkim is missing")
        if not os.access("/usr/sbin/opendkim-genkey", os.X_OK):
            run.skip("/usr/sbin/opendkim-genkey is missing (Debian package opendkim-tools)")
        wd = run.workdir
        keys = os.path.join(wd, "keys")
        os.makedirs(keys)
        subprocess.run(["/usr/sbin/opendkim-genkey", "-b", "1024", "-d", DOMAIN, "-s", "sel",
                        "-D", keys], check=True)
        with open(os.path.join(keys, "sel.private"), "rb") as f:
            pem = f.read()
        dns = DnsServer(os.path.join(wd, "dns"), ZONE).start()
        run.on_fail(lambda: "DNS queries:\n" + repr(dns.queries()[-40:]))

        def asked(name):
            return (name, "TXT") in dns.queries()

        with run.section("parapetctl scan"):
            rules = os.path.join(wd, "ctl-rules")
            os.makedirs(rules)
            conf = os.path.join(wd, "ctl.conf")
            with open(conf, "w") as f:
                f.write("authserv_id = %s\nrules_dir = %s\ndns_nameservers = %s\n"
                        "dns_timeout_ms = %d\n" % (AUTHSERV, rules, dns.nameserver, TIMEOUT_MS))
            eml = os.path.join(wd, "signed.eml")
            with open(eml, "wb") as f:
                f.write(signed_message(dkim, pem, "ctl"))
            t0 = time.monotonic()
            p = subprocess.run([os.path.join(BUILDDIR, "milter", "parapetctl"), "-c", conf,
                                "scan", "--json", "--ip", CLIENT, "--helo", HELO,
                                "--from", SENDER, eml],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            secs = time.monotonic() - t0
            out = p.stdout.decode("utf-8", "replace")
            run.check(p.returncode == 0, "parapetctl scan exits 0",
                      out + p.stderr.decode("utf-8", "replace"))
            syms = []
            try:
                syms = [s["name"] for s in json.loads(out.splitlines()[0])["symbols"]]
            except (ValueError, KeyError, IndexError, TypeError):
                pass
            for s in TEMPERRORS:
                run.check(s in syms, "parapetctl scan: %s (its DNS never answered)" % s, out)
            run.check(secs >= TIMEOUT_MS / 1000.0 * 0.9,
                      "parapetctl scan: it did wait for DNS (%.2f s)" % secs)
            run.check(secs < TIMEOUT_MS / 1000.0 + MARGIN_S,
                      "parapetctl scan: SPF, DKIM and DMARC together in under "
                      "dns_timeout_ms + %.1f s (%.2f s)" % (MARGIN_S, secs))

        with run.section("through Postfix"):
            sink = Sink().start()
            parapet = Parapet(os.path.join(wd, "parapet"),
                              {"authserv_id": AUTHSERV, "dns_timeout_ms": str(TIMEOUT_MS)},
                              "", dns=dns)
            parapet.start()
            pf = Postfix(os.path.join(wd, "postfix"), sink.port, milter=parapet.socket_spec,
                         main_extra={"mynetworks": "127.0.0.0/8 192.0.2.0/24"})
            pf.start()
            run.on_fail(lambda: "parapet log (tail):\n" + parapet.log()[-4000:])
            r = send(pf.port, SENDER, ["bob@rcpt.test"], signed_message(dkim, pem, "pf"),
                     xclient_addr=CLIENT, helo=HELO)
            run.check(r.ok, "the message is accepted", repr(r))
            eod = r.eod_secs if r.eod_secs is not None else 1e9
            run.check(eod >= TIMEOUT_MS / 1000.0 * 0.9,
                      "the verdict waited for DNS (%.2f s after the final '.')" % eod)
            run.check(eod < TIMEOUT_MS / 1000.0 + MARGIN_S,
                      "the reply to the final '.' comes within dns_timeout_ms + %.1f s "
                      "(%.2f s)" % (MARGIN_S, eod))
            m = sink.wait_for_id("pf", 30) if r.ok else None
            if run.check(m is not None, "the message is delivered"):
                syms = m.spam_tests() or []
                for s in TEMPERRORS:
                    run.check(s in syms, "%s in X-Spam-Status" % s, repr(m.header("X-Spam-Status")))
                ar = [re.sub(r"\s+", " ", v) for v in m.header("Authentication-Results")
                      if v.strip().startswith(AUTHSERV + ";")]
                for item in ("spf=temperror", "dkim=temperror", "dmarc=temperror"):
                    run.check(ar and item in ar[0], "Authentication-Results: %s" % item, repr(ar))
            for name in (DOMAIN, "sel._domainkey." + DOMAIN, "_dmarc." + DOMAIN):
                run.check(asked(name), "the DNS server was asked for %s TXT" % name)
        with run.section("stop"):
            run.check(parapet.stop(timeout=30) == 0, "parapet exits 0 on SIGTERM")


if __name__ == "__main__":
    main()
