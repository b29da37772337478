"""benchlib - the parts of scripts/bench/throughput that are not the benchmark.

A private Postfix instance (queue on tmpfs), Postfix's smtp-sink behind it,
a milter process (nullmilter or parapet), CPU accounting from /proc, a
lean SMTP client that times each transaction, and the bench's mail world
(sender, DNS records, DKIM-signed messages, parapet's configuration) that
scripts/bench/daemoncost shares.  Standard library only, but signed()
needs python3-dkim (dkim is None without it).

Every process started here is remembered by pid and stopped by pid
(SIGTERM, then SIGKILL); nothing is ever killed by name.  Linux only (reads
/proc); Postfix needs root.
"""

import base64
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

try:
    import dkim  # python3-dkim, for signed() alone
except ImportError:
    dkim = None

CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """A setup or run failure worth one clear line to the user."""


def free_port():
    """free_port - a TCP port on 127.0.0.1 nobody listens on right now"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, what, interval=0.05, alive=None):
    """wait_for - poll pred() until true; BenchError after timeout seconds.

    alive, if given, is a callable that returns False when the thing being
    waited for has died (then we fail at once instead of timing out)."""
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return
        if alive is not None and not alive():
            raise BenchError("%s: process exited" % what)
        if time.monotonic() > deadline:
            raise BenchError("%s: not ready after %.0f s" % (what, timeout))
        time.sleep(interval)


def port_open(port):
    """port_open - something accepts TCP connections on 127.0.0.1:port"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# ------------------------------------------------------------------ /proc

def _stat_fields(pid):
    """_stat_fields - /proc/PID/stat after the command name, or None"""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(b")") + 2:].split()


def proc_cpu(pid):
    """proc_cpu - (self, reaped children) CPU seconds of a process, or None.

    self is utime+stime of all its threads, dead ones included;
    children is cutime+cstime of the children it has waited for."""
    f = _stat_fields(pid)
    if f is None:
        return None
    # after "pid (comm) ": state ppid pgrp session tty tpgid flags minflt
    # cminflt majflt cmajflt utime stime cutime cstime ...
    return ((int(f[11]) + int(f[12])) / CLK_TCK,
            (int(f[13]) + int(f[14])) / CLK_TCK)


def _children_map():
    """_children_map - ppid -> [pid] for every process now"""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        f = _stat_fields(int(name))
        if f is None:
            continue
        kids.setdefault(int(f[1]), []).append(int(name))
    return kids


def tree_pids(root):
    """tree_pids - root and all its descendants alive now"""
    kids = _children_map()
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, ()))
    return out


def tree_cpu(root):
    """tree_cpu - CPU seconds of a process tree: every live member's own
    time plus the root's reaped-children time.

    The difference of two readings is the tree's CPU in between, also for
    members that exited meanwhile: at the first reading their own time
    counts, at the second their whole life is in the root's cutime (Postfix's
    master reaps its children at once; its daemons do not fork)."""
    total = 0.0
    for p in tree_pids(root):
        c = proc_cpu(p)
        if c is None:
            continue
        total += c[0]
        if p == root:
            total += c[1]
    return total


def system_cpu():
    """system_cpu - (busy, total) CPU seconds of the machine from /proc/stat;
    busy is everything but idle and iowait"""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice;
    # guest time is already part of user
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
    return busy / CLK_TCK, (busy + v[3] + v[4]) / CLK_TCK


def self_cpu():
    """self_cpu - CPU seconds of this Python process (all threads)"""
    t = os.times()
    return t.user + t.system


# ------------------------------------------------------------ processes

class Proc:
    """A child process we own, stopped by pid."""

    def __init__(self, name, argv, log_path, env=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                  stdout=self.log, stderr=subprocess.STDOUT,
                                  env=env, start_new_session=True)
        self.pid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def terminate(self):
        """terminate - send SIGTERM (stop() waits); lets several stop at once"""
        if self.p.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def stop(self, timeout=10.0):
        """stop - SIGTERM, wait, SIGKILL; returns the exit status (negative:
        killed by that signal).  libmilter notices a stop request only at
        its next poll timeout, so a milter takes up to ~5 s."""
        if self.p.poll() is None:
            self.terminate()
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait()
        self.log.close()
        return self.p.returncode

    def log_tail(self, n=20):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])


