// A WebSocket client that follows the live events through whatever
// drops it, as a dashboard does: grilld's protocol (subprotocol
// grilld.v1), and on every close it connects again with since=<the last
// event id it got>, so that the stream replays what it missed.
//
//   node ws-follow.mjs URL OUTFILE SECONDS
//
// Appends "ID TYPE DEVICE" for every event to OUTFILE and "open" at each
// connection; exits 0 after SECONDS.
import { appendFileSync } from 'node:fs';
import WebSocket from 'ws';

const [url, out, seconds] = process.argv.slice(2);
const log = (line) => appendFileSync(out, line + '\n');
let last = '';
let done = false;

function connect() {
  if (done) return;
  const u = new URL(url);
  u.searchParams.set('snapshot', '0');
  if (last) u.searchParams.set('since', last);
  const ws = new WebSocket(u.toString(), ['grilld.v1'], { perMessageDeflate: false });
  ws.on('open', () => log('open'));
  ws.on('message', (data) => {
    let m;
    try { m = JSON.parse(data.toString()); } catch { return; }
    if (m.id && ['reading', 'device', 'alert'].includes(m.type)) {
      last = m.id;
      log(`${m.id} ${m.type} ${m.data && m.data.device_id}`);
    }
  });
  ws.on('error', () => {});
  ws.on('close', () => setTimeout(connect, 300));
}
connect();
setTimeout(() => { done = true; process.exit(0); }, Number(seconds) * 1000);
