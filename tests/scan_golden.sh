#!/bin/sh
# scan_golden.sh - golden tests of the offline pipeline: each
# tests/golden/NAME.eml through `parapetctl scan --json` must give exactly
# tests/golden/NAME.out (the timing field removed).  Regenerate after an
# intended change with: UPDATE_GOLDEN=1 make check TESTS=tests/scan_golden.sh
# and review the diff.
set -u
src=${PARAPET_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
bld=${PARAPET_BUILDDIR:-$src/build}
ctl=$bld/milter/parapetctl
dir=$src/tests/golden
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|@RULES@|$dir/rules|" "$dir/golden.conf" > "$tmp/golden.conf"

pass=0 fail=0
for eml in "$dir"/*.eml; do
	name=$(basename "$eml" .eml)
	( cd "$dir" && "$ctl" -c "$tmp/golden.conf" scan --json --ip 192.0.2.1 \
		--from sender@golden.test --rcpt rcpt@golden.test "$name.eml" ) \
		| sed 's/,"ms":[0-9.]*}$/}/' > "$tmp/$name.out"
	if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
		cp "$tmp/$name.out" "$dir/$name.out"
	fi
	if cmp -s "$tmp/$name.out" "$dir/$name.out"; then
		pass=$((pass + 1))
		echo "ok: $name"
	else
		fail=$((fail + 1))
		echo "FAIL: $name"
		diff -u "$dir/$name.out" "$tmp/$name.out"
	fi
done
# --no-dns: the rules run, the DNS stages (SPF, DKIM, DMARC) do not
( cd "$dir" && "$ctl" -c "$tmp/golden.conf" scan --json --no-dns --ip 192.0.2.1 \
	--from sender@golden.test forged.eml ) > "$tmp/nodns.out"
if grep -q '"GOLD_MONEY"' "$tmp/nodns.out" && ! grep -qE '"(SPF|DKIM|DMARC)_' "$tmp/nodns.out"; then
	pass=$((pass + 1)); echo "ok: scan --no-dns skips SPF, DKIM and DMARC, keeps the rules"
else
	fail=$((fail + 1)); echo "FAIL: scan --no-dns"; cat "$tmp/nodns.out"
fi
# parapetctl lint on the golden rules is clean; a broken file is reported with file:line
if "$ctl" -c "$tmp/golden.conf" lint > "$tmp/lint.out" 2>&1; then
	pass=$((pass + 1)); echo "ok: lint clean"
else
	fail=$((fail + 1)); echo "FAIL: lint"; cat "$tmp/lint.out"
fi
mkdir "$tmp/bad"
printf 'body OK /fine/\n\nheader BAD Subject =~ /(/\n' > "$tmp/bad/1.cf"
"$ctl" -c "$tmp/golden.conf" lint "$tmp/bad" > "$tmp/lint2.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "^$tmp/bad/1.cf:3: error: bad regex at offset" "$tmp/lint2.out"; then
	pass=$((pass + 1)); echo "ok: lint reports file:line and exits 1"
else
	fail=$((fail + 1)); echo "FAIL: lint on a broken file (rc=$rc)"; cat "$tmp/lint2.out"
fi
# parapet -t names the bad key with file and line and exits 1
printf 'authserv_id = x\n\nbogus_key = 1\n' > "$tmp/bad.conf"
"$bld/milter/parapet" -t -c "$tmp/bad.conf" > "$tmp/t.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "^$tmp/bad.conf:3: error: unknown key 'bogus_key'" "$tmp/t.out"; then
	pass=$((pass + 1)); echo "ok: parapet -t names file:line of a bad key"
else
	fail=$((fail + 1)); echo "FAIL: parapet -t bad.conf (rc=$rc)"; cat "$tmp/t.out"
fi
# the whole corpus through scan --json: one valid JSON object per message
# (mail is bytes in any charset; the output must still parse)
corpus=${TESTDATA:-$src/tests/data}/corpus
if [ -d "$corpus" ]; then
	sed "s|@RULES@|$src/rules|" "$dir/golden.conf" > "$tmp/shipped.conf"
	"$ctl" -c "$tmp/shipped.conf" scan --json "$corpus"/ham/* "$corpus"/spam/* > "$tmp/corpus.json"
	if python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1], "rb"):
    obj = json.loads(line.decode("utf-8"))
    assert obj["action"] in ("accept", "reject", "quarantine", "tempfail"), obj
    n += 1
assert n == int(sys.argv[2]), (n, sys.argv[2])
' "$tmp/corpus.json" "$(ls "$corpus"/ham "$corpus"/spam | grep -c -v -e '^$' -e ':$')"; then
		pass=$((pass + 1)); echo "ok: corpus scan --json is valid JSON, one object per message"
	else
		fail=$((fail + 1)); echo "FAIL: corpus scan --json"
	fi
else
	fail=$((fail + 1)); echo "FAIL: corpus missing at $corpus"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
