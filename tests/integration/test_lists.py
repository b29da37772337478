#!/usr/bin/env python3
"""test_lists.py - the permanent allow and block lists (lists_file) through
a real Postfix (SPEC §3 lists_file, rules/60-lists.cf).

parapet runs the shipped 60-lists.cf and a test rule that scores 20
(reject_score 15); the lists file names senders and client networks:

  1. allow from: a spammy message from a listed sender is delivered,
     scanned (X-Spam-Status lists USER_IN_WELCOMELIST and the spam rule)
  2. block from: a clean message from a listed domain gets 550 5.7.1
  3. allow ip / block ip: the XCLIENT address decides the same way
  4. unlisted senders: the spammy one is rejected, the clean one delivered
  5. reload (SIGUSR1) after editing the file: the removed entry no longer
     helps, the added one blocks
  6. a bad line: the reload fails with lists:LINE in the log, the lists
     of the running engine stay in force

Exit 0 all passed, 1 any failure, 77 skip.  Ends with "N passed, N failed".
"""

import os
import signal
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SRCDIR, Parapet, Postfix, Sink, TestRun,  # noqa: E402
                     make_message, send, wait_until)

RCPT = "bob@rcpt.test"
RULES = """\
# tests/integration/test_lists.py
body     TEST_SPAM   /XSPAMX/
score    TEST_SPAM   20
body     TEST_HAM    /XHAMX/
score    TEST_HAM    0.5
"""
LISTS = """\
# the test's lists file
allow from vip@friends.test
block from *@blocked.test
allow ip 192.0.2.0/24
block ip 203.0.113.128/25
"""
LISTS2 = """\
# edited: vip@friends.test gone, newly.test blocked
block from *@blocked.test
block from *@newly.test
allow ip 192.0.2.0/24
block ip 203.0.113.128/25
"""


class Ctx:
    """Ctx - what the sections share."""

    def __init__(self, run, sink, parapet, pf):
        self.run, self.sink, self.parapet, self.pf = run, sink, parapet, pf

    def deliver(self, tid, sender, body, xclient_addr="203.0.113.7"):
        """deliver - one message from sender; (reply, delivered or None)"""
        data = make_message(tid, sender=sender, body=body)
        r = send(self.pf.port, sender, [RCPT], data, xclient_addr=xclient_addr)
        return r, (self.sink.wait_for_id(tid, 30) if r.ok else None)

    def tests(self, m):
        """tests - the tests= list of the X-Spam-Status of m"""
        v = " ".join(m.header("X-Spam-Status")) if m else ""
        return v.replace("\r", "").replace("\n", "").replace("\t", "").replace(" ", "") \
            .partition("tests=")[2].split(",")

    def accepted(self, tid, sender, body, symbol, what, **kw):
        r, m = self.deliver(tid, sender, body, **kw)
        self.run.check(r.code == 250 and m is not None and symbol in self.tests(m)
                       and "TEST_SPAM" in self.tests(m),
                       what, "%r %r" % (r, m and m.header("X-Spam-Status")))

    def rejected(self, tid, sender, body, what, **kw):
        r, _ = self.deliver(tid, sender, body, **kw)
        self.run.check(r.code == 550 and r.message.startswith("5.7.1"), what, repr(r))


def reload(c, what):
    """reload - SIGUSR1 and wait for the log line; True if reloaded"""
    mark = c.parapet.log_size()
    c.parapet.signal(signal.SIGUSR1)
    ok = wait_until(lambda: "reloaded" in c.parapet.log(mark)
                    or "reload failed" in c.parapet.log(mark), 30)
    return ok, c.parapet.log(mark)


def main():
    with TestRun("test_lists") as run:
        run.require_root_and_postfix()
        wd = run.workdir
        sink = Sink().start()
        lists = os.path.join(wd, "lists")
        with open(lists, "w") as f:
            f.write(LISTS)
        parapet = Parapet(os.path.join(wd, "parapet"), {"lists_file": lists}, RULES)
        with open(os.path.join(SRCDIR, "rules", "60-lists.cf")) as f:
            parapet.write_rules(f.read(), "60-lists.cf")
        parapet.start()
        pf = Postfix(os.path.join(wd, "postfix"), sink.port, milter=parapet.socket_spec)
        pf.start()
        run.on_fail(lambda: "parapet log (tail):\n" + parapet.log()[-4000:])
        c = Ctx(run, sink, parapet, pf)
        with run.section("1. allow from"):
            c.accepted("allow-from", "vip@friends.test", "Win now XSPAMX\n",
                       "USER_IN_WELCOMELIST", "allow from: a message scoring 20 from a listed "
                       "sender is delivered, scanned, with USER_IN_WELCOMELIST")
        with run.section("2. block from"):
            c.rejected("block-from", "alice@blocked.test", "Lunch? XHAMX\n",
                       "block from: a clean message from *@blocked.test gets 550 5.7.1")
        with run.section("3. allow ip, block ip"):
            c.accepted("allow-ip", "x@unlisted.test", "Win now XSPAMX\n",
                       "CLIENT_IN_WELCOMELIST", "allow ip: a message scoring 20 from "
                       "192.0.2.10 is delivered with CLIENT_IN_WELCOMELIST",
                       xclient_addr="192.0.2.10")
            c.rejected("block-ip", "x@unlisted.test", "Lunch? XHAMX\n",
                       "block ip: a clean message from 203.0.113.200 gets 550 5.7.1",
                       xclient_addr="203.0.113.200")
        with run.section("4. unlisted"):
            c.rejected("plain-spam", "x@unlisted.test", "Win now XSPAMX\n",
                       "unlisted: the message scoring 20 is rejected")
            r, m = c.deliver("plain-ham", "x@unlisted.test", "Lunch? XHAMX\n")
            run.check(r.code == 250 and m is not None and "TEST_HAM" in c.tests(m),
                      "unlisted: the clean message is delivered", repr(r))
        with run.section("5. reload picks up an edited file"):
            tmp = lists + ".tmp"
            with open(tmp, "w") as f:
                f.write(LISTS2)
            os.rename(tmp, lists)
            ok, log = reload(c, "edit")
            run.check(ok and "reloaded" in log, "reload: parapet reloads", log[-2000:])
            c.rejected("after-allow", "vip@friends.test", "Win now XSPAMX\n",
                       "reload: the removed allow entry no longer saves a message scoring 20")
            c.rejected("after-block", "bob@newly.test", "Lunch? XHAMX\n",
                       "reload: the added block entry rejects a clean message")
        with run.section("6. a bad line fails the reload"):
            with open(tmp, "w") as f:
                f.write(LISTS + "allow from nobody\n")
            os.rename(tmp, lists)
            ok, log = reload(c, "bad")
            run.check(ok and "reload failed" in log and
                      "%s:6: error: expected an address or *@domain" % lists in log,
                      "bad line: the reload fails and the log names lists:6", log[-2000:])
            c.rejected("kept-block", "bob@newly.test", "Lunch? XHAMX\n",
                       "bad line: the lists of the running engine stay in force")
        with run.section("stop"):
            run.check(parapet.stop(timeout=30) == 0, "parapet exits 0 on SIGTERM")


if __name__ == "__main__":
    main()
