#!/usr/bin/env python3
"""test_policy.py - per-recipient policy (policy_file) through a real
Postfix, with two recipient domains (SPEC §3 policy_file).

strict.test rejects at 5, lax.test never rejects (reject_score=off), the
config rejects at 15; the test message scores 6.

  1. one transaction to a@strict.test, b@lax.test, c@twin.test (twin.test
     has strict.test's settings): b gets 451 4.7.1 at RCPT, a and c are
     kept, and the message gets 550 5.7.1 (strict's reject_score 5)
  2. b@lax.test in a transaction of its own: delivered (no reject at all)
  3. a recipient of no policy line: the config's thresholds (accepted)
  5. picky.test's own lists: block_from rejects a clean message from
     *@foe.test (to another domain it is delivered), allow_from saves a
     message over picky.test's reject_score
  4. reload (SIGUSR1) after editing the file: lax.test now rejects at 5

Exit 0 all passed, 1 any failure, 77 skip.  Ends with "N passed, N failed".
"""

import os
import signal
import smtplib
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SRCDIR, Parapet, Postfix, Sink, TestRun,  # noqa: E402
                     make_message, send, wait_until)

RULES = """\
# tests/integration/test_policy.py
body     TEST_SIX   /XSIXX/
score    TEST_SIX   6
"""
POLICY = """\
strict.test  reject_score=5 greylist=no
twin.test    reject_score=5 greylist=no
lax.test     reject_score=off greylist=no
picky.test   reject_score=5 greylist=no block_from=*@foe.test allow_from=*@friend.test
"""
SENDER = "alice@sender.test"


def transaction(port, rcpts, data):
    """transaction - one SMTP transaction that goes on past refused
    recipients; ([(rcpt, code, text)], end-of-data (code, text) or None)"""
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    try:
        s.ehlo("client.parapet.test")
        s.mail(SENDER)
        got = []
        for r in rcpts:
            code, msg = s.rcpt(r)
            got.append((r, code, msg.decode(errors="replace")))
        if not any(c in (250, 251) for _, c, _ in got):
            return got, None
        code, msg = s.docmd("DATA")
        if code != 354:
            return got, (code, msg.decode(errors="replace"))
        s.send(data.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        code, msg = s.getreply()
        return got, (code, msg.decode(errors="replace"))
    finally:
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            pass


def main():
    with TestRun("test_policy") as run:
        run.require_root_and_postfix()
        wd = run.workdir
        sink = Sink().start()
        policy = os.path.join(wd, "policy")
        with open(policy, "w") as f:
            f.write(POLICY)
        parapet = Parapet(os.path.join(wd, "parapet"),
                          {"policy_file": policy, "greylist": "no"}, RULES)
        with open(os.path.join(SRCDIR, "rules", "00-builtin.cf")) as f:
            parapet.write_rules(f.read(), "00-builtin.cf")	# POLICY_* scores
        parapet.start()
        pf = Postfix(os.path.join(wd, "postfix"), sink.port, milter=parapet.socket_spec)
        pf.start()
        run.on_fail(lambda: "parapet log (tail):\n" + parapet.log()[-4000:])
        run.on_fail(lambda: "maillog (tail):\n" + pf.maillog()[-4000:])
        spam = make_message("pol-1", to="a@strict.test", body="Six points XSIXX\n")
        with run.section("1. two policies in one transaction"):
            got, eod = transaction(pf.port, ["a@strict.test", "b@lax.test", "c@twin.test"], spam)
            codes = {r: (c, t) for r, c, t in got}
            run.check(codes["a@strict.test"][0] == 250, "the first recipient is accepted",
                      repr(got))
            run.check(codes["b@lax.test"][0] == 451 and
                      codes["b@lax.test"][1].startswith("4.7.1"),
                      "the recipient of another policy gets 451 4.7.1 at RCPT", repr(got))
            run.check(codes["c@twin.test"][0] == 250,
                      "a recipient whose policy judges alike (twin.test) is kept", repr(got))
            run.check(eod is not None and eod[0] == 550 and eod[1].startswith("5.7.1"),
                      "the message (score 6) gets 550 5.7.1: strict.test's reject_score 5",
                      repr(eod))
        with run.section("2. the other recipient on its own"):
            data = make_message("pol-2", to="b@lax.test", body="Six points XSIXX\n")
            r = send(pf.port, SENDER, ["b@lax.test"], data)
            m = sink.wait_for_id("pol-2", 30) if r.ok else None
            run.check(r.code == 250 and m is not None and m.rcpts == ["b@lax.test"],
                      "b@lax.test alone: delivered (reject_score=off)", repr(r))
        with run.section("3. no policy line"):
            data = make_message("pol-3", to="d@other.test", body="Six points XSIXX\n")
            r = send(pf.port, SENDER, ["d@other.test"], data)
            run.check(r.code == 250 and sink.wait_for_id("pol-3", 30) is not None,
                      "d@other.test: the config's reject_score 15 applies (delivered)", repr(r))
        with run.section("5. a recipient's own lists"):
            data = make_message("pol-5a", sender="x@foe.test", to="p@picky.test",
                                body="A clean note\n")
            r = send(pf.port, "x@foe.test", ["p@picky.test"], data)
            run.check(r.code == 550, "block_from: a clean message from *@foe.test to "
                      "picky.test gets 550 (POLICY_BLOCK)", repr(r))
            data = make_message("pol-5b", sender="x@foe.test", to="d@other.test",
                                body="A clean note\n")
            r = send(pf.port, "x@foe.test", ["d@other.test"], data)
            run.check(r.code == 250, "block_from: the same message to another domain is "
                      "delivered", repr(r))
            data = make_message("pol-5c", sender="x@friend.test", to="p@picky.test",
                                body="Six points XSIXX\n")
            r = send(pf.port, "x@friend.test", ["p@picky.test"], data)
            m = sink.wait_for_id("pol-5c", 30) if r.ok else None
            run.check(r.code == 250 and m is not None and
                      "POLICY_ALLOW" in " ".join(m.header("X-Spam-Status")),
                      "allow_from: a message from *@friend.test to picky.test is delivered "
                      "with POLICY_ALLOW", repr(r))
        with run.section("4. reload picks up an edited file"):
            tmp = policy + ".tmp"
            with open(tmp, "w") as f:
                f.write(POLICY.replace("lax.test     reject_score=off",
                                       "lax.test     reject_score=5"))
            os.rename(tmp, policy)
            mark = parapet.log_size()
            parapet.signal(signal.SIGUSR1)
            ok = wait_until(lambda: "reloaded" in parapet.log(mark), 30)
            run.check(ok, "reload: parapet reloads", parapet.log(mark)[-2000:])
            data = make_message("pol-4", to="b@lax.test", body="Six points XSIXX\n")
            r = send(pf.port, SENDER, ["b@lax.test"], data)
            run.check(r.code == 550, "reload: b@lax.test now gets 550 (reject_score 5)", repr(r))
        with run.section("stop"):
            run.check(parapet.stop(timeout=30) == 0, "parapet exits 0 on SIGTERM")


if __name__ == "__main__":
    main()
