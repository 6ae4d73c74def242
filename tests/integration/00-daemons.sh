#!/usr/bin/env bash
# Every daemon: the common command line, configuration checks, the admin
# endpoints, and a clean exit on SIGTERM.
. "$(dirname "$0")/lib.sh"

check "deploy/etc/grilld.yaml is what the option table generates" \
	diff -u "$GRILLD_TOP/deploy/etc/grilld.yaml" <("$BUILD/tools/confgen")
check "docs/man/grilld.yaml.5 is what the option table generates" \
	diff -u "$GRILLD_TOP/docs/man/grilld.yaml.5" <("$BUILD/tools/confgen" -m)

for d in poller ingest api stream twsim; do
	out=$("$BIN/grilld-$d" -n -f "$GRILLD_TOP/deploy/etc/grilld.yaml" 2>&1)
	check_eq "grilld-$d -n accepts the sample configuration" \
		"configuration OK" "$out"
done

cat >"$T/bad.yaml" <<'YAML'
poller:
  interval: 1s
api:
  listne: 127.0.0.1:1
YAML
out=$("$BIN/grilld-api" -n -f "$T/bad.yaml" 2>&1)
rc=$?
check_eq "-n on a bad file exits 1" 1 "$rc"
check_match "-n names the file, line and key of a bad value" \
	"bad.yaml:2: poller.interval: 1s is below the minimum 5s" "$out"
check_match "-n suggests the key meant by a typo" \
	"bad.yaml:4: unknown key 'api.listne' \(did you mean 'api.listen'\?\)" "$out"

printf 'api:\n  listen: [unclosed\n' >"$T/broken.yaml"
out=$("$BIN/grilld-stream" -n -f "$T/broken.yaml" 2>&1)
check_eq "-n on malformed YAML exits 1" 1 "$?"
check_match "malformed YAML is reported with its line" "broken.yaml:[0-9]+:[0-9]+: YAML" "$out"

out=$(GRILLD_POLLER_INTERVAL=45s GRILLD_THERMOWORKS_PASSWORD=hunter2 \
	"$BIN/grilld-poller" -n -v 2>&1)
check_match "the environment overrides, and -v says where from" \
	"poller.interval: 45s  # GRILLD_POLLER_INTERVAL" "$out"
check_match "secrets are masked when the configuration is printed" \
	'thermoworks.password: "\*\*\*\*\*\*\*\*"' "$out"
if [[ $out == *hunter2* ]]; then not_ok "the password never appears"; else
	ok "the password never appears"; fi

# The poller's accounts are checked by -n as they load at start-up.
printf 'hunter3\n' >"$T/pw.ok" && chmod 600 "$T/pw.ok"
printf 'hunter4\n' >"$T/pw.open" && chmod 644 "$T/pw.open"
accounts() {
	printf 'thermoworks:\n  api_key: k\n  accounts:\n%s\n' "$1" >"$T/acc.yaml"
	chmod 600 "$T/acc.yaml"
	out=$("$BIN/grilld-poller" -n -f "$T/acc.yaml" 2>&1)
}
accounts "    - {email: a@x.example, password_file: $T/pw.ok}"
check_eq "-n accepts an account with a private password file" 0 "$?"
accounts "    - {email: a@x.example}"
check_eq "-n refuses an account without a password" 1 "$?"
check_match "-n names the account and where it is" \
	"acc.yaml:4: account a@x.example has no password" "$out"
accounts "    - {email: a@x.example, password_file: $T/pw.open}"
check_eq "-n refuses a password file others may read" 1 "$?"
check_match "-n says to chmod the password file" "pw.open is readable by others \(mode 644\); chmod 600 it" "$out"
accounts "    - {email: a@x.example, password: p}
    - {email: A@x.example, password: q}"
check_match "-n refuses an account configured twice" "account A@x.example is configured twice" "$out"
accounts "    - {email: a@x.example, pasword: p}"
check_match "-n refuses an unknown account key" "unknown account key 'pasword'" "$out"

out=$("$BIN/grilld-ingest" -h 2>/dev/null)
check_eq "-h exits 0" 0 "$?"
check_match "-h prints the usage on stdout" "usage: grilld-ingest \[-dhnvV\] \[-f file\]" "$out"
out=$("$BIN/grilld-ingest" --help 2>/dev/null)
check_match "--help prints the usage on stdout" "usage: grilld-ingest " "$out"
out=$("$BIN/grilld-ingest" -x 2>&1 >/dev/null)
check_eq "a wrong option exits 1" 1 "$?"
check_match "a wrong option prints the usage on stderr" "usage: grilld-ingest " "$out"
version=$(sed -n 's/.*GRILLD_VERSION "\(.*\)".*/\1/p' "$GRILLD_TOP/common/version.h")
for d in poller ingest api stream twsim; do
	check_eq "grilld-$d -V prints its version" "grilld-$d $version" \
		"$("$BIN/grilld-$d" -V 2>&1)"
done
check_eq "--version prints it too" "grilld-api $version" "$("$BIN/grilld-api" --version 2>&1)"

# -n refuses what the start would refuse.
for u in notaurl ftp://x rediss://x:1/0; do
	out=$(GRILLD_REDIS_URL=$u "$BIN/grilld-stream" -n 2>&1)
	check_eq "-n refuses redis.url $u" 1 "$?"
	check_match "and says why ($u)" "redis.url: bad redis URL" "$out"
