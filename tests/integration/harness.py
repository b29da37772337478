"""harness.py - run parapet behind a private Postfix, for integration tests.

Standard library only.  Used by tests/integration/test_*.py and by the
benchmark (scripts/bench/throughput) and the demo.  What it gives:

    free_port()                       a free TCP port on 127.0.0.1
    make_workdir(prefix)              a fresh directory Postfix can traverse
    make_message(test_id, ...)        an RFC 5322 message (bytes, CRLF)
    Sink(port=None)                   capturing SMTP server: every message
                                      Postfix delivers, in memory
    DnsServer(workdir, zone)          tests/dnsserver.py, a real DNS server
                                      (dnslib) on a loopback port
    Postfix(workdir, sink_port, milter=None, ...)
                                      a private Postfix instance (root only)
    Parapet(workdir, config_overrides, rules, ...)
                                      the parapet daemon in the foreground
    NullMilter(workdir)               tests/nullmilter, the do-nothing milter
    Redis(workdir, port=None, ...)    redis-server on its own loopback port and
                                      private dir; call() speaks RESP, cli()
                                      runs redis-cli
    Sentinel(workdir, master_port, ...)  redis-sentinel watching "mymaster"
    send(port, mail_from, rcpts, data, xclient_addr=None, helo=...,
         xclient_login=None)          one SMTP transaction -> Reply
    send_many(port, jobs, concurrency=10, retries=0, ...)
                                      many transactions in parallel -> Outcome
    TestRun(name)                     checks, "N passed, N failed", exit code,
                                      skip (77) and cleanup of what was started
    stop_all()                        stop everything started here (scripts
                                      that do not use TestRun call it)

Everything a test starts is registered with the module's cleanup list and
stopped by pid (never by process name) in TestRun's finish, at interpreter
exit (atexit) or by the object's own stop().  Ports come from free_port(), so
several test programs can run at the same time.

Environment: PARAPET_SRCDIR (default: the checkout this file is in),
PARAPET_BUILDDIR (default $PARAPET_SRCDIR/build), TESTDATA (default $PARAPET_SRCDIR/tests/data),
PARAPET_TEST_KEEP=1 keeps work directories even when every check passed,
CI=true turns a would-be skip (exit 77) into a failure.
PARAPET_SLOW=N (default 1): parapet runs N times slower than usual (a
ThreadSanitizer build, scripts/test.sh's build-tsan); slow(seconds) scales
waits that are about speed by it, never a check's correctness bound.

Sanitizer reports: TestRun's finish reads the stderr log of every parapet
and nullmilter the harness started (after stopping them, so reports made
at exit count too) and fails a check for each log holding a
"WARNING: ThreadSanitizer" report, with the report as the detail.
"""

import atexit
import collections
import contextlib
import os
import re
import shutil
import signal
import smtplib
import socket
import socketserver
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

__all__ = [
    "BUILDDIR", "SRCDIR", "TESTDATA", "free_port", "make_workdir",
    "make_message", "Sink", "SinkMessage", "DnsServer", "Postfix", "Parapet",
    "NullMilter", "Redis", "Sentinel", "RedisError", "resp_call", "Reply", "Outcome",
    "send", "send_many", "TestRun",
    "Skip", "pid_alive", "wait_until", "stop_all", "SLOW", "slow", "tsan_reports",
]

SRCDIR = os.environ.get("PARAPET_SRCDIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDDIR = os.environ.get("PARAPET_BUILDDIR") or os.path.join(SRCDIR, "build")
TESTDATA = os.environ.get("TESTDATA") or os.path.join(SRCDIR, "tests", "data")

try:
    SLOW = max(1.0, float(os.environ.get("PARAPET_SLOW") or 1))
except ValueError:
    SLOW = 1.0


def slow(seconds):
    """slow - a wait about parapet's speed, scaled by PARAPET_SLOW."""
    return seconds * SLOW


POSTFIX_SBIN = "/usr/sbin"
POSTFIX_DAEMONS = "/usr/lib/postfix/sbin"


# ---------------------------------------------------------------- cleanup

_cleanups = []			# objects with stop(), LIFO
_cleanup_lock = threading.Lock()
_own_programs = []		# parapet / nullmilter daemons: their logs are checked


def _register(obj):
    """_register - stop obj (by its pid) at finish or interpreter exit."""
    with _cleanup_lock:
        if obj not in _cleanups:
            _cleanups.append(obj)
    return obj


def _unregister(obj):
    with _cleanup_lock:
        if obj in _cleanups:
            _cleanups.remove(obj)


def stop_all():
    """stop_all - stop everything this process started, newest first."""
    while True:
        with _cleanup_lock:
            if not _cleanups:
                return
            obj = _cleanups.pop()
        try:
            obj.stop()
        except Exception as e:  # keep stopping the others
            sys.stderr.write("harness: stopping %r: %s\n" % (obj, e))


atexit.register(stop_all)


class Skip(Exception):
    """Skip - raised when a required program or privilege is missing."""


# ---------------------------------------------------------------- small helpers

def free_port():
    """free_port - a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_alive(pid):
    """pid_alive - pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2:][:1] not in ("Z", "X")


def wait_until(pred, timeout, interval=0.05):
    """wait_until - poll pred() until true or timeout; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def tsan_reports(text):
    """tsan_reports - each ThreadSanitizer report in text (a program's
    stderr), from its WARNING line to its closing ==== line."""
    out = []
    for m in re.finditer(r"(?m)^WARNING: ThreadSanitizer.*?(?:^=+\s*$|\Z)", text, re.S):
        out.append(m.group(0))
    return out


def make_workdir(prefix="parapet-it."):
    """make_workdir - mkdtemp made traversable (0755) so user postfix can
    reach a milter socket below it."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    return d


def _mkdir(path, mode=0o755):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    return path


def _read_text(path, since=0):
    try:
        with open(path, "rb") as f:
            f.seek(since)
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def _crlf(b):
    """_crlf - bare LF and bare CR to CRLF."""
    return re.sub(rb"\r?\n|\r(?!\n)", b"\r\n", b)