def start_milter(name, argv, sock_spec, base, timeout=15.0):
    """start_milter - run a milter in the foreground, wait for its socket"""
    proc = Proc(name, argv, os.path.join(base, name + ".log"))
    if sock_spec.startswith("unix:"):
        path = sock_spec[5:]
        ready = lambda: os.path.exists(path)
    else:
        port = int(sock_spec.split(":", 1)[1].split("@", 1)[0])
        ready = lambda: port_open(port)
    try:
        wait_for(ready, timeout, name + " socket " + sock_spec, alive=proc.alive)
    except BenchError:
        proc.stop()
        raise BenchError("%s did not start; its log:\n%s" % (name, proc.log_tail()))
    return proc


def start_sink(base, port):
    """start_sink - Postfix's smtp-sink, accepting everything, not storing"""
    exe = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    if not os.path.exists(exe):
        raise BenchError("smtp-sink not found (Debian package postfix)")
    proc = Proc("smtp-sink", [exe, "-u", "postfix", "-h", "sink.test",
                              "127.0.0.1:%d" % port, "256"],
                os.path.join(base, "sink.log"))
    wait_for(lambda: port_open(port), 10, "smtp-sink", alive=proc.alive)
    return proc


# -------------------------------------------------------------- postfix

MASTER_CF = """\
# written by scripts/bench/benchlib.py; chroot "n" everywhere
127.0.0.1:{smtp_port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
# written by scripts/bench/benchlib.py
compatibility_level = 3.6
queue_directory = {base}/queue
data_directory = {base}/data
meta_directory = /etc/postfix
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.bench.test
mydomain = bench.test
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relayhost = [127.0.0.1]:{sink_port}
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtputf8_enable = no
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks,
    check_recipient_access inline:{{ sink.example.test=OK }}, reject
smtpd_authorized_xclient_hosts = 127.0.0.0/8
maillog_file = {base}/maillog
maillog_file_prefixes = {base}
biff = no
append_dot_mydomain = no
notify_classes =
smtpd_banner = $myhostname ESMTP
in_flow_delay = 0
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
default_process_limit = 200
default_destination_concurrency_limit = 50
initial_destination_concurrency = 20
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 20s
smtp_tls_security_level = none
smtpd_tls_security_level = none
milter_default_action = tempfail
milter_protocol = 6
smtpd_milters = {milters}
"""


class Postfix:
    """A private Postfix: its own config, queue on tmpfs, one smtpd port."""

    def __init__(self, base, smtp_port, sink_port, milters=""):
        self.base = base
        self.etc = os.path.join(base, "etc")
        self.queue = os.path.join(base, "queue")
        self.smtp_port = smtp_port
        self.maillog = os.path.join(base, "maillog")
        os.makedirs(self.etc, exist_ok=True)
        os.makedirs(self.queue, exist_ok=True)  # postfix check fills it
        data = os.path.join(base, "data")
        os.makedirs(data, exist_ok=True)
        shutil.chown(data, "postfix", "postfix")
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(base=base, sink_port=sink_port,
                                   milters=milters))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(smtp_port=smtp_port))
        self.master_pid = None

    def _postfix(self, *args):
        r = subprocess.run(["postfix", "-c", self.etc] + list(args),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True)
        if r.returncode != 0:
            why = (r.stderr or r.stdout).strip()
            try:  # without syslog, the reason is in the maillog file
                with open(self.maillog, errors="replace") as f:
                    why += "\n" + "".join(f.readlines()[-5:])
            except OSError:
                pass
            raise BenchError("postfix %s failed: %s" % (" ".join(args), why))

    def start(self):
        self._postfix("check")
        self._postfix("start")
        pidfile = os.path.join(self.queue, "pid", "master.pid")

        def have_pid():
            try:
                with open(pidfile) as f:
                    self.master_pid = int(f.read().split()[0])
                return True
            except (OSError, ValueError, IndexError):
                return False
        wait_for(have_pid, 15, "postfix master.pid")
        wait_for(lambda: port_open(self.smtp_port), 15, "postfix smtpd port")

    def stop(self):
        """stop - postfix stop; by pid (TERM, then KILL the tree) if stuck"""
        if self.master_pid is None:
            return
        pids = tree_pids(self.master_pid)
        try:
            self._postfix("stop")
        except BenchError:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.exists("/proc/%d" % self.master_pid):
            time.sleep(0.05)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            left = [p for p in pids if os.path.exists("/proc/%d" % p)]
            for p in left:
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
            if left:
                time.sleep(0.5)
        self.master_pid = None

    def cpu(self):
        """cpu - CPU seconds used so far by the master and its daemons"""
        return tree_cpu(self.master_pid)

    def queue_files(self):
        """queue_files - messages not yet delivered (or stuck)"""
        n = 0
        for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _root, _dirs, files in os.walk(os.path.join(self.queue, sub)):
                n += len(files)
        return n

    def deferred_files(self):
        n = 0
        for _root, _dirs, files in os.walk(os.path.join(self.queue, "deferred")):
            n += len(files)
        return n


