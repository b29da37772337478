#!/usr/bin/env python3
"""callgraph.py - no call cycles between parapet's source files.

Builds a graph with one node per source file of the engine library, the
daemon and parapetctl, from nm(1) of their objects: an edge a -> b when a's
object refers to a symbol (function or data) that b's object defines.  A
strongly connected set of more than one file is a design bug (STYLE rule 1:
dependencies point one way), and the test fails naming the files and the
references that close each cycle.

With --layers it also prints the layer of each file (its folder under
milter/) and fails when a file calls into a folder of a higher layer, using
the order in LAYERS below.

Environment: PARAPET_BUILDDIR (set by make check; default build/ in the
checkout).  Ends with "N passed, N failed".
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("PARAPET_SRCDIR") or os.path.dirname(HERE)
BUILDDIR = os.environ.get("PARAPET_BUILDDIR") or os.path.join(SRCDIR, "build")

# lowest first: a file may call into its own layer or a lower one
LAYERS = ["base", "net", "mail", "rules", "core", "stages", "daemon", "admin"]


def objects(builddir):
    """objects - (source name, object path) of the engine and programs"""
    top = os.path.join(builddir, "milter")
    out = []
    for root, _dirs, files in os.walk(top):
        for f in sorted(files):
            if not f.endswith(".o"):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, top)
            # automake names per-target objects TARGET-SOURCE.o
            name = re.sub(r"^(.*/)?[A-Za-z0-9_]+-", r"\1", rel) if "-" in rel else rel
            out.append((name[:-2] + ".c", path))
    return out


def symbols(path):
    """symbols - (defined, undefined) global symbol names of one object"""
    res = subprocess.run(["nm", "-g", path], capture_output=True, text=True, check=True)
    defined, undefined = set(), set()
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRGSCVW":
            defined.add(parts[2])
    return defined, undefined


def libc_symbols():
    """libc_symbols - what the C library exports: a file that defines one
    of these interposes it (glue.c's sigwait), and a caller of the name
    calls libc, not that file"""
    for path in ("/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6"):
        if os.path.exists(path):
            res = subprocess.run(["nm", "-D", "--defined-only", path],
                                 capture_output=True, text=True, check=True)
            return {line.split()[-1].split("@")[0] for line in res.stdout.splitlines() if line}
    return set()


def sccs(nodes, edges):
    """sccs - strongly connected components (Tarjan, iterative)"""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def layer_of(name):
    """layer_of - the layer folder of a source file, or None (flat tree)"""
    first = name.split("/", 1)[0]
    return first if "/" in name and first in LAYERS else None


def main():
    passed = failed = 0
    objs = objects(BUILDDIR)
    if not objs:
        print("callgraph: no objects under %s/milter (build first)" % BUILDDIR)
        print("0 passed, 1 failed")
        return 1
    definer, undef = {}, {}
    libc = libc_symbols()
    for name, path in objs:
        d, u = symbols(path)
        undef[name] = u
        for s in d:
            definer.setdefault(s, name)
    edges, why = {}, {}
    for name, u in undef.items():
        for s in u:
            t = definer.get(s)
            if t and t != name and s not in libc:
                edges.setdefault(name, set()).add(t)
                why.setdefault((name, t), []).append(s)
    nodes = sorted(undef)
    cycles = [c for c in sccs(nodes, edges) if len(c) > 1]
    if cycles:
        for c in cycles:
            failed += 1
            print("FAIL - call cycle between %d files: %s" % (len(c), " ".join(c)))
            members = set(c)
            for a in c:
                for b in sorted(edges.get(a, ())):
                    if b in members:
                        print("    %s -> %s: %s" % (a, b, ", ".join(sorted(why[(a, b)])[:4])))
    else:
        passed += 1
        print("ok - no call cycles among %d source files (%d edges)"
              % (len(nodes), sum(len(v) for v in edges.values())))
    # layering: only meaningful once files sit in layer folders
    bad = []
    for a, targets in sorted(edges.items()):
        la = layer_of(a)
        for b in sorted(targets):
            lb = layer_of(b)
            if la and lb and LAYERS.index(lb) > LAYERS.index(la):
                bad.append("%s -> %s (%s)" % (a, b, ", ".join(sorted(why[(a, b)])[:3])))
    layered = [n for n in nodes if layer_of(n)]
    if layered:
        if bad:
            failed += 1
            print("FAIL - %d calls from a lower layer into a higher one:" % len(bad))
            for line in bad:
                print("    " + line)
        else:
            passed += 1
            print("ok - %d files in layer folders; every call points down or across"
                  % len(layered))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
