#!/usr/bin/env bash
# The deploy files, checked without a Docker engine or a cluster:
# docker-compose's own validation, the image's runtime packages against
# what the binaries link, every Kubernetes overlay rendered and validated
# against the Kubernetes schemas (and against what the daemons serve and
# read), and the systemd units.
. "$(dirname "$0")/lib.sh"
D=$GRILLD_TOP/deploy

check "docker-compose accepts deploy/docker-compose.yml" \
	docker-compose -f "$D/docker-compose.yml" config -q
services=$(docker-compose -f "$D/docker-compose.yml" config --services | sort | tr '\n' ' ')
check_eq "compose runs Redis, InfluxDB, the four daemons and the simulator" \
	"api influxdb ingest poller redis stream twsim " "$services"
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
	node "$GRILLD_TOP/tests/js/k8s-check.mjs" "$T/options" <"$T/$o.yaml" >"$T/$o.tap" 2>&1
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
for k in Deployment Service ConfigMap Secret HorizontalPodAutoscaler \
	PodDisruptionBudget NetworkPolicy; do
	check_match "prod has a $k" "kind: $k " "$kinds"
done

mkdir -p "$T/units"
for u in "$D"/systemd/*.service; do
	sed "s|/usr/local/bin/|$BIN/|" "$u" >"$T/units/$(basename "$u")"
done
check "systemd-analyze verify accepts every unit" \
	systemd-analyze verify --man=no "$T"/units/*.service
for u in "$D"/systemd/*.service; do
	n=$(grep -cE '^(Type=notify|Restart=on-failure|DynamicUser=yes|ProtectSystem=strict|NoNewPrivileges=yes|PrivateTmp=yes)$' "$u")
	check_eq "$(basename "$u") is hardened and restarts on failure" 6 "$n"
done

done_testing
