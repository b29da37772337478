#!/usr/bin/env python3
"""test_deb.py - the Debian package, built and installed on this machine
the way README.md's "Install the package" section says (issue 18 item 1):

  1. the README's two commands run as written (sudo dropped: we are root)
     in a copy of the tracked source: dpkg-buildpackage builds the .deb,
     apt installs it
  2. lintian reports no error on the build
  3. the package made the user and group parapet and put postfix in it;
     /etc/parapet/parapet.conf is a conffile; the shipped rules are in
     /usr/share/parapet/rules and /etc/parapet/rules.d exists;
     systemd-analyze verify accepts the installed unit
  4. parapet runs as the unit runs it (its ExecStart, RuntimeDirectory,
     NOTIFY_SOCKET): READY=1, the socket in Postfix's spool, the process
     as user parapet
  5. mail flows through a private Postfix configured with the README's
     main.cf lines: a ham is delivered with X-Spam-Status and
     X-Spam-Level, a message hitting a local rule in
     /etc/parapet/rules.d is refused with the queue id
  6. dpkg --purge removes it again

Runs when PARAPET_TEST_DEB=1 or CI is set (it installs a package on the
machine: about a minute, most of it dpkg-buildpackage); skipped (77)
otherwise, or when not root or debhelper is missing.  Ends with
"N passed, N failed".
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True	# no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SRCDIR, Postfix, Sink, TestRun,  # noqa: E402
                     make_message, send, wait_until)

UNIT = "/lib/systemd/system/parapet.service"
SOCK = "/var/spool/postfix/parapet/parapet.sock"
LOCAL_RULE = "/etc/parapet/rules.d/99-test-deb.cf"


def readme_blocks(section):
    """readme_blocks - the indented code blocks of a README section, each a
    list of lines."""
    with open(os.path.join(SRCDIR, "README.md")) as f:
        text = f.read()
    m = re.search(r"^## %s\n(.*?)(?=^## )" % re.escape(section), text, re.M | re.S)
    blocks, cur = [], []
    for line in (m.group(1) if m else "").splitlines():
        if line.startswith("    "):
            cur.append(line[4:])
        elif cur and line.strip() == "":
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    return blocks


def copy_tracked(dst):
    """copy_tracked - the tracked files of the checkout (as they are in the
    work tree) into dst, as a clean clone would have them."""
    files = subprocess.run(["git", "-C", SRCDIR, "ls-files", "-z"], check=True,
                           capture_output=True).stdout.decode().split("\0")
    for f in filter(None, files):
        src = os.path.join(SRCDIR, f)
        if not os.path.lexists(src):
            continue
        os.makedirs(os.path.join(dst, os.path.dirname(f)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, f), follow_symlinks=False)


def exec_start():
    """exec_start - argv of the installed unit's ExecStart."""
    with open(UNIT) as f:
        for line in f:
            if line.startswith("ExecStart="):
                return line.split("=", 1)[1].split()
    return []