done
out=$(GRILLD_REDIS_URL=ftp://x "$BIN/grilld-twsim" -n 2>&1)
check_eq "the simulator, which has no Redis, ignores redis.url" "configuration OK" "$out"
out=$(GRILLD_INFLUX_URL=ftp://x "$BIN/grilld-ingest" -n 2>&1)
check_eq "-n refuses an influx.url that is not http(s)" 1 "$?"
check_match "and says so" "influx.url: the scheme is not http:// or https://" "$out"

# A GRILLD_ variable that names no option: a warning, with the option meant.
out=$(GRILLD_POLLER_INTERVALL=45s GRILLD_NOSUCH=1 "$BIN/grilld-poller" -n 2>&1)
check_eq "an unknown GRILLD_ variable is a warning, not an error" 0 "$?"
check_match "it says which option was meant" \
	"environment GRILLD_POLLER_INTERVALL names no option \(did you mean GRILLD_POLLER_INTERVAL\?\)" "$out"
check_match "one with no near option is named too" "environment GRILLD_NOSUCH names no option" "$out"
out=$(GRILLD_TOP=/x GRILLD_RUN_VAR=/x "$BIN/grilld-poller" -n 2>&1)
check_eq "the tools' own GRILLD_TOP and GRILLD_RUN_* are no typo" "configuration OK" "$out"

# systemd's LoadCredential=: a secret from $CREDENTIALS_DIRECTORY, under
# its option's name or, from a whole folder, grilld_<option>.
mkdir -p "$T/cred"
printf 'from-credential\n' >"$T/cred/grilld_thermoworks.password"
printf 'redis-credential\n' >"$T/cred/redis.password"
out=$(CREDENTIALS_DIRECTORY=$T/cred "$BIN/grilld-poller" -n -v 2>&1)
check_match "a secret comes from \$CREDENTIALS_DIRECTORY/grilld_<option>" \
	'thermoworks.password: "\*+"  # credential' "$out"
check_match "or from \$CREDENTIALS_DIRECTORY/<option>" 'redis.password: "\*+"  # credential' "$out"
out=$(CREDENTIALS_DIRECTORY=$T/cred GRILLD_THERMOWORKS_PASSWORD=env "$BIN/grilld-poller" -n -v 2>&1)
check_match "the environment still wins over a credential" \
	'thermoworks.password: "\*+"  # GRILLD_THERMOWORKS_PASSWORD' "$out"

# Every address on a free port: nothing of this test may collide with a
# `make run` (8080-8090, 9101-9103, nng 9201-9204) on the same machine.
ports=($(freeport 10))
export GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:${ports[5]}
export GRILLD_NNG_POLLER_URL=tcp://127.0.0.1:${ports[6]}
export GRILLD_NNG_INGEST_URL=tcp://127.0.0.1:${ports[7]}
export GRILLD_NNG_STREAM_URL=tcp://127.0.0.1:${ports[8]}
export GRILLD_POLLER_ADMIN_LISTEN=127.0.0.1:${ports[0]}
export GRILLD_INGEST_ADMIN_LISTEN=127.0.0.1:${ports[1]}
export GRILLD_API_LISTEN=127.0.0.1:${ports[2]}
export GRILLD_STREAM_LISTEN=127.0.0.1:${ports[3]}
export GRILLD_TWSIM_ADMIN_LISTEN=127.0.0.1:${ports[4]}
export GRILLD_TWSIM_LISTEN=127.0.0.1:${ports[9]}
i=0
for d in poller ingest api stream twsim; do
	url=http://127.0.0.1:${ports[$i]}
	i=$((i + 1))
	start=$(date +%s%N)
	if ! start_daemon "$d" "$url/health/live"; then
		not_ok "grilld-$d starts and answers /health/live"
		continue
	fi
	ms=$((($(date +%s%N) - start) / 1000000))
	ok "grilld-$d starts and answers /health/live (${ms} ms)"
	body=$(curl -s "$url/metrics")
	check_match "grilld-$d serves Prometheus metrics" \
		"grilld_build_info\{daemon=\"grilld-$d\",version=\"[0-9.]+\"\} 1" "$body"
	code=$(curl -s -o /dev/null -w '%{http_code}' "$url/health/ready")
	check_match "grilld-$d answers /health/ready" "^(200|503)$" "$code"
	code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$url/metrics")
	check_eq "grilld-$d refuses other methods with 405" 405 "$code"
	pid_var=PID_$d
	pid=${!pid_var}
	start=$(date +%s)
	stop_pid "$pid"
	rc=$?
	check_eq "grilld-$d exits 0 on SIGTERM" 0 "$rc"
	secs=$(($(date +%s) - start))
	if [ "$secs" -le 10 ]; then ok "grilld-$d stops within 10 s (${secs} s)"
	else not_ok "grilld-$d stops within 10 s" "took $secs s"; fi
done

# Something already on the admin port: a clear error, exit 1.

start_redis
export GRILLD_POLLER_ADMIN_LISTEN=127.0.0.1:$REDIS_PORT
out=$(timeout 10 "$BIN/grilld-poller" -d 2>&1)
check_eq "a taken admin port stops the poller with status 1" 1 "$?"
check_match "and the message says which address" "127.0.0.1:$REDIS_PORT" "$out"

done_testing
