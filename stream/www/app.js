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
 * with api.read_auth), ?unit=F|C (also the F/C switch, remembered). The
 * chart is uPlot (npm, served from /vendor).
 *
 * What a cook reads on a card: the probe's name, its value, the target
 * and ETA the ingester computes (the reading's "cook" block: target,
 * eta, stall), the thermometer's own alarm state (the reading's status,
 * HIGH or LOW) and grilld's alerts; humidity in % on its own axis; a
 * device that went offline is marked so. Device names, the alarms' set
 * points and the fan come from /api/devices when the page is served
 * through the API (its relay), and are left out otherwise. Alarms can
 * raise a browser notification and a sound, once the user turns them
 * on (the bell).
 */
(function () {
  "use strict";

  var params = new URLSearchParams(location.search);
  var hours = Math.min(Math.max(parseFloat(params.get("hours")) || 3, 0.1), 48);
  var token = params.get("token");
  var only = params.get("devices");
  var MAX_POINTS = 5000;		/* per device, oldest dropped first */
  var GAP_S = 120;			/* a silence this long is drawn as a gap */
  var FUTURE_S = 300;			/* points past now + this are not charted */
  var shown = (params.get("unit") || localStorage.getItem("grilld.unit") || "F").toUpperCase() === "C" ? "C" : "F";
  var notify = localStorage.getItem("grilld.notify") === "on";
  var meta = {};			/* device id -> /api/devices entry */

  var devices = {};			/* id -> device view */
  var alerts = {};			/* "dev/probe" -> "firing" | "cleared" */
  var lastId = null;
  var es = null;
  var retryMs = 1000;
  /* What the page did, for people and for tests/integration/stream/page.mjs. */
  var state = { status: "connecting", statuses: [], lastId: null, events: 0,
    opens: 0, duplicates: 0, truncated: 0, notified: [] };
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

  /* A value in the unit shown (F or C); humidity and others as they are. */
  function conv(v, unit) {
    if (typeof v !== "number") return v;
    if (unit === "F" && shown === "C") return (v - 32) * 5 / 9;
    if (unit === "C" && shown === "F") return v * 9 / 5 + 32;
    if (unit === "K") return shown === "C" ? v - 273.15 : (v - 273.15) * 9 / 5 + 32;
    return v;
  }
  function isTemp(unit) { return unit === "F" || unit === "C" || unit === "K" || !unit; }
  function unitText(unit) { return isTemp(unit) ? "°" + shown : unit === "H" ? "%" : unit; }

  function fmtEta(iso) {
    var s = (Date.parse(iso) - Date.now()) / 1000;
    if (!isFinite(s)) return "—";
    if (s <= 0) return "done";
    if (s < 60) return "< 1 min";
    var m = Math.round(s / 60), at = new Date(Date.parse(iso));
    return (m < 60 ? m + " min" : Math.floor(m / 60) + " h " + (m % 60) + " min") +
      " (" + at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + ")";
  }

  /* The target: the ingester's cook block, else the thermometer's high alarm. */
  function targetOf(r, pm) {
    if (r.cook && typeof r.cook.target === "number") return { v: r.cook.target, unit: r.unit };
    /* A meat probe's high alarm is its doneness; a pit's is a limit. */
    if (pm && pm.type === "meat" && pm.alarm_high && pm.alarm_high.enabled)
      return { v: pm.alarm_high.value, unit: pm.alarm_high.unit || r.unit };
    return null;
  }
  function probeMeta(devId, probe) {
    var m = meta[devId];
    if (!m || !m.probes) return null;
    for (var i = 0; i < m.probes.length; i++) if (m.probes[i].probe_id === probe) return m.probes[i];
    return null;
  }

  /* Opt-in alarm notification and a short beep. */
  function alarm(title, body) {
    state.notified.push(title);
    if (!notify) return;
    try {
      if (window.Notification && Notification.permission === "granted") new Notification(title, { body: body });
      var ac = new (window.AudioContext || window.webkitAudioContext)(), o = ac.createOscillator();
      o.frequency.value = 880; o.connect(ac.destination); o.start(); o.stop(ac.currentTime + 0.4);
    } catch (e) { /* no sound: the card still says it */ }
  }

  function deviceView(id) {
    if (devices[id]) return devices[id];
    var empty = $("empty");
    if (empty) empty.remove();
    var box = el("section", "device");
    box.dataset.device = id;
    var h = el("h2", null);
    var title = el("span", "title", meta[id] && meta[id].name ? meta[id].name : id);
    var st = el("span", "state", "");
    var fan = el("span", "fan", "");
    h.appendChild(title); h.appendChild(st); h.appendChild(fan);
    var cards = el("div", "cards");
    var chart = el("div", "chart");
    box.appendChild(h); box.appendChild(cards); box.appendChild(chart);
    $("devices").appendChild(box);
    var d = { id: id, box: box, title: title, state: st, fan: fan, cards: cards, chartEl: chart,
      probes: {}, order: [], points: [], plot: null, dirty: true };
    devices[id] = d;
    sortDevices();
    renderDevice(d);
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
    ["target", "eta", "alarms", "alert", "battery", "signal"].forEach(function (k) {
      dl.appendChild(el("dt", null, { target: "Target", eta: "ETA", alarms: "Alarms", alert: "Alert",
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

  function renderDevice(d) {
    var m = meta[d.id];
    d.title.textContent = m && m.name ? m.name : d.id;
    d.box.dataset.name = d.title.textContent;
    if (m && m.fan) {
      d.fan.textContent = "fan " + (m.fan.state || "?") + (typeof m.fan.set_temp === "number" ?
        ", set " + fmtTemp(conv(m.fan.set_temp, m.units || "F")) + "°" + shown : "");
    }
  }

  /* Devices by name, then id. */
  function sortDevices() {
    var ids = Object.keys(devices).sort(function (a, b) {
      var na = (meta[a] && meta[a].name) || a, nb = (meta[b] && meta[b].name) || b;
      return na < nb ? -1 : na > nb ? 1 : a < b ? -1 : 1;
    });
    ids.forEach(function (id) { $("devices").appendChild(devices[id].box); });
  }

  function alarmText(pm) {
    if (!pm) return "—";
    var parts = [];
    if (pm.alarm_low && pm.alarm_low.enabled) parts.push("low " + fmtTemp(conv(pm.alarm_low.value, pm.alarm_low.unit)));
    if (pm.alarm_high && pm.alarm_high.enabled) parts.push("high " + fmtTemp(conv(pm.alarm_high.value, pm.alarm_high.unit)));
    return parts.length ? parts.join(", ") : "off";
  }

  function renderCard(d, probe) {
    var p = d.probes[probe], r = p.last, a = alerts[d.id + "/" + probe];
    var pm = probeMeta(d.id, probe), unit = r.unit || "F";
    var st = r.status === "HIGH" || r.status === "LOW" ? r.status : null;
    if (r.label) p.name.textContent = r.label;
    p.temp.innerHTML = "";
    p.temp.appendChild(document.createTextNode(fmtTemp(conv(r.temperature, unit))));
    p.temp.appendChild(el("span", "unit", unitText(unit)));
    var t = targetOf(r, pm);
    p.f.target.textContent = t === null ? "—" : fmtTemp(conv(t.v, t.unit)) + "°" + shown;
    /* The ingester's ETA; none while stalled (it would only slide). */
    p.f.eta.textContent = r.cook && r.cook.stall ? "stalled" : r.cook && r.cook.eta ? fmtEta(r.cook.eta) : "—";
    p.el.classList.toggle("stall", !!(r.cook && r.cook.stall));
    p.f.alarms.textContent = alarmText(pm);
    /* The thermometer's own alarm first, then grilld's rules. */
    p.f.alert.textContent = st ? "alarm " + st : a === "firing" ? "firing" : a || "none";
    p.f.alert.className = "alert-state " + (st || a === "firing" ? "firing" : a || "");
    p.el.classList.toggle("alert", !!st || a === "firing");
    if (st && p.alarmed !== st)
      alarm((r.label || probe) + " " + st, fmtTemp(conv(r.temperature, unit)) + unitText(unit) + " on " + d.title.textContent);
    p.alarmed = st;
    p.f.battery.textContent = r.battery_level === null || r.battery_level === undefined ? "—" : r.battery_level + " %";
    p.f.signal.textContent = r.signal_strength === null || r.signal_strength === undefined ? "—" : r.signal_strength + " dBm";
    p.el.dataset.temperature = r.temperature;
  }

  function onReading(r) {
    var d = deviceView(r.device_id), probe = r.probe_id || "";
    var p = cardView(d, probe);
    var t = Date.parse(r.timestamp) / 1000;
    p.unit = r.unit || "F";
    p.label = r.label || p.label;
    /* A reading stamped in the future is shown, not charted. */
    if (typeof r.temperature === "number" && isFinite(t) && t <= Date.now() / 1000 + FUTURE_S) {
      d.points.push({ t: t, probe: probe, v: r.temperature, u: r.unit || "F" });
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
    d.box.classList.toggle("offline", e.state === "offline");
  }

  function onAlert(a) {
    var key = a.device_id + "/" + (a.probe_id || "");
    alerts[key] = a.state === "cleared" ? "cleared" : "firing";
    if (alerts[key] === "firing")
      alarm("grilld: " + (a.kind || "alert") + " " + key, a.message || "");
    var d = deviceView(a.device_id);
    if (d.probes[a.probe_id || ""] && d.probes[a.probe_id || ""].last) renderCard(d, a.probe_id || "");
  }

  /*
   * Charts: one x array, one series per probe (uPlot wants them aligned).
   * A probe's own missing x is undefined (the line goes on); a silence of
   * GAP_S or more is null (a gap). Temperatures on the left axis in the
   * unit shown, humidity on its own right axis in %; the target line of
   * the first probe that has one.
   */
  function drawCharts() {
    var cut = Date.now() / 1000 - hours * 3600;
    Object.keys(devices).forEach(function (id) {
      var d = devices[id];
      if (!d.dirty || typeof uPlot === "undefined" || d.order.length === 0) return;
      d.dirty = false;
      d.points = d.points.filter(function (p) { return p.t >= cut; });
      var pts = d.points.slice().sort(function (a, b) { return a.t - b.t; });
      var xs = [], cols = d.order.map(function () { return []; }), idx = {}, lastT = {}, lastI = {};
      d.order.forEach(function (p, i) { idx[p] = i; });
      pts.forEach(function (p) {
        var i = idx[p.probe];
        if (lastT[p.probe] !== undefined && p.t - lastT[p.probe] >= GAP_S) {
          /* A null between the probe's last point and this one. */
          var j = lastI[p.probe] + 1, mid = (lastT[p.probe] + p.t) / 2;
          if (j < xs.length && xs[j] < p.t) cols[i][j] = null;
          else {
            xs.splice(j, 0, mid);
            cols.forEach(function (c) { c.splice(j, 0, undefined); });
            cols[i][j] = null;
            Object.keys(lastI).forEach(function (k) { if (lastI[k] >= j) lastI[k]++; });
          }
        }
        if (xs.length === 0 || xs[xs.length - 1] !== p.t) {
          xs.push(p.t);
          cols.forEach(function (c) { c.push(undefined); });
        }
        var n = xs.length - 1;
        cols[i][n] = p.u === "H" ? p.v : conv(p.v, p.u);
        lastT[p.probe] = p.t;
        lastI[p.probe] = n;
      });
      d.gaps = cols.reduce(function (g, c) { return g + c.filter(function (v) { return v === null; }).length; }, 0);
      /* The target line. */
      var target = null;
      d.order.forEach(function (probe) {
        var pr = d.probes[probe];
        if (target === null && pr.last) {
          var t = targetOf(pr.last, probeMeta(d.id, probe));
          if (t) target = conv(t.v, t.unit);
        }
      });
      var data = [xs].concat(cols);
      if (target !== null) data.push(xs.map(function () { return target; }));
      var width = Math.max(d.chartEl.clientWidth, 300);
      var key = d.order.join(",") + "|" + shown + "|" + (target !== null);
      if (!d.plot || d.plotKey !== key) {
        d.chartEl.innerHTML = "";
        var palette = ["#ff7b39", "#58a6ff", "#3fb950", "#d2a8ff", "#f85149", "#e3b341"];
        var series = [{}].concat(d.order.map(function (p, i) {
          var pr = d.probes[p], hum = pr.unit === "H";
          return { label: (pr.label || p || "probe") + (hum ? " %" : " °" + shown),
            scale: hum ? "%" : "temp", stroke: palette[i % palette.length], width: 2, spanGaps: false };
        }));
        if (target !== null) series.push({ label: "target", scale: "temp", stroke: "#f85149", dash: [6, 4], width: 1 });
        d.plotKey = key;
        var axes = [{ stroke: "#8a93a3" }, { scale: "temp", stroke: "#8a93a3", label: "°" + shown }];
        if (d.order.some(function (p) { return d.probes[p].unit === "H"; }))
          axes.push({ scale: "%", side: 1, stroke: "#8a93a3", label: "%", grid: { show: false } });
        d.plot = new uPlot({
          width: width, height: 220,
          scales: { x: { time: true }, "%": { range: [0, 100] } },
          series: series,
          axes: axes
        }, data, d.chartEl);
      } else {
        if (d.plot.width !== width) d.plot.setSize({ width: width, height: 220 });
        d.plot.setData(data);
      }
    });
  }

  function rerender() {
    Object.keys(devices).forEach(function (id) {
      var d = devices[id];
      renderDevice(d);
      d.dirty = true;
      Object.keys(d.probes).forEach(function (p) { if (d.probes[p].last) renderCard(d, p); });
    });
  }

  /* F/C switch and the notification bell, in the header. */
  function controls() {
    var u = $("unit"), b = $("bell");
    u.textContent = "°" + shown;
    u.onclick = function () {
      shown = shown === "F" ? "C" : "F";
      localStorage.setItem("grilld.unit", shown);
      u.textContent = "°" + shown;
      rerender();
    };
    b.classList.toggle("on", notify);
    b.textContent = notify ? "alarms: notify" : "alarms: silent";
    b.onclick = function () {
      notify = !notify;
      localStorage.setItem("grilld.notify", notify ? "on" : "off");
      b.classList.toggle("on", notify);
      b.textContent = notify ? "alarms: notify" : "alarms: silent";
      if (notify && window.Notification && Notification.permission === "default")
        Notification.requestPermission();
    };
  }

  /* Names, alarm set points, fan: from the API when it serves the page. */
  function loadMeta() {
    fetch("/api/devices" + (token ? "?token=" + encodeURIComponent(token) : ""))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j || !Array.isArray(j.data)) return;
        j.data.forEach(function (m) { meta[m.device_id] = m; });
        sortDevices();
        rerender();
      })
      .catch(function () { /* served by the stream alone: ids only */ });
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

  controls();
  loadMeta();
  setInterval(loadMeta, 60000);
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
