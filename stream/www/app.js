/*
 * The live page: one card per probe, a chart per device, a connection
 * indicator. Everything comes from grilld-stream's SSE feed:
 *
 *  - on load the page asks for the last `hours` (default 3) with
 *    ?since=<ms>: the stream replays them from Redis (its `events`
 *    stream), which fills the charts, then goes live; a "truncated" note
 *    says the stream held less than that;
 *  - when the connection drops (a restart of grilld-stream, a network
 *    blip) EventSource reconnects by itself with Last-Event-ID and the
 *    stream replays exactly what was missed; if the browser gives up
 *    (an HTTP error), the page reconnects itself with ?since=<last id>.
 *
 * Page parameters: ?hours=N, ?devices=a,b, ?token=T (for deployments
 * with api.read_auth). The chart is uPlot (npm, served from /vendor).
 */
(function () {
  "use strict";

  var params = new URLSearchParams(location.search);
  var hours = Math.min(Math.max(parseFloat(params.get("hours")) || 3, 0.1), 48);
  var token = params.get("token");
  var only = params.get("devices");
  var MAX_POINTS = 5000;		/* per device, oldest dropped first */
  var ETA_WINDOW_S = 600;

  var devices = {};			/* id -> device view */
  var alerts = {};			/* "dev/probe" -> "firing" | "cleared" */
  var lastId = null;
  var es = null;
  var retryMs = 1000;
  /* What the page did, for people and for tests/integration/stream/page.mjs. */
  var state = { status: "connecting", statuses: [], lastId: null, events: 0,
    opens: 0, duplicates: 0, truncated: 0 };
  window.grilld = state;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function idCmp(a, b) {
    var pa = a.split("-").map(Number), pb = b.split("-").map(Number);
    if (pa[0] !== pb[0]) return pa[0] < pb[0] ? -1 : 1;
    if ((pa[1] || 0) !== (pb[1] || 0)) return (pa[1] || 0) < (pb[1] || 0) ? -1 : 1;
    return 0;
  }

  function setStatus(s, text) {
    if (state.status !== s) state.statuses.push(s);
    state.status = s;
    $("conn").className = "conn " + s;
    $("conn-text").textContent = text || s;
  }

  function fmtTemp(v) {
    return v === null || v === undefined ? "—" : (Math.round(v * 10) / 10).toFixed(1);
  }

  function fmtEta(s) {
    if (s === null || !isFinite(s) || s < 0) return "—";
    if (s < 60) return "< 1 min";
    var m = Math.round(s / 60);
    return m < 60 ? m + " min" : Math.floor(m / 60) + " h " + (m % 60) + " min";
  }

  function targetOf(r) {
    var m = r.metadata || {};
    var t = r.target !== undefined ? r.target : m.target !== undefined ? m.target :
      m.alarm_high !== undefined ? m.alarm_high : m.set_point;
    return typeof t === "number" ? t : null;
  }

  /* Seconds to the target from the slope of the last ten minutes. */
  function eta(dev, probe, target) {
    var pts = dev.points.filter(function (p) { return p.probe === probe; });
    if (target === null || pts.length < 3) return null;
    var tEnd = pts[pts.length - 1].t, sel = pts.filter(function (p) { return p.t >= tEnd - ETA_WINDOW_S; });
    if (sel.length < 3) return null;
    var n = sel.length, sx = 0, sy = 0, sxx = 0, sxy = 0;
    sel.forEach(function (p) { var x = p.t - tEnd; sx += x; sy += p.v; sxx += x * x; sxy += x * p.v; });
    var den = n * sxx - sx * sx;
    if (den === 0) return null;
    var slope = (n * sxy - sx * sy) / den, now = sel[sel.length - 1].v;
    if (now >= target) return 0;
    return slope > 0 ? (target - now) / slope : null;
  }

  function deviceView(id) {
    if (devices[id]) return devices[id];
    var empty = $("empty");
    if (empty) empty.remove();
    var box = el("section", "device");
    box.dataset.device = id;
    var h = el("h2", null, id);
    var st = el("span", "state", "");
    h.appendChild(st);
    var cards = el("div", "cards");
    var chart = el("div", "chart");
    box.appendChild(h); box.appendChild(cards); box.appendChild(chart);
    $("devices").appendChild(box);
    var d = { id: id, box: box, state: st, cards: cards, chartEl: chart,
      probes: {}, order: [], points: [], plot: null, dirty: true };
    devices[id] = d;
    return d;
  }

  function cardView(d, probe) {
    if (d.probes[probe]) return d.probes[probe];
    var c = el("div", "card");
    c.dataset.probe = probe;
    var name = el("div", "name", probe || "probe");
    var temp = el("div", "temp");
    var dl = el("dl");
    var f = {};
    ["target", "eta", "alert", "battery", "signal"].forEach(function (k) {
      dl.appendChild(el("dt", null, { target: "Target", eta: "ETA", alert: "Alert",
        battery: "Battery", signal: "Signal" }[k]));
      f[k] = el("dd", k === "alert" ? "alert-state" : null, "—");
      dl.appendChild(f[k]);
    });
    c.appendChild(name); c.appendChild(temp); c.appendChild(dl);
    d.cards.appendChild(c);
    var p = { el: c, name: name, temp: temp, f: f, last: null };
    d.probes[probe] = p;
    d.order.push(probe);
    d.plot = null;			/* a new series: rebuild the chart */
    return p;
  }

  function renderCard(d, probe) {
    var p = d.probes[probe], r = p.last, a = alerts[d.id + "/" + probe];
    if (r.label) p.name.textContent = r.label;
    p.temp.innerHTML = "";
    p.temp.appendChild(document.createTextNode(fmtTemp(r.temperature)));
    p.temp.appendChild(el("span", "unit", "°" + (r.unit || "F")));
    var t = targetOf(r);
    p.f.target.textContent = t === null ? "—" : fmtTemp(t) + "°";
    p.f.eta.textContent = fmtEta(eta(d, probe, t));
    p.f.alert.textContent = a || "none";
    p.f.alert.className = "alert-state " + (a || "");
    p.el.classList.toggle("alert", a === "firing");
    p.f.battery.textContent = r.battery_level === null || r.battery_level === undefined ? "—" : r.battery_level + " %";
    p.f.signal.textContent = r.signal_strength === null || r.signal_strength === undefined ? "—" : r.signal_strength + " dBm";
    p.el.dataset.temperature = r.temperature;
  }

  function onReading(r) {
    var d = deviceView(r.device_id), probe = r.probe_id || "";
    var p = cardView(d, probe);
    var t = Date.parse(r.timestamp) / 1000;
    if (typeof r.temperature === "number" && isFinite(t)) {
      d.points.push({ t: t, probe: probe, v: r.temperature });
      if (d.points.length > MAX_POINTS) d.points.splice(0, d.points.length - MAX_POINTS);
      d.dirty = true;
    }
    if (!p.last || Date.parse(p.last.timestamp) <= Date.parse(r.timestamp)) p.last = r;
    renderCard(d, probe);
  }

  function onDevice(e) {
    var d = deviceView(e.device_id);
    d.state.textContent = e.state || "";
    d.state.className = "state " + (e.state || "");
  }

  function onAlert(a) {
    var key = a.device_id + "/" + (a.probe_id || "");
    alerts[key] = a.state === "cleared" ? "cleared" : "firing";
    var d = deviceView(a.device_id);
    if (d.probes[a.probe_id || ""] && d.probes[a.probe_id || ""].last) renderCard(d, a.probe_id || "");
  }

  /* Charts: one x array, one series per probe (uPlot wants them aligned). */
  function drawCharts() {
    var cut = Date.now() / 1000 - hours * 3600;
    Object.keys(devices).forEach(function (id) {
      var d = devices[id];
      if (!d.dirty || typeof uPlot === "undefined" || d.order.length === 0) return;
      d.dirty = false;
      d.points = d.points.filter(function (p) { return p.t >= cut; });
      var pts = d.points.slice().sort(function (a, b) { return a.t - b.t; });
      var xs = [], cols = d.order.map(function () { return []; }), idx = {};
      d.order.forEach(function (p, i) { idx[p] = i; });
      pts.forEach(function (p) {
        if (xs.length === 0 || xs[xs.length - 1] !== p.t) {
          xs.push(p.t);
          cols.forEach(function (c) { c.push(null); });
        }
        cols[idx[p.probe]][xs.length - 1] = p.v;
      });
      var data = [xs].concat(cols);
      var width = Math.max(d.chartEl.clientWidth, 300);
      if (!d.plot) {
        d.chartEl.innerHTML = "";
        var palette = ["#ff7b39", "#58a6ff", "#3fb950", "#d2a8ff", "#f85149", "#e3b341"];
        d.plot = new uPlot({
          width: width, height: 220,
          scales: { x: { time: true } },
          series: [{}].concat(d.order.map(function (p, i) {
            return { label: p || "probe", stroke: palette[i % palette.length], width: 2, spanGaps: true };
          })),
          axes: [{ stroke: "#8a93a3" }, { stroke: "#8a93a3" }]
        }, data, d.chartEl);
      } else {
        if (d.plot.width !== width) d.plot.setSize({ width: width, height: 220 });
        d.plot.setData(data);
      }
    });
  }

  function handle(kind, ev) {
    if (ev.lastEventId) {
      if (lastId !== null && idCmp(ev.lastEventId, lastId) <= 0) {
        state.duplicates++;
        return;
      }
      lastId = ev.lastEventId;
      state.lastId = lastId;
    }
    var data;
    try { data = JSON.parse(ev.data); } catch (e) { return; }
    state.events++;
    if (kind === "reading") onReading(data);
    else if (kind === "device") onDevice(data);
    else if (kind === "alert") onAlert(data);
    $("last").textContent = "last event " + new Date().toLocaleTimeString();
  }

  function connect() {
    var q = new URLSearchParams();
    q.set("since", lastId !== null ? lastId : String(Date.now() - Math.round(hours * 3600e3)));
    if (only) q.set("devices", only);
    if (token) q.set("token", token);
    es = new EventSource("/api/temperature/stream?" + q.toString());
    es.onopen = function () {
      state.opens++;
      retryMs = 1000;
      setStatus("live", "live");
    };
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED) {
        /* The browser gave up (an HTTP error): try again ourselves. */
        setStatus("offline", "offline, retrying");
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 30000);
      } else {
        setStatus("reconnecting", "reconnecting");
      }
    };
    ["reading", "device", "alert"].forEach(function (k) {
      es.addEventListener(k, function (ev) { handle(k, ev); });
    });
    es.addEventListener("truncated", function () {
      state.truncated++;
      $("note").textContent = "History before the oldest stored event is not shown.";
    });
    es.addEventListener("coalesced", function (ev) {
      $("note").textContent = "Fell behind: skipped " + JSON.parse(ev.data).dropped + " readings.";
    });
    es.addEventListener("disconnect", function (ev) {
      setStatus("reconnecting", "reconnecting (" + JSON.parse(ev.data).reason + ")");
    });
  }

  setInterval(drawCharts, 1000);
  setInterval(function () {
    /* ETAs move with time even without a new reading. */
    Object.keys(devices).forEach(function (id) {
      var d = devices[id];
      Object.keys(d.probes).forEach(function (p) { if (d.probes[p].last) renderCard(d, p); });
    });
  }, 15000);
  window.addEventListener("resize", function () {
    Object.keys(devices).forEach(function (id) { devices[id].dirty = true; });
  });
  connect();
})();
