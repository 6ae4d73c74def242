#!/bin/sh
# Installs the live page's chart library (stream/www/package.json, pinned
# by package-lock.json) into stream/www/node_modules, which grilld-stream
# serves under /vendor/uplot/. Called by mk/deps.sh; idempotent and quiet
# when up to date; after it the page works offline.
set -eu
cd "$(dirname "$0")"
stamp=node_modules/.package-lock.json
if [ -f "$stamp" ] && [ ! package-lock.json -nt "$stamp" ]; then
	exit 0
fi
echo "deps: npm ci in stream/www/"
npm ci --no-audit --no-fund --loglevel=error
