#!/usr/bin/env python3
"""test_sa_agree.py - agreement with SpamAssassin itself as the oracle
(issue 14, item 3).

SpamAssassin 4 (Debian's spamassassin package, tests/sa_oracle.pl: one
long-lived Mail::SpamAssassin, local tests only, no Bayes, no AWL, no
network, Debian's plugin .pre files, no local.cf) and
`parapetctl scan --no-dns --json --subrules` run on the same corpus
messages (tests/data/corpus/{ham,spam}) with the same stock rule files (a
copy of /usr/share/spamassassin).  Compared:

  - per rule type (header, body, rawbody, full, uri, meta, eval; the type is
    SpamAssassin's, `sa_oracle.pl --list-rules`), over every rule both can
    run (SpamAssassin's list intersected with `parapetctl lint
    --list-rules`), the (message, rule) decisions, hit or not, that agree;
    the __ sub-rules count too (SpamAssassin's get_names_of_subtests_hit,
    parapet's scan --subrules), they are what metas are made of;
  - the verdict at threshold 5.  Both sides weigh their hits with score
    set 1 (network tests, no Bayes), the set parapet uses: SpamAssassin's
    side is its hits weighed with set 1 ("score1" of the oracle), parapet's
    is the total of its scan.  SpamAssassin's own local-only verdict (set 0)
    is printed beside it.  parapet's total includes its own stages'
    symbols; with --no-dns and no Redis only MIME_BROKEN, SCAN_TRUNCATED and
    HEADERS_TRUNCATED can add to it, and the stock files do not score them.

parapet refuses a rule set with an error.  Until it loads the stock set as
it is, the test loads what it can: lines lint reports as errors are
commented out in parapet's copy (SpamAssassin keeps the full set), again
until none is left; the number of lines so removed is printed and may not
grow (LOAD_CEILING).

Thresholds: FLOORS below are today's measurement; the test fails below
them.  Raising one is a one-line change; the issue's targets are 99% per
type and 98% same verdict.

  test_sa_agree.py [--step N] [--table]
    --step N   every N-th message of the sorted corpus (default 5 in CI:
               200 messages), 1: the whole corpus (scripts/bench/agree)
    --table    print the whole disagreement list, not the first 20

Exit 0 passed, 1 failed, 77 skipped (spamassassin not installed; a failure
when CI=true).  Ends with "N passed, N failed".
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILDDIR, SRCDIR, TESTDATA, TestRun  # noqa: E402

SA_RULES = "/usr/share/spamassassin"
SA_MODULE = "/usr/share/perl5/Mail/SpamAssassin.pm"
TYPES = ("header", "body", "rawbody", "full", "uri", "meta", "eval")
THRESHOLD = 5.0

# Floors: the level reached, measured with SpamAssassin 4.0.1 on the whole
# corpus (step 1, scripts/bench/agree) / the CI subset (step 5), the floor
# the lower of the two, rounded down; the test fails below them.  Last
# raised 2026-12-07 (session 29: check_freemail_replyto, EnvelopeFrom,
# SpamAssassin's header unfolding, quoted-printable blanks, the part scan
# sizes, rawbody in each part's charset, a body rule's final $ after the
# line break, and the replace_tag rules beyond PCRE2's size limit compiled
# with calls); eval and meta raised in session 30 (ImageInfo's evals).
# The targets are 99.0 per type and 98.0 for the verdict: all are
# met.
FLOORS = {
    "header": 99.995,   # 99.999 / 100.000 (592 of SA's 714 rules; 99.996 / 99.998 before)
    "body": 99.99,      # 99.997 / 99.995  (544 of 577; 99.993 / 99.985 before)
    "rawbody": 99.99,   # 99.996 / 100.000 (53 of 55; 99.974 / 99.991 before)
    "full": 100.0,      # 100.000 / 100.000 (4 of 4)
    "uri": 99.99,       # 99.994 / 100.000 (126 of 134)
    "meta": 99.995,     # 99.998 / 99.999  (835 of 868; 99.997 / 99.999 before)
    "eval": 99.99,      # 99.993 / 99.998  (203 of 222; 99.990 / 99.995 before)
    "verdict": 100.0,   # 100.00 / 100.00 same verdict at 5 (99.50 / 99.50 before)
}
# the target: spam caught within this many points of SpamAssassin's
SPAM_GAP = 2.0
# lines parapet reports as errors, removed from its copy of the stock files
# before it loads (15 on 2026-12-03 morning, 0 since the loader work); may
# not grow
LOAD_CEILING = 0

ERROR_RE = re.compile(r"^(.*?):(\d+): error: (.*)$")
UNSUPPORTED_RE = re.compile(r"^(.*?):(\d+): warning: (unsupported directive .*)$")
COUNT_RE = re.compile(r"(\d+) error\(s\), (\d+) warning\(s\)")


def run(cmd, **kw):
    """run - a command's CompletedProcess, text output"""
    return subprocess.run(cmd, capture_output=True, text=True, errors="replace", **kw)


