// Validates rendered Kubernetes manifests (kubectl kustomize output on
// stdin) against the Kubernetes OpenAPI schemas (kubernetes-models), and
// checks that every grilld container's probes, ports and environment
// match what the daemons really serve and read.
//
//   kubectl kustomize deploy/k8s/overlays/dev | node k8s-check.mjs OPTIONS
//
// OPTIONS is a file listing the GRILLD_* variables the daemons read, one
// a line. Prints TAP lines ("ok N - ..." / "not ok N - ...").
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const known = new Set(readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean));
const docs = parseAllDocuments(readFileSync(0, "utf8")).map((d) => d.toJS()).filter(Boolean);
let n = 0;
const ok = (cond, what, why = "") => {
  n++;
  console.log(`${cond ? "ok" : "not ok"} ${n} - ${what}`);
  if (!cond && why) console.log(`#   ${why}`);
};

for (const doc of docs) {
  const what = `${doc.kind}/${doc.metadata?.name}`;
  let mod;
  try {
    mod = await import(`kubernetes-models/${doc.apiVersion}`);
  } catch (e) {
    ok(false, `${what}: known apiVersion ${doc.apiVersion}`, e.message);
    continue;
  }
  const Model = mod[doc.kind];
  if (!Model) {
    ok(false, `${what}: known kind`);
    continue;
  }
  try {
    new Model(doc).validate();
    ok(true, `${what} validates against the Kubernetes schema`);
  } catch (e) {
    ok(false, `${what} validates against the Kubernetes schema`, String(e.message).slice(0, 400));
  }
}

// The daemons' own containers: image grilld, command grilld-*.
const listenKey = {
  "grilld-poller": "GRILLD_POLLER_ADMIN_LISTEN",
  "grilld-ingest": "GRILLD_INGEST_ADMIN_LISTEN",
  "grilld-api": "GRILLD_API_LISTEN",
  "grilld-stream": "GRILLD_STREAM_LISTEN",
  "grilld-twsim": "GRILLD_TWSIM_ADMIN_LISTEN",
};
const services = docs.filter((d) => d.kind === "Service");
for (const dep of docs.filter((d) => d.kind === "Deployment")) {
  for (const c of dep.spec.template.spec.containers) {
    const prog = c.command?.[0];
    if (!prog?.startsWith("grilld-")) continue;
    const where = `${dep.metadata.name}/${c.name}`;
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? "(secret)"]));
    const unknown = Object.keys(env).filter((k) => !known.has(k));
    ok(unknown.length === 0, `${where}: every environment name is an option grilld reads`, `unknown: ${unknown.join(", ")}`);
    const ports = Object.fromEntries((c.ports ?? []).map((p) => [p.name, p.containerPort]));
    const listen = env[listenKey[prog]];
    const port = listen ? Number(listen.split(":").pop()) : undefined;
    ok(port !== undefined && ports.http === port, `${where}: the http port is the address ${prog} listens on`, `${listenKey[prog]}=${listen}, http=${ports.http}`);
    ok(listen?.startsWith("0.0.0.0:"), `${where}: listens beyond loopback so the kubelet can probe it`, listen);
    for (const [probe, path] of [["readinessProbe", "/health/ready"], ["livenessProbe", "/health/live"]]) {
      const p = c[probe]?.httpGet;
      ok(p?.path === path && (p.port === "http" || p.port === port), `${where}: ${probe} is GET ${path} on the http port`, JSON.stringify(p));
    }
    const sc = c.securityContext ?? {};
    const psc = dep.spec.template.spec.securityContext ?? {};
    ok(sc.readOnlyRootFilesystem === true && sc.allowPrivilegeEscalation === false && psc.runAsNonRoot === true,
      `${where}: non-root, read-only root, no privilege escalation`);
    ok(c.resources?.requests?.memory && c.resources?.limits?.memory, `${where}: memory requests and limits`);
    const ann = dep.spec.template.metadata.annotations ?? {};
    ok(ann["prometheus.io/scrape"] === "true" && Number(ann["prometheus.io/port"]) === port,
      `${where}: scraped by Prometheus on the metrics port`);
    // Every nng listener (tcp://0.0.0.0:P) is a container port.
    for (const [k, v] of Object.entries(env)) {
      const m = /^tcp:\/\/0\.0\.0\.0:(\d+)$/.exec(v);
      if (m) ok(Object.values(ports).includes(Number(m[1])), `${where}: ${k} port ${m[1]} is declared`);
    }
    // Every nng dial (tcp://NAME:P) reaches a Service that has that port.
    for (const [k, v] of Object.entries(env)) {
      const m = /^tcp:\/\/([a-z][a-z0-9-]*):(\d+)$/.exec(v);
      if (!m || m[1] === "0") continue;
      const svc = services.find((s) => s.metadata.name === m[1]);
      ok(svc?.spec.ports.some((p) => p.port === Number(m[2])), `${where}: ${k} reaches Service ${m[1]} port ${m[2]}`);
    }
  }
}
console.log(`1..${n}`);
