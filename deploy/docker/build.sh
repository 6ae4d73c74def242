#!/bin/sh
# The image's build stage as a script, so that it can be proved without a
# container engine: deploy/docker/Dockerfile runs it in debian:bookworm,
# and tests/integration/07-image-build.sh runs it in a fresh clone.
#   deploy/docker/build.sh OUT   build the tree it sits in and install it
#                                under OUT (usr/local/..., etc/grilld/...)
# As root on a bare Debian 12 it first installs BUILD_PACKAGES; elsewhere
# they must be there already (mk/deps.sh installs them on a build host).
set -eu
OUT=${1:?usage: build.sh OUT}
cd "$(dirname "$0")/../.."

BUILD_PACKAGES="make gcc libc6-dev pkg-config libnng-dev libcurl4-openssl-dev
libhiredis-dev libcjson-dev libcivetweb-dev libyaml-dev zlib1g-dev libssl-dev
npm ca-certificates"

missing=""
for p in $BUILD_PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing="$missing $p"
done
# npm from elsewhere (nodesource, nvm) is as good as Debian's.
case " $missing " in *" npm "*) command -v npm >/dev/null && missing=$(echo "$missing" | sed 's/ npm//') ;; esac
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "build.sh: missing packages:$missing" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
	rm -rf /var/lib/apt/lists/*
fi

# The page's chart library, pinned by stream/www/package-lock.json.
sh stream/www/npm.sh
make -j"$(nproc)" all
make install DESTDIR="$OUT" PREFIX=/usr/local SYSCONFDIR=/etc