def make_message(test_id, subject="parapet integration test", body="Hello.\n",
                 sender="alice@sender.test", to="bob@rcpt.test", headers=(),
                 message_id=True, date=True):
    """make_message - an RFC 5322 message as bytes with CRLF line ends.

    test_id goes into an X-Test-Id header (what Sink dedupes on) and, unless
    message_id is False or a string, into Message-ID <test_id@parapet.test>.
    headers: extra (name, value) pairs or raw header lines (str/bytes),
    placed after the standard ones.  body: str (encoded UTF-8) or bytes;
    line ends are normalised to CRLF either way.
    """
    lines = []
    if sender:
        lines.append(b"From: " + sender.encode())
    if to:
        lines.append(b"To: " + to.encode())
    if subject is not None:
        lines.append(b"Subject: " + subject.encode())
    if date:
        lines.append(b"Date: " + time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                                               time.gmtime()).encode())
    if message_id:
        mid = message_id if isinstance(message_id, str) else "<%s@parapet.test>" % test_id
        lines.append(b"Message-ID: " + mid.encode())
    if test_id is not None:
        lines.append(b"X-Test-Id: " + str(test_id).encode())
    for h in headers:
        if isinstance(h, tuple):
            name, value = h
            h = "%s: %s" % (name, value)
        lines.append(h.encode() if isinstance(h, str) else h)
    if isinstance(body, str):
        body = body.encode("utf-8")
    return _crlf(b"\n".join(lines) + b"\n\n" + body)


# ---------------------------------------------------------------- sink

class SinkMessage:
    """SinkMessage - one delivered message: envelope and raw bytes.

    data is the DATA content after dot-unstuffing, CRLF line ends as sent.
    """

    def __init__(self, mail_from, rcpts, data, peer):
        self.mail_from = mail_from
        self.rcpts = list(rcpts)
        self.data = data
        self.peer = peer
        self.received_at = time.time()
        i = data.find(b"\r\n\r\n")
        if data.startswith(b"\r\n"):
            self.header_bytes, self.body = b"", data[2:]
        elif i < 0:
            self.header_bytes, self.body = data, b""
        else:
            self.header_bytes, self.body = data[:i + 2], data[i + 4:]
        self._headers = None

    def headers(self):
        """headers - [(name, value)] in order, unfolded (CRLF removed, the
        folding whitespace kept), value without the space after the colon;
        bytes decoded as Latin-1 so no byte is lost."""
        if self._headers is None:
            out = []
            for line in self.header_bytes.split(b"\r\n"):
                if not line:
                    continue
                if line[:1] in (b" ", b"\t") and out:
                    out[-1][1] += line.decode("latin-1")
                    continue
                name, sep, value = line.partition(b":")
                out.append([name.decode("latin-1"), value.decode("latin-1")])
            self._headers = [(n, v.strip(" \t")) for n, v in out]
        return self._headers

    def header(self, name):
        """header - every value of the field name (case-insensitive)."""
        name = name.lower()
        return [v for n, v in self.headers() if n.lower() == name]

    def first(self, name, default=None):
        v = self.header(name)
        return v[0] if v else default

    @property
    def test_id(self):
        return self.first("X-Test-Id")

    def spam_tests(self):
        """spam_tests - the symbols in X-Spam-Status tests=, or None."""
        st = self.first("X-Spam-Status")
        if st is None:
            return None
        m = re.search(r"tests=(.*?)(?:\s+autolearn=|\s+version=|$)", st, re.S)
        if not m:
            return []
        return [t for t in re.split(r"[\s,]+", m.group(1)) if t and t != "none"]

    def __repr__(self):
        return "<SinkMessage %s from=%s rcpts=%s %d bytes>" % (
            self.test_id, self.mail_from, self.rcpts, len(self.data))


class _SinkHandler(socketserver.StreamRequestHandler):
    timeout = 120

    def _reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self):
        sink = self.server.sink
        self._reply("220 sink.parapet.test ESMTP capture sink")
        mail_from, rcpts = None, []
        while True:
            line = self.rfile.readline(1 << 20)
            if not line:
                return
            cmd = line.rstrip(b"\r\n").decode("latin-1")
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-sink.parapet.test\r\n250-PIPELINING\r\n"
                                 b"250-SIZE 104857600\r\n250-8BITMIME\r\n"
                                 b"250 ENHANCEDSTATUSCODES\r\n")
            elif verb == "HELO":
                self._reply("250 sink.parapet.test")
            elif verb == "MAIL":
                m = re.match(r"(?i)MAIL FROM:\s*<([^>]*)>", cmd)
                if not m:
                    self._reply("501 5.5.4 Syntax: MAIL FROM:<address>")
                    continue
                mail_from, rcpts = m.group(1), []
                self._reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                m = re.match(r"(?i)RCPT TO:\s*<([^>]*)>", cmd)
                if mail_from is None or not m:
                    self._reply("503 5.5.1 Error: need MAIL command" if mail_from is None
                                else "501 5.5.4 Syntax: RCPT TO:<address>")
                    continue
                rcpts.append(m.group(1))
                self._reply("250 2.1.5 Ok")
            elif verb == "DATA":
                if mail_from is None or not rcpts:
                    self._reply("503 5.5.1 Error: need RCPT command")
                    continue
                self._reply("354 End data with <CR><LF>.<CR><LF>")
                chunks = []
                while True:
                    dl = self.rfile.readline()
                    if not dl:
                        return
                    if dl in (b".\r\n", b".\n"):
                        break
                    if dl.startswith(b"."):
                        dl = dl[1:]
                    chunks.append(dl)
                n = sink._store(SinkMessage(mail_from, rcpts, b"".join(chunks),
                                            self.client_address))
                self._reply("250 2.0.0 Ok: queued as SINK%d" % n)
                mail_from, rcpts = None, []
            elif verb == "RSET":
                mail_from, rcpts = None, []
                self._reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                self._reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self._reply("221 2.0.0 Bye")
                return
            else:
                self._reply("502 5.5.2 Error: command not recognized")


