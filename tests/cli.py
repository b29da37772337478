#!/usr/bin/env python3
"""cli.py - the command-line conventions an administrator relies on
(issue 18 item 5), checked on the built programs:

  1. parapet and parapetctl print "NAME VERSION" for -V and --version on
     stdout and exit 0; VERSION starts with configure's PACKAGE_VERSION
  2. --help and -h print the usage on stdout, nothing on stderr, exit 0;
     a wrong option prints it on stderr and exits 2
  3. parapetctl scan --exit-code: 0 for ham, 1 for a message at tag_score
     and for one at reject_score, 3 for an unreadable file or a broken
     configuration; without the option a spam message still exits 0
  4. lint --strict fails (1) on a warning; skipped lines are no warnings
     (exit 0); without --strict a warning exits 0
  5. `make install` puts both programs in sbindir and parapetctl's man
     page in section 8 (man8)
  6. /metrics carries parapet_build_info{version=...} 1
  7. (as root) the daemon refuses to run as root unless the config says
     user = root, and says so
  8. with stderr the journal's stream (JOURNAL_STREAM), every log line
     starts with its syslog priority "<N>"; not otherwise
  9. with NOTIFY_SOCKET: READY=1 once the socket listens, RELOADING=1 (with
     MONOTONIC_USEC) and READY=1 around a reload
 10. rules_dir lists directories (vendor, then local): the later wins, a
     local file masks the vendor file of the same name

Environment: PARAPET_BUILDDIR, PARAPET_SRCDIR (set by make check).
Ends with "N passed, N failed".
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
build = os.environ.get("PARAPET_BUILDDIR", os.path.join(here, "..", "build"))
PARAPET = os.path.join(build, "milter", "parapet")
CTL = os.path.join(build, "milter", "parapetctl")

passed = failed = 0


def check(cond, what, detail=""):
    """check - count and print one result."""
    global passed, failed
    if cond:
        passed += 1
        print("ok - %s" % what)
    else:
        failed += 1
        print("FAIL - %s %s" % (what, detail))


def run(*argv, timeout=60):
    """run - (rc, stdout, stderr) of a program."""
    p = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def package_version():
    """package_version - PACKAGE_VERSION from the build's autoconfig.h."""
    with open(os.path.join(build, "autoconfig.h")) as f:
        m = re.search(r'#define PACKAGE_VERSION "([^"]*)"', f.read())
    return m.group(1)


def write(path, text):
    """write - a file with text."""
    with open(path, "w") as f:
        f.write(text)


def message(body):
    """message - a small RFC 5322 message."""
    return ("From: a@example.org\nTo: b@example.net\nSubject: cli test\n"
            "Date: Thu, 03 Dec 2026 12:00:00 +0000\nMessage-ID: <cli@example.org>\n"
            "\n%s\n" % body)


def test_version():
    """1. -V and --version."""
    v = package_version()
    for prog, name in ((PARAPET, "parapet"), (CTL, "parapetctl")):
        for opt in ("-V", "--version"):
            rc, out, err = run(prog, opt)
            check(rc == 0 and out.startswith("%s %s" % (name, v)) and err == "",
                  "%s %s prints its version" % (name, opt), repr((rc, out, err)))


def test_help():
    """2. --help on stdout, exit 0; a bad option exits 2 on stderr."""
    for prog, name in ((PARAPET, "parapet"), (CTL, "parapetctl")):
        for opt in ("-h", "--help"):
            rc, out, err = run(prog, opt)
            check(rc == 0 and out.startswith("usage:") and err == "",
                  "%s %s: usage on stdout, exit 0" % (name, opt), repr((rc, err[:80])))
        rc, out, err = run(prog, "--no-such-option")
        check(rc == 2 and out == "" and "usage:" in err,
              "%s with a wrong option: usage on stderr, exit 2" % name, repr(rc))


