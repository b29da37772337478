#!/usr/bin/env python3
"""test_mailclients.py - what mail clients and senders see, through the
real Postfix (issue 18 items 4 and 6):

  1. X-Spam-Level carries SpamAssassin's stars (one per whole point):
     score 7.5 gives "*******", a ham scored 0.5 an empty X-Spam-Level
  2. subject_tag: a tagged message's Subject is changed by the milter
     (smfi_chgheader) to "[SPAM] subject", exactly one Subject arrives; a
     ham keeps its Subject
  3. a rejected message's reply carries the queue id (reject_text's %q),
     the same qid as parapet's log line for it
  4. mode = observe (after a reload): the message that was rejected is
     delivered with X-Spam-Flag: YES and the Subject tag, and the log line
     says action=accept would=reject

Skipped (77) unless root with Postfix installed.  Ends with "N passed, N
failed".
"""

import os
import re
import signal
import sys

sys.dont_write_bytecode = True	# no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BUILDDIR, Parapet, Postfix, Redis, Sink, TestRun,  # noqa: E402
                     make_message, send, wait_until)
import json  # noqa: E402
import subprocess  # noqa: E402

RCPT = "bob@rcpt.test"
RULES = """\
# tests/integration/test_mailclients.py
body     TEST_HAM      /XHAMX/
score    TEST_HAM      0.5
body     TEST_TAG      /XTAGX/
score    TEST_TAG      7.5
body     TEST_REJECT   /XREJECTX/
score    TEST_REJECT   20
"""


def main():
    with TestRun("test_mailclients") as run:
        run.require_root_and_postfix()
        wd = run.workdir
        sink = Sink().start()
        redis = Redis(os.path.join(wd, "redis")).start()
        parapet = Parapet(os.path.join(wd, "parapet"),
                          {"subject_tag": "[SPAM]", "greylist": "no",
                           "redis": "127.0.0.1:%d" % redis.port}, RULES)
        parapet.start()
        pf = Postfix(os.path.join(wd, "postfix"), sink.port, milter=parapet.socket_spec)
        pf.start()
        run.on_fail(lambda: "parapet log (tail):\n" + parapet.log()[-4000:])
        run.on_fail(lambda: "maillog (tail):\n" + pf.maillog()[-3000:])

        def deliver(tid, body, subject):
            data = make_message(tid, subject=subject, body=body)
            r = send(pf.port, "alice@sender.test", [RCPT], data)
            return r, (sink.wait_for_id(tid, 30) if r.ok else None)

        def log_line(tid):
            mid = "<%s@parapet.test>" % tid
            q = pf.queue_ids().get(mid, [])
            lines = [ln for ln in parapet.log().splitlines()
                     if q and re.search(r"\bqid=%s\s" % q[0], ln)]
            return (q[0] if q else None), (lines[0] if len(lines) == 1 else repr(lines))

        with run.section("1. X-Spam-Level and 2. the Subject tag"):
            r, m = deliver("mc-tag", "Buy now XTAGX\n", "Cheap watches")
            if run.check(r.ok and m is not None, "tagged message delivered", repr(r)):
                run.check(m.header("X-Spam-Level") == ["*******"],
                          "X-Spam-Level: ******* for score 7.5", repr(m.header("X-Spam-Level")))
                run.check(m.header("Subject") == ["[SPAM] Cheap watches"],
                          "Subject changed to '[SPAM] Cheap watches', one Subject",
                          repr(m.header("Subject")))
            r, m = deliver("mc-ham", "Hello XHAMX\n", "Lunch")
            if run.check(r.ok and m is not None, "ham delivered", repr(r)):
                run.check([v.strip() for v in m.header("X-Spam-Level")] == [""],
                          "ham (0.5): an empty X-Spam-Level", repr(m.header("X-Spam-Level")))
                run.check(m.header("Subject") == ["Lunch"], "ham: Subject untouched",
                          repr(m.header("Subject")))

        with run.section("3. the reply carries the queue id"):
            r, m = deliver("mc-reject", "You won XREJECTX\n", "Prize")
            mm = re.fullmatch(r"5\.7\.1 Message rejected as spam \(ref (\w+)\)", r.message or "")
            run.check(r.code == 550 and mm is not None,
                      "550 5.7.1 Message rejected as spam (ref QID)", repr(r))
            qid, ln = log_line("mc-reject")
            run.check(mm is not None and qid == mm.group(1) and " action=reject " in ln,
                      "the reference is the qid of parapet's log line", "%r %r" % (qid, ln))

        with run.section("4. mode = observe"):
            parapet.config["mode"] = "observe"
            parapet.write_config()
            size = parapet.log_size()
            parapet.signal(signal.SIGUSR1)
            run.check(wait_until(lambda: "rules reloaded" in parapet.log(size), 30),
                      "reloaded with mode = observe")
            r, m = deliver("mc-observe", "You won XREJECTX\n", "Prize")
            if run.check(r.ok and m is not None, "observe: the would-be reject is delivered",
                         repr(r)):
                run.check(m.header("X-Spam-Flag") == ["YES"] and
                          m.header("Subject") == ["[SPAM] Prize"] and
                          m.header("X-Spam-Level") == ["*" * 20],
                          "observe: X-Spam-Flag, Subject tag and 20 stars added",
                          repr(m.headers()[-8:]))
            _, ln = log_line("mc-observe")
            run.check(" action=accept would=reject " in ln,
                      "observe: the log line says action=accept would=reject", ln)
            # parapetctl tail and stats read the log stream: the would-be action
            # (the entry is written after the reply: wait for it)
            def last_entry():
                n = redis.call("XLEN", "parapet:log")
                if not n:
                    return {}
                p = subprocess.run([os.path.join(BUILDDIR, "milter", "parapetctl"), "-c",
                                    parapet.conf_path, "tail", "--all", "--count", str(n),
                                    "--json"], capture_output=True, text=True, timeout=60)
                lines = p.stdout.splitlines() if p.returncode == 0 else []
                return json.loads(lines[-1]) if lines else {}
            run.check(wait_until(lambda: last_entry().get("action") == "reject", 20),
                      "observe: parapetctl tail shows what would have happened (reject)",
                      repr(last_entry()))

        with run.section("stop"):
            redis.stop()
            run.check(parapet.stop(timeout=30) == 0, "parapet exits 0 on SIGTERM")


if __name__ == "__main__":
    main()