class _SinkServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        # a client (Postfix being stopped) dropping the connection is normal
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class Sink:
    """Sink - capturing SMTP server on 127.0.0.1 (a thread per connection).

    Every message delivered to it is kept in memory as a SinkMessage.
    Queries: messages(), count(), by_id(test_id), id_counts(),
    duplicates(), wait_for_count(n, timeout), wait_for_id(id, timeout).
    """

    def __init__(self, port=None):
        self.port = port or free_port()
        self._msgs = []
        self._cond = threading.Condition()
        self._server = None
        self._thread = None

    def start(self):
        self._server = _SinkServer(("127.0.0.1", self.port), _SinkHandler)
        self._server.sink = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="sink", daemon=True)
        self._thread.start()
        _register(self)
        return self

    def stop(self):
        _unregister(self)
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _store(self, msg):
        with self._cond:
            self._msgs.append(msg)
            self._cond.notify_all()
            return len(self._msgs)

    def messages(self):
        with self._cond:
            return list(self._msgs)

    def count(self):
        with self._cond:
            return len(self._msgs)

    def clear(self):
        with self._cond:
            self._msgs.clear()

    def by_id(self, test_id):
        """by_id - every delivered copy carrying X-Test-Id: test_id."""
        return [m for m in self.messages() if m.test_id == str(test_id)]

    def id_counts(self):
        """id_counts - Counter of X-Test-Id values over all deliveries."""
        return collections.Counter(m.test_id for m in self.messages())

    def duplicates(self):
        """duplicates - {test_id: n} for ids delivered more than once."""
        return {k: n for k, n in self.id_counts().items() if n > 1}

    def wait_for_count(self, n, timeout):
        """wait_for_count - until at least n messages arrived; True if so."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._msgs) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def wait_for_id(self, test_id, timeout):
        """wait_for_id - the first delivered copy of test_id, or None."""
        deadline = time.monotonic() + timeout
        test_id = str(test_id)
        with self._cond:
            while True:
                for m in self._msgs:
                    if m.test_id == test_id:
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)


# ---------------------------------------------------------------- DNS stub

# ---------------------------------------------------------------- processes

class _Daemon:
    """_Daemon - a child process in the foreground, stderr to a file."""

    name = "daemon"

    def __init__(self, workdir):
        self.workdir = _mkdir(workdir)
        self.logfile = os.path.join(self.workdir, "%s.log" % self.name)
        self.proc = None
        self.starts = 0

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def argv(self):
        raise NotImplementedError

    def _ready(self):
        raise NotImplementedError

    def start(self, timeout=30):
        """start - spawn and wait until ready; raises RuntimeError with the
        log tail if it dies or is not ready in time."""
        if self.running():
            raise RuntimeError("%s already running (pid %d)" % (self.name, self.pid))
        self._log_mark = os.path.getsize(self.logfile) if os.path.exists(self.logfile) else 0
        with open(self.logfile, "ab") as log:
            log.write(("--- harness: start #%d at %s\n" % (
                self.starts + 1, time.strftime("%H:%M:%S"))).encode())
            log.flush()
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, close_fds=True)
        self.starts += 1
        _register(self)
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with status %s while starting:\n%s" % (
                    self.name, self.proc.returncode, self.log(self._log_mark)[-3000:]))
            if time.monotonic() > deadline:
                raise RuntimeError("%s not ready after %ds:\n%s" % (
                    self.name, timeout, self.log(self._log_mark)[-3000:]))
            time.sleep(0.02)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        """signal - send sig to the process (by pid)."""
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError("%s is not running" % self.name)
        os.kill(self.proc.pid, sig)

    def wait(self, timeout):
        """wait - exit status, or None if still running after timeout."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        """kill - SIGKILL and reap; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait()

    def stop(self, timeout=30):
        """stop - SIGTERM and wait (SIGKILL after timeout); exit status."""
        _unregister(self)
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode

    def restart(self, timeout=30):
        """restart - stop (if running) and start again."""
        if self.running():
            self.stop()
        return self.start(timeout)

    def log(self, since=0):
        """log - the process's stderr (all starts, appended) from byte since."""
        return _read_text(self.logfile, since)

    def log_size(self):
        """log_size - current length of the log, for log(since=...)."""
        try:
            return os.path.getsize(self.logfile)
        except OSError:
            return 0


