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
// ---- NetworkPolicies against the pods they mean ----
const overlay = process.argv[3] ?? "";
const pods = docs.filter((d) => d.kind === "Deployment").map((d) => ({
  name: d.metadata.name, labels: d.spec.template.metadata?.labels ?? {} }));
const matches = (sel, labels) => {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    if (e.operator === "In" && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
};
const policies = docs.filter((d) => d.kind === "NetworkPolicy");
// Redis and InfluxDB: pods of the overlay (dev) or outside (prod).
const outside = new Set(["redis", "influxdb"].filter((n) => !pods.some((p) => p.labels["app.kubernetes.io/name"] === n)));
for (const np of policies) {
  const what = `NetworkPolicy/${np.metadata.name}`;
  ok(pods.some((p) => matches(np.spec.podSelector, p.labels)), `${what}: its podSelector matches pods`,
    JSON.stringify(np.spec.podSelector));
  const peers = [...(np.spec.ingress ?? []).flatMap((r) => r.from ?? []),
    ...(np.spec.egress ?? []).flatMap((r) => r.to ?? [])].filter((x) => x.podSelector);
  for (const peer of peers) {
    const name = peer.podSelector.matchLabels?.["app.kubernetes.io/name"];
    if (outside.has(name)) continue;	// the store is reached by ipBlock
    ok(pods.some((p) => matches(peer.podSelector, p.labels)), `${what}: peer ${JSON.stringify(peer.podSelector.matchLabels)} matches pods`);
  }
}
// What each daemon may reach: the union of the egress of every policy
// that selects it (ports; "*" where a rule allows every port).
const egress = (labels) => {
  const ports = new Set();
  for (const np of policies) {
    if (!matches(np.spec.podSelector, labels) || !(np.spec.policyTypes ?? []).includes("Egress")) continue;
    for (const r of np.spec.egress ?? []) {
      if (!r.ports) ports.add("*");
      for (const p of r.ports ?? []) ports.add(p.port);
    }
  }
  return [...ports].map(String).sort();
};
const stores = overlay === "prod" ? ["26379"] : [];
const want = {
  "grilld-poller": ["53", "443", "6379", "8090", ...stores],
  "grilld-ingest": ["53", "443", "6379", "8086", ...stores],
  "grilld-api": ["53", "6379", "8081", "8086", "9202", "9203", "9204", ...stores],
  "grilld-stream": ["53", "6379", ...stores],
};
for (const p of pods) {
  const w = want[p.labels["app.kubernetes.io/name"]];
  if (!w) continue;
  ok(p.labels["app.kubernetes.io/part-of"] === "grilld", `${p.name}: its pods carry part-of grilld (the default deny applies)`);
  const got = egress(p.labels);
  ok(JSON.stringify(got) === JSON.stringify([...w].sort()), `${p.name}: egress reaches exactly DNS, its stores, the cloud and its nng peers`,
    `got ${got.join(",")}, want ${[...w].sort().join(",")}`);
}
for (const name of outside) {
  const port = name === "redis" ? 6379 : 8086;
  ok(policies.some((np) => (np.spec.egress ?? []).some((r) => (r.to ?? []).some((t) => t.ipBlock) &&
    (r.ports ?? []).some((p) => p.port === port))), `${name} outside the namespace: egress to it by an ipBlock (the CIDR to set)`);
}
// Per overlay: replicas, autoscalers, budgets, images, credentials.
const kinds = (k) => docs.filter((d) => d.kind === k);
for (const dep of kinds("Deployment")) {
  for (const c of dep.spec.template.spec.containers) {
    if (!/(^|\/)grilld(:|$)/.test(c.image)) continue;
    ok(c.imagePullPolicy === "IfNotPresent" && !c.image.endsWith(":latest"),
      `${dep.metadata.name}: a pinned tag, pulled when not present (${c.image})`);
  }
}
if (overlay === "dev") {
  ok(kinds("HorizontalPodAutoscaler").length === 0, "dev: no autoscaler raises its single replicas");
  ok(kinds("PodDisruptionBudget").length === 0, "dev: no disruption budget blocks a drain");
  ok(kinds("Deployment").every((d) => d.spec.replicas === 1), "dev: one replica each");
}
if (overlay === "prod") {
  for (const pdb of kinds("PodDisruptionBudget")) {
    const dep = kinds("Deployment").find((d) => matches(pdb.spec.selector, d.spec.template.metadata.labels));
    const blocks = pdb.spec.minAvailable !== undefined && dep && pdb.spec.minAvailable >= dep.spec.replicas;
    ok(dep && !blocks, `${pdb.metadata.name}: a drain can evict a pod (replicas ${dep?.spec.replicas}, ${JSON.stringify(pdb.spec.minAvailable ?? { maxUnavailable: pdb.spec.maxUnavailable })})`);
  }
  const poller = kinds("Deployment").find((d) => d.metadata.name === "grilld-poller");
  const penv = poller?.spec.template.spec.containers[0].env ?? [];
  for (const k of ["GRILLD_THERMOWORKS_EMAIL", "GRILLD_THERMOWORKS_PASSWORD", "GRILLD_THERMOWORKS_API_KEY"])
    ok(penv.some((e) => e.name === k && e.valueFrom?.secretKeyRef?.name === "grilld-secrets"),
      `prod: the poller's ${k} from the Secret grilld-secrets`);
  ok(kinds("Secret").length === 0, "prod: makes no Secret of its own (it names yours)");
}
console.log(`1..${n}`);
