#!/usr/bin/env bash
# test.sh - the README's test command: install what is missing, build with
# warnings as errors, run every test (make check); then build again with
# AddressSanitizer + UBSan and run every test again.  Exit 0 only if all
# pass.  Build trees: build/ and build-asan/ (both ignored by git).
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

# run_suite - configure, build and make check in one build tree
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
	if ! make -C "$dir" -s check; then
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
echo "=== fuzz targets (clang libFuzzer, ${FUZZ_SECONDS:-30} s each)"
tests/fuzz.sh
echo "=== every test passed: plain, under ASan+UBSan, and the fuzz targets"