class LogCounter:
    """Counts "status=sent" lines appended to a Postfix maillog."""

    def __init__(self, path):
        self.path = path
        self.offset = os.path.getsize(path) if os.path.exists(path) else 0
        self.partial = b""
        self.sent = 0

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return self.sent
        self.offset += len(data)
        data = self.partial + data
        cut = data.rfind(b"\n") + 1
        self.partial = data[cut:]
        self.sent += data[:cut].count(b" status=sent ")
        return self.sent


# ----------------------------------------------------------- SMTP client

class SMTPError(Exception):
    pass


def _reply(f):
    """_reply - read one (possibly multi-line) SMTP reply; its code"""
    while True:
        line = f.readline(8192)
        if not line:
            raise SMTPError("connection closed")
        if len(line) < 4 or line[3:4] != b"-":
            try:
                return int(line[:3])
            except ValueError:
                raise SMTPError("bad reply %r" % line[:80])


def smtp_send(port, mail_from, rcpt, data, timeout=120.0, xclient=None):
    """smtp_send - one message on one connection, PIPELINING the envelope.

    data is the message, CRLF line ends, already dot-stuffed, ending with
    CRLF.  xclient, if given, is the argument of an XCLIENT command sent
    after EHLO (e.g. "ADDR=203.0.113.25 NAME=mail.example HELO=mail.example"):
    Postfix then treats the session as coming from that client, and the
    milters see its address.  Returns (final code, seconds from the
    end-of-data dot to the final reply, seconds for the whole session from
    connect to QUIT)."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = s.makefile("rb")
        if _reply(f) != 220:
            raise SMTPError("no 220 greeting")
        s.sendall(b"EHLO client.bench.test\r\n")
        if _reply(f) != 250:
            raise SMTPError("EHLO refused")
        if xclient:
            s.sendall(b"XCLIENT %s\r\n" % xclient.encode())
            if _reply(f) != 220:
                raise SMTPError("XCLIENT refused")
            helo = [a[5:] for a in xclient.split() if a.startswith("HELO=")]
            s.sendall(b"EHLO %s\r\n" % (helo or ["client.bench.test"])[0].encode())
            if _reply(f) != 250:
                raise SMTPError("EHLO after XCLIENT refused")
        s.sendall(b"MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                  % (mail_from.encode(), rcpt.encode()))
        c1, c2, c3 = _reply(f), _reply(f), _reply(f)
        if (c1, c2, c3) != (250, 250, 354):
            raise SMTPError("envelope refused: %d %d %d" % (c1, c2, c3))
        s.sendall(data)
        s.sendall(b".\r\n")
        t_dot = time.monotonic()
        code = _reply(f)
        t_reply = time.monotonic()
        s.sendall(b"QUIT\r\n")
        try:
            _reply(f)
        except SMTPError:
            pass
        return code, t_reply - t_dot, time.monotonic() - t0
    finally:
        s.close()


def smtp_data(raw):
    """smtp_data - a message file's bytes made ready for DATA: a leading
    mbox "From " line dropped, CRLF line ends, dots stuffed, final CRLF"""
    if raw.startswith(b"From "):
        nl = raw.find(b"\n")
        raw = raw[nl + 1:] if nl >= 0 else b""
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = []
    for ln in lines:
        if ln.endswith(b"\r"):
            ln = ln[:-1]
        if ln.startswith(b"."):
            ln = b"." + ln
        out.append(ln)
    return b"\r\n".join(out) + b"\r\n"


def run_load(port, messages, count, sessions, mail_from, rcpt,
             progress=None, xclient=None):
    """run_load - send count messages (cycling through the list) over
    `sessions` concurrent connections, one message per connection.

    Returns a list of (code, dot_to_reply, session_seconds, error), one
    per message; error is None, or the text of the exception (then code 0).  progress(done) is called from
    the caller's thread about every second."""
    lock = threading.Lock()
    state = {"next": 0}
    results = []

    def worker():
        while True:
            with lock:
                i = state["next"]
                if i >= count:
                    return
                state["next"] = i + 1
            try:
                r = smtp_send(port, mail_from, rcpt,
                              messages[i % len(messages)],
                              xclient=xclient) + (None,)
            except (OSError, SMTPError) as e:
                r = (0, 0.0, 0.0, "%s: %s" % (type(e).__name__, e))
            with lock:
                results.append(r)

    threads = [threading.Thread(target=worker, daemon=True)
               for _ in range(sessions)]
    for t in threads:
        t.start()
    last = time.monotonic()
    while any(t.is_alive() for t in threads):
        time.sleep(0.1)
        if progress is not None and time.monotonic() - last >= 1.0:
            last = time.monotonic()
            with lock:
                n = len(results)
            progress(n)
    for t in threads:
        t.join()
    return results