def test_scan_exit_code(tmp):
    """3. scan --exit-code."""
    rules = os.path.join(tmp, "rules")
    os.mkdir(rules)
    write(os.path.join(rules, "t.cf"),
          "body T_TAG /XTAGX/\nscore T_TAG 6\nbody T_REJ /XREJX/\nscore T_REJ 20\n")
    conf = os.path.join(tmp, "p.conf")
    write(conf, "rules_dir = %s\ngreylist = no\n" % rules)
    files = {}
    for kind, body in (("ham", "hello"), ("tag", "XTAGX"), ("rej", "XREJX")):
        files[kind] = os.path.join(tmp, kind + ".eml")
        write(files[kind], message(body))
    scan = [CTL, "-c", conf, "scan", "--no-dns", "--exit-code"]
    rc = run(*scan, files["ham"])[0]
    check(rc == 0, "scan --exit-code: ham exits 0", repr(rc))
    rc = run(*scan, files["tag"])[0]
    check(rc == 1, "scan --exit-code: score at tag_score exits 1", repr(rc))
    rc = run(*scan, files["rej"])[0]
    check(rc == 1, "scan --exit-code: score at reject_score exits 1", repr(rc))
    rc = run(*scan, files["ham"], files["tag"])[0]
    check(rc == 1, "scan --exit-code: one spam among several exits 1", repr(rc))
    rc = run(*scan, os.path.join(tmp, "missing.eml"))[0]
    check(rc == 3, "scan --exit-code: an unreadable file exits 3", repr(rc))
    bad = os.path.join(tmp, "bad.conf")
    write(bad, "no_such_key = 1\n")
    rc = run(CTL, "-c", bad, "scan", "--exit-code", files["ham"])[0]
    check(rc == 3, "scan --exit-code: a broken configuration exits 3", repr(rc))
    rc = run(CTL, "-c", conf, "scan", "--no-dns", files["tag"])[0]
    check(rc == 0, "scan without --exit-code: spam exits 0", repr(rc))


def test_lint_strict(tmp):
    """4. lint --strict."""
    conf = os.path.join(tmp, "empty.conf")
    write(conf, "")
    warn = os.path.join(tmp, "warn")
    skip = os.path.join(tmp, "skip")
    os.mkdir(warn)
    os.mkdir(skip)
    write(os.path.join(warn, "a.cf"), "body T_A /foo/\nscore T_A 1\nreplace_rules T_NOPE\n")
    write(os.path.join(skip, "a.cf"),
          "body T_A /foo/\nscore T_A 1\nifplugin Mail::SpamAssassin::Plugin::Nope\n"
          "body T_B /bar/\nendif\n")
    rc, out, _ = run(CTL, "-c", conf, "lint", "--strict", warn)
    check(rc == 1 and "1 warning(s)" in out, "lint --strict: a warning exits 1", repr(rc))
    rc, out, _ = run(CTL, "-c", conf, "lint", warn)
    check(rc == 0, "lint: a warning alone exits 0", repr(rc))
    rc, out, _ = run(CTL, "-c", conf, "lint", "--strict", skip)
    check(rc == 0 and "0 warning(s), 2 skipped" in out,
          "lint --strict: skipped lines are no warnings (exit 0)", repr((rc, out)))


def test_install(tmp):
    """5. installed in sbin, parapetctl(8) in man8."""
    dest = os.path.join(tmp, "dest")
    p = subprocess.run(["make", "-s", "-C", build, "install", "DESTDIR=" + dest],
                       capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, "make install DESTDIR=...", p.stderr[-300:])
    found = {}
    for root, _, names in os.walk(dest):
        for n in names:
            found.setdefault(n, []).append(os.path.relpath(os.path.join(root, n), dest))
    for prog in ("parapet", "parapetctl"):
        paths = found.get(prog, [])
        check(len(paths) == 1 and os.path.basename(os.path.dirname(paths[0])) == "sbin",
              "%s is installed in sbin" % prog, repr(paths))
    paths = found.get("parapetctl.8", [])
    check(len(paths) == 1 and paths[0].endswith("man8/parapetctl.8"),
          "parapetctl(8) is installed in man8", repr(paths))
    # the configured paths, as installed, are the ones the pages name
    conf = "/" + (found.get("parapet.conf") or ["?"])[0]
    rules = "/" + os.path.dirname((found.get("50-default.cf") or ["?"])[0])
    check(rules.endswith("/share/parapet/rules"), "vendor rules in $pkgdatadir/rules", rules)
    local = os.path.join(os.path.dirname(conf), "rules.d")
    check(os.path.isdir(dest + local), "an empty local rules directory %s" % local)
    for page in ("parapet.8", "parapetctl.8", "parapet.conf.5"):
        with open(os.path.join(dest, (found.get(page) or ["?"])[0])) as f:
            text = f.read().replace("\\-", "-")
        check("@" + "sysconfdir@" not in text and conf in text,
              "%s names the configured %s" % (page, conf))
    with open(os.path.join(dest, (found.get("parapet.conf.5") or ["?"])[0])) as f:
        text = f.read().replace("\\-", "-")
    check(rules in text and local in text, "parapet.conf(5) names both rules directories")


