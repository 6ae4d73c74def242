// An independent SSE client (the `eventsource` npm package, the one
// Node apps use) for the 06-stream scenarios.
//
//   node sse-collect.mjs URL OUTFILE COUNT TIMEOUT_S
//
// Appends "ID TYPE DEVICE" for every event to OUTFILE, "open" each time
// the connection opens (it reconnects by itself, with Last-Event-ID),
// and "note NAME DATA" for the stream's notes (truncated, coalesced,
// disconnect). Exits 0 once it saw COUNT reading/device/alert events,
// 1 at TIMEOUT_S.
import { appendFileSync } from 'node:fs';
import { EventSource } from 'eventsource';

const [url, out, count, timeout] = process.argv.slice(2);
let seen = 0;
const es = new EventSource(url);
const log = (line) => appendFileSync(out, line + '\n');
es.onopen = () => log('open');
for (const type of ['reading', 'device', 'alert']) {
  es.addEventListener(type, (ev) => {
    const d = JSON.parse(ev.data);
    if (d.event_id !== ev.lastEventId) log(`bad id ${ev.lastEventId} ${d.event_id}`);
    log(`${ev.lastEventId} ${type} ${d.device_id}`);
    if (++seen >= Number(count)) {
      es.close();
      process.exit(0);
    }
  });
}
for (const note of ['truncated', 'coalesced', 'disconnect']) {
  es.addEventListener(note, (ev) => log(`note ${note} ${ev.data}`));
}
setTimeout(() => { es.close(); process.exit(1); }, Number(timeout) * 1000);