def lint(ctl, conf):
    """lint - parapet's rules {name: type}, the error lines and their
    count, the lines of unsupported directives (skipped)"""
    p = run([ctl, "-c", conf, "lint", "--list-rules"])
    rules = {}
    for line in p.stdout.splitlines():
        name, _, typ = line.partition(" ")
        rules[name] = typ
    errors = [m.groups() for m in map(ERROR_RE.match, p.stderr.splitlines()) if m]
    unsupported = [m.groups() for m in map(UNSUPPORTED_RE.match, p.stderr.splitlines()) if m]
    m = COUNT_RE.search(p.stderr)
    return rules, errors, int(m.group(1)) if m else len(errors), unsupported


def blank_lines(lines_by_file, why):
    """blank_lines - replace lines of rule files by a comment ({file: {line}});
    replaced, not commented: a line too long stays too long"""
    for f, nums in lines_by_file.items():
        with open(f, encoding="latin-1") as fh:
            lines = fh.readlines()
        for n in nums:
            lines[n - 1] = "# test_sa_agree: %s\n" % why
        with open(f, "w", encoding="latin-1") as fh:
            fh.writelines(lines)


def write_conf(path, rules_dir):
    """write_conf - a parapet.conf naming only the rules directory"""
    with open(path, "w") as f:
        f.write("rules_dir = %s\n" % rules_dir)


def loadable(ctl, conf, note):
    """loadable - remove the lines parapet reports as errors until the set
    loads; (rules {name: type}, [(file, line, why)] removed).  lint prints
    at most 1,000 lines: while errors are hidden behind warnings, the lines
    of unsupported directives shown are blanked too (parapet skips them
    anyway, so its rule set does not change) to bring the errors up."""
    removed = []
    for _ in range(40):
        rules, errors, count, unsupported = lint(ctl, conf)
        if count == 0:
            return rules, removed
        bad = {}
        for f, n, why in errors:
            if int(n) not in bad.get(f, {}):
                bad.setdefault(f, {})[int(n)] = why
                removed.append((os.path.basename(f), int(n), why))
        blank_lines(bad, "removed, parapet reports an error")
        if len(errors) < count:
            skip = {}
            for f, n, _ in unsupported:
                skip.setdefault(f, set()).add(int(n))
            blank_lines(skip, "unsupported directive, skipped by parapet")
        elif not errors:
            break
        if not errors and not unsupported:
            break
    note("parapet still does not load the copy: %d error(s)" % count)
    return None, removed


def messages(step):
    """messages - every step-th file of the sorted corpus (ham then spam)"""
    out = []
    for kind in ("ham", "spam"):
        d = os.path.join(TESTDATA, "corpus", kind)
        files = sorted(os.listdir(d))
        out += [(kind, os.path.join(d, f)) for f in files]
    return out[::step]


def sa_scan(oracle, rules_dir, files):
    """sa_scan - the oracle's header and {file: result}"""
    p = run(["perl", oracle, "--rules", rules_dir] + files)
    if p.returncode != 0:
        raise RuntimeError("sa_oracle.pl failed: %s" % p.stderr[-2000:])
    lines = p.stdout.splitlines()
    header = json.loads(lines[0])
    res = {}
    for line in lines[1:]:
        r = json.loads(line)
        res[r["file"]] = r
    return header, res


def parapet_scan(ctl, conf, files):
    """parapet_scan - {file: result} of parapetctl scan --json --subrules"""
    p = run([ctl, "-c", conf, "scan", "--no-dns", "--json", "--subrules"] + files)
    if p.returncode != 0:
        raise RuntimeError("parapetctl scan failed: %s" % p.stderr[-2000:])
    res = {}
    for line in p.stdout.splitlines():
        r = json.loads(line)
        res[r["file"]] = r
    return res


