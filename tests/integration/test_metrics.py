#!/usr/bin/env python3
"""test_metrics.py - /metrics (issue 7, part 1) scraped during a real
Postfix stream.

parapet runs with metrics_listen on a free loopback port behind a private
Postfix.  A stream of messages with known outcomes (ham, tagged, rejected,
plus some from trusted_networks that are not scanned) goes through while
/metrics is scraped; afterwards the counters must add up exactly to what
the SMTP client saw:

  1. parapet_messages_total by action equals the replies (250 / 550), and
     the scanned="no" accepts equal the trusted messages
  2. parapet_symbol_hits_total per rule equals the messages carrying it
  3. parapet_scan_seconds_count equals the scanned messages; every stage
     has a parapet_stage_seconds histogram with that count; buckets are
     cumulative and end at +Inf == count
  4. parapet_milter_connections goes back to 0 when the stream is over,
     and was above 0 during it
  5. a reload raises parapet_ruleset_generation and sets
     parapet_last_reload_success 1; a broken rule file sets it to 0 and
     keeps the generation
  6. only GET /metrics is served: 404 elsewhere, 405 for POST

Ends with "N passed, N failed".
"""

import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Parapet, Postfix, Sink, TestRun, free_port,  # noqa: E402
                     make_message, send_many, wait_until)

RULES = """\
body     T_HAMMARK   /XHAMX/
score    T_HAMMARK   0.5
body     T_TAGMARK   /XTAGX/
score    T_TAGMARK   6
body     T_REJMARK   /XREJECTX/
score    T_REJMARK   20
header   T_SUBJ      Subject =~ /metrics/
score    T_SUBJ      0.1
"""

KINDS = {"ham": "XHAMX", "tag": "XTAGX", "reject": "XREJECTX"}
PER_KIND = 40
TRUSTED = 10

SAMPLE_RE = re.compile(r'^([a-z_]+)(?:\{([^}]*)\})? (\S+)$')


