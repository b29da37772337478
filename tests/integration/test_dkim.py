#!/usr/bin/env python3
"""test_dkim.py - DKIM and DMARC end to end through Postfix (SPEC §4, §5, §7).

Messages are signed during the test by two real signers, with keys made
here by opendkim-genkey and published by a real DNS server
(tests/dnsserver.py):

  - Debian's opendkim, in sign mode as a milter of a first private
    Postfix (A) that relays to a sink; what A delivered (signed) is then
    sent on to the Postfix (B) whose milter is parapet;
  - dkimpy (python3-dkim), dkim.sign, sent straight to B;

each with c=simple/simple, relaxed/relaxed and relaxed/simple.  Checks on
what B delivers:

  1. each signed message: dkim=pass header.d=signer.example header.s=SEL in
     our Authentication-Results, DKIM_VALID and DKIM_VALID_AU (d= is the
     From domain) in X-Spam-Status, DMARC_PASS (p=reject, aligned)
  2. the same message altered after signing (a signed header changed, one
     body byte changed): DKIM_INVALID, dkim=fail, and DMARC_FAIL_REJECT
  3. key record missing: DKIM_INVALID (RFC 6376 §6.1.2 PERMFAIL),
     dkim=permerror; key name whose DNS times out: DKIM_TEMPERROR,
     dkim=temperror (TEMPFAIL), and the message is not held up past the
     DNS timeout
  4. a valid signature from another domain: DKIM_VALID without
     DKIM_VALID_AU; an unsigned message: DKIM_NONE, dkim=none
  5. 60 messages over 10 parallel sessions (one DKIM library shared by
     the milter's threads), good and altered mixed: each gets its own
     verdict, and /metrics shows the keys were answered from parapet's
     cache of decoded keys (libopendkim's d2i_PUBKEY_bio calls reach
     stages/auth/dkim_key.c): the dkimpy key decoded a few times at most,
     taken from the cache for the rest
  6. DMARC: unsigned mail from p=reject / p=quarantine / p=none domains,
     no record, sp= of the organizational domain for a subdomain, and two
     From addresses (FROM_MULTIPLE, DMARC not evaluated)

Domains are under .example: libunbound answers names under .test,
.invalid and .onion itself (its default local zones, RFC 6761), so they
never reach the test's DNS server.

Exit 0 all passed, 1 any failure, 77 skip (not root, no Postfix, no
opendkim or python3-dkim; never when CI=true).  Ends with "N passed,
N failed".
"""

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (DnsServer, Parapet, Postfix, Sink, TestRun,  # noqa: E402
                     free_port, make_message, send, send_many)

AUTHSERV = "mx.parapet.test"
DOMAIN = "signer.example"
CANONS = ("simple/simple", "relaxed/relaxed", "relaxed/simple")


class OpenDkim(harness._Daemon):
    """OpenDkim - Debian's opendkim in the foreground, signing for DOMAIN."""

    name = "opendkim"

    def __init__(self, workdir, keyfile, selector, canon):
        super().__init__(workdir)
        self.port = free_port()
        self.conf = os.path.join(self.workdir, "opendkim.conf")
        with open(self.conf, "w") as f:
            f.write("Mode s\nDomain %s\nSelector %s\nKeyFile %s\n"
                    "Socket inet:%d@127.0.0.1\nCanonicalization %s\n"
                    "SignatureAlgorithm rsa-sha256\nSyslog no\nBackground no\n"
                    "RequireSafeKeys no\nInternalHosts 127.0.0.1\n"
                    % (DOMAIN, selector, keyfile, self.port, canon))

    @property
    def socket_spec(self):
        return "inet:127.0.0.1:%d" % self.port

    def argv(self):
        return ["/usr/sbin/opendkim", "-f", "-x", self.conf]

    def _ready(self):
        return harness._tcp_ready(self.port)