# ---------------------------------------------------------------- redis

def start_redis(base, name, port):
    """start_redis - a private redis-server on 127.0.0.1:port, no
    persistence, its files under base; stopped by pid like every Proc"""
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(exe):
        raise BenchError("redis-server not found (Debian package redis-server)")
    d = os.path.join(base, name)
    os.makedirs(d, exist_ok=True)
    proc = Proc(name, [exe, "--bind", "127.0.0.1", "--port", str(port),
                       "--save", "", "--appendonly", "no", "--dir", d,
                       "--daemonize", "no", "--protected-mode", "no"],
                os.path.join(base, name + ".log"))
    wait_for(lambda: port_open(port), 10, name, alive=proc.alive)
    return proc


# --------------------------------------------------------------- rspamd

RSPAMD_CACHE = os.environ.get("PARAPET_BENCH_CACHE", "/var/cache/parapet-bench")


def _apt_get(*args):
    r = subprocess.run(["apt-get", "-y", "-q"] + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return r.returncode == 0, (r.stdout + r.stderr)[-2000:]


def _installed(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", pkg],
                       capture_output=True, text=True)
    return r.stdout.endswith(" installed")


def rspamd_install(log):
    """rspamd_install - find rspamd, or set it up; returns its root ("/" for
    the Debian package, or the cache directory it was unpacked in).

    Debian's rspamd depends on libhyperscan5, which conflicts with
    libvectorscan5, a build dependency of parapet: apt would have to remove
    parapet's.  So where libvectorscan5 is installed the package is fetched
    with `apt-get download` and unpacked with `dpkg -x` under the cache
    directory (no maintainer scripts run: no service is started), and its
    other library dependencies are installed with apt-get; rspamd then runs
    on vectorscan's libhs.so.5 (the same ABI).  Elsewhere it is installed
    with apt-get, and a daemon the package started is stopped by its pid
    file."""
    if shutil.which("rspamd") or os.path.exists("/usr/bin/rspamd"):
        return "/"
    root = os.path.join(RSPAMD_CACHE, "rspamd-root")
    if os.path.exists(os.path.join(root, "usr", "bin", "rspamd")):
        return root
    if not _installed("libvectorscan5"):
        log("installing rspamd (apt-get install rspamd)")
        ok, out = _apt_get("install", "rspamd")
        if not ok:
            raise BenchError("apt-get install rspamd failed:\n" + out)
        pidfile = "/run/rspamd/rspamd.pid"
        try:
            with open(pidfile) as f:
                pid = int(f.read().split()[0])
            log("the package started rspamd (pid %d, %s); stopping it"
                % (pid, pidfile))
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError, IndexError):
            pass
        return "/"
    log("unpacking Debian's rspamd under %s (libhyperscan5 conflicts with "
        "parapet's libvectorscan5)" % root)
    return _unpack("rspamd", root)