def main():
    with TestRun("test_deb") as run:
        if not (os.environ.get("PARAPET_TEST_DEB") == "1" or os.environ.get("CI")):
            run.skip("builds and installs the .deb: set PARAPET_TEST_DEB=1 (CI does)")
        run.require_root_and_postfix()
        if shutil.which("dpkg-buildpackage") is None or not os.path.exists(
                "/usr/share/perl5/Debian/Debhelper/Dh_Lib.pm"):
            run.skip("debhelper is missing (scripts/deps.sh installs it)")
        wd = run.workdir
        install, maincf = (readme_blocks("Install the package") + [[], []])[:2]
        run.check(len(install) == 2 and len(maincf) == 2,
                  "README: an install block of two commands and two main.cf lines",
                  repr((install, maincf)))
        top = os.path.join(wd, "src", "parapet")
        copy_tracked(top)
        # a machine without parapet: an earlier install goes first
        subprocess.run(["dpkg", "--purge", "parapet"], capture_output=True, timeout=300)

        with run.section("1. the README's commands"):
            t0 = time.monotonic()
            for cmd in install:
                cmd = re.sub(r"^sudo ", "", cmd)
                t = time.monotonic()
                p = subprocess.run(cmd, shell=True, cwd=top, capture_output=True, text=True,
                                   timeout=1800,
                                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
                run.note("%s: %.0f s" % (cmd, time.monotonic() - t))
                if not run.check(p.returncode == 0, "README command: %s" % cmd,
                                 (p.stdout + p.stderr)[-3000:]):
                    return
            run.note("build and install: %.0f s" % (time.monotonic() - t0))

        with run.section("2. lintian"):
            changes = [f for f in os.listdir(os.path.dirname(top)) if f.endswith(".changes")]
            if shutil.which("lintian") is None or not changes:
                run.check(False, "lintian and a .changes file", repr(changes))
            else:
                p = subprocess.run(["lintian", os.path.join(os.path.dirname(top), changes[0])],
                                   capture_output=True, text=True, timeout=600)
                errors = [ln for ln in p.stdout.splitlines() if ln.startswith("E:")]
                run.check(not errors, "lintian: no error", "\n".join(errors))
                run.note("lintian: %d warning(s)" %
                         sum(ln.startswith("W:") for ln in p.stdout.splitlines()))

        with run.section("3. what the package installed"):
            p = subprocess.run(["id", "-nG", "postfix"], capture_output=True, text=True)
            run.check(subprocess.run(["getent", "passwd", "parapet"],
                                     capture_output=True).returncode == 0 and
                      "parapet" in p.stdout.split(),
                      "user parapet exists and postfix is in group parapet", p.stdout)
            p = subprocess.run(["dpkg-query", "-W", "-f=${Conffiles}", "parapet"],
                               capture_output=True, text=True)
            run.check("/etc/parapet/parapet.conf " in p.stdout,
                      "/etc/parapet/parapet.conf is a conffile", p.stdout)
            run.check(os.path.exists("/usr/share/parapet/rules/50-default.cf") and
                      os.path.isdir("/etc/parapet/rules.d"),
                      "shipped rules in /usr/share/parapet/rules, /etc/parapet/rules.d exists")
            st = os.stat(os.path.dirname(SOCK))
            run.check(oct(st.st_mode & 0o777) == "0o750",
                      "the socket directory in Postfix's spool is 0750", oct(st.st_mode))
            p = subprocess.run(["systemd-analyze", "verify", UNIT], capture_output=True,
                               text=True, timeout=120)
            run.check(p.returncode == 0 and "parapet.service" not in p.stderr,
                      "systemd-analyze verify %s" % UNIT, p.stderr[-2000:])

        with run.section("4. parapet as the unit runs it"):
            with open(LOCAL_RULE, "w") as f:
                f.write("body TEST_DEB_REJECT /XREJECTX/\nscore TEST_DEB_REJECT 20\n")
            os.makedirs("/run/parapet", mode=0o755, exist_ok=True)	# RuntimeDirectory
            nsock = os.path.join(wd, "notify")
            srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            srv.bind(nsock)
            os.chmod(nsock, 0o777)	# as systemd's: parapet writes it as user parapet
            srv.settimeout(60)
            argv = exec_start()
            log = open(os.path.join(wd, "parapet.log"), "w")
            daemon = subprocess.Popen(argv, stdout=log, stderr=log,
                                      env=dict(os.environ, NOTIFY_SOCKET=nsock))
            run.on_fail(lambda: "parapet log:\n" + open(log.name).read()[-3000:])
            try:
                ready = srv.recv(4096).decode()
            except socket.timeout:
                ready = ""
            run.check(ready == "READY=1" and os.path.exists(SOCK),
                      "%s: READY=1, socket %s" % (" ".join(argv), SOCK), repr(ready))
            with open("/proc/%d/status" % daemon.pid) as f:
                uid = re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1)
            pw = subprocess.run(["id", "-u", "parapet"], capture_output=True, text=True)
            run.check(uid == pw.stdout.strip(), "the daemon runs as user parapet", uid)

        with run.section("5. mail through Postfix"):
            sink = Sink().start()
            main = dict(ln.split(" = ", 1) for ln in maincf)
            pf = Postfix(os.path.join(wd, "postfix"), sink.port,
                         milter=main.get("smtpd_milters"),
                         main_extra={k: v for k, v in main.items() if k != "smtpd_milters"})
            # the README's path is relative to the queue directory: this
            # private Postfix gets the system spool's parapet directory there
            os.symlink(os.path.dirname(SOCK), os.path.join(pf.queue_dir, "parapet"))
            pf.start()
            run.on_fail(lambda: "maillog (tail):\n" + pf.maillog()[-3000:])
            r = send(pf.port, "alice@example.org", ["bob@example.net"],
                     make_message("deb-ham", body="Hello, lunch tomorrow?\n"))
            m = sink.wait_for_id("deb-ham", 60) if r.ok else None
            run.check(m is not None and m.header("X-Spam-Status") and
                      len(m.header("X-Spam-Level")) == 1,
                      "ham delivered with X-Spam-Status and X-Spam-Level", repr(r))
            r = send(pf.port, "alice@example.org", ["bob@example.net"],
                     make_message("deb-rej", body="XREJECTX\n"))
            run.check(r.code == 550 and re.search(r"\(ref \w+\)", r.message or ""),
                      "a local rule of rules.d rejects: 550 with the queue id", repr(r))
            pf.stop()
            sink.stop()
            daemon.terminate()
            run.check(daemon.wait(timeout=60) == 0, "parapet stops (exit 0) on SIGTERM")
            log.close()
            srv.close()

        with run.section("6. purge"):
            os.unlink(LOCAL_RULE)
            p = subprocess.run(["dpkg", "--purge", "parapet"], capture_output=True, text=True,
                               timeout=300)
            run.check(p.returncode == 0 and not os.path.exists(UNIT),
                      "dpkg --purge parapet", p.stderr[-1000:])


if __name__ == "__main__":
    main()
