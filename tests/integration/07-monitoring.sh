#!/usr/bin/env bash
# The operator's view (deploy/monitoring): the alert rules pass promtool's
# check and its unit tests, the dashboards are valid and only ask for
# metrics the daemons export, compose provisions them, and the
# Kubernetes form (ServiceMonitor, PrometheusRule, dashboards ConfigMap)
# renders with every kubectl and selects the grilld Services.
. "$(dirname "$0")/lib.sh"
cd "$GRILLD_TOP/deploy/monitoring" || bail "no deploy/monitoring"

check "promtool check rules accepts the alert rules" promtool check rules alerts.yml
check "promtool test rules: the alerts fire when they should" promtool test rules alerts.test.yml
check "promtool check config accepts compose's prometheus.yml" promtool check config prometheus.yml
for a in GrilldNoReadings GrilldPollsFailing GrilldIngestLagGrowing GrilldBreakerOpen \
	GrilldDeadLetters GrilldSpoolFilling; do
	check "there is an alert $a" grep -q "alert: $a\$" alerts.yml
done
check "the PrometheusRule holds exactly the rules of alerts.yml" python3 -c '
import sys, yaml
a = yaml.safe_load(open("alerts.yml"))
b = yaml.safe_load(open("prometheusrule.yaml"))["spec"]
sys.exit(a != b)'

# Every metric the dashboards and rules ask for is one a daemon declares.
src=$(cat "$GRILLD_TOP"/{poller,ingest,api,stream,common,twsim}/*.c)
for f in dashboards/*.json; do
	check "$f is valid JSON with a uid, a title and panels" \
		jq -e '.uid and .title and (.panels | length > 0)' "$f"
	check "$f reads Prometheus through its datasource variable" \
		jq -e '[.panels[].datasource.uid] | all(. == "${datasource}")' "$f"
done
names=$({ jq -r '.. | .expr? // empty' dashboards/*.json; grep 'expr:' alerts.yml
	sed -n '/expr: |/,/for:/p' alerts.yml; } |
	grep -oE 'grilld_[a-z_]+' | sed -E 's/_(bucket|sum|count)$//' | sort -u)
missing=""
for m in $names; do
	grep -qF "\"$m\"" <<<"$src" || missing="$missing $m"
done
check_eq "every metric in the dashboards and rules is exported ($(wc -w <<<"$names") names)" "" "$missing"
for p in "Probe temperatures" "Hand-off lag" "Ingest rate" "Ingest failures" "Stream clients" \
	"Stream delivery latency" "Circuit breakers" "Readings polled"; do
	check "a dashboard shows $p" grep -q "\"title\": \"$p" dashboards/*.json
done

# compose provisions Prometheus (with the rules) and Grafana (with both).
printf 'GRILLD_API_KEYS=k\nGRILLD_THERMOWORKS_PASSWORD=demo\n' >"$T/env"
cfg=$(cd .. && GRILLD_ENV_FILE=$T/env docker-compose -f docker-compose.yml config)
for m in prometheus.yml alerts.yml grafana/datasources.yml grafana/dashboards.yml dashboards; do
	check_match "compose mounts monitoring/$m" "deploy/monitoring/$m:" "$cfg"
	check "monitoring/$m exists" test -e "$m"
done
check_eq "Grafana's dashboard folder is the one compose mounts" \
	"/var/lib/grafana/dashboards/grilld" "$(sed -n 's/^ *path: //p' grafana/dashboards.yml)"
if grep -qE 'GF_SECURITY_ADMIN_PASSWORD: *[^$ ]' ../docker-compose.yml; then
	not_ok "Grafana's password is not in the compose file"; else ok "Grafana's password is not in the compose file"; fi

for kc in ${KUBECTLS:-kubectl}; do
	if "$kc" kustomize . >"$T/mon.yaml" 2>"$T/mon.err"; then
		ok "$kc kustomize renders deploy/monitoring"
	else
		not_ok "$kc kustomize renders deploy/monitoring" "$(cat "$T/mon.err")"
		continue
	fi
	kinds=$(grep '^kind:' "$T/mon.yaml" | sort | tr '\n' ' ')
	check_eq "it holds the dashboards, the rules and the ServiceMonitor" \
		"kind: ConfigMap kind: PrometheusRule kind: ServiceMonitor " "$kinds"
done
check "the dashboards ConfigMap carries the Grafana sidecar's label" \
	python3 -c '
import sys, yaml
d = [o for o in yaml.safe_load_all(open(sys.argv[1])) if o["kind"] == "ConfigMap"][0]
sys.exit(not (d["metadata"]["labels"].get("grafana_dashboard") == "1"
    and {"grilld-pipeline.json", "grilld-cook.json"} <= set(d["data"])))' "$T/mon.yaml"
# The ServiceMonitor selects every grilld Service by label and port name.
kubectl kustomize ../k8s/overlays/prod >"$T/prod.yaml" 2>/dev/null
check "the ServiceMonitor selects the api, ingest, poller and stream Services on port http" \
	python3 -c '
import sys, yaml
objs = list(yaml.safe_load_all(open(sys.argv[1])))
sm = [o for o in yaml.safe_load_all(open(sys.argv[2])) if o["kind"] == "ServiceMonitor"][0]
sel = sm["spec"]["selector"]["matchLabels"]
port = sm["spec"]["endpoints"][0]["port"]
hit = sorted(o["metadata"]["name"] for o in objs if o and o["kind"] == "Service"
    and all(o["metadata"].get("labels", {}).get(k) == v for k, v in sel.items())
    and any(p.get("name") == port for p in o["spec"]["ports"]))
sys.exit(not set(["api", "ingest", "poller", "stream"]) <= set(hit))' "$T/prod.yaml" "$T/mon.yaml"

done_testing