def genkey(workdir, selector, bits=2048, restrict=False):
    """genkey - opendkim-genkey: (private key path, TXT record text);
    restrict: t=s (no subdomain in i=)."""
    subprocess.run(["/usr/sbin/opendkim-genkey", "-b", str(bits), "-d", DOMAIN, "-s", selector,
                    "-D", workdir] + (["-t", "s"] if restrict else []), check=True)
    with open(os.path.join(workdir, selector + ".txt")) as f:
        rec = "".join(re.findall(r'"([^"]*)"', f.read()))
    return os.path.join(workdir, selector + ".private"), rec


def ours(m):
    """ours - our Authentication-Results value, folding squeezed, or ''."""
    for v in m.header("Authentication-Results"):
        v = re.sub(r"\s+", " ", v).strip()
        if v.startswith(AUTHSERV + ";"):
            return v
    return ""


def alter_header(data):
    """alter_header - the Subject changed (a header every signer signs)."""
    return re.sub(rb"(?m)^Subject: ", b"Subject: Re: ", data, count=1)


def alter_body(data):
    """alter_body - one byte of the body changed."""
    i = data.index(b"\r\n\r\n") + 4
    j = data.index(b"XBODYX", i)
    return data[:j] + b"Y" + data[j + 1:]


def retag(data, old, new):
    """retag - a new X-Test-Id (not signed by opendkim's default header
    list), so that the sink tells the copies apart"""
    return data.replace(b"X-Test-Id: " + old.encode(), b"X-Test-Id: " + new.encode(), 1)


def dkim_key_counts(port):
    """dkim_key_counts - (cached, decoded) DKIM keys so far, from /metrics"""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        text = r.read().decode()
    def value(name):
        m = re.search(r"^%s (\d+)$" % name, text, re.M)
        return int(m.group(1)) if m else -1
    return value("parapet_dkim_keys_cached_total"), value("parapet_dkim_keys_decoded_total")