def free_port():
    """free_port - a free loopback TCP port."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_build_info(tmp):
    """6. parapet_build_info on /metrics."""
    rules = os.path.join(tmp, "rules6")
    os.mkdir(rules)
    write(os.path.join(rules, "t.cf"), "body T_A /foo/\nscore T_A 1\n")
    port = free_port()
    conf = os.path.join(tmp, "m.conf")
    write(conf, "socket = unix:%s/p.sock\nrules_dir = %s\nmetrics_listen = 127.0.0.1:%d\n"
          "%s" % (tmp, rules, port, "user = root\n" if os.geteuid() == 0 else ""))
    log = open(os.path.join(tmp, "p.log"), "w")
    p = subprocess.Popen([PARAPET, "-f", "-c", conf], stdout=log, stderr=log)
    text = ""
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                            timeout=2) as r:
                    text = r.read().decode()
                break
            except OSError:
                time.sleep(0.1)
    finally:
        p.terminate()
        p.wait(timeout=30)
        log.close()
    m = re.search(r'^parapet_build_info\{version="([^"]*)",revision="[^"]*"\} 1$', text, re.M)
    check(m is not None and m.group(1) == package_version(),
          "/metrics has parapet_build_info{version=...} 1",
          repr(text[:200]) if not text else "")


def test_root(tmp):
    """7. as root without user = root: refused with a message, no socket."""
    if os.geteuid() != 0:
        print("ok - (not root: the refusal to run as root is not tested)")
        return
    rules = os.path.join(tmp, "rules7")
    os.mkdir(rules)
    write(os.path.join(rules, "t.cf"), "body T_A /foo/\nscore T_A 1\n")
    conf = os.path.join(tmp, "root.conf")
    sock = os.path.join(tmp, "root.sock")
    write(conf, "socket = unix:%s\nrules_dir = %s\n" % (sock, rules))
    try:
        rc, out, err = run(PARAPET, "-f", "-c", conf, timeout=10)
    except subprocess.TimeoutExpired:	# it started (run killed it)
        rc, err = 0, "still running after 10 s"
    check(rc != 0 and "user = root" in err and not os.path.exists(sock),
          "as root without user: refused, says how to allow it", repr((rc, err[-200:])))


def test_journal(tmp):
    """8. stderr is the journal (JOURNAL_STREAM = its dev:inode): "<N>"."""
    conf = os.path.join(tmp, "broken.conf")
    write(conf, "no_such_key = 1\n")
    for journal in (True, False):
        r, w = os.pipe()
        st = os.fstat(w)
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        if journal:
            env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        p = subprocess.Popen([PARAPET, "-f", "-c", conf], stdout=subprocess.DEVNULL,
                             stderr=w, env=env)
        os.close(w)
        with os.fdopen(r) as f:
            err = f.read()
        p.wait(timeout=30)
        lines = err.splitlines()
        if journal:
            check(lines and all(re.match(r"<3>error: ", ln) for ln in lines),
                  "JOURNAL_STREAM: every line starts with its priority <3>", repr(lines))
        else:
            check(lines and all(ln.startswith("parapet: error: ") for ln in lines),
                  "without JOURNAL_STREAM: plain 'parapet: error:' lines", repr(lines))
    env = dict(os.environ, JOURNAL_STREAM="1:2")	# another stream: not ours
    p = subprocess.run([PARAPET, "-f", "-c", conf], capture_output=True, text=True,
                       env=env, timeout=30)
    check(p.stderr.startswith("parapet: error: "),
          "JOURNAL_STREAM naming another file: no prefix", repr(p.stderr[:80]))


def test_notify(tmp):
    """9. sd_notify: READY=1 once the socket listens, RELOADING/READY on SIGUSR1."""
    rules = os.path.join(tmp, "rules9")
    os.mkdir(rules)
    write(os.path.join(rules, "t.cf"), "body T_A /foo/\nscore T_A 1\n")
    sock = os.path.join(tmp, "n.sock")
    conf = os.path.join(tmp, "n.conf")
    write(conf, "socket = unix:%s\nrules_dir = %s\n%s" %
          (sock, rules, "user = root\n" if os.geteuid() == 0 else ""))
    nsock = os.path.join(tmp, "notify")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(nsock)
    srv.settimeout(20)
    log = open(os.path.join(tmp, "n.log"), "w")
    p = subprocess.Popen([PARAPET, "-f", "-c", conf], stdout=log, stderr=log,
                         env=dict(os.environ, NOTIFY_SOCKET=nsock))
    try:
        msg = srv.recv(4096).decode()
        check(msg == "READY=1" and os.path.exists(sock),
              "NOTIFY_SOCKET: READY=1 once the socket exists", repr(msg))
        p.send_signal(signal.SIGUSR1)
        msg = srv.recv(4096).decode()
        check(re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=[0-9]+", msg) is not None,
              "SIGUSR1: RELOADING=1 with MONOTONIC_USEC", repr(msg))
        msg = srv.recv(4096).decode()
        check(msg == "READY=1", "after the reload: READY=1", repr(msg))
    except socket.timeout:
        check(False, "NOTIFY_SOCKET: a notification within 20 s")
    finally:
        p.terminate()
        p.wait(timeout=30)
        log.close()
        srv.close()


def test_rules_dirs(tmp):
    """10. rules_dir = VENDOR LOCAL: local files read after the vendor's,
    a local file replaces the vendor file of the same name."""
    vendor = os.path.join(tmp, "vendor")
    local = os.path.join(tmp, "local")
    os.mkdir(vendor)
    os.mkdir(local)
    write(os.path.join(vendor, "50-default.cf"), "body T_A /foo/\nscore T_A 1\n")
    write(os.path.join(vendor, "60-extra.cf"), "body T_X /foo/\nscore T_X 1\n")
    write(os.path.join(local, "10-local.cf"), "score T_A 3\n")
    write(os.path.join(local, "60-extra.cf"), "# disabled here\n")
    conf = os.path.join(tmp, "dirs.conf")
    write(conf, "rules_dir = %s %s\ngreylist = no\n" % (vendor, local))
    msg = os.path.join(tmp, "foo.eml")
    write(msg, message("foo"))
    rc, out, err = run(CTL, "-c", conf, "scan", "--no-dns", "--json", msg)
    hits = {h["name"]: h["score"] for h in json.loads(out)["symbols"]} if rc == 0 else {}
    check(hits.get("T_A") == 3.0, "rules_dir list: the local score wins over the vendor's",
          repr((rc, hits, err[-200:])))
    check(rc == 0 and "T_A" in hits and "T_X" not in hits, "rules_dir list: a local file masks the vendor file of its name",
          repr(hits))


def main():
    tmp = tempfile.mkdtemp(prefix="parapet-cli.")
    os.chmod(tmp, 0o755)
    try:
        test_version()
        test_help()
        test_scan_exit_code(tmp)
        test_lint_strict(tmp)
        test_install(tmp)
        test_build_info(tmp)
        test_root(tmp)
        test_journal(tmp)
        test_notify(tmp)
        test_rules_dirs(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
