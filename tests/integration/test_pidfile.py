#!/usr/bin/env python3
"""test_pidfile.py - the pidfile after the privilege drop, and parapetctl
reload's check of the pid it signals (issue 12, 2f).

parapet runs with `user = nobody` (so the file is written as root and must
be removed as nobody):

  1. pidfile in a root-owned directory holding nothing else: the directory
     is given to nobody, the file holds parapet's pid, parapetctl reload
     reloads, and after SIGTERM the file is gone;
  2. pidfile in a directory that does not exist: created, and the file is
     gone after the stop;
  3. pidfile in a shared directory (other files in it): left alone, a
     warning at start, the file emptied (not removed) at exit, and
     parapetctl reload refuses it;
  4. a pidfile holding the pid of a `sleep` this test started: parapetctl
     reload refuses ("not parapet") and the sleep is still alive;
  5. a pidfile holding the pid of a parapet that does not hold that file's
     lock: refused; a second parapet with the same pidfile as a running
     one refuses to start and leaves the file alone.

Exit 0 all passed, 1 any failure, 77 skip (not root, or no user nobody;
never when CI=true).  Ends with "N passed, N failed".
"""

import os
import pwd
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILDDIR, Parapet, TestRun, wait_until  # noqa: E402

CTL = os.path.join(BUILDDIR, "milter", "parapetctl")
RULES = "body T_MARK /XMARKX/\nscore T_MARK 1.0\n"


