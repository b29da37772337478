#!/usr/bin/python3
"""run_vectors.py - the DKIM test vectors of tests/data/dkim through
`parapetctl scan --json`, with their key records served by a real DNS
server (tests/dnsserver.py through harness.DnsServer).

The expected result of each vector is derived from expected.tsv and the
README's "RFC 8301/legacy flags" column (see that README, "Read this
before using the expected column"): a modern verifier (RFC 6376 + RFC
8301) reports

    none      messages with no DKIM-Signature (unsigned, DomainKeys only)
    invalid   pre-RFC signatures (no v=, v=0.5), rsa-sha1, RSA keys under
              1024 bits, and everything upstream calls fail or invalid
    temperror a key lookup that times out or gets SERVFAIL
    valid     the clean vectors upstream calls pass

and parapet's symbols must say the same: DKIM_VALID, DKIM_INVALID,
DKIM_TEMPERROR, DKIM_NONE.  Every failure is printed; the program fails
when fewer vectors than FLOOR agree, or when an ed25519 check fails while
libopendkim says it supports ed25519.
"""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import BUILDDIR, SRCDIR, TESTDATA, DnsServer, TestRun  # noqa: E402

VEC = os.path.join(TESTDATA, "dkim")

# Vectors that agree, measured: all 97 of expected.tsv (mail-dkim 79,
# dkimpy 9, authentication_milter 9) with Debian 12's libopendkim
# 2.11.0~beta2, ed25519 included.  None is known to fail, so the floor is
# the whole set; every disagreement is printed with the symbol details.
FLOOR = 97


def load_pairs(path):
    """load_pairs - "<name> <TXT value>" lines (FAKE_DNS.dat layout) into
    zone entries: NXDOMAIN and absent names are left out, the timeout and
    SERVFAIL markers become the server's TIMEOUT / SERVFAIL."""
    zone = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split(None, 1)
            name, value = parts[0].rstrip("."), (parts[1].strip() if len(parts) > 1 else "")
            if value == "NXDOMAIN":
                continue
            if value == "~~Query timed out~~":
                zone[name] = ["TIMEOUT"]
            elif value == "~~SERVFAIL~~":
                zone[name] = ["SERVFAIL"]
            else:
                if value == '""':
                    value = ""
                zone.setdefault(name, []).append({"TXT": value})
    return zone


def load_bind_txt(path):
    """load_bind_txt - the TXT records of a BIND-style zone file; a record
    written as several quoted strings stays one record of several strings.
    ";ERROR,name,TXT,NXDOMAIN" lines are absent names."""
    zone = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith(";"):
                continue
            toks = line.split()
            if "TXT" not in toks:
                continue
            name = toks[0].rstrip(".")
            rest = line.split("TXT", 1)[1].strip().strip("()").strip()
            strings = re.findall(r'"((?:[^"\\]|\\.)*)"', rest)
            if not strings:
                strings = rest.split() if rest else [""]
            zone.setdefault(name, []).append({"TXT": strings if len(strings) > 1 else strings[0]})
    return zone


