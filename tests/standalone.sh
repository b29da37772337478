#!/bin/sh
# standalone.sh - the checkout stands alone: no tracked file reads from a
# directory beside the repository, no file names the developers' machine,
# and the test data the suite reads is in the tree with its origin and
# licence files.
#
# A user's clone has nothing next to it, so a path that climbs out of the
# checkout (a sibling "shared" folder, an absolute /work path) works only on
# the machine it was written on.  The patterns are built from pieces so this
# file does not match itself.
#
# Environment: PARAPET_SRCDIR (set by make check; default: this checkout).
# Ends with "N passed, N failed"; exit 0 when all passed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=${PARAPET_SRCDIR:-$(cd "$here/.." && pwd)}
passed=0
failed=0

ok() {
	passed=$((passed + 1))
	echo "ok - $1"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL - $1"
}

# files - the tracked files (git ls-files), or every file in a tarball
files() {
	if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$src" ls-files -z | xargs -0 -I{} printf '%s\n' {}
	else
		(cd "$src" && find . -type f ! -path './build*' | sed 's|^\./||')
	fi
}

# check_absent NAME PATTERN - no tracked file holds PATTERN (an ERE)
check_absent() {
	name=$1
	pattern=$2
	hits=$(cd "$src" && files | while IFS= read -r f; do
		[ -f "$f" ] || continue
		grep -IEHn -e "$pattern" "$f" 2>/dev/null
	done)
	if [ -z "$hits" ]; then
		ok "no tracked file refers to $name"
	else
		fail "tracked files refer to $name:"
		printf '%s\n' "$hits" | head -20 | sed 's/^/    /'
	fi
}

sib='\.\./'"shared"
check_absent "a sibling shared directory (dot-dot path)" "$sib"
check_absent "the shared test data folder" "shared"'/testdata'
check_absent "the developers' /work directory" '/'"work"'/(main|shared)'

# the data the tests, demo, fuzz seeds and benchmarks read, with origin
# and licence files next to it
for f in corpus/SOURCE.md corpus/MANIFEST.tsv \
	spf/README.md spf/rfc7208-tests.yml spf/rfc7208-tests.LICENSE \
	spf/rfc4408-tests.yml spf/rfc4408-tests.LICENSE \
	dkim/README.md dkim/expected.tsv dkim/dkimpy/LICENSE \
	dkim/authentication_milter/LICENSE dkim/mail-dkim/COPYRIGHT-from-README.md; do
	if [ -s "$src/tests/data/$f" ]; then
		ok "tests/data/$f is in the tree"
	else
		fail "tests/data/$f is missing"
	fi
done

# every corpus file the manifest lists is present
missing=$(cd "$src/tests/data/corpus" && grep -v '^#' MANIFEST.tsv | cut -f1 |
	while IFS= read -r name; do
		[ -f "$name" ] || echo "$name"
	done)
if [ -z "$missing" ]; then
	ok "every corpus file in MANIFEST.tsv is present"
else
	fail "corpus files missing: $(echo "$missing" | head -5 | tr '\n' ' ')"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
