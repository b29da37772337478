#!/usr/bin/env python3
"""demo.py - parapet end to end: redis-server, parapet with the shipped
rules, a private Postfix on loopback and a capturing sink; sample ham and
spam through it; one line per message with the SMTP reply and what
parapet decided.  Run through scripts/demo.sh (which builds first).

Options: --ham N --spam N (corpus messages of each kind, default 5).
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("PARAPET_BUILDDIR", os.path.join(TOP, "build"))
os.environ.setdefault("PARAPET_SRCDIR", TOP)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import harness  # noqa: E402

CORPUS = os.path.join(os.environ.get("TESTDATA", os.path.join(TOP, "..", "shared", "testdata")),
                      "corpus")


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


def start_redis(workdir):
    """start_redis - a throwaway redis-server on a free loopback port."""
    exe = shutil.which("redis-server")
    if exe is None:
        return None, None
    port = harness.free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", workdir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, port


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ham", type=int, default=5)
    ap.add_argument("--spam", type=int, default=5)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("demo.py: needs root to run a private Postfix instance")

    work = harness.make_workdir("parapet-demo.")
    redis, redis_port = start_redis(work)
    try:
        sink = harness.Sink()
        sink.start()
        parapet = harness.Parapet(os.path.join(work, "parapet"), shipped_rules=True,
                                  rules="body DEMO_REJECT /XREJECTX/\nscore DEMO_REJECT 20\n"
                                        "describe DEMO_REJECT demo: a phrase the admin rejects\n")
        parapet.start()
        postfix = harness.Postfix(os.path.join(work, "postfix"), sink.port,
                                  milter=parapet.socket_spec)
        postfix.start()
        print("parapet demo")
        print("  redis-server  127.0.0.1:%s (pid %s)%s" % (
            redis_port, redis.pid if redis else "-",
            "  - not used by parapet yet: reputation and greylisting are issue 6"))
        print("  parapet       %s (pid %d), shipped rules + one demo rule" % (
            parapet.socket_spec, parapet.pid))
        print("  postfix       smtpd 127.0.0.1:%d -> sink 127.0.0.1:%d" % (postfix.port, sink.port))
        print()

        msgs = [("ham", p) for p in corpus_sample("ham", args.ham)]
        msgs += [("spam", p) for p in corpus_sample("spam", args.spam)]
        crafted = [
            ("crafted", "forged-headers", harness.make_message(
                "demo-forged", subject="hello",
                headers=[("X-Spam-Flag", "NO"), ("X-Spam-Status", "No, score=-100")])),
            ("crafted", "reject-phrase", harness.make_message(
                "demo-reject", subject="offer", body="XREJECTX\n")),
        ]
        print("%-8s %-44s %-28s %s" % ("kind", "message", "SMTP reply", "parapet verdict"))
        rows = []
        for kind, path in msgs:
            rows.append((kind, os.path.basename(path)[:44], load(path)))
        for kind, name, data in crafted:
            rows.append((kind, name, data))
        for i, (kind, name, data) in enumerate(rows):
            tid = "demo-%d" % i
            data = b"X-Test-Id: " + tid.encode() + b"\r\n" + data
            r = harness.send(postfix.port, "sender@demo.test", ["rcpt@demo.test"], data,
                             xclient_addr="203.0.113.%d" % (10 + i))
            verdict = "-"
            if r.ok:
                m = sink.wait_for_id(tid, 30)
                if m is not None:
                    verdict = "%s" % (m.first("X-Spam-Status", "(no X-Spam-Status)")
                                      .replace("\r\n", "").replace("\n", "").replace("\t", " "))
                    if m.header("X-Spam-Flag"):
                        verdict = "X-Spam-Flag: YES; " + verdict
                else:
                    verdict = "(not delivered within 30 s)"
            reply = "%s %s" % (r[0], (r[1] or "").split("\n")[0][:22])
            print("%-8s %-44s %-28s %s" % (kind, name, reply, verdict))
        print()
        print("parapet's log (one line per message, grep by Postfix queue id):")
        for line in parapet.log().splitlines():
            if "qid=" in line:
                print("  " + line)
    finally:
        harness.stop_all()
        if redis:
            redis.terminate()
            redis.wait(10)
        if os.environ.get("PARAPET_DEMO_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