def _unpack(pkg, root):
    """_unpack - `apt-get download` a Debian package, install its library
    dependencies with apt-get (but libhyperscan5: vectorscan's libhs.so.5
    stands in), `dpkg -x` it into root; no maintainer script runs"""
    dl = os.path.join(RSPAMD_CACHE, "download")
    os.makedirs(dl, exist_ok=True)
    r = subprocess.run(["apt-get", "download", pkg], cwd=dl,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True)
    debs = sorted(n for n in os.listdir(dl) if n.startswith(pkg + "_") and n.endswith(".deb"))
    if r.returncode != 0 or not debs:
        raise BenchError("apt-get download %s failed:\n%s" % (pkg, r.stderr[-2000:]))
    deb = os.path.join(dl, debs[-1])
    dep = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], capture_output=True,
                         text=True).stdout
    for alt in dep.split(","):
        names = [a.split()[0].split(":")[0] for a in alt.split("|") if a.strip()]
        if not names[0].startswith("lib") or names[0].startswith("libjs-") \
                or names[0] == "libhyperscan5" or any(map(_installed, names)):
            continue
        for n in names:
            ok, out = _apt_get("install", "--no-install-recommends", n)
            if ok:
                break
        else:
            raise BenchError("cannot install %s for %s:\n%s" % (alt.strip(), pkg, out))
    tmp = root + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    r = subprocess.run(["dpkg-deb", "-x", deb, tmp], capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError("dpkg-deb -x %s: %s" % (deb, r.stderr))
    os.rename(tmp, root)
    return root


def unbound_install(log):
    """unbound_install - find Debian's unbound, or unpack it under the cache
    directory like rspamd (installing the package would start a system
    resolver on port 53); returns the path of the unbound binary"""
    exe = shutil.which("unbound") or "/usr/sbin/unbound"
    if os.path.exists(exe):
        return exe
    root = os.path.join(RSPAMD_CACHE, "unbound-root")
    if not os.path.exists(os.path.join(root, "usr", "sbin", "unbound")):
        log("unpacking Debian's unbound under %s" % root)
        _unpack("unbound", root)
    return os.path.join(root, "usr", "sbin", "unbound")


UNBOUND_CONF = """\
# written by scripts/bench/benchlib.py: a caching resolver for rspamd (which
# has no cache of its own) forwarding everything to the bench's DNS server
server:
    interface: 127.0.0.1
    port: {port}
    do-ip6: no
    chroot: ""
    username: ""
    directory: "{dir}"
    pidfile: "{dir}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    num-threads: 1
    do-not-query-localhost: no
    module-config: "iterator"
    domain-insecure: "."
    access-control: 127.0.0.0/8 allow
    local-zone: "test." nodefault
    local-zone: "113.0.203.in-addr.arpa." nodefault
    local-zone: "2.0.192.in-addr.arpa." nodefault
    local-zone: "100.51.198.in-addr.arpa." nodefault
    local-zone: "10.in-addr.arpa." nodefault
    local-zone: "127.in-addr.arpa." nodefault
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@{upstream}
"""


def start_unbound(exe, base, port, upstream):
    """start_unbound - unbound in the foreground on 127.0.0.1:port,
    forwarding to 127.0.0.1:upstream, caching what it gets"""
    d = os.path.join(base, "unbound")
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "unbound.conf")
    with open(conf, "w") as f:
        f.write(UNBOUND_CONF.format(port=port, dir=d, upstream=upstream))
    proc = Proc("unbound", [exe, "-d", "-c", conf], os.path.join(base, "unbound.log"))
    wait_for(lambda: port_open(port), 15, "unbound", alive=proc.alive)
    return proc


