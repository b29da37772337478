#!/usr/bin/python3
"""run_dmarc.py - DMARC (RFC 7489) and the DKIM corner cases that need
crafted messages, through `parapetctl scan --json` against a real DNS
server (tests/dnsserver.py through harness.DnsServer).

Messages are signed here with dkimpy (python3-dkim) and the RSA key of
tests/data/dkim/dkimpy/test.private.  Each case names the symbol
it wants, symbols it must not get, and text its detail or the
Authentication-Results header must contain.  Domains are under .example
(libunbound answers .test itself).  Ends with "N passed, N failed".
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import BUILDDIR, SRCDIR, TESTDATA, DnsServer, TestRun  # noqa: E402

KEYDIR = os.path.join(TESTDATA, "dkim", "dkimpy")


def txt_of(path):
    with open(path) as f:
        return " ".join(f.read().split())


def check_result(run, name, obj, want, wont, texts):
    """check_result - one scan's JSON: symbols wanted and not, and texts
    in the symbols' details or Authentication-Results."""
    syms = {s["name"]: s.get("detail") or "" for s in obj["symbols"]}
    ar = " ".join(h["value"] for h in obj["headers"] if h["name"] == "Authentication-Results")
    text = " ".join(syms.values()) + " " + " ".join(ar.split())
    run.check(all(s in syms for s in want), "%s: %s" % (name, ", ".join(want)),
              json.dumps(syms, indent=1) + "\n" + ar)
    run.check(not any(s in syms for s in wont), "%s: none of %s" % (name, ", ".join(wont)),
              json.dumps(syms, indent=1))
    for t in texts:
        run.check(t in text, "%s: '%s' in the details" % (name, t), text)


