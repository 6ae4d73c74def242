# Shared by every integration scenario: TAP output, and real servers
# (redis-server, influxd, grilld's daemons) started on free loopback ports
# in a temporary folder that is removed afterwards, also when a test fails
# (tests/lib/stack.sh, the one stack harness, which bench/ and make run
# use too).
#
#   . "$(dirname "$0")/lib.sh"
#   start_redis; start_influx
#   check "redis answers" redis_cli PING
#   done_testing

. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/stack.sh"
stack_init
_n=0
_failed=0

ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
not_ok() {
	_n=$((_n + 1))
	_failed=$((_failed + 1))
	echo "not ok $_n - $1"
	shift
	[ $# -gt 0 ] && echo "#   $*"
	return 0
}
# check DESC CMD...: passes when CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@" >"$T/.check.out" 2>&1; then ok "$desc"; else
		not_ok "$desc" "command failed: $* :: $(head -c 600 "$T/.check.out")"
	fi
}
# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1" "expected [$2], got [$3]"
	fi
}
# check_match DESC REGEX ACTUAL
check_match() {
	if [[ $3 =~ $2 ]]; then ok "$1"; else
		not_ok "$1" "[$3] does not match /$2/"
	fi
}
done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
	exit $?
}
bail() { not_ok "$*"; done_testing; }
