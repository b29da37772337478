#!/bin/sh
# run.sh - milter-protocol test of parapet with miltertest(8).
#
# Starts the built parapet on a private unix socket with a throwaway config
# and rule set, drives it with parapet.lua (connect, HELO, MAIL, RCPT,
# headers, EOH, body in chunks, EOM; several transactions and connections;
# an authenticated client; an MTA that refuses header changes),
# then checks the daemon's one log line per message (SPEC §4) and that it
# survived and stops cleanly on SIGTERM (SPEC §2).
#
# Environment: PARAPET_BUILDDIR (set by make check; default build/ in the checkout);
# MT_SHOW_LOG=1 copies parapet's log to stderr at the end.
# Ends with "N passed, N failed"; exit 0 all passed, 1 any failure,
# 77 (skip) only when miltertest is not installed and CI is not "true".
set -u

here=$(cd "$(dirname "$0")" && pwd)
builddir=${PARAPET_BUILDDIR:-$(cd "$here/../.." && pwd)/build}
parapet=$builddir/milter/parapet

passed=0
failed=0
pid=
tmp=

ok() {
	passed=$((passed + 1))
	echo "ok - $*"
}

notok() {
	failed=$((failed + 1))
	echo "not ok - $*"
}

check() {	# check DESCRIPTION COMMAND...: count the command's success
	what=$1
	shift
	if "$@"; then ok "$what"; else notok "$what"; fi
}

finish() {
	echo "$passed passed, $failed failed"
	if [ "$failed" -eq 0 ]; then exit 0; fi
	exit 1
}

cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	if [ -n "$tmp" ]; then
		if [ -n "${MT_SHOW_LOG:-}" ]; then cat "$tmp/parapet.log" >&2; fi
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if ! command -v miltertest >/dev/null 2>&1; then
	if [ "${CI:-}" = true ]; then
		notok "miltertest is not installed (Debian package miltertest); CI=true, so not skipping"
		finish
	fi
	echo "SKIP: miltertest is not installed (Debian package miltertest)"
	exit 77
fi
if [ ! -x "$parapet" ]; then
	notok "no parapet binary at $parapet (build it, or set PARAPET_BUILDDIR)"
	finish
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/parapet-mt.XXXXXX") || exit 1
sock=$tmp/p.sock
mkdir "$tmp/rules"
cat >"$tmp/rules/50-test.cf" <<'EOF'
# rules the miltertest scenarios rely on (parapet.lua)
body     TEST_REJECT  /XREJECTX/
score    TEST_REJECT  20
describe TEST_REJECT  test: reject marker in the body
header   TEST_SUBJ    Subject =~ /viagra/i
score    TEST_SUBJ    6
describe TEST_SUBJ    test: spammy Subject
body     TEST_QUAR    /XQUARX/
score    TEST_QUAR    12
describe TEST_QUAR    test: over quarantine_score, under reject_score
EOF
cat >"$tmp/parapet.conf" <<EOF
# written by tests/miltertest/run.sh
socket = unix:$sock
socket_mode = 0600
pidfile = $tmp/parapet.pid
rules_dir = $tmp/rules
authserv_id = mx.test
tag_score = 5.0
reject_score = 15.0
# the quarantine-edit-refused scenario: a refused header edit must not
# cancel the quarantine of a message that is delivered anyway
quarantine_score = 10.0
on_error = accept
max_scan_bytes = 1048576
log_level = info
$( [ "$(id -u)" -eq 0 ] && echo "user = root" )
# no DNS in the test: refuse fast instead of waiting for a resolver
dns_nameservers = 127.0.0.1:9
dns_timeout_ms = 500
EOF

"$parapet" -f -c "$tmp/parapet.conf" 2>"$tmp/parapet.log" &
pid=$!

# wait up to 10 s for the socket (or for the daemon to die)
i=0
while [ ! -S "$sock" ] && kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ ! -S "$sock" ]; then
	notok "parapet listens on unix:$sock within 10 s"
	echo "# parapet log:"
	sed 's/^/#   /' "$tmp/parapet.log"
	finish
fi
ok "parapet listens on unix:$sock"

miltertest -D "socket=unix:$sock" -s "$here/parapet.lua" >"$tmp/mt.out" 2>&1
mtrc=$?
cat "$tmp/mt.out"
result=$(sed -n 's/^RESULT passed=\([0-9]*\) failed=\([0-9]*\)$/\1 \2/p' "$tmp/mt.out")
if [ -z "$result" ]; then
	notok "parapet.lua ran to the end (miltertest exit $mtrc, no RESULT line)"
else
	# shellcheck disable=SC2086 # split "N M" into $1 $2
	set -- $result
	passed=$((passed + $1))
	failed=$((failed + $2))
	if [ "$2" -eq 0 ] && [ "$mtrc" -ne 0 ]; then
		notok "miltertest exit status 0 (got $mtrc with no failed check)"
	fi
fi

# SPEC §4: one log line per message, with the queue id from {i}
log_action() {	# log_action QID ACTION: exactly one verdict line, that action
	n=$(grep -c "qid=$1 " "$tmp/parapet.log")
	[ "$n" -eq 1 ] && grep "qid=$1 " "$tmp/parapet.log" | grep -q " action=$2 "
}
for pair in MTHAM1:accept MTTAG1:accept MTFORGE1:accept MTREJ1:reject \
	    MTREJ1B:accept MTREJ2:reject MTREJ2B:accept MTABORT2:accept \
	    MTDROP2:accept MTAUTH1:accept MTQUAR1:quarantine; do
	qid=${pair%%:*}
	action=${pair#*:}
	check "log: one line for qid=$qid with action=$action" log_action "$qid" "$action"
done
check "log: qid=MTREJ1 counts rcpts=2" \
	grep -q "qid=MTREJ1 .*rcpts=2 " "$tmp/parapet.log"
check "log: qid=MTTAG1 lists symbol TEST_SUBJ" \
	grep -q "qid=MTTAG1 .*symbols=[^ ]*TEST_SUBJ" "$tmp/parapet.log"
check "log: qid=MTAUTH1 is marked note=authenticated" \
	grep -q "qid=MTAUTH1 .* note=authenticated$" "$tmp/parapet.log"
check "log: the refused header edit of qid=MTQUAR1 is logged" \
	grep -q "header edit delete X-Spam-Flag refused by the MTA" "$tmp/parapet.log"
no_crash_report() {
	! grep -Eq "Sanitizer|runtime error:|Assertion .* failed" "$tmp/parapet.log"
}
check "log: no sanitizer or assertion report" no_crash_report

check "parapet still running after all scenarios" kill -0 "$pid"

# SPEC §2: SIGTERM stops it, exit status 0
kill -TERM "$pid" 2>/dev/null
i=0
while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 "$pid" 2>/dev/null; then
	notok "parapet exits within 10 s of SIGTERM"
else
	wait "$pid"
	st=$?
	pid=
	check "parapet exits 0 on SIGTERM (got $st)" test "$st" -eq 0
fi

if [ "$failed" -ne 0 ]; then
	echo "# parapet log (last 60 lines):"
	tail -n 60 "$tmp/parapet.log" | sed 's/^/#   /'
fi
finish