def rspamd_version(root):
    r = subprocess.run(rspamd_argv(root, []) + ["--version"], capture_output=True,
                       text=True, env=rspamd_env(root))
    return (r.stdout.strip().split() or ["?"])[-1]


def rspamd_env(root):
    env = dict(os.environ)
    if root != "/":
        env["LD_LIBRARY_PATH"] = os.path.join(root, "usr", "lib", "rspamd")
    return env


def rspamd_argv(root, args):
    return [os.path.join(root, "usr", "bin", "rspamd")] + list(args)


RSPAMD_LOCAL = {
    # override.d: replaces the shipped settings (the stock worker blocks
    # bind localhost:1133x; here everything is private to the run)
    "override.d/worker-proxy.inc": """\
bind_socket = "{sock} mode=0666";
milter = yes;
timeout = 120s;
self_scan = yes;
count = {count};
upstream "local" {{ default = yes; self_scan = yes; }}
""",
    "override.d/worker-normal.inc": """\
bind_socket = "{dir}/normal.sock";
enabled = false;
""",
    "override.d/worker-controller.inc": """\
bind_socket = "{dir}/controller.sock";
""",
    # to stderr, i.e. base/rspamd.out: the file logger buffers its lines
    "override.d/logging.inc": """\
type = "console";
level = "info";
""",
    "local.d/options.inc": """\
dns {{ nameserver = ["127.0.0.1:{dns_port}"]; }}
hs_cache_dir = "{hs_cache}";
""",
    "local.d/redis.conf": """\
servers = "127.0.0.1:{redis_port}";
""",
}


def start_rspamd(root, base, sock, redis_port, dns_port, count, timeout=300.0):
    """start_rspamd - rspamd in the foreground, milter mode (its proxy worker
    scanning itself, `count` processes) on the unix socket sock, with the
    stock configuration of the package plus a private local.d/override.d:
    its own Redis, the bench's DNS server, logs, pid and run files under
    base/rspamd.  Waits for the socket and for the hyperscan databases
    (compiled on first use and cached in RSPAMD_CACHE/hs)."""
    d = os.path.join(base, "rspamd")
    hs_cache = os.path.join(RSPAMD_CACHE, "hs")
    for sub in ("local.d", "override.d", "db", "run"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    os.makedirs(hs_cache, exist_ok=True)
    for name, text in RSPAMD_LOCAL.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text.format(sock=sock, dir=d, count=count, dns_port=dns_port,
                                redis_port=redis_port, hs_cache=hs_cache))
    share = os.path.join(root, "usr", "share", "rspamd")
    var = {"CONFDIR": os.path.join(root, "etc", "rspamd"), "LOCAL_CONFDIR": d,
           "RULESDIR": os.path.join(share, "rules"),
           "LUALIBDIR": os.path.join(share, "lualib"),
           "PLUGINSDIR": os.path.join(share, "plugins"),
           "SHAREDIR": share, "WWWDIR": os.path.join(share, "www"),
           "DBDIR": os.path.join(d, "db"), "RUNDIR": os.path.join(d, "run"),
           "LOGDIR": d}
    argv = rspamd_argv(root, ["-f", "-i", "-c", os.path.join(var["CONFDIR"], "rspamd.conf")]
                       + ["--var=%s=%s" % kv for kv in var.items()])
    proc = Proc("rspamd", argv, os.path.join(base, "rspamd.out"), env=rspamd_env(root))
    proc.rspamd_log = proc.log_path
    try:
        wait_for(lambda: os.path.exists(sock), 60, "rspamd socket " + sock,
                 alive=proc.alive)
    except BenchError as e:
        proc.stop()
        raise BenchError("%s; its log:\n%s" % (e, proc.log_tail()))
    return proc