def ctl(conf, *args):
    p = subprocess.run([CTL, "-c", conf] + list(args), capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def daemon(wd, name, pidfile, user="nobody"):
    conf = {"pidfile": pidfile}
    if user:
        conf["user"] = user
    return Parapet(os.path.join(wd, name), conf, RULES, dns=None)


def test_own_dir(run, wd, nobody):
    d = os.path.join(wd, "run1")
    os.mkdir(d, 0o755)
    pidfile = os.path.join(d, "parapet.pid")
    p = daemon(wd, "p1", pidfile).start()
    run.check(read(pidfile) == "%d\n" % p.pid, "the pidfile holds parapet's pid",
              repr(read(pidfile)))
    # the socket answers before the directory is handed over, just before
    # the drop (slow under ASan): wait for it
    run.check(wait_until(lambda: os.stat(d).st_uid == nobody.pw_uid, 10),
              "its root-owned directory, holding only the pidfile, is given to nobody",
              repr(os.stat(d)))
    mark = p.log_size()
    rc, out, err = ctl(p.conf_path, "reload")
    run.check(rc == 0 and wait_until(lambda: "rules reloaded" in p.log(mark), 20),
              "parapetctl reload signals it and it reloads (as nobody)",
              out + err + p.log(mark)[-1000:])
    run.check(p.stop() == 0, "parapet (user nobody) exits 0 on SIGTERM")
    run.check(not os.path.exists(pidfile), "after the stop the pidfile is gone",
              repr(os.listdir(d)))


def test_missing_dir(run, wd, nobody):
    d = os.path.join(wd, "run2")
    pidfile = os.path.join(d, "parapet.pid")
    p = daemon(wd, "p2", pidfile).start()
    run.check(wait_until(lambda: os.path.isdir(d) and os.stat(d).st_uid == nobody.pw_uid and
                         (os.stat(d).st_mode & 0o777) == 0o755, 10),
              "a missing directory is created, 0755, owned by nobody",
              repr(os.stat(d)) if os.path.isdir(d) else "no directory")
    run.check(read(pidfile) == "%d\n" % p.pid, "the pidfile holds parapet's pid")
    run.check(p.stop() == 0 and not os.path.exists(pidfile),
              "after the stop the pidfile is gone")


def test_shared_dir(run, wd):
    d = os.path.join(wd, "shared")
    os.mkdir(d, 0o755)
    with open(os.path.join(d, "other.txt"), "w") as f:
        f.write("not parapet's\n")
    pidfile = os.path.join(d, "parapet.pid")
    p = daemon(wd, "p3", pidfile).start()
    run.check(os.stat(d).st_uid == 0, "a shared directory stays root's")
    # the warning may come a moment after the daemon is up (slow under ASan)
    run.check(wait_until(lambda: "not parapet's own" in p.log(), 10),
              "a warning says the file cannot be removed", p.log()[-1000:])
    run.check(p.stop() == 0 and read(pidfile) == "",
              "after the stop the file is emptied (no stale pid)", repr(read(pidfile)))
    rc, out, err = ctl(p.conf_path, "reload")
    run.check(rc == 1 and "no pid" in err, "parapetctl reload refuses an empty pidfile",
              out + err)


def test_foreign_pid(run, wd):
    d = os.path.join(wd, "run4")
    os.mkdir(d, 0o755)
    pidfile = os.path.join(d, "parapet.pid")
    conf = daemon(wd, "p4", pidfile).conf_path	# not started
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        with open(pidfile, "w") as f:
            f.write("%d\n" % sleeper.pid)
        rc, out, err = ctl(conf, "reload")
        run.check(rc == 1 and "not parapet" in err,
                  "reload with the pid of a sleep in the pidfile: refused, not parapet",
                  out + err)
        time.sleep(0.3)
        run.check(sleeper.poll() is None, "... and the sleep is still alive",
                  "exit %r" % sleeper.returncode)
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
        sleeper.wait()
    with open(pidfile, "w") as f:
        f.write("%d\n" % sleeper.pid)	# reaped: no such process now
    rc, out, err = ctl(conf, "reload")
    run.check(rc == 1 and "no process" in err, "a pid that no longer exists: refused",
              out + err)


def test_lock(run, wd):
    a = os.path.join(wd, "run5a", "parapet.pid")
    b = os.path.join(wd, "run5b", "parapet.pid")
    p = daemon(wd, "p5", a, user=None).start()
    os.mkdir(os.path.dirname(b), 0o755)
    with open(b, "w") as f:
        f.write("%d\n" % p.pid)
    conf_b = daemon(wd, "p5b", b, user=None).conf_path
    mark = p.log_size()
    rc, out, err = ctl(conf_b, "reload")
    run.check(rc == 1 and "no parapet holds it" in err,
              "a parapet's pid in a file it does not hold: refused", out + err)
    run.check("rules reloaded" not in p.log(mark), "... and that parapet got no signal")
    second = daemon(wd, "p5c", a, user=None)
    try:
        second.start(timeout=20)
    except RuntimeError:
        pass	# it exited while starting, as it should
    rc = second.wait(20)
    run.check(rc not in (None, 0) and "already running (pid %d)" % p.pid in second.log() and
              not os.path.exists(second.socket_path),
              "a second parapet with the same pidfile refuses to start, before it opens "
              "its socket", "exit %r\n%s" % (rc, second.log()[-1000:]))
    run.check(read(a) == "%d\n" % p.pid, "... and the first one's pidfile is intact",
              repr(read(a)))
    run.check(p.stop() == 0 and not os.path.exists(a), "the first one removes it at exit")


def main():
    with TestRun("test_pidfile") as run:
        if os.geteuid() != 0:
            run.skip("not root: the privilege drop needs root")
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            run.skip("no user nobody")
        wd = run.workdir
        os.chmod(wd, 0o755)	# nobody reads the configuration on reload
        with run.section("1. a directory of its own"):
            test_own_dir(run, wd, nobody)
        with run.section("2. a missing directory"):
            test_missing_dir(run, wd, nobody)
        with run.section("3. a shared directory"):
            test_shared_dir(run, wd)
        with run.section("4. reload and another program's pid"):
            test_foreign_pid(run, wd)
        with run.section("5. the lock"):
            test_lock(run, wd)


if __name__ == "__main__":
    main()
