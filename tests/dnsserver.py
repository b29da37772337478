#!/usr/bin/python3
"""dnsserver.py - an authoritative DNS server for the tests (dnslib).

Serves the records of a zone file on 127.0.0.1 (UDP and TCP) so SPF, DKIM
and DMARC go through parapet's real resolver path against a real server.

    dnsserver.py --port PORT --zone ZONE.json [--pidfile F] [--log F]

ZONE.json maps a name (case-insensitive, no trailing dot, "*." wildcard as
the leftmost label allowed) to a list of records, in the RFC 7208 test
suite's vocabulary:

    {"example.com": [{"TXT": "v=spf1 -all"}, {"A": "192.0.2.1"},
                     {"MX": [10, "mx.example.com"]}, {"AAAA": "::1"},
                     {"PTR": "host.example.com"}, {"CNAME": "other.example"},
                     {"SPF": "v=spf1 ..."}],
     "slow.example": ["TIMEOUT"],        # every query: no answer at all
     "half.example": [{"TXT": "v=spf1 -all"}, "TIMEOUT"],
                                         # TXT answers, other types time out
     "broken.example": ["SERVFAIL"]}     # every query: SERVFAIL

A TXT or SPF value may be a list of strings (one record, several
character-strings); a string longer than 255 bytes is split.  An SPF
record is also served as TXT for a name that has no TXT of its own
(the suite's convention, see tests/data/spf/README.md) unless
the zone file says {"_options": {"spf_as_txt": false}}.  With
{"_options": {"soa": ["bl.example", ...]}} a negative answer (NXDOMAIN or
no data) for a name below one of those apexes carries the apex's SOA
(minimum TTL 60), so resolvers cache it as real zones let them.  A name with no
records of the asked type gets NOERROR with an empty answer; an unknown
name gets NXDOMAIN.  CNAMEs are followed inside the zone.

SIGHUP re-reads the zone file.  Every query is appended to --log as
"NAME TYPE" (tests check what was asked).  Ready when the pidfile exists.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time

from dnslib import AAAA, CNAME, MX, PTR, QTYPE, RCODE, RR, SOA, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSServer

TTL = 60


class Zone:
    """Zone - the records of one zone file."""

    def __init__(self, path):
        self.path = path
        self.load()

    def load(self):
        with open(self.path, encoding="utf-8") as f:
            data = json.load(f)
        opts = data.pop("_options", {})
        spf_as_txt = opts.get("spf_as_txt", True)
        self.soa = [a.lower().rstrip(".") for a in opts.get("soa", [])]
        names = {}
        for name, recs in data.items():
            names[name.lower().rstrip(".")] = list(recs)
        if spf_as_txt:
            for recs in names.values():
                has_txt = any(isinstance(r, dict) and "TXT" in r for r in recs)
                if not has_txt:
                    recs.extend({"TXT": r["SPF"]} for r in list(recs)
                                if isinstance(r, dict) and "SPF" in r)
        self.names = names

    def lookup(self, name):
        """lookup - records for name (exact, then wildcard), or None."""
        name = name.lower().rstrip(".")
        if name in self.names:
            return self.names[name]
        labels = name.split(".")
        for i in range(1, len(labels)):
            wild = "*." + ".".join(labels[i:])
            if wild in self.names:
                return self.names[wild]
        return None


def txt_strings(value):
    """txt_strings - a TXT value as a list of <= 255-byte strings."""
    parts = value if isinstance(value, list) else [value]
    out = []
    for p in parts:
        b = p.encode("latin-1") if isinstance(p, str) else bytes(p)
        if not b:
            out.append(b)
        while b:
            out.append(b[:255])
            b = b[255:]
    return out


def make_rr(qname, kind, value):
    if kind == "A":
        return RR(qname, QTYPE.A, rdata=A(value), ttl=TTL)
    if kind == "AAAA":
        return RR(qname, QTYPE.AAAA, rdata=AAAA(value), ttl=TTL)
    if kind == "MX":
        return RR(qname, QTYPE.MX, rdata=MX(value[1], value[0]), ttl=TTL)
    if kind == "PTR":
        return RR(qname, QTYPE.PTR, rdata=PTR(value), ttl=TTL)
    if kind == "CNAME":
        return RR(qname, QTYPE.CNAME, rdata=CNAME(value), ttl=TTL)
    if kind in ("TXT", "SPF"):
        return RR(qname, getattr(QTYPE, kind), rdata=TXT(txt_strings(value)), ttl=TTL)
    raise ValueError("unknown record type %s" % kind)


def add_soa(zone, reply, qname):
    """add_soa - the SOA of qname's apex in a negative answer, if listed."""
    name = qname.lower().rstrip(".")
    for apex in zone.soa:
        if name == apex or name.endswith("." + apex):
            reply.add_auth(RR(apex, QTYPE.SOA, ttl=TTL,
                              rdata=SOA("ns." + apex, "hostmaster." + apex,
                                        (1, 3600, 600, 86400, TTL))))
            return


