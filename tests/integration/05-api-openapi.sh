#!/usr/bin/env bash
# grilld-api's /openapi.json: valid by a real OpenAPI validator
# (@redocly/cli, from tests/package.json), and true to life: every
# documented operation is called, answers with a status the document
# lists, and its JSON body validates against the documented schema
# (ajv, JSON Schema 2020-12, as OpenAPI 3.1 defines them).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/api.bash"

if [ ! -x "$GRILLD_TOP/tests/node_modules/.bin/redocly" ] ||
    [ ! -d "$GRILLD_TOP/tests/node_modules/ajv-formats" ]; then
	sh "$GRILLD_TOP/mk/npm.sh" >/dev/null 2>&1 || true
fi
[ -x "$GRILLD_TOP/tests/node_modules/.bin/redocly" ] ||
	bail "@redocly/cli is installed (sh mk/npm.sh)"

start_redis
start_influx
influx_setup
points SIG-1 1 F 60 30 200 50 >"$T/raw.lp"
influx_write raw "$T/raw.lp" || bail "seed InfluxDB"
latest SIG-1 1 225.5 F 10
redis_cli HSET grilld:devices SIG-1 '{"device_id":"SIG-1","name":"Signals","state":"online"}' >/dev/null
redis_cli XADD grilld:alerts '*' t alert d SIG-1 j '{"alert_id":"a-1","rule_id":"r1","kind":"above","state":"firing","device_id":"SIG-1","probe_id":"1","timestamp":"2026-01-01T00:00:00.000Z","value":260,"threshold":250,"unit":"F"}' >/dev/null
api_start GRILLD_API_MAX_BATCH=5 || bail "grilld-api starts"

curl -sS "$API/openapi.json" >"$T/openapi.json"
out=$(cd "$GRILLD_TOP/tests" && node_modules/.bin/redocly lint --format=stylish "$T/openapi.json" 2>&1)
check_eq "the document passes redocly lint (OpenAPI 3.1)" "0" "$?"
check_match "... with no error" "valid" "$out"

# call METHOD TEMPLATE PATH [CURL ARGS...]: one live request, recorded.
: >"$T/calls.tsv"
n=0
call() {
	local method=$1 tmpl=$2 path=$3 code type
	shift 3
	n=$((n + 1))
	read -r code type < <(curl -sS -o "$T/body.$n" -w '%{http_code} %{content_type}\n' \
		-X "$method" "$@" "$API$path")
	printf '%s\t%s\t%s\t%s\t%s\n' "$method" "$tmpl" "$code" "${type:--}" "$T/body.$n" >>"$T/calls.tsv"
}
J=(-H "Content-Type: application/json")
D='/api/temperature'
call GET "$D/current/{device_id}" "$D/current/SIG-1?probe_id=1"
call GET "$D/current/{device_id}" "$D/current/SIG-1"
call GET "$D/current/{device_id}" "$D/current/NOPE"
call GET "$D/current/{device_id}" "$D/current/SIG-1?probe_id=1&unit=K"
call GET "$D/history/{device_id}" "$D/history/SIG-1?limit=5"
call GET "$D/history/{device_id}" "$D/history/SIG-1?aggregation=mean&interval=10m"
call GET "$D/history/{device_id}" "$D/history/SIG-1?start_time=2025-01-01&aggregation=max"
call GET "$D/history/{device_id}" "$D/history/SIG-1?start_time=bad"
call GET "$D/history/{device_id}" "$D/history/NOPE"
call GET "$D/stats/{device_id}" "$D/stats/SIG-1?low=200&high=230"
call GET "$D/stats/{device_id}" "$D/stats/SIG-1?start_time=2025-01-01"
call GET "$D/stats/{device_id}" "$D/stats/NOPE"
call GET "$D/export/{device_id}" "$D/export/SIG-1?format=csv"
call GET "$D/export/{device_id}" "$D/export/SIG-1?format=jsonl"
call GET "$D/export/{device_id}" "$D/export/SIG-1?format=pdf"
call POST "$D/batch" "$D/batch" "${J[@]}" -d '{"readings": [{"device_id": "B", "temperature": 100}]}'
call POST "$D/batch" "$D/batch" "${J[@]}" -d '{"readings": [{"device_id": "B", "temperature": 100}, {"device_id": 5}]}'
call POST "$D/batch" "$D/batch" "${J[@]}" -d '{"readings": [{"device_id": 5}]}'
call POST "$D/batch" "$D/batch" "${J[@]}" -d '{"readings": []}'
call POST "$D/batch" "$D/batch" -H "Content-Type: text/csv" -d 'a,b'
call POST "$D/batch" "$D/batch" "${J[@]}" -d "$(jq -nc '{readings: [range(6) | {device_id: "B", temperature: 1}]}')"
call GET "$D/alerts/{device_id}" "$D/alerts/SIG-1?threshold_high=240"
call GET "$D/alerts/{device_id}" "$D/alerts/SIG-1?threshold_high=x"
call GET "$D/stream/{device_id}" "$D/stream/SIG-1"
call GET "$D/ws/{device_id}" "$D/ws/SIG-1"
call GET "$D/health" "$D/health"
call GET /health /health
call GET /health/live /health/live
call GET /health/ready /health/ready
call GET /metrics /metrics
call GET /openapi.json /openapi.json
call GET /api/devices /api/devices
call GET "/api/devices/{device_id}" /api/devices/SIG-1
call GET "/api/devices/{device_id}" /api/devices/NOPE
call GET "/api/devices/{device_id}/health" /api/devices/SIG-1/health
call GET "/api/devices/{device_id}/health" /api/devices/NOPE/health
call GET /api/alerts "/api/alerts?limit=5"
call GET /api/alerts "/api/alerts?limit=0"
call POST /api/alerts/rules /api/alerts/rules "${J[@]}" -d '{"id": "r1", "kind": "above", "device_id": "SIG-1", "probe_id": "1", "threshold": 250}'
call POST /api/alerts/rules /api/alerts/rules "${J[@]}" -d '{"id": "r1", "kind": "above", "device_id": "SIG-1", "threshold": 250}'
call POST /api/alerts/rules /api/alerts/rules "${J[@]}" -d '{"kind": "nope"}'
call GET /api/alerts/rules /api/alerts/rules
call GET "/api/alerts/rules/{rule_id}" /api/alerts/rules/r1
call GET "/api/alerts/rules/{rule_id}" /api/alerts/rules/r404
call PUT "/api/alerts/rules/{rule_id}" /api/alerts/rules/r1 "${J[@]}" -d '{"kind": "above", "device_id": "SIG-1", "probe_id": "1", "threshold": 240}'
call PUT "/api/alerts/rules/{rule_id}" /api/alerts/rules/r2 "${J[@]}" -d '{"kind": "offline", "device_id": "SIG-1"}'
redis_cli HSET grilld:alertstate r1/SIG-1/1 '{"rule_id":"r1","kind":"above","device_id":"SIG-1","probe_id":"1","state":"firing","alert_id":"a-1","since":"2026-01-01T00:00:00Z","notified":true}' >/dev/null
call POST "/api/alerts/rules/{rule_id}/acknowledge" /api/alerts/rules/r1/acknowledge
call POST "/api/alerts/rules/{rule_id}/acknowledge" /api/alerts/rules/r2/acknowledge
call POST "/api/alerts/rules/{rule_id}/snooze" /api/alerts/rules/r1/snooze "${J[@]}" -d '{"duration": "1h"}'
call POST "/api/alerts/rules/{rule_id}/snooze" /api/alerts/rules/r1/snooze "${J[@]}" -d '{"duration": []}'
call DELETE "/api/alerts/rules/{rule_id}" /api/alerts/rules/r2
call DELETE "/api/alerts/rules/{rule_id}" /api/alerts/rules/r2

