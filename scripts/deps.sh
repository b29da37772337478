#!/usr/bin/env bash
# deps.sh - install the Debian 12 packages parapet needs to build, test and
# run its demo.  Idempotent: it installs exactly the packages that are
# missing, runs "apt-get update" once and only when something is missing,
# and does nothing (and needs no root) when everything is there.
#
#   scripts/deps.sh          install what is missing
#   scripts/deps.sh --check  only list what is missing; exit 1 if anything is
#
# Not root: re-runs itself through sudo, only when there is work to do.
# Postfix is preseeded with "No configuration", so installing it asks
# nothing and starts no system mail server; the tests run their own
# private Postfix on their own ports.
set -euo pipefail

# Build and unit tests; the demo and integration tests (postfix,
# redis-server, miltertest, python3); then libraries and tools for the
# planned SPF/DKIM/DMARC/Redis work; the fuzzers (clang) and gcc's
# ThreadSanitizer runtime (libtsan2, for configure --enable-tsan); the
# dashboard's browser test (Debian's chromium, driven by playwright-core
# from npm: tests/browser); SpamAssassin, the oracle of the agreement test
# (tests/integration/test_sa_agree.py) and of the speed comparison; the
# Debian package's build and check (debian/, tests/integration/test_deb.py);
# valgrind, whose callgrind counts the instructions tests/complexity.sh
# compares (and scripts/bench/ profiles with).
PACKAGES="
	build-essential autoconf automake libtool pkg-config
	libmilter-dev libpcre2-dev libvectorscan-dev check
	postfix redis-server miltertest python3
	libspf2-dev libopendkim-dev libssl-dev libopendmarc-dev libhiredis-dev
	libgmime-3.0-dev libunbound-dev redis-sentinel
	python3-dnslib python3-dkim python3-yaml opendkim opendkim-tools publicsuffix
	libmicrohttpd-dev openssl
	clang libclang-rt-14-dev libtsan2
	chromium nodejs npm
	spamassassin libvectorscan-dev
	debhelper lintian
	valgrind
"

APT_OPTS=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=300)
export DEBIAN_FRONTEND=noninteractive

say() { printf 'deps.sh: %s\n' "$*"; }

# installed PKG - is the package installed (not just known or half-removed)?
installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# candidate PKG - the version apt would install, empty if none
candidate() {
	apt-cache policy "$1" 2>/dev/null | awk '/^ *Candidate:/ { print $2 }' |
		grep -v '^(none)$' || true
}

# present - installed, or (npm) provided by another package: NodeSource's
# nodejs ships npm itself and conflicts with Debian's npm package
present() {
	installed "$1" && return 0
	[ "$1" = npm ] && command -v npm >/dev/null 2>&1 && return 0
	return 1
}

missing=""
for p in $PACKAGES; do
	present "$p" || missing="$missing $p"
done
missing=${missing# }

if [ -z "$missing" ]; then
	# shellcheck disable=SC2086 # one word per package
	set -- $PACKAGES
	say "all $# packages are installed"
	exit 0
fi
say "missing: $missing"
if [ "${1:-}" = "--check" ]; then
	exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		say "not root: running through sudo"
		exec sudo bash "$0" "$@"
	fi
	say "error: not root and sudo is not installed; run as root:"
	say "  apt-get update && apt-get install $missing"
	exit 1
fi

say "apt-get update"
apt-get "${APT_OPTS[@]}" update

unavailable=""
for p in $missing; do
	[ -n "$(candidate "$p")" ] || unavailable="$unavailable $p"
done
if [ -n "$unavailable" ]; then
	say "error: no installation candidate (apt-cache policy) for:$unavailable"
	say "check /etc/apt/sources.list: parapet expects Debian 12 (bookworm) main"
	exit 1
fi

# Postfix: no questions, no configuration written, nothing started.
case " $missing " in
*" postfix "*)
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections
	;;
esac

# Keep the packages' daemons (postfix, redis-server, redis-sentinel) from
# starting during the installation: a policy-rc.d that says "no" (exit
# 101), unless the system already has one (containers usually do).
policy=/usr/sbin/policy-rc.d
own_policy=no
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# written by parapet scripts/deps.sh for one apt-get run\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	own_policy=yes
	trap 'rm -f "$policy"' EXIT
fi

for p in $missing; do
	say "installing $p $(candidate "$p")"
done
# shellcheck disable=SC2086 # one word per package
apt-get "${APT_OPTS[@]}" install $missing

if [ "$own_policy" = yes ]; then
	rm -f "$policy"
	trap - EXIT
fi

still=""
for p in $missing; do
	present "$p" || still="$still $p"
done
if [ -n "$still" ]; then
	say "error: still not installed:$still"
	exit 1
fi
say "installed: $missing"

# A system Postfix on port 25 is not ours to stop; just say so.
case " $missing " in
*" postfix "*)
	if command -v ss >/dev/null 2>&1 && [ -n "$(ss -Hltn 'sport = :25' 2>/dev/null)" ]; then
		say "note: something listens on port 25 (a system Postfix?); left running, parapet's tests use their own ports"
	fi
	;;
esac
exit 0
