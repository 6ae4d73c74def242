#!/bin/sh
# Installs the Node packages the tests use (tests/package.json, pinned by
# tests/package-lock.json) into tests/node_modules, when they are missing
# or older than the lock file. Idempotent and quiet when up to date.
set -eu
cd "$(dirname "$0")/../tests"
stamp=node_modules/.package-lock.json
if [ -f "$stamp" ] && [ ! package-lock.json -nt "$stamp" ]; then
	exit 0
fi
echo "deps: npm ci in tests/"
npm ci --no-audit --no-fund --loglevel=error