class Timeout(Exception):
    pass


class ZoneResolver(BaseResolver):
    def __init__(self, zone, log):
        self.zone = zone
        self.log = log
        self.lock = threading.Lock()

    def resolve(self, request, handler):
        q = request.q
        qname = str(q.qname)
        qtype = QTYPE.get(q.qtype)
        if self.log:
            with self.lock:
                with open(self.log, "a", encoding="utf-8") as f:
                    f.write("%s %s\n" % (qname.rstrip("."), qtype))
        reply = request.reply()
        reply.header.aa = 1
        name = qname
        for _ in range(8):                  # CNAME chain, bounded
            recs = self.zone.lookup(name)
            if recs is None:
                if name == qname:
                    reply.header.rcode = RCODE.NXDOMAIN
                    add_soa(self.zone, reply, qname)
                return reply
            # the suite's driver: TIMEOUT hits the types the name has no
            # records of ("TXT": "NONE" is no record, and stops SPF->TXT)
            if "TIMEOUT" in recs and not any(
                    isinstance(r, dict) and qtype in r and r[qtype] != "NONE" for r in recs):
                raise Timeout()
            if "SERVFAIL" in recs:
                reply.header.rcode = RCODE.SERVFAIL
                return reply
            cname = [r for r in recs if isinstance(r, dict) and "CNAME" in r]
            if cname and qtype != "CNAME":
                reply.add_answer(make_rr(name, "CNAME", cname[0]["CNAME"]))
                name = cname[0]["CNAME"]
                continue
            for r in recs:
                if isinstance(r, dict):
                    for kind, value in r.items():
                        if (kind == qtype or qtype == "ANY") and value != "NONE":
                            reply.add_answer(make_rr(name, kind, value))
            if not reply.rr:
                add_soa(self.zone, reply, qname)
            return reply
        return reply


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--pidfile")
    ap.add_argument("--log")
    args = ap.parse_args()

    zone = Zone(args.zone)
    resolver = ZoneResolver(zone, args.log)

    from dnslib.server import DNSHandler

    class Handler(DNSHandler):
        def get_reply(self, data):
            try:
                return super().get_reply(data)
            except Timeout:
                return None

        def handle(self):
            # dnslib's handler sends whatever get_reply returns; a TIMEOUT
            # name must produce silence, so intercept before sending
            if self.server.socket_type == 2:        # SOCK_DGRAM
                self.protocol = "udp"
                data, connection = self.request
                try:
                    reply = self.get_reply(data)
                except Exception as e:              # malformed query
                    print("dnsserver: %s" % e, file=sys.stderr)
                    return
                if reply is not None:
                    connection.sendto(reply, self.client_address)
            else:
                self.protocol = "tcp"
                try:
                    raw = self.request.recv(8192)
                    if len(raw) < 2:
                        return
                    length = int.from_bytes(raw[:2], "big")
                    while len(raw) - 2 < length:
                        more = self.request.recv(8192)
                        if not more:
                            return
                        raw += more
                    reply = self.get_reply(raw[2:])
                    if reply is not None:
                        self.request.sendall(len(reply).to_bytes(2, "big") + reply)
                except Exception:
                    return

    class QuietLogger:
        def __getattr__(self, name):
            return lambda *a, **k: None

    servers = [
        DNSServer(resolver, address="127.0.0.1", port=args.port, handler=Handler,
                  logger=QuietLogger()),
        DNSServer(resolver, address="127.0.0.1", port=args.port, tcp=True,
                  handler=Handler, logger=QuietLogger()),
    ]
    for s in servers:
        s.start_thread()

    def reload(_sig, _frm):
        try:
            zone.load()
        except Exception as e:                  # keep the old data
            print("dnsserver: reload failed: %s" % e, file=sys.stderr)

    stop = threading.Event()
    signal.signal(signal.SIGHUP, reload)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.pidfile:
        tmp = args.pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, args.pidfile)
    while not stop.is_set():
        stop.wait(0.5)
    for s in servers:
        s.stop()


if __name__ == "__main__":
    main()