cat >"$T/check.cjs" <<'JS'
// Checks recorded calls against the OpenAPI document: argv doc calls.
const fs = require("fs");
const Ajv = require(process.env.GRILLD_TOP + "/tests/node_modules/ajv/dist/2020").default;
const doc = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const addFormats = require(process.env.GRILLD_TOP + "/tests/node_modules/ajv-formats");
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: "doc", components: doc.components });
const deref = (o) => (o && o.$ref ? deref(o.$ref.split("/").slice(1)
    .reduce((a, k) => a[k], doc)) : o);
const seen = new Set();
let fails = 0, n = 0;
for (const line of fs.readFileSync(process.argv[3], "utf8").trim().split("\n")) {
	const [method, tmpl, code, type, file] = line.split("\t");
	const what = `${method} ${tmpl} -> ${code}`;
	n++;
	const op = doc.paths[tmpl] && doc.paths[tmpl][method.toLowerCase()];
	if (!op) { console.log(`not ok - ${what}: not documented`); fails++; continue; }
	seen.add(`${method.toLowerCase()} ${tmpl}`);
	const resp = deref(op.responses[code]);
	if (!resp) { console.log(`not ok - ${what}: status not documented`); fails++; continue; }
	const media = resp.content && (resp.content[type.split(";")[0].trim()] ||
	    resp.content["application/json"]);
	if (media && media.schema && type.startsWith("application/json")) {
		let body;
		try { body = JSON.parse(fs.readFileSync(file, "utf8")); }
		catch (e) { console.log(`not ok - ${what}: not JSON`); fails++; continue; }
		const schema = JSON.parse(JSON.stringify(media.schema).replace(
		    /"#\/components\//g, '"doc#/components/'));
		const validate = ajv.compile(schema);
		if (!validate(body)) {
			console.log(`not ok - ${what}: ${ajv.errorsText(validate.errors)}`);
			fails++;
			continue;
		}
	} else if (resp.content && !media) {
		console.log(`not ok - ${what}: content type ${type} not documented`);
		fails++;
		continue;
	}
	console.log(`ok - ${what}`);
}
for (const [p, item] of Object.entries(doc.paths))
	for (const m of Object.keys(item))
		if (["get", "post", "put", "delete"].includes(m) && !seen.has(`${m} ${p}`)) {
			console.log(`not ok - ${m.toUpperCase()} ${p}: never called`);
			fails++;
		}
console.log(`# ${n} calls, ${fails} failures`);
process.exit(fails ? 1 : 0);
JS
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "live: ${line#ok - }" ;;
	"not ok - "*) not_ok "live: ${line#not ok - }" ;;
	esac
done < <(GRILLD_TOP=$GRILLD_TOP node "$T/check.cjs" "$T/openapi.json" "$T/calls.tsv" 2>&1)
check_eq "every call was checked" "$n" "$(wc -l <"$T/calls.tsv")"

done_testing
