#!/usr/bin/env bash
# The deploy files, checked without a Docker engine or a cluster:
# docker-compose's own validation, the image's runtime packages against
# what the binaries link, every Kubernetes overlay rendered and validated
# against the Kubernetes schemas (and against what the daemons serve and
# read), and the systemd units.
. "$(dirname "$0")/lib.sh"
D=$GRILLD_TOP/deploy

# Secrets come from an env file the operator writes; none is in the file.
out=$(GRILLD_ENV_FILE=$T/none.env docker-compose -f "$D/docker-compose.yml" config -q 2>&1)
check_match "compose refuses to run without the env file of secrets" "none.env" "$out"
export GRILLD_ENV_FILE=$T/grilld.env
printf 'GRILLD_API_KEYS=test-key-0123456789abcdef\nGRILLD_THERMOWORKS_PASSWORD=demo\n' >"$GRILLD_ENV_FILE"
check "docker-compose accepts deploy/docker-compose.yml" \
	docker-compose -f "$D/docker-compose.yml" config -q
lits=$(grep -nE '(PASSWORD|API_KEYS|SECRET)[A-Z_]*: *[^$ ]' "$D/docker-compose.yml")
check_eq "no password or key is written in the compose file" "" "$lits"
check_match "the API gets its keys from the env file" "GRILLD_API_KEYS: test-key-0123456789abcdef" \
	"$(docker-compose -f "$D/docker-compose.yml" config | awk '/^  api:$/{a=1} /^  [a-z]+:$/ && !/api/{a=0} a')"
services=$(docker-compose -f "$D/docker-compose.yml" config --services | sort | tr '\n' ' ')
check_eq "compose runs Redis, InfluxDB, the four daemons, the simulator, Prometheus and Grafana" \
	"api grafana influxdb ingest poller prometheus redis stream twsim " "$services"
check "every grilld service has a health check on /health/ready" bash -c "
	docker-compose -f '$D/docker-compose.yml' config |
	awk '/^  [a-z]+:\$/{s=\$1} /health\/ready/{print s}' | sort | tr -d ':' |
	tr '\n' ' ' | grep -qx 'api ingest poller stream twsim '"

# The runtime image must hold every library the binaries need.
runtime=$(sed -n 's/^ARG RUNTIME_PACKAGES="\(.*\)"/\1/p' "$D/docker/Dockerfile")
for b in "$BIN"/grilld-*; do
	missing=""
	for lib in $(readelf -d "$b" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
		# make sanitize links the sanitizer runtimes; images never do.
		case $lib in libasan.so* | libubsan.so*) continue ;; esac
		path=$(ldd "$b" | awk -v l="$lib" '$1 == l { print $3 }')
		pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
		[ -z "$pkg" ] && pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
		case " $runtime libc6 " in
		*" $pkg "*) ;;
		*) missing="$missing $lib($pkg)" ;;
		esac
	done
	check_eq "the image has every library $(basename "$b") links" "" "$missing"
done
check "the image runs as a non-root user" grep -q '^USER 10001' "$D/docker/Dockerfile"

# kustomize reads files only below its folder: the base holds a copy of
# the sample configuration, which must not drift (make sample-config).
check "deploy/k8s/base/grilld.yaml is the sample configuration" \
	cmp "$D/etc/grilld.yaml" "$D/k8s/base/grilld.yaml"
