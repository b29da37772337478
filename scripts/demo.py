#!/usr/bin/python3
"""demo.py - parapet end to end: a redis-server, a DNS server serving the
demo domains' SPF, DKIM and DMARC records, parapet with the shipped rules,
a private Postfix on loopback and a capturing sink; sample ham and spam
through it; one line per message with the SMTP reply and what parapet
decided; then what Redis and /metrics hold.  Run through scripts/demo.sh
(which builds first).

Options: --ham N --spam N (corpus messages of each kind, default 5),
--keep (leave everything running until Enter, to try the dashboard).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("PARAPET_BUILDDIR", os.path.join(TOP, "build"))
os.environ.setdefault("PARAPET_SRCDIR", TOP)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import harness  # noqa: E402

CORPUS = os.path.join(os.environ.get("TESTDATA", os.path.join(TOP, "tests", "data")),
                      "corpus")

# demo.example signs with DKIM and publishes SPF and DMARC p=reject;
# spoof.example publishes SPF -all and DMARC p=reject and does not sign
GOOD_IP = "192.0.2.25"
BAD_IP = "203.0.113.66"


def corpus_sample(kind, n):
    """corpus_sample - n files of one kind, spread over the folder."""
    folder = os.path.join(CORPUS, kind)
    names = sorted(os.listdir(folder))
    step = max(1, len(names) // max(n, 1))
    return [os.path.join(folder, f) for f in names[::step][:n]]


def load(path):
    """load - message bytes with CRLF ends and the mbox From_ line removed."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"From "):
        data = data.split(b"\n", 1)[1]
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def dkim_key(work):
    """dkim_key - (private key PEM, public key base64) made with openssl."""
    key = os.path.join(work, "dkim.key")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pub = subprocess.run(["openssl", "rsa", "-in", key, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    import base64
    with open(key, "rb") as f:
        return f.read(), base64.b64encode(pub).decode()


def signed_message(priv):
    """signed_message - a message from demo.example signed by dkimpy."""
    import dkim
    data = harness.make_message("demo-signed", subject="Minutes of Monday's meeting",
                                sender="Alice <alice@demo.example>",
                                body="Hi Bob,\n\nthe minutes are attached below.\n")
    sig = dkim.sign(data, b"sel1", b"demo.example", priv,
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                    canonicalize=(b"relaxed", b"relaxed"))
    return sig + data


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ham", type=int, default=5)
    ap.add_argument("--spam", type=int, default=5)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("demo.py: needs root to run a private Postfix instance")

    work = harness.make_workdir("parapet-demo.")
    try:
        priv, pub = dkim_key(work)
        dns = harness.DnsServer(os.path.join(work, "dns"), {
            "demo.example": [{"TXT": "v=spf1 ip4:%s -all" % GOOD_IP}],
            "sel1._domainkey.demo.example": [{"TXT": "v=DKIM1; k=rsa; p=" + pub}],
            "_dmarc.demo.example": [{"TXT": "v=DMARC1; p=reject"}],
            "spoof.example": [{"TXT": "v=spf1 ip4:198.51.100.0/24 -all"}],
            "_dmarc.spoof.example": [{"TXT": "v=DMARC1; p=reject"}],
        }).start()
        redis = harness.Redis(os.path.join(work, "redis")).start()
        metrics_port = harness.free_port()
        sink = harness.Sink()
        sink.start()
        parapet = harness.Parapet(
            os.path.join(work, "parapet"),
            {"redis": "127.0.0.1:%d" % redis.port, "greylist": "no",
             "metrics_listen": "127.0.0.1:%d" % metrics_port},
            shipped_rules=True, dns=dns,
            rules="body DEMO_REJECT /XREJECTX/\nscore DEMO_REJECT 20\n"
                  "describe DEMO_REJECT demo: a phrase the admin rejects\n")
        parapet.start()
        postfix = harness.Postfix(os.path.join(work, "postfix"), sink.port,
                                  milter=parapet.socket_spec)
        postfix.start()
        print("parapet demo")
        print("  dns server    %s (SPF, DKIM and DMARC records of demo.example, spoof.example)"
              % dns.nameserver)
        print("  redis-server  127.0.0.1:%d (pid %d): reputation and the verdict log"
              % (redis.port, redis.pid))
        print("  parapet       %s (pid %d), shipped rules + one demo rule; "
              "metrics on 127.0.0.1:%d" % (parapet.socket_spec, parapet.pid, metrics_port))
        print("  postfix       smtpd 127.0.0.1:%d -> sink 127.0.0.1:%d" % (postfix.port, sink.port))
        print()

        rows = []
        for kind in ("ham", "spam"):
            for p in corpus_sample(kind, args.ham if kind == "ham" else args.spam):
                data = load(p)
                # each from its own network and with its own envelope sender,
                # as real mail would be, so that reputation counts per sender
                m = re.search(rb"^From:.*?([\w.+-]+@[\w.-]+)", data, re.M | re.I)
                mfrom = m.group(1).decode("ascii", "replace") if m else "sender@corpus.test"
                rows.append((kind, os.path.basename(p)[:40], data, mfrom,
                             "198.18.%d.10" % len(rows)))
        rows += [
            ("crafted", "dkim-signed, spf pass", signed_message(priv),
             "alice@demo.example", GOOD_IP),
            ("crafted", "spoofed From, spf fail", harness.make_message(
                "demo-spoof", subject="Your account", sender="Bank <info@spoof.example>",
                body="Please confirm your password.\n"), "info@spoof.example", BAD_IP),
            ("crafted", "forged X-Spam headers", harness.make_message(
                "demo-forged", subject="hello",
                headers=[("X-Spam-Flag", "NO"), ("X-Spam-Status", "No, score=-100")]),
             "sender@corpus.test", "203.0.113.90"),
            ("crafted", "reject phrase", harness.make_message(
                "demo-reject", subject="offer", body="XREJECTX\n"),
             "sender@corpus.test", "203.0.113.91"),
        ]
        print("%-8s %-40s %-26s %s" % ("kind", "message", "SMTP reply", "parapet verdict"))
        for i, (kind, name, data, mfrom, ip) in enumerate(rows):
            tid = "demo-%d" % i
            data = b"X-Test-Id: " + tid.encode() + b"\r\n" + data
            r = harness.send(postfix.port, mfrom, ["rcpt@demo.test"], data, xclient_addr=ip)
            verdict = "(rejected: not delivered)" if r.perm else "-"
            if r.ok:
                m = sink.wait_for_id(tid, 30)
                if m is not None:
                    verdict = " ".join(m.first("X-Spam-Status", "(no X-Spam-Status)").split())
                    if m.header("X-Spam-Flag"):
                        verdict = "X-Spam-Flag: YES; " + verdict
                    ar = m.first("Authentication-Results", "")
                    if ar:
                        verdict += "\n%-76s A-R: %s" % ("", " ".join(ar.split()))
                else:
                    verdict = "(not delivered within 30 s)"
            reply = "%s %s" % (r[0], (r[1] or "").split("\n")[0][:20])
            print("%-8s %-40s %-26s %s" % (kind, name, reply, verdict))
        print()
        print("parapet's log (one line per message, grep by Postfix queue id):")
        for line in parapet.log().splitlines():
            if "qid=" in line:
                print("  " + line)
        ctl = [os.path.join(os.environ["PARAPET_BUILDDIR"], "milter", "parapetctl"),
               "-c", parapet.conf_path]
        for sub in (["rep", "top", "ip", "5"], ["stats", "1"]):
            print()
            print("$ parapetctl %s" % " ".join(sub))
            out = subprocess.run(ctl + sub, capture_output=True, text=True)
            print(out.stdout + out.stderr, end="")
        print()
        print("/metrics (messages by action):")
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics_port,
                                    timeout=5) as resp:
            for line in resp.read().decode().splitlines():
                if line.startswith("parapet_messages_total") and not line.endswith(" 0"):
                    print("  " + line)
        if args.keep:
            print()
            print("Try the dashboard over this Redis:\n  %s dashboard --listen 127.0.0.1:8025 "
                  "--static %s/dashboard\nthen open http://127.0.0.1:8025/ ; press Enter to stop."
                  % (" ".join(ctl), TOP))
            try:
                input()
            except EOFError:
                pass
    finally:
        harness.stop_all()
        if os.environ.get("PARAPET_DEMO_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