def main():
    with TestRun("test_dkim") as run:
        run.require_root_and_postfix()
        for tool in ("/usr/sbin/opendkim", "/usr/sbin/opendkim-genkey"):
            if not os.access(tool, os.X_OK):
                run.skip("%s is missing (Debian packages opendkim, opendkim-tools)" % tool)
        try:
            import dkim
        except ImportError:
            run.skip("python3-dkim is missing")

        w = run.workdir
        keys = os.path.join(w, "keys")
        os.makedirs(keys)
        od_key, od_rec = genkey(keys, "od")
        py_key, py_rec = genkey(keys, "py")
        with open(py_key, "rb") as f:
            py_pem = f.read()
        weak_key, weak_rec = genkey(keys, "weak", bits=768)
        with open(weak_key, "rb") as f:
            weak_pem = f.read()
        strict_key, strict_rec = genkey(keys, "strict", restrict=True)
        with open(strict_key, "rb") as f:
            strict_pem = f.read()
        zone = {
            "od._domainkey." + DOMAIN: [{"TXT": od_rec}],
            "py._domainkey." + DOMAIN: [{"TXT": py_rec}],
            "py._domainkey.other.example": [{"TXT": py_rec}],
            "weak._domainkey." + DOMAIN: [{"TXT": weak_rec}],
            "strict._domainkey." + DOMAIN: [{"TXT": strict_rec}],
            "slow._domainkey." + DOMAIN: ["TIMEOUT"],
            "_dmarc." + DOMAIN: [{"TXT": "v=DMARC1; p=reject"}],
            "_dmarc.quar.example": [{"TXT": "v=DMARC1; p=quarantine; pct=50"}],
            "_dmarc.none.example": [{"TXT": "v=DMARC1; p=none"}],
            "_dmarc.org.example": [{"TXT": "v=DMARC1; p=none; sp=reject"}],
        }
        dns = DnsServer(os.path.join(w, "dns"), zone).start()

        sink_b = Sink().start()
        mport = free_port()
        parapet = Parapet(os.path.join(w, "parapet"), {"authserv_id": AUTHSERV,
                                                      "dns_timeout_ms": "1500",
                                                      "metrics_listen": "127.0.0.1:%d" % mport},
                          dns=dns, shipped_rules=True).start()
        pf_b = Postfix(os.path.join(w, "pf-b"), sink_b.port, milter=parapet.socket_spec).start()
        sink_a = Sink().start()

        def deliver(tid, data, mail_from="alice@" + DOMAIN):
            r = send(pf_b.port, mail_from, ["bob@rcpt.test"], data)
            m = sink_b.wait_for_id(tid, 30) if r.ok else None
            return r, m

        def expect(what, m, tests_in=(), tests_out=(), ar_in=()):
            if not run.check(m is not None, "%s: delivered" % what):
                return
            tests = m.spam_tests() or []
            ar = ours(m)
            for t in tests_in:
                run.check(t in tests, "%s: %s in X-Spam-Status" % (what, t),
                          "tests=%s\nA-R: %s" % (tests, ar))
            for t in tests_out:
                run.check(t not in tests, "%s: no %s" % (what, t), "tests=%s" % tests)
            for a in ar_in:
                run.check(a in ar, "%s: Authentication-Results has '%s'" % (what, a), ar)

        def body(tid):
            return ("Hello Bob,\n\nthe report is attached.  XBODYX\n"
                    "Trailing spaces here   \n\n\nAlice (%s)\n" % tid)

        # ---------------------------------------------------------- opendkim
        for canon in CANONS:
            with run.section("opendkim %s" % canon):
                od = OpenDkim(os.path.join(w, "od-" + canon.replace("/", "-")),
                              od_key, "od", canon).start()
                pf_a = Postfix(os.path.join(w, "pf-a-" + canon.replace("/", "-")),
                               sink_a.port, milter=od.socket_spec).start()
                tid = "od-" + canon.replace("/", "-")
                r = send(pf_a.port, "alice@" + DOMAIN, ["bob@rcpt.test"],
                         make_message(tid, subject="Quarterly report", sender="Alice <alice@%s>" % DOMAIN,
                                      body=body(tid)))
                signed = sink_a.wait_for_id(tid, 30) if r.ok else None
                pf_a.stop()
                od.stop()
                if not run.check(signed is not None and signed.header("DKIM-Signature"),
                                 "opendkim %s: the first Postfix delivered a signed message" % canon,
                                 "%r %r" % (r, signed and signed.header_bytes)):
                    continue
                sig = re.sub(r"\s+", "", signed.header("DKIM-Signature")[0])
                run.check("c=%s" % canon in sig or (canon == "simple/simple" and "c=" not in sig),
                          "opendkim %s: the signature says c=%s" % (canon, canon), sig)
                data = signed.data
                _, m = deliver(tid, data)
                expect("opendkim %s" % canon, m, ("DKIM_VALID", "DKIM_VALID_AU", "DMARC_PASS"),
                       ("DKIM_INVALID",),
                       ("dkim=pass header.d=%s header.s=od" % DOMAIN,
                        "dmarc=pass header.from=%s" % DOMAIN))
                tid2 = tid + "-hdr"
                _, m = deliver(tid2, alter_header(retag(data, tid, tid2)))
                expect("opendkim %s, Subject changed" % canon, m,
                       ("DKIM_INVALID", "DMARC_FAIL_REJECT"), ("DKIM_VALID",),
                       ("dkim=fail header.d=%s" % DOMAIN, "dmarc=fail header.from=%s" % DOMAIN))
                tid3 = tid + "-body"
                _, m = deliver(tid3, alter_body(retag(data, tid, tid3)))
                expect("opendkim %s, one body byte changed" % canon, m,
                       ("DKIM_INVALID",), ("DKIM_VALID",), ("dkim=fail header.d=%s" % DOMAIN,))

        # ---------------------------------------------------------- dkimpy
        def py_sign(tid, selector=b"py", domain=DOMAIN, canon=(b"relaxed", b"simple"),
                    sender=None, pem=None, identity=None, **kw):
            msg = make_message(tid, subject="Minutes", sender=sender or "alice@" + DOMAIN,
                               body=body(tid), **kw)
            sig = dkim.sign(msg, selector, domain.encode(), pem or py_pem, canonicalize=canon,
                            identity=identity,
                            include_headers=[b"from", b"to", b"subject", b"date",
                                             b"message-id", b"x-test-id"])
            return sig.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + msg

        for canon in CANONS:
            with run.section("dkimpy %s" % canon):
                c = tuple(x.encode() for x in canon.split("/"))
                tid = "py-" + canon.replace("/", "-")
                data = py_sign(tid, canon=c)
                _, m = deliver(tid, data)
                expect("dkimpy %s" % canon, m, ("DKIM_VALID", "DKIM_VALID_AU", "DMARC_PASS"),
                       ("DKIM_INVALID",),
                       ("dkim=pass header.d=%s header.s=py" % DOMAIN,
                        "dmarc=pass header.from=%s" % DOMAIN))
                tid2 = tid + "-hdr"
                _, m = deliver(tid2, alter_header(py_sign(tid2, canon=c)))
                expect("dkimpy %s, Subject changed" % canon, m,
                       ("DKIM_INVALID", "DMARC_FAIL_REJECT"), ("DKIM_VALID",),
                       ("dkim=fail header.d=%s" % DOMAIN,))
                tid3 = tid + "-body"
                _, m = deliver(tid3, alter_body(py_sign(tid3, canon=c)))
                expect("dkimpy %s, one body byte changed" % canon, m,
                       ("DKIM_INVALID",), ("DKIM_VALID",), ("dkim=fail header.d=%s" % DOMAIN,))

        # ---------------------------------------------------------- key errors
        with run.section("key record missing, key lookup timing out"):
            _, m = deliver("nokey", py_sign("nokey", selector=b"gone"))
            expect("key record missing", m, ("DKIM_INVALID",), ("DKIM_VALID", "DKIM_TEMPERROR"),
                   ("dkim=permerror header.d=%s header.s=gone" % DOMAIN,))
            t = time.monotonic()
            _, m = deliver("slowkey", py_sign("slowkey", selector=b"slow"))
            took = time.monotonic() - t
            expect("key lookup timeout", m, ("DKIM_TEMPERROR",), ("DKIM_VALID", "DKIM_INVALID"),
                   ("dkim=temperror header.d=%s header.s=slow" % DOMAIN,))
            run.check(took < 10, "key lookup timeout: delivered in %.1f s (dns_timeout_ms 1500)" % took)

        # ---------------------------------------------------------- weak keys
        # RFC 8301: an RSA key under 1024 bits is not acceptable, however
        # the body hash was computed.  (A t=s key with i= in a subdomain of
        # d= is not refused yet: Debian's libopendkim does not report it.)
        with run.section("key under 1024 bits, a t=s key"):
            for canon in ((b"relaxed", b"relaxed"), (b"simple", b"simple")):
                tid = "weak-" + canon[1].decode()
                _, m = deliver(tid, py_sign(tid, selector=b"weak", pem=weak_pem, canon=canon))
                expect("768-bit key, %s body" % canon[1].decode(), m, ("DKIM_INVALID",),
                       ("DKIM_VALID", "DKIM_VALID_AU", "DMARC_PASS"),
                       ("dkim=permerror header.d=%s header.s=weak" % DOMAIN,))
            _, m = deliver("strict-ok", py_sign("strict-ok", selector=b"strict", pem=strict_pem,
                                                identity=("alice@" + DOMAIN).encode()))
            expect("t=s key, i= at d=", m, ("DKIM_VALID",), ("DKIM_INVALID",),
                   ("dkim=pass header.d=%s header.s=strict" % DOMAIN,))

        # ---------------------------------------------------------- alignment
        with run.section("alignment and unsigned mail"):
            _, m = deliver("other", py_sign("other", domain="other.example"))
            expect("signed by other.example, From signer.example", m, ("DKIM_VALID", "DMARC_FAIL_REJECT"),
                   ("DKIM_VALID_AU",), ("dkim=pass header.d=other.example header.s=py",))
            _, m = deliver("unsigned", make_message("unsigned", sender="alice@nodmarc.example"))
            expect("unsigned, no DMARC record", m, ("DKIM_NONE", "DMARC_NONE"), (),
                   ("dkim=none", "dmarc=none header.from=nodmarc.example"))

        # ---------------------------------------------------------- threads
        with run.section("concurrent messages"):
            keys0 = dkim_key_counts(mport)
            jobs, want = [], {}
            for i in range(60):
                tid = "par-%d" % i
                data = py_sign(tid, canon=(b"relaxed", b"relaxed") if i % 2 else (b"simple", b"simple"))
                if i % 3 == 0:
                    data = alter_body(data)
                want[tid] = "DKIM_INVALID" if i % 3 == 0 else "DKIM_VALID"
                jobs.append({"mail_from": "alice@" + DOMAIN, "rcpts": ["bob@rcpt.test"],
                             "data_bytes": data})
            outs = send_many(pf_b.port, jobs, concurrency=10)
            run.check(all(o.attempts and o.attempts[-1].ok for o in outs),
                      "concurrent: 60 messages accepted", [o.attempts[-1] for o in outs if o.attempts][:5])
            wrong = []
            for tid, sym in want.items():
                m = sink_b.wait_for_id(tid, 30)
                tests = (m.spam_tests() or []) if m else None
                if tests is None or sym not in tests or (
                        sym == "DKIM_INVALID" and "DKIM_VALID" in tests):
                    wrong.append((tid, sym, tests))
            run.check(not wrong, "concurrent: every message has its own DKIM verdict "
                      "(DKIM_VALID, or DKIM_INVALID for the altered third)", wrong[:10])
            keys1 = dkim_key_counts(mport)
            cached, decoded = keys1[0] - keys0[0], keys1[1] - keys0[1]
            # every message's signature needs the key once; at most one
            # decode per concurrent session can race the first
            run.check(cached + decoded >= 60 and decoded <= 10 and cached >= 50,
                      "concurrent: the key is decoded once and then taken from the "
                      "cache (/metrics parapet_dkim_keys_{cached,decoded}_total)",
                      {"cached": cached, "decoded": decoded})

        # ---------------------------------------------------------- DMARC
        with run.section("DMARC policies"):
            for tid, sender, sym, ar in (
                    ("dm-reject", "a@" + DOMAIN, "DMARC_FAIL_REJECT", "dmarc=fail header.from=" + DOMAIN),
                    ("dm-quar", "a@quar.example", "DMARC_FAIL_QUARANTINE", "dmarc=fail header.from=quar.example"),
                    ("dm-none", "a@none.example", "DMARC_FAIL_NONE", "dmarc=fail header.from=none.example"),
                    ("dm-sp", "a@mail.org.example", "DMARC_FAIL_REJECT", "dmarc=fail header.from=mail.org.example"),
                    ("dm-org-p", "a@org.example", "DMARC_FAIL_NONE", "dmarc=fail header.from=org.example")):
                _, m = deliver(tid, make_message(tid, sender=sender))
                expect("DMARC %s (From %s)" % (tid, sender), m, (sym,), ("DMARC_PASS",), (ar,))
            _, m = deliver("dm-multi", make_message("dm-multi", sender="a@%s, b@quar.example" % DOMAIN))
            expect("two From addresses", m, ("FROM_MULTIPLE",),
                   ("DMARC_PASS", "DMARC_FAIL_REJECT", "DMARC_FAIL_QUARANTINE", "DMARC_NONE"),
                   ("dmarc=permerror",))

        run.note("DNS queries: %d" % len(dns.queries()))
        shutil.rmtree(keys, ignore_errors=True)


if __name__ == "__main__":
    main()