def scrape(port):
    """scrape - {(name, frozenset(labels)): value} from /metrics."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        ctype = r.headers.get("Content-Type", "")
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise ValueError("bad exposition line: %r" % line)
        labels = frozenset()
        if m.group(2):
            labels = frozenset(tuple(kv.split("=", 1)) for kv in
                               re.findall(r'[a-z_]+="[^"]*"', m.group(2)))
            labels = frozenset((k, v.strip('"')) for k, v in labels)
        out[(m.group(1), labels)] = float(m.group(3))
    return out, ctype, text


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def http_status(url, method="GET"):
    req = urllib.request.Request(url, method=method, data=b"x" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def main():
    with TestRun("test_metrics") as run:
        run.require_root_and_postfix()
        wd = run.workdir
        mport = free_port()
        sink = Sink().start()
        parapet = Parapet(os.path.join(wd, "parapet"), {
            "metrics_listen": "127.0.0.1:%d" % mport,
            "trusted_networks": "198.51.100.0/24",
        }, RULES)
        parapet.start()
        pf = Postfix(os.path.join(wd, "postfix"), sink.port, milter=parapet.socket_spec)
        pf.start()
        run.on_fail(lambda: "parapet log (tail):\n" + parapet.log()[-4000:])

        with run.section("0. endpoint before any mail"):
            s, ctype, _ = scrape(mport)
            run.check(ctype.startswith("text/plain; version=0.0.4"),
                      "Content-Type is the Prometheus text format", ctype)
            run.check(value(s, "parapet_ruleset_generation") >= 1,
                      "parapet_ruleset_generation is set at start")
            run.check(value(s, "parapet_last_reload_success") == 1,
                      "parapet_last_reload_success is 1 after a good start")
            total = sum(v for (n, _l), v in s.items() if n == "parapet_messages_total")
            run.check(total == 0, "no messages counted yet", str(total))

        jobs, kinds = [], []
        for kind, marker in KINDS.items():
            for i in range(PER_KIND):
                tid = "metrics-%s-%d" % (kind, i)
                jobs.append(dict(mail_from="alice@sender.test", rcpts=["bob@rcpt.test"],
                                 data_bytes=make_message(tid, subject="metrics %s" % kind,
                                                         body="%s body\n" % marker),
                                 xclient_addr="192.0.2.%d" % (1 + i % 200)))
                kinds.append(kind)
        for i in range(TRUSTED):
            tid = "metrics-trusted-%d" % i
            jobs.append(dict(mail_from="alice@sender.test", rcpts=["bob@rcpt.test"],
                             data_bytes=make_message(tid, body="XREJECTX but trusted\n"),
                             xclient_addr="198.51.100.%d" % (1 + i)))
            kinds.append("trusted")

        with run.section("1-4. counters add up after a stream of %d messages" % len(jobs)):
            during = []
            stop = threading.Event()

            def scraper():
                while not stop.is_set():
                    try:
                        during.append(value(scrape(mport)[0], "parapet_milter_connections"))
                    except Exception as e:      # counted below
                        during.append(("error", str(e)))
                    time.sleep(0.05)
            t = threading.Thread(target=scraper, daemon=True)
            t.start()
            outcomes = send_many(pf.port, jobs, concurrency=8)
            stop.set()
            t.join(5)
            codes = {}
            for o, kind in zip(outcomes, kinds):
                codes.setdefault(kind, []).append(o.final.code if o.final else None)
            run.check(all(c == 250 for c in codes["ham"] + codes["tag"] + codes["trusted"])
                      and all(c == 550 for c in codes["reject"]),
                      "SMTP replies: ham/tag/trusted 250, reject 550", repr(codes))
            errors = [d for d in during if isinstance(d, tuple)]
            run.check(not errors and len(during) > 0,
                      "scraping during the stream works (%d scrapes)" % len(during),
                      repr(errors[:3]))
            run.check(any(d > 0 for d in during if not isinstance(d, tuple)),
                      "parapet_milter_connections was above 0 during the stream",
                      repr(during[:20]))
            # Postfix closes milter connections when its smtpd processes end
            # or go idle; wait for them to close
            s = None

            def settled():
                nonlocal s
                s = scrape(mport)[0]
                return value(s, "parapet_milter_connections") == 0
            run.check(wait_until(settled, 60),
                      "parapet_milter_connections back to 0 after the stream",
                      str(value(s, "parapet_milter_connections")))
            s = scrape(mport)[0]
            got_accept = value(s, "parapet_messages_total", action="accept", scanned="yes")
            got_reject = value(s, "parapet_messages_total", action="reject", scanned="yes")
            got_skip = value(s, "parapet_messages_total", action="accept", scanned="no")
            run.check(got_accept == 2 * PER_KIND,
                      "accepted scanned = %d" % (2 * PER_KIND), str(got_accept))
            run.check(got_reject == PER_KIND, "rejected = %d" % PER_KIND, str(got_reject))
            # trusted messages are seen to their end (their forged fields
            # are removed) but not scanned: counted as scanned="no"
            run.check(got_skip == TRUSTED, "the %d trusted messages are counted as accepted "
                      "unscanned (scanned=\"no\")" % TRUSTED, str(got_skip))
            total = sum(v for (n, _l), v in s.items() if n == "parapet_messages_total")
            run.check(total == 3 * PER_KIND + TRUSTED,
                      "sum of parapet_messages_total = messages seen (%d)"
                      % (3 * PER_KIND + TRUSTED), str(total))
            for sym, want in (("T_HAMMARK", PER_KIND), ("T_TAGMARK", PER_KIND),
                              ("T_REJMARK", PER_KIND), ("T_SUBJ", 3 * PER_KIND)):
                got = value(s, "parapet_symbol_hits_total", symbol=sym)
                run.check(got == want, "symbol %s counted %d times" % (sym, want), str(got))
            cnt = value(s, "parapet_scan_seconds_count")
            run.check(cnt == 3 * PER_KIND, "parapet_scan_seconds_count = %d" % (3 * PER_KIND),
                      str(cnt))
            inf = value(s, "parapet_scan_seconds_bucket", le="+Inf")
            run.check(inf == cnt, "scan histogram +Inf bucket = count", "%s %s" % (inf, cnt))
            buckets = sorted(((float(dict(l)["le"]), v) for (n, l), v in s.items()
                              if n == "parapet_scan_seconds_bucket"
                              and dict(l)["le"] != "+Inf"))
            run.check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
                      "scan histogram buckets are cumulative", repr(buckets))
            stages = {dict(l)["stage"] for (n, l), v in s.items()
                      if n == "parapet_stage_seconds_count"}
            run.check("rules" in stages and "structure" in stages,
                      "per-stage histograms exist (%s)" % ",".join(sorted(stages)))
            bad = {st: value(s, "parapet_stage_seconds_count", stage=st) for st in stages
                   if value(s, "parapet_stage_seconds_count", stage=st) != cnt}
            run.check(not bad, "every stage histogram counts every scanned message", repr(bad))
            wait_until(lambda: len(sink.messages()) >= 2 * PER_KIND + TRUSTED, 60)
            run.check(len(sink.messages()) == 2 * PER_KIND + TRUSTED,
                      "sink got %d messages" % (2 * PER_KIND + TRUSTED),
                      str(len(sink.messages())))

        with run.section("5. reload generation and status"):
            g0 = value(scrape(mport)[0], "parapet_ruleset_generation")
            parapet.signal(signal.SIGUSR1)
            ok = wait_until(lambda: value(scrape(mport)[0], "parapet_ruleset_generation") > g0, 10)
            s = scrape(mport)[0]
            run.check(ok and value(s, "parapet_last_reload_success") == 1,
                      "a good reload raises the generation and reports success",
                      "gen %s -> %s" % (g0, value(s, "parapet_ruleset_generation")))
            g1 = value(s, "parapet_ruleset_generation")
            parapet.write_rules("body BROKEN /unclosed(/\n", name="60-broken.cf")
            parapet.signal(signal.SIGUSR1)
            ok = wait_until(lambda: value(scrape(mport)[0], "parapet_last_reload_success") == 0, 10)
            s = scrape(mport)[0]
            run.check(ok, "a failed reload sets parapet_last_reload_success 0")
            run.check(value(s, "parapet_ruleset_generation") == g1,
                      "a failed reload keeps the generation")
            run.check(value(s, "parapet_reloads_total", result="failed") == 1,
                      "parapet_reloads_total{result=failed} is 1")

        with run.section("6. only GET /metrics"):
            base = "http://127.0.0.1:%d" % mport
            run.check(http_status(base + "/") == 404, "GET / is 404")
            run.check(http_status(base + "/metrics", "POST") == 405, "POST /metrics is 405")


if __name__ == "__main__":
    main()