def pct(a, b):
    """pct - a of b in percent (100 for nothing to compare)"""
    return 100.0 * a / b if b else 100.0


def compare(sa_rules, p_rules, msgs, sa, pp):
    """compare - per-type and per-rule counts, verdicts"""
    common = sorted(set(sa_rules) & set(p_rules))
    per_type = {t: {"rules": 0, "sa_rules": 0, "agree": 0, "total": 0, "sa_hits": 0,
                    "p_hits": 0, "both": 0} for t in TYPES}
    for name, typ in sa_rules.items():
        per_type.setdefault(typ, dict(per_type["eval"], sa_rules=0, rules=0))
        per_type[typ]["sa_rules"] += 1
    per_rule = {}
    verdict = {"same": 0, "n": 0, "sa_spam": 0, "p_spam": 0, "sa0_spam": 0, "ham": 0,
               "sa_ham": 0, "p_ham": 0, "sa0_ham": 0, "spam": 0}
    for kind, f in msgs:
        s, p = sa[f], pp[f]
        s_hit = set(s["hits"]) | set(s["subhits"])
        p_hit = {h["name"] for h in p["symbols"]} | set(p.get("subrules", []))
        for name in common:
            t = per_type[sa_rules[name]]
            a, b = name in s_hit, name in p_hit
            t["total"] += 1
            t["agree"] += a == b
            t["sa_hits"] += a
            t["p_hits"] += b
            t["both"] += a and b
            if a != b:
                r = per_rule.setdefault(name, [sa_rules[name], 0, 0])
                r[1 if a else 2] += 1
        sa_v, p_v, sa0_v = s["score1"] >= THRESHOLD, p["score"] >= THRESHOLD, s["score"] >= THRESHOLD
        verdict["n"] += 1
        verdict["same"] += sa_v == p_v
        verdict[kind] += 1
        if kind == "spam":
            verdict["sa_spam"] += sa_v
            verdict["p_spam"] += p_v
            verdict["sa0_spam"] += sa0_v
        else:
            verdict["sa_ham"] += sa_v
            verdict["p_ham"] += p_v
            verdict["sa0_ham"] += sa0_v
    for name in common:
        per_type[sa_rules[name]]["rules"] += 1
    return per_type, per_rule, verdict, common