# ------------------------------------------------- the bench's mail world
# The sender domain, the client it claims with XCLIENT, its DNS records, the
# DKIM-signed messages and parapet's configuration: what throughput and
# daemoncost send and run alike.

DOMAIN = "sender.example.test"
MAIL_FROM = "bench@" + DOMAIN
RCPT = "user@sink.example.test"
CLIENT_IP = "203.0.113.25"
CLIENT_NAME = "mail." + DOMAIN
XCLIENT = "ADDR=%s NAME=%s HELO=%s" % (CLIENT_IP, CLIENT_NAME, CLIENT_NAME)
SELECTOR = "bench"
WORDS = ("the of and to in is that for it as with was on be by this are "
         "from at or have an which not but all were when we there can more "
         "report meeting budget schedule server release network update "
         "project review draft question answer customer invoice order "
         "shipping account password weekend conference quarterly results "
         "please attached regards thanks tomorrow today agenda minutes").split()


def prose(rng, nbytes, width=72):
    """prose - deterministic text lines of about nbytes"""
    out, line, size = [], [], 0
    while size < nbytes:
        w = rng.choice(WORDS)
        if sum(len(x) + 1 for x in line) + len(w) > width:
            s = " ".join(line)
            out.append(s)
            size += len(s) + 2
            line = []
            if rng.random() < 0.12:
                out.append("")
                size += 2
        line.append(w)
    if line:
        out.append(" ".join(line))
    return out


def header_block(subject, msgid, extra=()):
    """header_block - the header fields every bench message has"""
    return [
        "From: Alice Example <alice@%s>" % DOMAIN,
        "To: Bob Example <%s>" % RCPT,
        "Subject: " + subject,
        "Date: Mon, 20 Nov 2023 10:00:00 +0000",
        "Message-ID: <%s@%s>" % (msgid, DOMAIN),
        "MIME-Version: 1.0",
    ] + list(extra)


def small_message():
    """small_message - ~2.8 KB plain-text message (before its signature)"""
    rng = random.Random("parapet-bench-small")
    lines = header_block("Minutes of the weekly meeting", "bench-small",
                         ["Content-Type: text/plain; charset=us-ascii"])
    head = "\r\n".join(lines) + "\r\n\r\n"
    body = prose(rng, 2350 - len(head))
    return (head + "\r\n".join(body) + "\r\n").encode()


def news_message():
    """news_message - ~23 KB multipart/alternative (text and HTML, links)"""
    rng = random.Random("parapet-bench-large")
    boundary = "=_bench_boundary_42"
    lines = header_block("Quarterly results and the release schedule",
                         "bench-news",
                         ['Content-Type: multipart/alternative; boundary="%s"'
                          % boundary])
    text = prose(rng, 9800)
    html = ["<html><body>"]
    for i, para in enumerate(prose(rng, 9800, width=200)):
        if para:
            html.append('<p>%s <a href="https://www.example.test/r/%d">more</a></p>'
                        % (para, i))
    html.append("</body></html>")
    parts = ["This is a multi-part message in MIME format.", "",
             "--" + boundary, "Content-Type: text/plain; charset=us-ascii", ""]
    parts += text
    parts += ["", "--" + boundary, "Content-Type: text/html; charset=us-ascii", ""]
    parts += html
    parts += ["", "--" + boundary + "--", ""]
    return ("\r\n".join(lines + [""] + parts)).encode()


def attach_message():
    """attach_message - ~1.4 MB: a short text part and a 1 MB PDF-typed
    attachment (random bytes, base64)"""
    rng = random.Random("parapet-bench-attach")
    boundary = "=_bench_boundary_43"
    lines = header_block("The signed contract", "bench-attach",
                         ['Content-Type: multipart/mixed; boundary="%s"' % boundary])
    blob = base64.encodebytes(b"%PDF-1.4\n" + rng.randbytes(1024 * 1024)).decode()
    parts = ["This is a multi-part message in MIME format.", "",
             "--" + boundary, "Content-Type: text/plain; charset=us-ascii", ""]
    parts += prose(rng, 1500)
    parts += ["", "--" + boundary,
              'Content-Type: application/pdf; name="contract.pdf"',
              'Content-Disposition: attachment; filename="contract.pdf"',
              "Content-Transfer-Encoding: base64", ""]
    parts += blob.splitlines()
    parts += ["", "--" + boundary + "--", ""]
    return ("\r\n".join(lines + [""] + parts)).encode()


