#!/usr/bin/env bash
# test.sh - the README's test command: install what is missing, build with
# warnings as errors, run every test (make check); then build again with
# AddressSanitizer + UBSan and run every test again; then a third time with
# ThreadSanitizer, running the tests that exercise concurrency (TSAN_TESTS);
# then the fuzz targets.  Exit 0 only if all pass.  Build trees: build/,
# build-asan/ and build-tsan/ (all ignored by git).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

scripts/deps.sh
./autogen.sh

# show_logs - each test's closing "N passed, N failed" line
show_logs() {
	local dir=$1
	for log in $(find "$dir/tests" -name '*.log' | sort); do
		printf '  %-45s %s\n' "${log#$dir/}" "$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)"
	done
}

# The ThreadSanitizer selection: the tests where parapet's threads meet.
# test_session: the drain's diagnostics reading other sessions; test_signals:
# SIGUSR1 reloads under a 10-session stream, the drain at SIGTERM with a
# message in flight, SIGKILL and restart; test_redis: redis-server killed
# under a stream; test_sentinel: a failover under a stream; test_postfix:
# 50 SMTP sessions at once (and every milter callback); test_dns: threads
# taking turns driving one resolver (dns.c).  Any report fails
# the test that saw it (tests/integration/harness.py, exit status 66);
# tests/tsan.supp says what is left to the libraries.
TSAN_TESTS="tests/unit/test_session tests/unit/test_dns tests/integration/test_signals.py
	tests/integration/test_redis.py tests/integration/test_sentinel.py
	tests/integration/test_postfix.py"

# run_suite - configure, build and make check in one build tree; with
# $tests set, only those tests
run_suite() {
	local dir=$1
	shift
	echo "=== $dir: configure $*"
	mkdir -p "$dir"
	(cd "$dir" && ../configure -q --enable-werror "$@")
	echo "=== $dir: build"
	make -C "$dir" -j2 -s
	echo "=== $dir: make check"
	local t0=$SECONDS
	if ! make -C "$dir" -s check ${tests:+TESTS="$(echo $tests)"}; then
		echo "=== $dir: FAILED; test-suite.log:"
		cat "$dir/test-suite.log" || true
		show_logs "$dir"
		return 1
	fi
	show_logs "$dir"
	echo "=== $dir: all tests passed in $((SECONDS - t0)) s"
}

run_suite build
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite build-asan --enable-sanitizers
# Makefile.am adds the suppressions file and PARAPET_SLOW=5 (parapet scans
# ~5x slower under TSan); every report is printed, not only the first
TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1" \
tests=$TSAN_TESTS \
	run_suite build-tsan --enable-tsan
echo "=== fuzz targets (clang libFuzzer, ${FUZZ_SECONDS:-30} s each)"
tests/fuzz.sh
echo "=== every test passed: plain, under ASan+UBSan, the concurrency tests under TSan, and the fuzz targets"
