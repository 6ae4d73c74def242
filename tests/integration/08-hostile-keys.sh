#!/usr/bin/env bash
# One key file, read the same way by grilld-api and grilld-stream
# (common/keys.c): a comment line is never a key, every key of a
# rotation is accepted by both, a key's neighbour line is no key.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/stream.sh"
. "$(dirname "$0")/lib/api.bash"

printf '#grilld-keys\r\n\r\n# rotated in on Monday\nkey-new-%s\r\nkey-old-%s\nkey-new-%s\n' \
	$RANDOM $RANDOM $RANDOM >"$T/keys"
chmod 600 "$T/keys"
NEW=$(sed -n 4p "$T/keys" | tr -d '\r')
OLD=$(sed -n 5p "$T/keys")
PROBE_QUERY="?token=$NEW"
start_stream_env GRILLD_API_KEYS_FILE="$T/keys" GRILLD_API_READ_AUTH=true
S=/api/temperature/stream
status() { curl -s -o /dev/null -w '%{http_code}' -m 1 "$@" || true; }

check_eq "stream: the comment line as a token: 403" 403 "$(status "$STREAM_URL$S?token=%23grilld-keys")"
check_eq "stream: '# rotated' as a token: 403" 403 "$(status "$STREAM_URL$S?token=%23%20rotated")"
check_eq "stream: the new key" 200 "$(status "$STREAM_URL$S?token=$NEW")"
check_eq "stream: the old key (rotation: both work)" 200 "$(status -H "Authorization: Bearer $OLD" "$STREAM_URL$S")"
check_eq "stream: a key with the file's CR: 403" 403 "$(status "$STREAM_URL$S?token=$NEW%0D")"

api_start GRILLD_API_KEYS_FILE="$T/keys" GRILLD_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" ||
	bail "grilld-api starts"
B='{"readings":[]}'
apost() { curl -s -o /dev/null -w '%{http_code}' -m 5 -X POST -H 'Content-Type: application/json' "$@" \
	-d "$B" "$API/api/temperature/batch"; }
check_eq "api: the comment line as a key: 403" 403 "$(apost -H 'Authorization: Bearer #grilld-keys')"
check_match "api: the new key is let through" '^(200|400|422)$' "$(apost -H "Authorization: Bearer $NEW")"
check_match "api: the old key too" '^(200|400|422)$' "$(apost -H "Authorization: Bearer $OLD")"
done_testing
