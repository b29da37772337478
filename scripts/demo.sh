#!/usr/bin/env bash
# demo.sh - the README's main job on a fresh Debian 12 machine: install
# what is missing, build, then start a redis-server, parapet and a private
# loopback Postfix relaying to a capturing sink, send sample ham and spam
# from the test corpus (and two crafted messages) through it, and print
# each verdict as the SMTP client and the delivered headers show it.
# Needs root (a private Postfix instance).  Everything started is stopped
# at the end, by pid.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

scripts/deps.sh
if [ ! -x build/milter/parapet ] || [ ! -f build/Makefile ]; then
	./autogen.sh
	mkdir -p build
	(cd build && ../configure -q)
fi
make -C build -s -j2
# Debian's python3: the demo uses its python3-dnslib and python3-dkim
exec /usr/bin/python3 scripts/demo.py "$@"
