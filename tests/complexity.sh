#!/bin/sh
# complexity.sh - tests/unit/test_complexity with its exact measure:
# instructions counted by callgrind, so a growth past LIMIT (6x for 4x the
# input) fails whatever the load, the caches or the timer.  Run natively,
# the same program can only time its scans and so checks a looser limit
# (see test_complexity.c).  Valgrind cannot run a sanitized program: in an
# ASan or TSan build this test is skipped (exit 77) and the native run of
# test_complexity is what checks those builds.
set -u
src=${PARAPET_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
bld=${PARAPET_BUILDDIR:-$src/build}
prog=$bld/tests/unit/test_complexity

case $("$bld/config.status" --config) in
*--enable-sanitizers* | *--enable-tsan*)
	echo "skipped: a sanitized build cannot run under valgrind"
	echo "0 passed, 0 failed"
	exit 77
	;;
esac
if ! command -v valgrind >/dev/null 2>&1; then
	echo "FAIL: valgrind is not installed (scripts/deps.sh installs it)"
	echo "0 passed, 1 failed"
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# one process (CK_FORK=no) makes every dump, numbered from 1, a file per
# thread; the program reads its own thread's back from $tmp/cg.N-01
CK_FORK=no CPLX_CG_OUT="$tmp/cg" PARAPET_SRCDIR="$src" \
	valgrind -q --tool=callgrind --callgrind-out-file="$tmp/cg" --dump-instr=no \
	--separate-threads=yes "$prog"
