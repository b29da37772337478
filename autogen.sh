#!/bin/sh
# autogen.sh - regenerate the autotools build files from a fresh checkout.
set -e
cd "$(dirname "$0")"
mkdir -p m4
autoreconf --install --force >/dev/null
echo "autogen.sh: now run ./configure"
