#!/usr/bin/env python3
"""test_sentinel.py - parapet follows a Redis Sentinel failover (SPEC §3 redis_sentinels).

A master, one replica and three sentinels (quorum 2, down-after 1 s), all
Debian's redis-server / redis-sentinel on their own loopback ports in
private directories; parapet configured with redis_sentinels and
redis_master_name only (it never sees a server address).  Postfix streams
mail over 10 sessions; the master is SIGKILLed in the middle.

  - every message sent gets 250 and is delivered exactly once (none lost);
  - the sentinels promote the replica; parapet's writes land on it: its
    log stream and rep: counts grow after the promotion;
  - REDIS_UNAVAILABLE only on messages during the failover;
  - the old master, restarted (as a master, until the sentinels demote
    it), is never written to;
  - reported: time from the kill to the new master, and to parapet's first
    write there; messages that went without Redis.

Exit 0 all passed, 1 any failure, 77 skip.  Ends with "N passed, N failed".
"""

import os
import re
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Parapet, Postfix, Redis, RedisError, Sentinel, Sink,  # noqa: E402
                     TestRun, make_message, send_many, wait_until)

RULES = "body T_HAM /XHAMX/\nscore T_HAM 0.1\n"
PREFIX = "parapet:"
RCPT = "bob@rcpt.test"


def xlen(r):
    try:
        return r.call("XLEN", PREFIX + "log", timeout=2)
    except (OSError, ConnectionError, RedisError):
        return None


