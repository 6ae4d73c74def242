#!/usr/bin/env bash
# The first day on a bare machine, for real: debootstraps a Debian 12
# chroot holding only git and make (and what debootstrap's minbase
# brings), clones this repository into it and runs `make test` there, as
# .ci/run does on a fresh CI machine. Not part of `make test` (it
# downloads a system, 20-40 minutes); run it as root:
#   sudo tests/bare/chroot.sh [DIR]       (make bare-test)
# DIR defaults to /var/tmp/grilld-bare; it is kept for a look afterwards
# (chroot DIR bash). MIRROR and SUITE may be overridden. The transcript
# goes to DIR.log; the last line says "N passed, N failed".
# BARE_RUN replaces .ci/run with other commands, e.g. a shorter proof:
#   BARE_RUN='make deps && make -j2 && make unit' tests/bare/chroot.sh
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${1:-/var/tmp/grilld-bare}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}
[ "$(id -u)" -eq 0 ] || { echo "chroot.sh: run as root" >&2; exit 1; }
command -v debootstrap >/dev/null || apt-get install -y --no-install-recommends debootstrap

if [ ! -x "$DIR/usr/bin/git" ]; then
	echo "chroot.sh: debootstrap $SUITE into $DIR"
	debootstrap --variant=minbase --include=git,make,ca-certificates \
		"$SUITE" "$DIR" "$MIRROR"
fi
# What a machine has that a chroot lacks: /proc, /dev, /sys, /dev/pts
# (ptys for 07-run-readme) and a resolver.
mounts=()
cleanup() {
	local i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
for m in proc sys dev dev/pts; do
	mountpoint -q "$DIR/$m" || { mount --bind "/$m" "$DIR/$m"; mounts+=("$DIR/$m"); }
done
cp /etc/resolv.conf "$DIR/etc/resolv.conf"
# Behind a proxy that re-signs TLS, the CAs this machine's administrator
# added are trusted in the chroot too (apt, git and npm need them).
extra=()
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
	mkdir -p "$DIR/usr/local/share/ca-certificates"
	cp /usr/local/share/ca-certificates/*.crt "$DIR/usr/local/share/ca-certificates/"
	chroot "$DIR" update-ca-certificates >/dev/null
	extra=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
fi
# No service may start inside the chroot (the packages' own redis, influxd).
printf '#!/bin/sh\nexit 101\n' >"$DIR/usr/sbin/policy-rc.d"
chmod 755 "$DIR/usr/sbin/policy-rc.d"

rm -rf "$DIR/root/grilld"
git clone -q "$TOP" "$DIR/root/grilld"
git -C "$TOP" diff HEAD --binary | git -C "$DIR/root/grilld" apply --allow-empty 2>/dev/null || true
echo "chroot.sh: make test in the chroot (transcript: $DIR.log)"
chroot "$DIR" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	TERM=dumb LANG=C.UTF-8 "${extra[@]}" bash -c "cd /root/grilld && ${BARE_RUN:-.ci/run}" 2>&1 |
	tee "$DIR.log"
