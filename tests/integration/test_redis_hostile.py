#!/usr/bin/env python3
"""test_redis_hostile.py - parapet against a hostile Redis (issue 12, 2c).

A fake Redis server (a Python thread on a free loopback port) answers the
connection set-up as a master would (AUTH, SELECT, ROLE), and every read
with the audit's reply: 16 arrays of 65,536 empty arrays, a million
elements in 4 MB, each aggregate within the per-aggregate cap.  Parsed
whole, such a reply cost 124 MB per round trip (about 2 GB across the 16
pooled connections).

  1. the daemon behind Postfix: 8 messages over 4 sessions all get 250
     with REDIS_UNAVAILABLE (the reply is refused, not parsed), the log
     says why, and parapet's peak RSS (VmHWM) grows by less than 40 MB;
  2. parapetctl rep top (an administrator's larger caps) against the same
     server: exit 1 with the reason, and its peak RSS (wait4) is within
     40 MB of the same command against a server answering an empty list.

Exit 0 all passed, 1 any failure, 77 skip (not root / no Postfix; never
when CI=true).  Ends with "N passed, N failed".
"""

import os
import re
import socket
import subprocess
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BUILDDIR, Parapet, Postfix, Sink, TestRun,  # noqa: E402
                     free_port, make_message, send_many)

CTL = os.path.join(BUILDDIR, "milter", "parapetctl")
RCPT = "bob@rcpt.test"
GROWTH_MAX_KB = 40 * 1024
RULES = """\
body     T_HAM        /XHAMX/
score    T_HAM        0.1
score    REDIS_UNAVAILABLE 0.0
"""


def nested(outer, inner):
    """nested - "*outer" arrays of "*inner" empty arrays, as RESP bytes"""
    part = b"*%d\r\n" % inner + b"*0\r\n" * inner
    return b"*%d\r\n" % outer + part * outer


class FakeRedis:
    """FakeRedis - RESP over TCP: set-up commands as a master answers them,
    everything else gets self.reply; counts the commands it saw."""

    def __init__(self, reply):
        self.reply = reply
        self.port = free_port()
        self.commands = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(32)
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _command(f):
        line = f.readline()
        if not line.startswith(b"*"):
            return None
        args = []
        for _ in range(int(line[1:])):
            n = int(f.readline()[1:])
            args.append(f.read(n + 2)[:-2].decode("utf-8", "replace"))
        return args

    def _serve(self, conn):
        f = conn.makefile("rb")
        try:
            while True:
                cmd = self._command(f)
                if not cmd:
                    return
                name = cmd[0].upper()
                with self.lock:
                    self.commands.append(name)
                if name in ("AUTH", "SELECT"):
                    out = b"+OK\r\n"
                elif name == "ROLE":
                    out = b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n"
                else:
                    out = self.reply
                conn.sendall(out)
        except (OSError, ValueError):
            pass	# parapet closed the connection after refusing a reply
        finally:
            conn.close()

    def stop(self):
        self.running = False
        self.sock.close()


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def ctl_maxrss(conf, *args):
    """ctl_maxrss - parapetctl -c conf ARGS: (rc, stderr, peak RSS in kB)"""
    p = subprocess.Popen([CTL, "-c", conf] + list(args), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    err = p.stderr.read().decode("utf-8", "replace")
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, err, ru.ru_maxrss


def main():
    with TestRun("test_redis_hostile") as run:
        run.require_root_and_postfix()
        wd = run.workdir
        blob = nested(16, 65536)
        run.note("hostile reply: %d bytes, %d elements" % (len(blob), 16 + 16 * 65536))
        fake = FakeRedis(blob)
        sink = Sink().start()
        parapet = Parapet(os.path.join(wd, "parapet"), {
            "redis": "127.0.0.1:%d" % fake.port,
            "redis_timeout_ms": "3000",
            "greylist": "no",
        }, RULES)
        parapet.start()
        pf = Postfix(os.path.join(wd, "postfix"), sink.port,
                     milter=parapet.socket_spec).start()
        run.on_fail(lambda: "parapet log (tail):\n" + parapet.log()[-3000:])

        with run.section("1. the daemon: replies refused, memory bounded"):
            before = vm_hwm_kb(parapet.pid)
            jobs = [dict(mail_from="a%d@sender.test" % i, rcpts=[RCPT],
                         xclient_addr="192.0.2.%d" % (10 + i),
                         data_bytes=make_message("hostile-%d" % i, body="XHAMX\n"))
                    for i in range(8)]
            outs = send_many(pf.port, jobs, concurrency=4)
            codes = [o.final.code if o.final else None for o in outs]
            run.check(codes == [250] * len(jobs), "every message gets 250", repr(codes))
            grew = vm_hwm_kb(parapet.pid) - before
            run.note("parapet peak RSS %d kB before, grew by %d kB" % (before, grew))
            run.check(0 <= grew < GROWTH_MAX_KB,
                      "parapet's peak RSS grew by less than %d MB (%d kB)" % (
                          GROWTH_MAX_KB // 1024, grew))
            run.check(fake.commands.count("HMGET") >= len(jobs),
                      "the fake server was asked (%d HMGET)" % fake.commands.count("HMGET"))
            ids = ["hostile-%d" % i for i in range(len(jobs))]
            got = [sink.wait_for_id(i, 30) for i in ids]
            tests = [m.spam_tests() if m else None for m in got]
            run.check(all(t is not None and "REDIS_UNAVAILABLE" in t for t in tests),
                      "each delivered with REDIS_UNAVAILABLE", repr(tests))
            run.check(re.search(r"reply over parapet's size caps", parapet.log()),
                      "the log says why: reply over parapet's size caps")

        with run.section("2. parapetctl rep top: an administrator's caps"):
            conf = parapet.conf_path
            rc, err, hostile_kb = ctl_maxrss(conf, "rep", "top", "ip", "10")
            run.check(rc == 1 and "size caps" in err,
                      "parapetctl rep top exits 1 with the reason", "%d %s" % (rc, err))
            fake.reply = b"*0\r\n"
            rc0, err0, benign_kb = ctl_maxrss(conf, "rep", "top", "ip", "10")
            run.check(rc0 == 0, "against an empty list it exits 0", err0)
            run.note("parapetctl peak RSS: %d kB hostile, %d kB benign" % (hostile_kb,
                                                                        benign_kb))
            run.check(hostile_kb - benign_kb < GROWTH_MAX_KB,
                      "parapetctl's peak RSS is within %d MB of a benign run (%d kB more)" % (
                          GROWTH_MAX_KB // 1024, hostile_kb - benign_kb))

        with run.section("stop"):
            run.check(parapet.stop(timeout=30) == 0, "parapet exits 0 on SIGTERM")
            pf.stop()
            fake.stop()


if __name__ == "__main__":
    main()
