#!/bin/sh
# Fails the build on unbounded string calls, in the spirit of curl's checksrc.
# Use snprintf, strlcpy-like helpers (common/util.h) or memcpy with a length.
hits=$(grep -rnE '(^|[^_[:alnum:]])(sprintf|vsprintf|strcpy|strcat|gets|strtok|stpcpy)[[:space:]]*\(' \
	--include='*.c' --include='*.h' common poller ingest api stream twsim tests bench 2>/dev/null |
	grep -v 'tests/fuzz/corpus')
if [ -n "$hits" ]; then
	echo "checksrc: banned unbounded string calls (use snprintf or util_strlcpy):" >&2
	echo "$hits" >&2
	exit 1
fi
exit 0