def readme_flags():
    """readme_flags - file -> the README table's RFC 8301/legacy flags."""
    flags = {}
    with open(os.path.join(VEC, "README.md"), encoding="utf-8") as f:
        for line in f:
            if not line.startswith("| ") or line.startswith("| file") or line.startswith("|---"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 8 and "/" in cells[0]:
                flags[cells[0]] = cells[6]
    return flags


def expectations():
    """expectations - [(file, want, why)] for every vector in expected.tsv."""
    flags = readme_flags()
    out = []
    with open(os.path.join(VEC, "expected.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            c = line.rstrip("\n").split("\t")
            path, sigs, upstream, note = c[0], c[2], c[4], c[6]
            fl = flags.get(path, "")
            if sigs == "-" or "DomainKeys-only" in fl:
                want, why = "none", "no DKIM-Signature"
            elif "temperror" in note:
                want, why = "temperror", note
            elif fl not in ("", "-"):
                want, why = "invalid", "legacy: " + fl
            elif upstream.startswith("pass"):
                want, why = "valid", upstream
            else:
                want, why = "invalid", upstream
            out.append((path, want, why))
    return out


def got_of(obj):
    """got_of - parapet's DKIM verdict from its symbols."""
    names = {s["name"]: (s.get("detail") or "") for s in obj.get("symbols", [])}
    if "DKIM_VALID" in names:
        return "valid", names
    if "DKIM_TEMPERROR" in names and "DKIM_INVALID" not in names:
        return "temperror", names
    if "DKIM_INVALID" in names:
        return "invalid", names
    if "DKIM_NONE" in names:
        return "none", names
    return "?", names


def main():
    with TestRun("dkim_vectors") as run:
        ctl = os.path.join(BUILDDIR, "milter", "parapetctl")
        if not os.path.isdir(VEC):
            run.skip("no test vectors at %s" % VEC)
        zone = {}
        for z in (load_pairs(os.path.join(VEC, "mail-dkim", "FAKE_DNS.dat")),
                  load_pairs(os.path.join(VEC, "dkimpy-dns.txt")),
                  load_bind_txt(os.path.join(VEC, "authentication_milter", "zonefile"))):
            for k, v in z.items():
                zone.setdefault(k.lower(), []).extend(v)
        dns = DnsServer(os.path.join(run.workdir, "dns"), zone).start()
        rules = os.path.join(run.workdir, "rules")
        os.makedirs(rules, exist_ok=True)
        conf = os.path.join(run.workdir, "parapet.conf")
        with open(conf, "w") as f:
            f.write("authserv_id = mx.vectors.test\nrules_dir = %s\n"
                    "dns_nameservers = %s\ndns_timeout_ms = 700\n" % (rules, dns.nameserver))
        with open(os.path.join(rules, "00-builtin.cf"), "w") as f:
            f.write(open(os.path.join(SRCDIR, "rules", "00-builtin.cf")).read())

        cases = expectations()
        files = [os.path.join(VEC, p) for p, _, _ in cases]
        proc = subprocess.run([ctl, "-c", conf, "scan", "--json", "--ip", "192.0.2.1"] + files,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
        run.check(proc.returncode in (0, 1), "parapetctl scan ran", proc.stderr.decode()[-2000:])
        results = {}
        for line in proc.stdout.decode("utf-8", "replace").splitlines():
            obj = json.loads(line)
            results[os.path.relpath(obj["file"], VEC)] = obj

        agree, by_src = 0, {}
        for path, want, why in cases:
            src = path.split("/")[0]
            obj = results.get(path)
            got, names = got_of(obj) if obj else ("missing", {})
            ok = got == want
            tot = by_src.setdefault(src, [0, 0])
            tot[0 if ok else 1] += 1
            if ok:
                agree += 1
            else:
                run.note("DISAGREE %s: want %s (%s), got %s %s" % (
                    path, want, why, got,
                    {k: v for k, v in names.items() if k.startswith("DKIM")}))
        for src, (a, d) in sorted(by_src.items()):
            run.note("%s: %d agree, %d disagree" % (src, a, d))
        run.note("all: %d of %d agree (floor %d)" % (agree, len(cases), FLOOR))
        run.check(agree >= FLOOR, "at least %d of %d vectors agree" % (FLOOR, len(cases)),
                  "%d agree" % agree)

        # RFC 8463 Appendix A.3: both signatures of the example message
        rfc = results.get("dkimpy/rfc6376.signed.msg", {})
        _, names = got_of(rfc) if rfc else ("", {})
        valid = names.get("DKIM_VALID", "")
        run.check("a=rsa-sha256" in valid, "RFC 8463 example: the rsa-sha256 signature verifies", valid)
        run.check("a=ed25519-sha256" in valid,
                  "RFC 8463 example: the ed25519-sha256 signature verifies (libopendkim ed25519)",
                  json.dumps(names))
        # the key record names parapet asked for went to our server
        asked = {n for n, t in dns.queries()}
        run.check("brisbane._domainkey.football.example.com" in asked,
                  "key lookups go to the configured DNS server", sorted(asked)[:20])
        # A-R carries one dkim= item per signature, d= and s= named
        ar = [e["value"] for e in rfc.get("headers", []) if e.get("name") == "Authentication-Results"]
        run.check(ar and "dkim=pass header.d=football.example.com header.s=brisbane" in ar[0]
                  and "dkim=pass header.d=football.example.com header.s=test" in ar[0],
                  "Authentication-Results names each signature", ar)


if __name__ == "__main__":
    main()