def need_dkim(tool):
    """need_dkim - the dkim module or a clear exit: python3-dkim is a Debian
    module, which a python3 from pyenv or a venv first in PATH does not
    see, so the tool runs again under /usr/bin/python3 first"""
    if dkim is not None:
        return
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.exit(tool + ": no dkim module (Debian package python3-dkim)")


def dkim_key(base):
    """dkim_key - (private key PEM, public key base64 for the DNS record):
    a 2048-bit RSA key made for this run with openssl"""
    path = os.path.join(base, "dkim.key")
    r = subprocess.run(["openssl", "genrsa", "-out", path, "2048"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError("openssl genrsa: " + r.stderr.strip())
    pub = subprocess.run(["openssl", "rsa", "-in", path, "-pubout", "-outform", "DER"],
                         capture_output=True)
    if pub.returncode != 0:
        raise BenchError("openssl rsa -pubout: " + pub.stderr.decode().strip())
    with open(path, "rb") as f:
        return f.read(), base64.b64encode(pub.stdout).decode()


def signed(raw, key):
    """signed - the message with a DKIM-Signature (relaxed/relaxed, rsa-sha256,
    d=sender.example.test) in front, made ready for DATA"""
    sig = dkim.sign(raw, SELECTOR.encode(), DOMAIN.encode(), key,
                    canonicalize=(b"relaxed", b"relaxed"),
                    include_headers=[b"From", b"To", b"Subject", b"Date",
                                     b"Message-ID", b"MIME-Version",
                                     b"Content-Type"])
    return smtp_data(sig.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + raw)


def zone(pubkey):
    """zone - the bench's DNS records (tests/dnsserver.py's JSON)"""
    rev = ".".join(reversed(CLIENT_IP.split("."))) + ".in-addr.arpa"
    return {
        # negative answers carry an SOA, so that resolvers cache them as
        # real zones let them (rspamd asks ~40 blocklist names per message)
        "_options": {"soa": ["test", "arpa", "org", "com", "net", "io", "info",
                             "biz", "us", "eu", "de", "uk", "ru", "cn"]},
        DOMAIN: [{"TXT": "v=spf1 ip4:%s -all" % CLIENT_IP},
                 {"MX": [10, CLIENT_NAME]}, {"A": CLIENT_IP}],
        CLIENT_NAME: [{"A": CLIENT_IP}, {"TXT": "v=spf1 a -all"}],
        rev: [{"PTR": CLIENT_NAME}],
        "%s._domainkey.%s" % (SELECTOR, DOMAIN): [
            {"TXT": "v=DKIM1; k=rsa; p=" + pubkey}],
        "_dmarc." + DOMAIN: [{"TXT": "v=DMARC1; p=reject; adkim=r; aspf=r"}],
    }


def parapet_conf(base, name, sock, rules_dir, dns_port, redis_port):
    """parapet_conf - a config for the benchmark: every stage on (the shipped
    rules, SPF, DKIM and DMARC against the local DNS server, reputation and
    greylisting in its own Redis); Bayes off"""
    path = os.path.join(base, name + ".conf")
    with open(path, "w") as f:
        f.write("# written by scripts/bench/benchlib.py\n"
                "socket = %s\n"
                "socket_mode = 0666\n"
                "user = root\n"
                "pidfile = %s/%s.pid\n"
                "rules_dir = %s\n"
                "authserv_id = mx.bench.test\n"
                "log_level = %s\n"
                "dns_nameservers = 127.0.0.1:%d\n"
                "dns_timeout_ms = 2000\n"
                "redis = 127.0.0.1:%d\n"
                "greylist = yes\n"
                "bayes = no\n"
                % (sock, base, name, rules_dir,
                   os.environ.get("PARAPET_BENCH_LOG_LEVEL", "info"), dns_port, redis_port))
    return path
