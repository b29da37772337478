#!/bin/sh
# lint_sa_stock.sh - SpamAssassin's stock rule set (Debian's spamassassin
# package, /usr/share/spamassassin/*.cf) loads in parapet with 0 errors
# (issue 14): `parapetctl lint` on a copy of the files.  Installs nothing;
# skips (77) when the package is absent (scripts/deps.sh installs it).
set -u
src=${PARAPET_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
bld=${PARAPET_BUILDDIR:-$src/build}
ctl=$bld/milter/parapetctl
sa=${PARAPET_SA_RULES:-/usr/share/spamassassin}

if ! ls "$sa"/*.cf >/dev/null 2>&1; then
	echo "SKIP: no SpamAssassin rules in $sa (install the spamassassin package: scripts/deps.sh)"
	echo "0 passed, 0 failed"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$sa"/*.cf "$tmp/"
printf 'rules_dir = %s\n' "$tmp" > "$tmp/parapet.conf"

pass=0 fail=0
check() {	# check NAME OK: count one result
	if [ "$2" = 0 ]; then
		pass=$((pass + 1)); echo "ok: $1"
	else
		fail=$((fail + 1)); echo "FAIL: $1"
	fi
}
"$ctl" -c "$tmp/parapet.conf" lint "$tmp" > "$tmp/lint.out" 2>&1
rc=$?
tail -n 40 "$tmp/lint.out"
last=$(tail -n 1 "$tmp/lint.out")
check "lint exits 0 on the stock set (exit $rc)" "$rc"
echo "$last" | grep -q ' 0 error(s)'
check "0 errors: $last" $?
# an admin can read it: one line per reason, not thousands of warnings
lines=$(wc -l < "$tmp/lint.out")
[ "$lines" -lt 200 ]
check "lint output is short ($lines lines)" $?
"$ctl" -c "$tmp/parapet.conf" lint --verbose "$tmp" > "$tmp/verbose.out" 2>&1
grep -q 'skipped: .* \[eval test not implemented in parapet\]' "$tmp/verbose.out"
check "lint --verbose lists skipped rules with the reason" $?
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
