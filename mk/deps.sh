#!/bin/sh
# Installs the Debian packages that building, testing and running grilld
# need. Idempotent: asks apt only when something is missing.
#   mk/deps.sh                  install what is missing
#   mk/deps.sh --check-or-install   the same, quietly when nothing is missing
#   mk/deps.sh --list           print the package list
set -eu

# libclang-rt-14-dev holds the sanitizer runtimes (libclang_rt.asan*),
# only recommended by clang and so skipped by --no-install-recommends;
# libssl-dev is what api/tls.c builds against; prometheus brings promtool,
# which checks the alert rules; groff-base and man-db check the man pages.
PKGS="build-essential pkg-config clang libclang-rt-14-dev libssl-dev
libnng-dev libcurl4-openssl-dev libhiredis-dev libcjson-dev libcivetweb-dev
libyaml-dev zlib1g-dev
redis-server redis-tools influxdb influxdb-client
curl jq procps iproute2 valgrind binutils docker-compose systemd groff-base man-db
chromium nginx libnginx-mod-nchan wrk gnuplot-nox python3 python3-yaml prometheus"
# Tools wanted as commands: the Debian package is installed only when no
# such command exists yet (a machine may have node, npm or kubectl from
# elsewhere, whose packages conflict with Debian's).
for pair in node:nodejs npm:npm kubectl:kubernetes-client; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || PKGS="$PKGS ${pair#*:}"
done

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

case "${1:-}" in
--list)
	echo $PKGS
	exit 0
	;;
esac

if [ -z "$missing" ]; then
	[ "${1:-}" = "--check-or-install" ] || echo "deps: every package is installed"
	sh "$(dirname "$0")/../stream/www/npm.sh"
	exec sh "$(dirname "$0")/npm.sh"
fi

echo "deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "deps: not root and no sudo; as root run: apt-get install$missing" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; refresh them once if the
# install cannot find a package.
if ! $SUDO apt-get install -y -q --no-install-recommends $missing; then
	$SUDO apt-get update -q
	$SUDO apt-get install -y -q --no-install-recommends $missing
fi
# The Debian packages start their services where systemd runs; grilld's
# tests and `make run` start their own instances and never use them.
sh "$(dirname "$0")/../stream/www/npm.sh"
exec sh "$(dirname "$0")/npm.sh"