def report(run_, per_type, per_rule, verdict, top):
    """report - the agreement table, the rules that disagree most, verdicts"""
    n = run_.note
    n("%-8s %6s %9s %17s %9s %9s %9s" % ("type", "rules", "SA rules", "agree/decisions",
                                          "%", "SA hits", "pp hits"))
    for t, r in per_type.items():
        if r["sa_rules"] == 0:
            continue
        n("%-8s %6d %9d %8d/%-8d %9.3f %9d %9d" % (t, r["rules"], r["sa_rules"], r["agree"],
                                                   r["total"], pct(r["agree"], r["total"]),
                                                   r["sa_hits"], r["p_hits"]))
    worst = sorted(per_rule.items(), key=lambda kv: (-(kv[1][1] + kv[1][2]), kv[0]))
    n("rules that disagree most (%d disagree in all): SA-only / parapet-only hits"
      % len(worst))
    for name, (typ, a, b) in worst[:top]:
        n("  %-32s %-8s %5d %5d" % (name, typ, a, b))
    v = verdict
    n("same verdict at %.0f: %d/%d = %.2f%%" % (THRESHOLD, v["same"], v["n"],
                                                 pct(v["same"], v["n"])))
    n("spam caught: SA (set 1) %d/%d = %.1f%%, parapet %d/%d = %.1f%%, SA local-only (set 0) %.1f%%"
      % (v["sa_spam"], v["spam"], pct(v["sa_spam"], v["spam"]), v["p_spam"], v["spam"],
         pct(v["p_spam"], v["spam"]), pct(v["sa0_spam"], v["spam"])))
    n("ham flagged: SA (set 1) %d/%d = %.1f%%, parapet %d/%d = %.1f%%, SA local-only (set 0) %.1f%%"
      % (v["sa_ham"], v["ham"], pct(v["sa_ham"], v["ham"]), v["p_ham"], v["ham"],
         pct(v["p_ham"], v["ham"]), pct(v["sa0_ham"], v["ham"])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--step", type=int, default=int(os.environ.get("PARAPET_AGREE_STEP", "5")))
    ap.add_argument("--table", action="store_true")
    args = ap.parse_args()
    with TestRun("test_sa_agree") as tr:
        if not os.path.exists(SA_MODULE) or not os.path.isdir(SA_RULES) or \
                run(["perl", "-MMail::SpamAssassin", "-e", "1"]).returncode != 0:
            tr.skip("SpamAssassin is not installed (Debian package spamassassin, scripts/deps.sh)")
        ctl = os.path.join(BUILDDIR, "milter", "parapetctl")
        oracle = os.path.join(SRCDIR, "tests", "sa_oracle.pl")
        sa_dir = os.path.join(tr.workdir, "sa-rules")
        p_dir = os.path.join(tr.workdir, "parapet-rules")
        shutil.copytree(SA_RULES, sa_dir)
        shutil.copytree(SA_RULES, p_dir)
        conf = os.path.join(tr.workdir, "parapet.conf")
        write_conf(conf, p_dir)

        with tr.section("load the stock rules"):
            p_rules, removed = loadable(ctl, conf, tr.note)
            tr.note("lines commented out of parapet's copy so that it loads: %d" % len(removed))
            for f, line, why in removed[:40]:
                tr.note("  %s:%d: %s" % (f, line, why))
            tr.check(p_rules is not None, "parapet loads the stock set (lines removed where needed)")
            tr.check(len(removed) <= LOAD_CEILING, "lines removed %d <= %d"
                     % (len(removed), LOAD_CEILING))
        if p_rules is None:
            return
        sa_list = run(["perl", oracle, "--rules", sa_dir, "--list-rules"])
        sa_rules = dict(line.split(" ", 1) for line in sa_list.stdout.splitlines())
        tr.check(sa_list.returncode == 0 and len(sa_rules) > 1000,
                 "SpamAssassin lists the rules it runs (%d)" % len(sa_rules), sa_list.stderr[-2000:])
        tr.note("rules: SpamAssassin runs %d, parapet %d, both %d"
                % (len(sa_rules), len(p_rules), len(set(sa_rules) & set(p_rules))))

        msgs = messages(max(1, args.step))
        files = [f for _, f in msgs]
        with tr.section("SpamAssassin on %d messages" % len(files)):
            t = time.monotonic()
            header, sa = sa_scan(oracle, sa_dir, files)
            tr.note("oracle: %s" % json.dumps({k: v for k, v in header.items() if k != "plugins"}))
            tr.note("SpamAssassin: %.1f s, check() median %d us" % (
                time.monotonic() - t, sorted(r["check_us"] for r in sa.values())[len(sa) // 2]))
        with tr.section("parapet on %d messages" % len(files)):
            t = time.monotonic()
            pp = parapet_scan(ctl, conf, files)
            tr.note("parapet: %.1f s" % (time.monotonic() - t))
        tr.check(set(sa) == set(files) and set(pp) == set(files),
                 "both scanned every message", "SA %d parapet %d of %d" % (len(sa), len(pp), len(files)))

        per_type, per_rule, verdict, common = compare(sa_rules, p_rules, msgs, sa, pp)
        report(tr, per_type, per_rule, verdict, len(per_rule) if args.table else 20)
        for t in TYPES:
            r = per_type[t]
            got = pct(r["agree"], r["total"])
            tr.check(got >= FLOORS[t], "%s: %.3f%% of decisions agree >= floor %.3f%%"
                     % (t, got, FLOORS[t]))
        got = pct(verdict["same"], verdict["n"])
        tr.check(got >= FLOORS["verdict"], "same verdict %.2f%% >= floor %.2f%%"
                 % (got, FLOORS["verdict"]))
        # the third target: spam caught at 5 within 2 points of
        # SpamAssassin's (set 1) on the same messages
        gap = abs(pct(verdict["p_spam"], verdict["spam"]) - pct(verdict["sa_spam"], verdict["spam"]))
        tr.check(gap <= SPAM_GAP, "spam caught at 5 within %.1f points of SpamAssassin's (%.1f)"
                 % (SPAM_GAP, gap))


if __name__ == "__main__":
    main()