def _unix_socket_ready(path, mode=None):
    try:
        st = os.stat(path)
    except OSError:
        return False
    if not stat.S_ISSOCK(st.st_mode):
        return False
    if mode is not None and (st.st_mode & 0o7777) != mode:
        return False
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def _tcp_ready(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class DnsServer(_Daemon):
    """DnsServer - tests/dnsserver.py (dnslib), an authoritative server on
    127.0.0.1:port (UDP and TCP) serving zone, a dict in that program's
    zone-file format ({name: [{"TXT": ...}, {"A": ...}, "TIMEOUT", ...]}).
    Use `nameserver` (HOST:PORT) as parapet's dns_nameservers; set_zone()
    replaces the data (SIGHUP) while it runs; queries() lists what was
    asked, as (name, type) pairs.
    """

    name = "dns"

    def __init__(self, workdir, zone=None, port=None):
        super().__init__(workdir)
        self.port = port or free_port()
        self.zonefile = os.path.join(self.workdir, "zone.json")
        self.pidfile = os.path.join(self.workdir, "dns.pid")
        self.querylog = os.path.join(self.workdir, "queries.log")
        self._write_zone(zone or {})

    @property
    def nameserver(self):
        return "127.0.0.1:%d" % self.port

    def _write_zone(self, zone):
        import json
        tmp = self.zonefile + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(zone, f)
        os.rename(tmp, self.zonefile)

    def set_zone(self, zone):
        """set_zone - serve zone from now on (waits until reloaded)."""
        self._write_zone(zone)
        if self.running():
            self.signal(signal.SIGHUP)
            time.sleep(0.2)

    def argv(self):
        if os.path.exists(self.pidfile):
            os.unlink(self.pidfile)
        return [sys.executable, os.path.join(SRCDIR, "tests", "dnsserver.py"),
                "--port", str(self.port), "--zone", self.zonefile,
                "--pidfile", self.pidfile, "--log", self.querylog]

    def _ready(self):
        return os.path.exists(self.pidfile)

    def queries(self):
        """queries - [(name, type)] asked so far."""
        try:
            with open(self.querylog, encoding="utf-8") as f:
                return [tuple(line.split()) for line in f if line.strip()]
        except OSError:
            return []


class Parapet(_Daemon):
    """Parapet - the parapet daemon, `parapet -f -c CONF`, stderr captured.

    workdir gets parapet.conf, rules/ (the rules text as rules/50-test.cf,
    plus the shipped rules/*.cf when shipped_rules=True), the socket and
    parapet.log.  config_overrides: {key: value} over the harness defaults
    (value None removes a default key); keys are written in order, so an
    unknown key makes parapet refuse to start, as it should.
    socket: "unix" (default) or "inet" (a free port on 127.0.0.1).
    dns: "own" (default: a private DnsServer with an empty zone, started
    with parapet, so that SPF/DKIM/DMARC get a fast NXDOMAIN instead of
    waiting for a resolver this machine does not have), a DnsServer of
    your own (started by the caller), or None for the system resolver.
    Attributes: pid, socket_spec (for smtpd_milters), conf_path, rules_dir,
    config (the OrderedDict written; call write_config() after changing it).
    """

    name = "parapet"

    def __init__(self, workdir, config_overrides=None, rules="", socket="unix",
                 dns="own", shipped_rules=False, binary=None):
        super().__init__(workdir)
        _own_programs.append(self)
        self.binary = binary or os.path.join(BUILDDIR, "milter", "parapet")
        self.rules_dir = _mkdir(os.path.join(self.workdir, "rules"))
        self.conf_path = os.path.join(self.workdir, "parapet.conf")
        self.pidfile = os.path.join(self.workdir, "parapet.pid")
        if socket == "unix":
            self.socket_path = os.path.join(self.workdir, "parapet.sock")
            if len(self.socket_path) > 100:	# sun_path is 108 bytes
                raise ValueError("unix socket path too long (%d bytes): %s; use a "
                                 "shorter TMPDIR" % (len(self.socket_path), self.socket_path))
            self.port = None
            self.config_socket = "unix:" + self.socket_path
            self.socket_spec = "unix:" + self.socket_path
        elif socket == "inet":
            self.socket_path = None
            self.port = free_port()
            self.config_socket = "inet:%d@127.0.0.1" % self.port
            self.socket_spec = "inet:127.0.0.1:%d" % self.port
        else:
            raise ValueError("socket must be 'unix' or 'inet'")
        self.config = collections.OrderedDict([
            ("socket", self.config_socket),
            ("socket_mode", "0666"),
            ("pidfile", self.pidfile),
            ("log_level", "info"),
            ("rules_dir", self.rules_dir),
            ("authserv_id", "mx.parapet.test"),
            ("tag_score", "5.0"),
            ("reject_score", "15.0"),
            ("dns_timeout_ms", "1000"),
        ])
        if os.geteuid() == 0:	# parapet refuses root unless it is written
            self.config["user"] = "root"
        self._own_dns = dns == "own"
        self.dns = DnsServer(os.path.join(self.workdir, "dns")) if self._own_dns else dns
        if self.dns is not None:
            self.config["dns_nameservers"] = self.dns.nameserver
        for k, v in (config_overrides or {}).items():
            if v is None:
                self.config.pop(k, None)
            else:
                self.config[k] = str(v)
        if shipped_rules:
            src = os.path.join(SRCDIR, "rules")
            for f in sorted(os.listdir(src)):
                if f.endswith(".cf"):
                    shutil.copy(os.path.join(src, f), self.rules_dir)
        self.write_rules(rules)
        self.write_config()

    def write_config(self):
        """write_config - (re)write parapet.conf from self.config."""
        with open(self.conf_path, "w") as f:
            f.write("# written by tests/integration/harness.py\n")
            for k, v in self.config.items():
                f.write("%s = %s\n" % (k, v))

    def write_rules(self, text, name="50-test.cf"):
        """write_rules - (re)write one rule file; reload with signal(SIGUSR1)."""
        path = os.path.join(self.rules_dir, name)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, path)		# a reload never sees half a file

    def argv(self):
        return [self.binary, "-f", "-c", self.conf_path]

    def _ready(self):
        if self.socket_path:
            mode = int(self.config.get("socket_mode", "0660"), 8)
            return _unix_socket_ready(self.socket_path, mode)
        return _tcp_ready(self.port)

    def start(self, timeout=60):
        if not os.access(self.binary, os.X_OK):
            raise RuntimeError("no parapet binary at %s (build it or set PARAPET_BUILDDIR)"
                               % self.binary)
        if self.socket_path and os.path.exists(self.socket_path) and not self.running():
            # left by a killed daemon; parapet replaces it, but _ready must
            # not mistake it for the new one before then
            os.unlink(self.socket_path)
        if self._own_dns and not self.dns.running():
            self.dns.start()
        return super().start(timeout)


class NullMilter(_Daemon):
    """NullMilter - tests/nullmilter on a unix socket: answers "continue" to
    everything, so Postfix delivers what it would with any milter attached."""

    name = "nullmilter"

    def __init__(self, workdir, binary=None):
        super().__init__(workdir)
        _own_programs.append(self)
        self.binary = binary or os.path.join(BUILDDIR, "tests", "nullmilter")
        self.socket_path = os.path.join(self.workdir, "nullmilter.sock")
        self.socket_spec = "unix:" + self.socket_path

    def argv(self):
        return [self.binary, self.socket_spec]

    def _ready(self):
        return _unix_socket_ready(self.socket_path, 0o666)


# ---------------------------------------------------------------- Redis

REDIS_SERVER = "/usr/bin/redis-server"
REDIS_SENTINEL = "/usr/bin/redis-sentinel"
REDIS_CLI = "/usr/bin/redis-cli"


class RedisError(Exception):
    """RedisError - an error reply (-ERR ...)."""


def _resp_read(f):
    line = f.readline()
    if not line:
        raise ConnectionError("redis closed the connection")
    t, rest = line[:1], line[1:].rstrip(b"\r\n")
    if t == b"+":
        return rest.decode()
    if t == b"-":
        return RedisError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode("utf-8", "replace")
    if t == b"*":
        n = int(rest)
        if n < 0:
            return None
        return [_resp_read(f) for _ in range(n)]
    raise ConnectionError("bad RESP line %r" % line)