"$BUILD/tools/confgen" -e >"$T/options"
# Debian 12's kubectl (1.20, kustomize v2) refuses a folder under
# `resources:` ("must be a file"): an overlay names its base under
# `bases:`, which current kubectl still reads (with a deprecation note).
for k in "$D"/k8s/base/kustomization.yaml "$D"/k8s/overlays/*/kustomization.yaml; do
	dirs=""
	for r in $(awk '/^[a-zA-Z]/{sec=$1} sec == "resources:" && $1 == "-" {print $2}' "$k"); do
		[ -d "$(dirname "$k")/$r" ] && dirs="$dirs $r"
	done
	check_eq "${k#"$D"/k8s/} lists no folder under resources: (kustomize v2)" "" "$dirs"
done
# Every kubectl given (KUBECTLS="kubectl /path/to/kubectl-1.20"), the
# one on the PATH by default.
for kc in ${KUBECTLS:-kubectl}; do
	kv=$("$kc" version --client 2>/dev/null | grep -o 'v1\.[0-9]*' | head -1)
	for o in dev prod; do
		if "$kc" kustomize "$D/k8s/overlays/$o" >"$T/$o.yaml" 2>"$T/$o.err"; then
			ok "kubectl $kv kustomize renders the $o overlay"
		else
			not_ok "kubectl $kv kustomize renders the $o overlay" "$(cat "$T/$o.err")"
		fi
	done
done
for o in dev prod; do
	kubectl kustomize "$D/k8s/overlays/$o" >"$T/$o.yaml" 2>/dev/null || continue
	node "$GRILLD_TOP/tests/js/k8s-check.mjs" "$T/options" "$o" <"$T/$o.yaml" >"$T/$o.tap" 2>&1
	p=$(grep -c '^ok ' "$T/$o.tap")
	f=$(grep -c '^not ok ' "$T/$o.tap")
	if [ "$f" -eq 0 ] && [ "$p" -gt 20 ]; then
		ok "$o: $p checks of the rendered objects pass (schemas, probes, ports, env)"
	else
		not_ok "$o: the rendered objects pass the schema and daemon checks" \
			"$(grep -A1 '^not ok' "$T/$o.tap" | head -20)"
	fi
done
kinds=$(grep '^kind:' "$T/prod.yaml" | sort -u | tr '\n' ' ')
for k in Deployment Service ConfigMap HorizontalPodAutoscaler \
	PodDisruptionBudget NetworkPolicy; do
	check_match "prod has a $k" "kind: $k " "$kinds"
done
check_match "dev generates its Secret (prod names yours)" "kind: Secret" \
	"$(grep '^kind:' "$T/dev.yaml" | sort -u | tr '\n' ' ')"

# make install: into a PREFIX (the units rewritten for it), then verified
# as installed; and into a DESTDIR for /usr/local, which uninstall empties.
# BIN/BUILD as this run's, so that install builds nothing.
inst() { make -C "$GRILLD_TOP" --no-print-directory BIN="$BIN" BUILD="$BUILD" "$@" >>"$T/install.log" 2>&1; }
P=$T/prefix
check "make install PREFIX= SYSCONFDIR= installs" inst install PREFIX="$P/usr" SYSCONFDIR="$P/etc"
for f in usr/bin/grilld-poller usr/bin/grilld-ingest usr/bin/grilld-api \
	usr/bin/grilld-stream usr/bin/grilld-twsim usr/share/grilld/www/index.html \
	usr/share/grilld/www/node_modules/uplot/dist/uPlot.iife.min.js \
	usr/share/man/man8/grilld-api.8 usr/share/man/man5/grilld.yaml.5 \
	usr/share/doc/grilld/README.md usr/share/doc/grilld/configuration.md \
	etc/grilld/grilld.yaml usr/lib/systemd/system/grilld-stream.service; do
	check "installed: $f" test -s "$P/$f"
done
check_eq "the credentials folder is root's alone" 700 "$(stat -c %a "$P/etc/grilld/credentials")"
check "the installed units run the installed programs" \
	grep -q "^ExecStart=$P/usr/bin/grilld-api -d -f $P/etc/grilld/grilld.yaml\$" \
	"$P/usr/lib/systemd/system/grilld-api.service"
check "systemd-analyze verify accepts every installed unit" \
	systemd-analyze verify --man=no "$P"/usr/lib/systemd/system/grilld-*.service
for u in "$P"/usr/lib/systemd/system/grilld-*.service; do
	check "$(basename "$u") loads the credentials folder" \
		grep -qx "LoadCredential=grilld:$P/etc/grilld/credentials" "$u"
done
# The installed stream daemon, with its unit's environment, serves the
# installed page and its chart library.
port=$(freeport)
env_page=$(sed -n 's/^Environment=GRILLD_STREAM_PAGE_DIR=//p' "$P/usr/lib/systemd/system/grilld-stream.service")
check_eq "the stream unit points stream.page_dir at the installed page" "$P/usr/share/grilld/www" "$env_page"
GRILLD_STREAM_PAGE_DIR=$env_page GRILLD_STREAM_LISTEN=127.0.0.1:$port \
	GRILLD_REDIS_URL=redis://127.0.0.1:1/0 "$P/usr/bin/grilld-stream" -d \
	-f "$P/etc/grilld/grilld.yaml" >"$T/stream.log" 2>&1 &
spid=$!
_pids+=("$spid")
if wait_for grilld-stream 15 curl -sf "http://127.0.0.1:$port/health/live"; then
	check_match "the installed stream serves the page" "<html" \
		"$(curl -s "http://127.0.0.1:$port/")"
	check_eq "and the chart library" 200 \
		"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/vendor/uplot/uPlot.iife.min.js")"
else
	not_ok "the installed stream starts" "$(tail -5 "$T/stream.log")"
fi
stop_pid "$spid"

R=$T/destdir
check "make install DESTDIR= installs for /usr/local" inst install DESTDIR="$R"
check "DESTDIR: the unit still names /usr/local/bin" \
	grep -q '^ExecStart=/usr/local/bin/grilld-poller ' "$R/usr/local/lib/systemd/system/grilld-poller.service"
printf 'poller:\n  interval: 1m\n' >"$R/etc/grilld/grilld.yaml"
inst install DESTDIR="$R"
check "a second install keeps the configuration" grep -q 'interval: 1m' "$R/etc/grilld/grilld.yaml"
check "make uninstall DESTDIR= uninstalls" inst uninstall DESTDIR="$R"
left=$(cd "$R" && find . -type f | grep -v '^./etc/grilld/' | sort | tr '\n' ' ')
check_eq "uninstall leaves only /etc/grilld" "" "$left"
for u in "$D"/systemd/*.service; do
	n=$(grep -cE '^(Type=notify|Restart=on-failure|DynamicUser=yes|ProtectSystem=strict|NoNewPrivileges=yes|PrivateTmp=yes)$' "$u")
	check_eq "$(basename "$u") is hardened and restarts on failure" 6 "$n"
done

done_testing
