// Grill-stats' web UI in headless Chromium, given only the API's base URL:
// fetch of current and history, EventSource with onmessage on the
// device's stream, and the WebSocket hook that JSON.parses each message
// as one reading.
//
//   node browser.mjs API_BASE_URL DEVICE_ID [WS_BASE_URL]
//
// WS_BASE_URL (default the API's) is where the WebSocket connects.
//
// Prints one JSON line: {fetch, history, sse, ws} with what each saw.
import { chromium } from 'playwright-core';

const [api, device, wsBase] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const page = await browser.newPage();
// The UI is served from the API's origin (its base URL), as grill-stats' was.
await page.goto(api + '/health');
const out = await page.evaluate(async ([api, device, wsBase]) => {
  const r = {};
  const cur = await (await fetch(`${api}/api/temperature/current/${device}?_=${Date.now()}`)).json();
  r.fetch = { status: cur.status, temperature: cur.data && cur.data.temperature, source: cur.source };
  const h = await (await fetch(`${api}/api/temperature/history/${device}?limit=5`)).json();
  const ts = h.data.map((p) => p.timestamp);
  r.history = { count: h.count, newestFirst: ts.join() === [...ts].sort().reverse().join() };
  r.sse = await new Promise((resolve) => {
    const es = new EventSource(`${api}/api/temperature/stream/${device}`);
    const t = setTimeout(() => { es.close(); resolve({ error: 'no onmessage in 30 s' }); }, 30000);
    es.onmessage = (ev) => {
      clearTimeout(t);
      es.close();
      const d = JSON.parse(ev.data);
      resolve({ device_id: d.device_id, temperature: d.temperature, id: ev.lastEventId !== '' });
    };
  });
  r.ws = await new Promise((resolve) => {
    const ws = new WebSocket(`${wsBase.replace(/^http/, 'ws')}/api/temperature/ws/${device}`);
    const t = setTimeout(() => { ws.close(); resolve({ error: 'no message in 30 s' }); }, 30000);
    const got = [];
    ws.onmessage = (ev) => {
      const d = JSON.parse(ev.data);
      got.push(typeof d.temperature === 'number' && d.device_id === device);
      if (got.length === 1) ws.send('hello');   // grill-stats ignored (echoed) text
      if (got.length === 3) {
        clearTimeout(t);
        ws.close();
        resolve({ messages: got.length, bareReadings: got.every(Boolean) });
      }
    };
    ws.onclose = (ev) => { clearTimeout(t); resolve({ closed: ev.code, messages: got.length }); };
  });
  return r;
}, [api, device, wsBase || api]);
console.log(JSON.stringify(out));
await browser.close();