def resp_call(port, *args, host="127.0.0.1", timeout=10, password=None):
    """resp_call - one command to a Redis (or Sentinel) on port; the reply
    as str/int/list/None; an error reply raises RedisError."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        f = s.makefile("rb")
        cmds = [("AUTH", password)] if password else []
        cmds.append(args)
        for c in cmds:
            out = b"*%d\r\n" % len(c)
            for a in c:
                a = a if isinstance(a, bytes) else str(a).encode()
                out += b"$%d\r\n%s\r\n" % (len(a), a)
            s.sendall(out)
            r = _resp_read(f)
        if isinstance(r, RedisError):
            raise r
        return r


class Redis(_Daemon):
    """Redis - redis-server in the foreground on 127.0.0.1:port (a free one
    unless given), no persistence, its own directory; stopped by pid.
    extra: more redis.conf lines; replicaof: a master port; unixsocket:
    also listen on WORKDIR/redis.sock (self.socket_path).  kill() and
    start() again keep the port (a restart of the same server)."""

    name = "redis"

    def __init__(self, workdir, port=None, extra=(), replicaof=None, unixsocket=False,
                 password=None):
        super().__init__(workdir)
        self.port = port or free_port()
        self.password = password
        self.conf_path = os.path.join(self.workdir, "redis.conf")
        self.socket_path = os.path.join(self.workdir, "redis.sock") if unixsocket else None
        lines = ["port %d" % self.port, "bind 127.0.0.1", "dir %s" % self.workdir,
                 'save ""', "appendonly no", "daemonize no", 'logfile ""',
                 "protected-mode no"]
        if self.socket_path:
            lines += ["unixsocket %s" % self.socket_path, "unixsocketperm 777"]
        if password:
            lines += ["requirepass %s" % password, "masterauth %s" % password]
        if replicaof:
            lines.append("replicaof 127.0.0.1 %d" % replicaof)
        lines += list(extra)
        with open(self.conf_path, "w") as f:
            f.write("# written by tests/integration/harness.py\n" + "\n".join(lines) + "\n")

    def argv(self):
        return [REDIS_SERVER, self.conf_path]

    def _ready(self):
        try:
            return self.call("PING") == "PONG"
        except (OSError, ConnectionError, RedisError):
            return False

    def start(self, timeout=30):
        if not os.access(REDIS_SERVER, os.X_OK):
            raise Skip("%s is missing (Debian package redis-server)" % REDIS_SERVER)
        return super().start(timeout)

    def call(self, *args, timeout=10):
        """call - one command; RESP reply (RedisError raised)."""
        return resp_call(self.port, *args, timeout=timeout, password=self.password)

    def cli(self, *args):
        """cli - redis-cli -p PORT --raw ARGS; stdout as text."""
        argv = [REDIS_CLI, "-p", str(self.port), "--raw"]
        if self.password:
            argv += ["--no-auth-warning", "-a", self.password]
        return subprocess.run(argv + [str(a) for a in args], capture_output=True,
                              text=True, timeout=30).stdout

    def info(self, section):
        """info - INFO section as {key: value} (values as str)."""
        out = {}
        for line in self.call("INFO", section).splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k] = v
        return out


class Sentinel(_Daemon):
    """Sentinel - redis-sentinel on a free port monitoring "mymaster" at
    127.0.0.1:master_port with quorum 2, 1 s down-after, a short failover
    timeout.  Its config file is its own (Sentinel rewrites it)."""

    name = "sentinel"

    def __init__(self, workdir, master_port, port=None, master_name="mymaster",
                 down_after_ms=1000, failover_timeout_ms=3000):
        super().__init__(workdir)
        self.port = port or free_port()
        self.master_name = master_name
        self.conf_path = os.path.join(self.workdir, "sentinel.conf")
        with open(self.conf_path, "w") as f:
            f.write("port %d\nbind 127.0.0.1\ndir %s\ndaemonize no\nlogfile \"\"\n"
                    "protected-mode no\n"
                    "sentinel monitor %s 127.0.0.1 %d 2\n"
                    "sentinel down-after-milliseconds %s %d\n"
                    "sentinel failover-timeout %s %d\n"
                    "sentinel parallel-syncs %s 1\n" % (
                        self.port, self.workdir, master_name, master_port,
                        master_name, down_after_ms, master_name, failover_timeout_ms,
                        master_name))

    def argv(self):
        return [REDIS_SENTINEL, self.conf_path]

    def _ready(self):
        try:
            return self.master_addr() is not None
        except (OSError, ConnectionError, RedisError):
            return False

    def start(self, timeout=30):
        if not os.access(REDIS_SENTINEL, os.X_OK):
            raise Skip("%s is missing (Debian package redis-sentinel)" % REDIS_SENTINEL)
        return super().start(timeout)

    def master_addr(self):
        """master_addr - (host, port) the sentinel names as master, or None."""
        r = resp_call(self.port, "SENTINEL", "get-master-addr-by-name", self.master_name,
                      timeout=5)
        return (r[0], int(r[1])) if r else None


# ---------------------------------------------------------------- Postfix

MASTER_CF = """\
# written by tests/integration/harness.py: chroot n everywhere (SPEC notes)
127.0.0.1:{port} inet n - n - - smtpd
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

QUEUE_DIRS = ("maildrop", "incoming", "active", "deferred", "hold")