def main():
    with TestRun("dkim_dmarc") as run:
        try:
            import dkim
        except ImportError:
            run.skip("python3-dkim is missing")
        with open(os.path.join(KEYDIR, "test.private"), "rb") as f:
            pem = f.read()
        key = txt_of(os.path.join(KEYDIR, "test.txt"))
        zone = {}
        for d in ("mail.strict.example", "mail.relaxed.example", "a.example", "sub.org.example",
                  "pct.example", "partial.example", "b.example", "mail.strict-case.com"):
            zone["t._domainkey." + d] = [{"TXT": key}]
        zone.update({
            "_dmarc.strict.example": [{"TXT": "v=DMARC1; p=reject; adkim=s"}],
            "_dmarc.strict-case.com": [{"TXT": "v=DMARC1; p=reject; adkim=s"}],
            "_dmarc.relaxed.example": [{"TXT": "v=DMARC1; p=reject; adkim=r"}],
            "_dmarc.a.example": [{"TXT": "v=DMARC1; p=reject"}],
            "_dmarc.org.example": [{"TXT": "v=DMARC1; p=none; sp=quarantine"}],
            "_dmarc.pct.example": [{"TXT": "v=DMARC1; p=quarantine; pct=25"}],
            "_dmarc.two.example": [{"TXT": "v=DMARC1; p=reject"}, {"TXT": "v=DMARC1; p=none"}],
            "_dmarc.multi.org.example": [{"TXT": "v=DMARC1; p=reject"}, {"TXT": "v=DMARC1; p=none"}],
            "_dmarc.bogus.example": [{"TXT": "v=DMARC1; p=bogus"}],
            "_dmarc.slow.example": ["TIMEOUT"],
            "_dmarc.other.example": [{"TXT": "some-verification=1234"}],
            "_dmarc.huge.example": [{"TXT": "v=DMARC1; p=reject; rua=mailto:" + "a" * 3000 + "@huge.example"}],
            "_dmarc.ctl.example": [{"TXT": "v=DMARC1;\x01p=reject"}],
            "_dmarc.b.example": [{"TXT": "v=DMARC1; p=reject"}],
            # SPF alignment (RFC 7489 §3.1.2): the client is 192.0.2.1
            "spf-ok.example": [{"TXT": "v=spf1 ip4:192.0.2.1 -all"}],
            "_dmarc.spf-ok.example": [{"TXT": "v=DMARC1; p=reject"}],
            "bounce.spf-strict.example": [{"TXT": "v=spf1 ip4:192.0.2.0/24 -all"}],
            "_dmarc.spf-strict.example": [{"TXT": "v=DMARC1; p=reject; aspf=s"}],
            "bounce.spf-relaxed.example": [{"TXT": "v=spf1 ip4:192.0.2.0/24 -all"}],
            "_dmarc.spf-relaxed.example": [{"TXT": "v=DMARC1; p=reject; aspf=r"}],
            "spf-fail.example": [{"TXT": "v=spf1 ip4:198.51.100.0/24 -all"}],
            "_dmarc.spf-fail.example": [{"TXT": "v=DMARC1; p=quarantine"}],
        })
        dns = DnsServer(os.path.join(run.workdir, "dns"), zone).start()
        rules = os.path.join(run.workdir, "rules")
        os.makedirs(rules)
        with open(os.path.join(rules, "00-builtin.cf"), "w") as f:
            f.write(open(os.path.join(SRCDIR, "rules", "00-builtin.cf")).read())
        conf = os.path.join(run.workdir, "parapet.conf")
        with open(conf, "w") as f:
            f.write("authserv_id = mx.dmarc.test\nrules_dir = %s\ndns_nameservers = %s\n"
                    "dns_timeout_ms = 700\n" % (rules, dns.nameserver))

        def message(frm, body="Hello.\r\n", extra=b""):
            return (b"From: " + frm.encode() + b"\r\nTo: b@rcpt.example\r\nSubject: hi\r\n"
                    b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@x.example>\r\n"
                    + extra + b"\r\n" + body.encode())

        def signed(frm, d, body="Hello.\r\n", length=False):
            msg = message(frm, body)
            sig = dkim.sign(msg, b"t", d.encode(), pem, canonicalize=(b"relaxed", b"simple"),
                            include_headers=[b"from", b"to", b"subject", b"date"], length=length)
            return sig.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + msg

        cases = [
            # name, message, want symbols, must not, detail/A-R substrings
            ("aligned DKIM, p=reject", signed("x@a.example", "a.example"),
             ["DKIM_VALID_AU", "DMARC_PASS"], ["DMARC_FAIL_REJECT"],
             ["dkim aligned d=a.example", "dmarc=pass header.from=a.example"]),
            ("adkim=s, d= a subdomain of From", signed("x@strict.example", "mail.strict.example"),
             ["DKIM_VALID", "DKIM_VALID_AU", "DMARC_FAIL_REJECT"], ["DMARC_PASS"],
             ["adkim=s", "dkim not aligned", "dmarc=fail header.from=strict.example"]),
            # a suffix the list knows: libopendmarc 1.4.2 calls this aligned
            ("adkim=s, d= a subdomain of From, under .com",
             signed("x@strict-case.com", "mail.strict-case.com"),
             ["DKIM_VALID", "DMARC_FAIL_REJECT"], ["DMARC_PASS"], ["adkim=s", "dkim not aligned"]),
            ("adkim=r, d= a subdomain of From", signed("x@relaxed.example", "mail.relaxed.example"),
             ["DMARC_PASS"], ["DMARC_FAIL_REJECT"], ["adkim=r", "dkim aligned d=mail.relaxed.example"]),
            ("sp= of the organizational domain", message("x@sub.org.example"),
             ["DMARC_FAIL_QUARANTINE"], ["DMARC_FAIL_NONE", "DMARC_NONE"],
             ["_dmarc.org.example: sp=quarantine", "dmarc=fail header.from=sub.org.example"]),
            ("p= of the organizational domain itself", message("x@org.example"),
             ["DMARC_FAIL_NONE"], ["DMARC_FAIL_QUARANTINE"], ["_dmarc.org.example: p=none"]),
            ("subdomain signed by itself under sp=", signed("x@sub.org.example", "sub.org.example"),
             ["DMARC_PASS"], ["DMARC_FAIL_QUARANTINE"], ["dkim aligned d=sub.org.example"]),
            ("pct= noted", message("x@pct.example"),
             ["DMARC_FAIL_QUARANTINE"], [], ["pct=25"]),
            ("no record", message("x@nothing.example"),
             ["DMARC_NONE"], ["DMARC_PASS"], ["no record at _dmarc.nothing.example",
                                              "dmarc=none header.from=nothing.example"]),
            ("two records: no policy (RFC 7489 6.6.3)", message("x@two.example"),
             ["DMARC_NONE"], ["DMARC_FAIL_REJECT"], ["several DMARC records"]),
            ("two records at a subdomain: no fallback to the organizational domain",
             message("x@multi.org.example"),
             ["DMARC_NONE"], ["DMARC_FAIL_QUARANTINE", "DMARC_FAIL_REJECT"], ["several DMARC records"]),
            ("record that does not parse", message("x@bogus.example"),
             ["DMARC_NONE"], ["DMARC_FAIL_REJECT"], ["dmarc=permerror header.from=bogus.example"]),
            ("record lookup times out", message("x@slow.example"),
             ["DMARC_TEMPERROR"], ["DMARC_NONE"], ["dmarc=temperror header.from=slow.example"]),
            ("TXT that is not DMARC", message("x@other.example"),
             ["DMARC_NONE"], [], ["no record at _dmarc.other.example"]),
            ("record over the length cap", message("x@huge.example"),
             ["DMARC_NONE"], ["DMARC_FAIL_REJECT"], ["record too long", "dmarc=permerror"]),
            ("record with a control byte", message("x@ctl.example"),
             ["DMARC_NONE"], ["DMARC_FAIL_REJECT"], ["control or 8-bit byte"]),
            ("two From fields", message("x@a.example", extra=b"From: y@b.example\r\n"),
             ["FROM_MULTIPLE"], ["DMARC_PASS", "DMARC_FAIL_REJECT", "DMARC_NONE"],
             ["2 From field(s)", "dmarc=permerror"]),
            ("two addresses in one From", message("x@a.example, y@b.example"),
             ["FROM_MULTIPLE"], ["DMARC_FAIL_REJECT"], ["in one field"]),
            ("From without a domain", message("undisclosed"),
             ["DMARC_NONE"], [], ["no usable From domain"]),
            ("l= shorter than the body", signed("x@partial.example", "partial.example",
                                                body="Signed part.\r\n", length=True)
             + b"Appended after signing.\r\n",
             ["DKIM_VALID", "DKIM_PARTIAL"], ["DKIM_INVALID"], ["l=14 of"]),
            ("l= covering the body", signed("x@partial.example", "partial.example",
                                            body="Signed part.\r\n", length=True),
             ["DKIM_VALID"], ["DKIM_PARTIAL"], []),
        ]
        # SPF-aligned cases: one parapetctl run each, for its own MAIL FROM
        spf_cases = [
            ("SPF pass, MAIL FROM domain = From domain, no DKIM",
             "b@spf-ok.example", message("x@spf-ok.example"),
             ["SPF_PASS", "DMARC_PASS"], ["DMARC_FAIL_REJECT"],
             ["spf aligned spf-ok.example", "spf=pass", "dmarc=pass header.from=spf-ok.example"]),
            ("aspf=s, SPF pass for a subdomain of From", "b@bounce.spf-strict.example",
             message("x@spf-strict.example"),
             ["SPF_PASS", "DMARC_FAIL_REJECT"], ["DMARC_PASS"], ["spf not aligned or not pass"]),
            ("aspf=r, SPF pass for a subdomain of From", "b@bounce.spf-relaxed.example",
             message("x@spf-relaxed.example"),
             ["SPF_PASS", "DMARC_PASS"], ["DMARC_FAIL_REJECT"],
             ["spf aligned bounce.spf-relaxed.example"]),
            ("SPF fail, aligned domain, no DKIM", "b@spf-fail.example",
             message("x@spf-fail.example"),
             ["SPF_FAIL", "DMARC_FAIL_QUARANTINE"], ["DMARC_PASS"],
             ["spf=fail", "dmarc=fail header.from=spf-fail.example"]),
        ]
        for i, (name, mfrom, data, want, wont, texts) in enumerate(spf_cases):
            p = os.path.join(run.workdir, "spf%02d.eml" % i)
            with open(p, "wb") as f:
                f.write(data)
            proc = subprocess.run([os.path.join(BUILDDIR, "milter", "parapetctl"), "-c", conf,
                                   "scan", "--json", "--ip", "192.0.2.1", "--helo",
                                   "mx.sender.example", "--from", mfrom, p],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            obj = json.loads(proc.stdout.decode("utf-8", "replace").splitlines()[0])
            check_result(run, name, obj, want, wont, texts)

        files = []
        for i, c in enumerate(cases):
            p = os.path.join(run.workdir, "m%02d.eml" % i)
            with open(p, "wb") as f:
                f.write(c[1])
            files.append(p)
        proc = subprocess.run([os.path.join(BUILDDIR, "milter", "parapetctl"), "-c", conf,
                               "scan", "--json", "--ip", "192.0.2.1"] + files,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        out = [json.loads(line) for line in proc.stdout.decode("utf-8", "replace").splitlines()]
        run.check(len(out) == len(cases), "one result per message", proc.stderr.decode()[-2000:])
        for c, obj in zip(cases, out):
            name, _, want, wont, texts = c
            check_result(run, name, obj, want, wont, texts)


if __name__ == "__main__":
    main()
