// An independent WebSocket client (the `ws` npm package) for the
// 06-stream scenarios. Runs a script of steps given as JSON on the
// command line and prints what it received, one JSON message a line.
//
//   node ws-client.mjs URL 'STEPS'
//
// Steps: {"send": {...}} sends a JSON message; {"raw": "text"} sends text
// as is; {"bin": N} sends N bytes as a binary message; {"wait": "type",
// "n": K} waits for the K-th message of that type (default 1);
// {"ping": true} sends a ping frame and waits for the pong; {"sleep": ms};
// {"close": code}. After the steps it prints {"closed": code, "reason"}
// when the server closes within 5 s, or {"open": true}.
// It speaks grilld's protocol (the subprotocol grilld.v1) unless the URL
// asks for protocol=seed; grill-stats' bare readings are printed with
// "type": "bare" added.
import WebSocket from 'ws';

const [url, stepsText] = process.argv.slice(2);
const steps = JSON.parse(stepsText || '[]');
const seed = /[?&]protocol=seed\b/.test(url);
const ws = new WebSocket(url, seed ? [] : ['grilld.v1'], { perMessageDeflate: false });
const counts = {};
const waiters = [];
const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');
let closed = null;

ws.on('message', (data, binary) => {
  let m;
  try { m = JSON.parse(data.toString()); } catch { m = { unparsed: data.toString() }; }
  if (seed && m && m.type === undefined) m.type = 'bare';
  print(m);
  counts[m.type] = (counts[m.type] || 0) + 1;
  for (const w of waiters.splice(0)) w();
});
ws.on('close', (code, reason) => {
  closed = { closed: code, reason: reason.toString() };
  for (const w of waiters.splice(0)) w();
});
ws.on('error', (e) => print({ error: e.message }));
ws.on('unexpected-response', (req, res) => {
  print({ status: res.statusCode });
  process.exit(0);
});

const until = (pred, ms) => new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error('timed out')), ms);
  const check = () => {
    if (pred()) { clearTimeout(t); resolve(); } else waiters.push(check);
  };
  check();
});

ws.on('open', async () => {
  try {
    for (const s of steps) {
      if (s.send) ws.send(JSON.stringify(s.send));
      else if (s.raw !== undefined) ws.send(s.raw);
      else if (s.bin) ws.send(Buffer.alloc(s.bin), { binary: true });
      else if (s.wait) await until(() => (counts[s.wait] || 0) >= (s.n || 1) || closed, 8000);
      else if (s.ping) {
        await new Promise((resolve) => { ws.once('pong', () => { print({ pong: true }); resolve(); }); ws.ping(); });
      } else if (s.sleep) await new Promise((r) => setTimeout(r, s.sleep));
      else if (s.close) ws.close(s.close);
    }
    await until(() => closed, 5000).catch(() => {});
  } catch (e) {
    print({ error: e.message });
  }
  print(closed || { open: true });
  process.exit(0);
});