class Postfix:
    """Postfix - a private Postfix instance relaying everything to a sink.

    Layout: WORKDIR/etc/{main,master}.cf, WORKDIR/data, WORKDIR/maillog;
    the queue in a fresh directory under /dev/shm (tmpfs) when it exists,
    else WORKDIR/queue.  smtpd listens on 127.0.0.1:self.port.  milter is an
    smtpd_milters value (e.g. Parapet.socket_spec) or None.  main_extra:
    {key: value} added to / overriding main.cf.  Needs root.
    """

    def __init__(self, workdir, sink_port, milter=None, port=None, main_extra=None,
                 queue_dir=None):
        self.workdir = _mkdir(workdir)
        self.etc = _mkdir(os.path.join(self.workdir, "etc"))
        self.data_dir = os.path.join(self.workdir, "data")
        self.maillog_path = os.path.join(self.workdir, "maillog")
        if queue_dir is None:
            base = "/dev/shm" if os.path.isdir("/dev/shm") else self.workdir
            queue_dir = tempfile.mkdtemp(prefix="parapet-pfq.", dir=base)
        self.queue_dir = queue_dir
        self._own_queue = True
        self.sink_port = sink_port
        self.port = port or free_port()
        self.milter = milter
        self.main = collections.OrderedDict([
            ("compatibility_level", "3.6"),
            ("queue_directory", self.queue_dir),
            ("data_directory", self.data_dir),
            ("meta_directory", "/etc/postfix"),
            ("daemon_directory", POSTFIX_DAEMONS),
            ("command_directory", POSTFIX_SBIN),
            ("shlib_directory", "/usr/lib/postfix"),
            ("mail_owner", "postfix"),
            ("setgid_group", "postdrop"),
            ("myhostname", "mx.parapet.test"),
            ("mydomain", "parapet.test"),
            ("myorigin", "parapet.test"),
            ("inet_interfaces", "127.0.0.1"),
            ("inet_protocols", "ipv4"),
            ("mydestination", ""),
            ("local_recipient_maps", ""),
            ("alias_maps", ""),
            ("alias_database", ""),
            ("relay_domains", ""),
            ("relayhost", "[127.0.0.1]:%d" % sink_port),
            ("smtp_dns_support_level", "disabled"),
            ("smtpd_peername_lookup", "no"),
            ("smtputf8_enable", "no"),
            ("biff", "no"),
            # the TEST-NETs too, so XCLIENT ADDR=... clients may relay
            ("mynetworks", "127.0.0.0/8 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24 198.18.0.0/15"),
            ("smtpd_relay_restrictions", "permit_mynetworks, reject"),
            ("smtpd_authorized_xclient_hosts", "127.0.0.0/8"),
            ("maillog_file", self.maillog_path),
            ("maillog_file_prefixes", self.workdir),
            ("notify_classes", ""),
            ("smtpd_banner", "$myhostname ESMTP"),
            ("smtpd_error_sleep_time", "0"),
            ("in_flow_delay", "0"),
            ("smtpd_client_connection_count_limit", "0"),
            ("default_process_limit", "100"),
            ("default_destination_concurrency_limit", "20"),
            ("initial_destination_concurrency", "10"),
            ("queue_run_delay", "1s"),
            ("minimal_backoff_time", "1s"),
            ("maximal_backoff_time", "2s"),
            ("milter_default_action", "tempfail"),
            ("milter_protocol", "6"),
            ("milter_connect_timeout", "10s"),
        ])
        if milter:
            self.main["smtpd_milters"] = milter
        for k, v in (main_extra or {}).items():
            if v is None:
                self.main.pop(k, None)
            else:
                self.main[k] = str(v)
        self.master_pid = None

    def _postfix(self, *args, check=True):
        p = subprocess.run([os.path.join(POSTFIX_SBIN, "postfix"), "-c", self.etc] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        out = p.stdout.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise RuntimeError("postfix %s: exit %d:\n%s" % (" ".join(args), p.returncode, out))
        return out

    def write_config(self):
        """write_config - main.cf and master.cf from self.main / self.port."""
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write("# written by tests/integration/harness.py\n")
            for k, v in self.main.items():
                f.write("%s = %s\n" % (k, v))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port))

    def start(self, timeout=60):
        """start - write the config, create the queue (postfix check), start
        the master and wait until smtpd answers with 220."""
        self.write_config()
        os.chmod(self.queue_dir, 0o755)
        _mkdir(self.data_dir, 0o700)
        shutil.chown(self.data_dir, "postfix", "postfix")
        self._postfix("check")
        _register(self)
        self._postfix("start")
        pidfile = os.path.join(self.queue_dir, "pid", "master.pid")
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(pidfile) as f:
                    self.master_pid = int(f.read().split()[0])
                if pid_alive(self.master_pid) and self._banner():
                    return self
            except (OSError, ValueError, IndexError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("postfix not ready on port %d after %ds:\n%s" % (
                    self.port, timeout, self.maillog()[-3000:]))
            time.sleep(0.05)

    def _banner(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                f = s.makefile("rb")
                line = f.readline()
                s.sendall(b"QUIT\r\n")
                return line.startswith(b"220")
        except OSError:
            return False

    def _group_pids(self):
        """_group_pids - live processes in the master's process group."""
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            fields = st[st.rindex(")") + 2:].split()
            if fields[0] in ("Z", "X"):
                continue
            if int(fields[2]) == self.master_pid:	# pgrp
                pids.append(int(d))
        return pids

    def stop(self, timeout=20):
        """stop - SIGTERM to the master pid (master.pid), wait for it and its
        children (its process group) to go, SIGKILL stragglers by pid;
        then remove the tmpfs queue."""
        _unregister(self)
        if self.master_pid:
            if pid_alive(self.master_pid):
                try:
                    os.kill(self.master_pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            if not wait_until(lambda: not self._group_pids(), timeout, 0.05):
                for pid in self._group_pids():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                wait_until(lambda: not self._group_pids(), 5, 0.05)
            self.master_pid = None
        if self._own_queue and self.queue_dir.startswith("/dev/shm/"):
            shutil.rmtree(self.queue_dir, ignore_errors=True)

    def flush(self):
        """flush - postqueue -f: deliver deferred mail now."""
        subprocess.run([os.path.join(POSTFIX_SBIN, "postqueue"), "-c", self.etc, "-f"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def queue_files(self):
        """queue_files - paths of the files in the live queues."""
        out = []
        for q in QUEUE_DIRS:
            for root, _dirs, files in os.walk(os.path.join(self.queue_dir, q)):
                out.extend(os.path.join(root, f) for f in files)
        return out

    def queue_empty(self):
        """queue_empty - no file in maildrop, incoming, active, deferred, hold."""
        return not self.queue_files()

    def wait_drained(self, timeout=60, flush_every=2.0):
        """wait_drained - until the queue is empty (flushing deferred mail
        now and then); True if it emptied in time."""
        deadline = time.monotonic() + timeout
        last_flush = time.monotonic()
        while not self.queue_empty():
            now = time.monotonic()
            if now > deadline:
                return False
            if now - last_flush > flush_every:
                self.flush()
                last_flush = now
            time.sleep(0.05)
        return True

    def maillog(self):
        """maillog - the instance's log file as text."""
        return _read_text(self.maillog_path)

    def queue_ids(self):
        """queue_ids - {message-id: [queue id, ...]} from cleanup's
        'QID: message-id=<...>' lines (in log order)."""
        out = collections.defaultdict(list)
        for m in re.finditer(r"postfix/cleanup\[\d+\]: ([0-9A-Za-z]+): message-id=(\S*)",
                             self.maillog()):
            out[m.group(2)].append(m.group(1))
        return dict(out)


# ---------------------------------------------------------------- SMTP client

class Reply(tuple):
    """Reply - (code, message) of one SMTP transaction.

    code is the final reply's code (or the first failing reply's), None on a
    connection error.  Extra attributes: stage (connect, ehlo, xclient,
    mail, rcpt, data, done), error (exception text on a connection error),
    eod_secs (stage done: seconds from the final "." to the reply, else
    None), and the predicates ok (2xx), temp (4xx), perm (5xx), conn_error.
    """

    def __new__(cls, code, message, stage, error=None):
        r = tuple.__new__(cls, (code, message))
        r.stage = stage
        r.error = error
        r.eod_secs = None
        return r

    code = property(lambda self: self[0])
    message = property(lambda self: self[1])
    ok = property(lambda self: self[0] is not None and 200 <= self[0] < 300)
    temp = property(lambda self: self[0] is not None and 400 <= self[0] < 500)
    perm = property(lambda self: self[0] is not None and 500 <= self[0] < 600)
    conn_error = property(lambda self: self[0] is None)

    def __repr__(self):
        if self[0] is None:
            return "Reply(connection error at %s: %s)" % (self.stage, self.error)
        return "Reply(%d %s at %s)" % (self[0], self[1], self.stage)


def _text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)


def send(port, mail_from, rcpts, data_bytes, xclient_addr=None, helo="client.parapet.test",
         xclient_name=None, timeout=120, pause_after_mail=0.0, host="127.0.0.1",
         xclient_login=None):
    """send - one SMTP transaction (EHLO, [XCLIENT, EHLO], MAIL, RCPT..., DATA).

    Returns a Reply: the end-of-data reply, or the first failing one.  Never
    raises for an SMTP error; a connection failure gives code None.  A
    reply to the end of data has eod_secs: seconds from sending the final
    "." to the reply (what the milter's verdict costs the client).
    xclient_addr: a TEST-NET address Postfix should pretend the client has
    (needs smtpd_authorized_xclient_hosts).  xclient_login: a SASL login
    name Postfix should take as authenticated, passed to milters as
    {auth_authen} (needs smtpd_sasl_auth_enable = yes; with xclient_addr).
    pause_after_mail: seconds to
    sleep after MAIL FROM is accepted (keeps a message "in flight").
    data_bytes should use CRLF; dot-stuffing is done here.
    """
    if isinstance(rcpts, str):
        rcpts = [rcpts]
    stage = "connect"
    smtp = None
    try:
        smtp = smtplib.SMTP(timeout=timeout)
        code, msg = smtp.connect(host, port)
        if code != 220:
            return Reply(code, _text(msg), stage)
        stage = "ehlo"
        code, msg = smtp.ehlo(helo)
        if code != 250:
            return Reply(code, _text(msg), stage)
        if xclient_addr:
            stage = "xclient"
            args = "ADDR=%s" % xclient_addr
            if xclient_name:
                args += " NAME=%s" % xclient_name
            if xclient_login:
                args += " LOGIN=%s" % xclient_login
            code, msg = smtp.docmd("XCLIENT", args)
            if code != 220:
                return Reply(code, _text(msg), stage)
            stage = "ehlo"
            code, msg = smtp.ehlo(helo)
            if code != 250:
                return Reply(code, _text(msg), stage)
        stage = "mail"
        code, msg = smtp.mail(mail_from)
        if code != 250:
            return Reply(code, _text(msg), stage)
        if pause_after_mail:
            time.sleep(pause_after_mail)
        stage = "rcpt"
        for r in rcpts:
            code, msg = smtp.rcpt(r)
            if code not in (250, 251):
                return Reply(code, _text(msg), stage)
        stage = "data"
        code, msg = smtp.docmd("DATA")
        if code != 354:
            return Reply(code, _text(msg), stage)
        q = re.sub(rb"(?m)^\.", b"..", data_bytes)
        if not q.endswith(b"\r\n"):
            q += b"\r\n"
        smtp.send(q)
        t_eod = time.monotonic()
        smtp.send(b".\r\n")
        code, msg = smtp.getreply()
        eod_secs = time.monotonic() - t_eod
        stage = "done"
        reply = Reply(code, _text(msg), stage)
        reply.eod_secs = eod_secs
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        return reply
    except smtplib.SMTPResponseException as e:
        return Reply(e.smtp_code, _text(e.smtp_error), stage)
    except (smtplib.SMTPException, OSError) as e:
        return Reply(None, "", stage, "%s: %s" % (type(e).__name__, e))
    finally:
        if smtp is not None:
            try:
                smtp.close()
            except OSError:
                pass


class Outcome:
    """Outcome - one message of send_many: job, final Reply, every attempt."""

    def __init__(self, index, job):
        self.index = index
        self.job = job
        self.attempts = []

    @property
    def final(self):
        return self.attempts[-1] if self.attempts else None

    @property
    def temp_failures(self):
        return sum(1 for a in self.attempts if a.temp)

    def __repr__(self):
        return "<Outcome #%d %r after %d attempt(s)>" % (self.index, self.final,
                                                         len(self.attempts))


def send_many(port, jobs, concurrency=10, retries=0, retry_delay=0.1,
              retry_if=lambda r: r.temp, on_done=None, stop_event=None):
    """send_many - the jobs over `concurrency` parallel SMTP sessions.

    jobs: a list of dicts with send()'s arguments (mail_from, rcpts,
    data_bytes, and optionally xclient_addr, helo, ...).  A job whose reply
    satisfies retry_if (default: 4xx) is sent again after retry_delay
    seconds, at most `retries` more times.  on_done(outcome) is called (from
    a worker thread) when a job is finished.  stop_event (threading.Event):
    when set, jobs not yet started are left out (their Outcome has no
    attempts).  Returns [Outcome] in job order.
    """
    outcomes = [Outcome(i, j) for i, j in enumerate(jobs)]
    lock = threading.Lock()
    nxt = [0]

    def worker():
        while True:
            if stop_event is not None and stop_event.is_set():
                return
            with lock:
                i = nxt[0]
                if i >= len(outcomes):
                    return
                nxt[0] += 1
            o = outcomes[i]
            while True:
                r = send(port, **o.job)
                o.attempts.append(r)
                if len(o.attempts) > retries or not retry_if(r):
                    break
                time.sleep(retry_delay)
            if on_done:
                on_done(o)

    threads = [threading.Thread(target=worker, name="send-%d" % k, daemon=True)
               for k in range(max(1, concurrency))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


# ---------------------------------------------------------------- test runner

class TestRun:
    """TestRun - checks and the exit protocol of one test program.

        with TestRun("test_postfix") as run:
            run.require_root_and_postfix()
            with run.section("ham"):
                run.check(cond, "ham is delivered", detail)
        # prints "N passed, N failed", exits 0 / 1 (1 also if no check ran)

    An exception inside the with block counts as one failed check (with its
    traceback); a Skip (require_*) exits 77, or fails when CI=true.
    run.workdir is a fresh directory, removed at the end when every check
    passed (kept, and named, otherwise or with PARAPET_TEST_KEEP=1).
    Everything the harness started is stopped at the end, by pid.
    """

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.t0 = time.monotonic()
        self.workdir = make_workdir("parapet-%s." % name)
        self._on_fail = []

    # --- checks
    def check(self, cond, name, detail=""):
        """check - count one check; prints ok / not ok (with detail)."""
        if cond:
            self.passed += 1
            print("ok - %s" % name, flush=True)
        else:
            self.failed += 1
            self.failures.append(name)
            print("not ok - %s" % name, flush=True)
            if detail:
                for line in str(detail).splitlines()[:60]:
                    print("#   %s" % line, flush=True)
        return bool(cond)

    def note(self, text):
        for line in str(text).splitlines():
            print("# %s" % line, flush=True)

    def on_fail(self, fn):
        """on_fail - fn() returns text printed (as comments) if any check failed."""
        self._on_fail.append(fn)

    @contextlib.contextmanager
    def section(self, title):
        """section - a titled group of checks; prints its wall time.  An
        exception inside counts as a failed check and the run goes on."""
        t = time.monotonic()
        print("# --- %s" % title, flush=True)
        try:
            yield
        except (Skip, KeyboardInterrupt, SystemExit):
            raise
        except Exception:
            self.check(False, "%s: ran without an exception" % title, traceback.format_exc())
        finally:
            print("# --- %s: %.1f s" % (title, time.monotonic() - t), flush=True)

    # --- skip
    def skip(self, reason):
        raise Skip(reason)

    def require_root_and_postfix(self):
        """require_root_and_postfix - Skip unless root with Postfix installed."""
        if os.geteuid() != 0:
            self.skip("not root: a private Postfix instance needs root")
        for p in (os.path.join(POSTFIX_SBIN, "postfix"), os.path.join(POSTFIX_SBIN, "postqueue"),
                  os.path.join(POSTFIX_DAEMONS, "master"), os.path.join(POSTFIX_DAEMONS, "smtpd")):
            if not os.access(p, os.X_OK):
                self.skip("%s is missing (Debian package postfix)" % p)
        try:
            import pwd
            import grp
            pwd.getpwnam("postfix")
            grp.getgrnam("postdrop")
        except KeyError:
            self.skip("user postfix or group postdrop is missing (Debian package postfix)")

    # --- the end
    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        return self

    def _on_signal(self, signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    def _check_tsan(self):
        """_check_tsan - one failed check per parapet / nullmilter whose
        stderr holds a ThreadSanitizer report (their processes are stopped
        by now, so reports made at exit are in)."""
        for d in _own_programs:
            if not d.starts:
                continue
            reports = tsan_reports(d.log())
            if reports:
                summary = [ln for r in reports for ln in r.splitlines()
                           if ln.startswith("SUMMARY:")]
                self.check(False, "no ThreadSanitizer report in %s's stderr (%s): %d found"
                           % (d.name, d.logfile, len(reports)),
                           "\n".join(summary[:10] + ["the first one:"] + reports[0].splitlines()))

    def __exit__(self, etype, exc, tb):
        skip = None
        if etype is not None and issubclass(etype, Skip):
            skip = str(exc)
        elif etype is not None and issubclass(etype, KeyboardInterrupt):
            self.check(False, "interrupted", str(exc))
        elif etype is not None and not issubclass(etype, SystemExit):
            self.check(False, "test program ran without an exception",
                       "".join(traceback.format_exception(etype, exc, tb)))
        if self.failed:
            for fn in self._on_fail:
                try:
                    self.note(fn())
                except Exception as e:
                    self.note("(on_fail helper failed: %s)" % e)
        stop_all()
        self._check_tsan()
        if skip is not None:
            if os.environ.get("CI") == "true":
                self.check(False, "prerequisites present (CI=true, so not skipping)", skip)
            else:
                print("SKIP: %s" % skip, flush=True)
                shutil.rmtree(self.workdir, ignore_errors=True)
                sys.exit(77)
        if self.passed + self.failed == 0:
            self.check(False, "at least one check ran")
        keep = self.failed or os.environ.get("PARAPET_TEST_KEEP") == "1"
        if keep:
            print("# work directory kept: %s" % self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        print("# %s: %.1f s" % (self.name, time.monotonic() - self.t0))
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        sys.exit(1 if self.failed else 0)