def main():
    with TestRun("test_sentinel") as run:
        run.require_root_and_postfix()
        wd = run.workdir
        master = Redis(os.path.join(wd, "master")).start()
        replica = Redis(os.path.join(wd, "replica"), replicaof=master.port).start()
        run.check(wait_until(lambda: replica.info("replication").get("master_link_status")
                             == "up", 20), "replica in sync with the master")
        sentinels = [Sentinel(os.path.join(wd, "sentinel%d" % i), master.port).start()
                     for i in range(3)]

        def sentinels_ready():
            try:
                return all(len(s_.call_sentinels()) >= 2 and s_.replicas() for s_ in sentinels)
            except Exception:
                return False
        for s in sentinels:
            s.call_sentinels = (lambda s=s: __import__("harness").resp_call(
                s.port, "SENTINEL", "sentinels", "mymaster"))
            s.replicas = (lambda s=s: __import__("harness").resp_call(
                s.port, "SENTINEL", "replicas", "mymaster"))
        run.check(wait_until(sentinels_ready, 30, 0.2),
                  "three sentinels know each other and the replica")

        sink = Sink().start()
        parapet = Parapet(os.path.join(wd, "parapet"), {
            "redis_sentinels": ",".join("127.0.0.1:%d" % s.port for s in sentinels),
            "redis_master_name": "mymaster",
            "redis_timeout_ms": "100",
            "greylist": "no",
        }, RULES)
        parapet.start()
        pf = Postfix(os.path.join(wd, "postfix"), sink.port, milter=parapet.socket_spec).start()
        run.on_fail(lambda: "parapet log (tail):\n" + parapet.log()[-4000:])
        run.on_fail(lambda: "sentinel log (tail):\n" + sentinels[0].log()[-3000:])

        n = 8000
        jobs = [dict(mail_from="s%d@sentinel.test" % (i % 5), rcpts=[RCPT],
                     xclient_addr="198.51.100.%d" % (1 + i % 200),
                     data_bytes=make_message("sent-%d" % i, body="Message %d. XHAMX\n" % i))
                for i in range(n)]
        done = [0]
        lock = threading.Lock()
        stop = threading.Event()
        ev = {}

        def on_done(o):
            with lock:
                done[0] += 1

        def conductor():
            wait_until(lambda: done[0] >= 300, 120)
            ev["xlen_before"] = xlen(replica)
            ev["kill"] = time.monotonic()
            ev["done_at_kill"] = done[0]
            master.kill()
            base = None
            while time.monotonic() - ev["kill"] < 60:
                if "promoted" not in ev:
                    try:
                        if sentinels[0].master_addr() == ("127.0.0.1", replica.port):
                            ev["promoted"] = time.monotonic()
                            base = xlen(replica)
                    except Exception:
                        pass
                elif "first_write" not in ev:
                    x = xlen(replica)
                    if x is not None and base is not None and x > base:
                        ev["first_write"] = time.monotonic()
                        ev["done_at_write"] = done[0]
                else:
                    break
                time.sleep(0.02)
            # 500 more messages on the new master, then stop the stream
            if "first_write" in ev:
                wait_until(lambda: done[0] >= ev["done_at_write"] + 500, 60)
            stop.set()

        t = threading.Thread(target=conductor, daemon=True)
        t.start()
        mark = parapet.log_size()
        outs = send_many(pf.port, jobs, concurrency=10, on_done=on_done, stop_event=stop)
        t.join(90)
        sent = [o for o in outs if o.attempts]
        ids = ["sent-%d" % o.index for o in sent]
        codes = {}
        for o in sent:
            codes[o.final.code] = codes.get(o.final.code, 0) + 1
        kill = ev.get("kill", 0)
        promoted = ev.get("promoted", 0) - kill if "promoted" in ev else None
        first = ev.get("first_write", 0) - kill if "first_write" in ev else None
        run.note("%d messages sent: %r; killed the master after %d; new master after %s s; "
                 "parapet's first write there after %s s" % (
                     len(sent), codes, ev.get("done_at_kill", -1),
                     "%.2f" % promoted if promoted is not None else "never",
                     "%.2f" % first if first is not None else "never"))
        run.check(promoted is not None, "the sentinels promoted the replica")
        run.check(first is not None, "parapet wrote to the new master")
        run.check(codes == {250: len(sent)} and len(sent) >= 800,
                  "every message sent got 250 (%d)" % len(sent), repr(codes))
        run.check(wait_until(lambda: all(sink.by_id(i) for i in ids), 60),
                  "every message delivered")
        counts = sink.id_counts()
        run.check(all(counts.get(i) == 1 for i in ids), "each exactly once")

        log = parapet.log(mark)
        lines = re.findall(r"qid=\S+ .* symbols=(\S*) ms=", log)
        unav = sum(1 for s in lines if "REDIS_UNAVAILABLE" in s.split(","))
        run.note("%d of %d messages went without Redis (REDIS_UNAVAILABLE) during the failover"
                 % (unav, len(lines)))
        run.check(len(lines) == len(sent) and 0 < unav < len(sent) - 500,
                  "REDIS_UNAVAILABLE only around the failover (%d)" % unav)
        after = xlen(replica)
        run.check(after is not None and ev.get("xlen_before") is not None and
                  after - ev["xlen_before"] >= 500,
                  "the promoted replica's log stream grew by >= 500 entries",
                  "before %r after %r" % (ev.get("xlen_before"), after))
        role = replica.call("ROLE")
        run.check(role and role[0] == "master", "the replica is now master (ROLE)", repr(role))
        h = replica.call("HGETALL", PREFIX + "rep:mfrom:sentinel.test")
        hd = dict(zip(h[0::2], h[1::2])) if h else {}
        run.check(hd and float(hd["ham"]) >= 500, "rep: counts grow on the new master",
                  repr(hd))

        # the old master comes back empty and as a master; parapet keeps
        # writing where the sentinels say, never there
        master.start()
        more = [dict(j, data_bytes=make_message("late-%d" % i, body="Late. XHAMX\n"))
                for i, j in enumerate(jobs[:100])]
        outs = send_many(pf.port, more, concurrency=5)
        run.check(all(o.final.code == 250 for o in outs), "100 more messages: 250")
        # a replica receives effects (HSET, XADD), never EVALSHA or HMGET: any
        # of those on the old master came from parapet
        cs = {k: v for k, v in master.info("commandstats").items()
              if k in ("cmdstat_evalsha", "cmdstat_hmget")}
        run.check(not cs, "the restarted old master got no command of parapet's", repr(cs))
        run.check(parapet.stop(timeout=30) == 0, "parapet exits 0")
        run.figures = (promoted, first, unav, len(sent))


if __name__ == "__main__":
    main()
