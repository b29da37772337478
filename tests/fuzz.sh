#!/usr/bin/env bash
# fuzz.sh - build the libFuzzer targets with clang (ASan+UBSan+coverage) in
# build-fuzz/ and run each for FUZZ_SECONDS (default 30) on seeds from the
# test data.  Prints "N passed, N failed"; a crash fails the run and
# leaves the reproducer in build-fuzz/crashes/.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${FUZZ_SECONDS:-30}
bld=$top/build-fuzz
testdata=${TESTDATA:-$top/tests/data}

if ! command -v clang >/dev/null; then
	echo "clang missing (scripts/deps.sh installs it)"; echo "0 passed, 1 failed"; exit 1
fi
mkdir -p "$bld" && cd "$bld" || exit 1
if [ ! -f Makefile ]; then
	CC=clang "$top/configure" -q --enable-werror --enable-fuzzing || exit 1
fi
make -s -j2 fuzz/fuzz_config fuzz/fuzz_rules fuzz/fuzz_message fuzz/fuzz_meta fuzz/fuzz_redis fuzz/fuzz_auth fuzz/fuzz_spf \
	fuzz/fuzz_uri fuzz/fuzz_received fuzz/fuzz_tokens fuzz/fuzz_reqlit fuzz/fuzz_date fuzz/fuzz_lists fuzz/fuzz_policy fuzz/fuzz_mime_skip || exit 1

seeds=$bld/seeds
rm -rf "$seeds" && mkdir -p "$seeds"/{config,rules,message,meta,redis,auth,spf,uri,received,tokens,reqlit,date,lists,policy,mime_skip} crashes
cp "$top"/etc/parapet.conf.in "$top"/tests/golden/golden.conf "$seeds/config/"
cp "$top"/rules/*.cf "$top"/tests/golden/rules/*.cf "$top"/fuzz/seeds/rules/*.cf "$seeds/rules/"
cp "$top"/fuzz/seeds/meta/* "$seeds/meta/"
cp "$top"/fuzz/seeds/redis/* "$seeds/redis/"
cp "$top"/fuzz/seeds/auth/* "$seeds/auth/"
cp "$top"/fuzz/seeds/spf/* "$seeds/spf/"
cp "$top"/fuzz/seeds/uri/* "$seeds/uri/"
cp "$top"/fuzz/seeds/reqlit/* "$seeds/reqlit/"
cp "$top"/fuzz/seeds/lists/* "$seeds/lists/"
cp "$top"/fuzz/seeds/policy/* "$seeds/policy/"
cp "$top"/fuzz/seeds/mime_skip/* "$seeds/mime_skip/"
# spam of the corpus (most of it HTML), behind the byte that picks the HTML path
ls "$testdata"/corpus/spam/* 2>/dev/null | head -20 |
	while read -r f; do { printf '\001'; cat "$f"; } > "$seeds/uri/msg-$(basename "$f")"; done
# messages with DKIM signatures, behind the byte that picks fuzz_auth's
# whole-message path
for f in "$testdata"/dkim/dkimpy/rfc6376.signed.msg "$testdata"/dkim/mail-dkim/corpus/multiple_2.txt \
	"$testdata"/dkim/authentication_milter/source/google_apps_good.eml; do
	[ -f "$f" ] && { printf '\004'; cat "$f"; } > "$seeds/auth/msg-$(basename "$f")"
done
cp "$top"/tests/golden/*.eml "$top"/fuzz/seeds/message/* "$seeds/message/"
# the Received fields of corpus messages, one a line, behind the byte that
# picks whether trusted_networks is set
ls "$testdata"/corpus/spam/* "$testdata"/corpus/ham/* 2>/dev/null | head -40 |
	while read -r f; do
		{ printf '\001'; sed -n '/^$/q;p' "$f" | awk '/^[^ \t]/{r=/^Received:/} r' |
			sed 's/^Received://' | tr -d '\r'; } > "$seeds/received/$(basename "$f")"
	done
# Date fields of corpus messages, one a file
ls "$testdata"/corpus/spam/* 2>/dev/null | head -40 |
	while read -r f; do
		sed -n '/^$/q;s/^Date: *//p' "$f" | tr -d '\r' > "$seeds/date/$(basename "$f")"
	done
ls "$testdata"/corpus/spam/* "$testdata"/corpus/ham/* 2>/dev/null | head -40 |
	while read -r f; do cp "$f" "$seeds/message/"; done

# corpus messages behind the byte that picks the whole-message path
ls "$testdata"/corpus/spam/* "$testdata"/corpus/ham/* 2>/dev/null | head -20 |
	while read -r f; do { printf '\000'; cat "$f"; } > "$seeds/tokens/msg-$(basename "$f")"; done
# and behind the byte that picks one body text, run both ways (plain_word
# and its twin)
ls "$testdata"/corpus/spam/* "$testdata"/corpus/ham/* 2>/dev/null | head -20 |
	while read -r f; do { printf '\001'; cat "$f"; } > "$seeds/tokens/text-$(basename "$f")"; done
pass=0 fail=0
for t in config rules message meta redis auth spf uri received tokens reqlit date lists policy mime_skip; do
	mkdir -p "work/$t"
	echo "fuzz_$t: ${secs}s"
	dict=()	# a target's syntax tokens, when it has some
	[ -f "$top/fuzz/dict/$t.dict" ] && dict=(-dict="$top/fuzz/dict/$t.dict")
	if ./fuzz/fuzz_$t -max_total_time="$secs" -max_len=65536 -timeout=10 "${dict[@]}" \
		-artifact_prefix=crashes/ -print_final_stats=0 "work/$t" "$seeds/$t" \
		> "fuzz_$t.log" 2>&1; then
		pass=$((pass + 1)); echo "ok: fuzz_$t ($(grep -c . "fuzz_$t.log") log lines)"
	else
		fail=$((fail + 1)); echo "FAIL: fuzz_$t"; tail -40 "fuzz_$t.log"
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
