// The live page in a real headless Chromium (Debian's, driven by
// playwright-core): it loads, shows the probes with history from the
// replay, updates as readings arrive, and resumes after grilld-stream
// restarts, with no duplicate.
//
//   node page.mjs STREAM_URL EVPUB_FIFO STATEDIR SCREENSHOT
//
// Publishes through evpub's FIFO. Prints "restart" when it wants the
// stream restarted and waits for STATEDIR/restarted. Prints TAP-like
// "ok"/"not ok" lines; exits 1 on a failure.
import { appendFileSync, existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, fifo, dir, shot] = process.argv.slice(2);
const ev = (line) => appendFileSync(fifo, line + '\n');
let failed = 0;
const check = (desc, ok, why) => {
  console.log(`${ok ? 'ok' : 'not ok'} - ${desc}${ok ? '' : ` # ${why}`}`);
  if (!ok) failed++;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const browser = await chromium.launchPersistentContext(mkdtempSync(join(dir, 'chromium-')), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1100, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const page = browser.pages()[0] || await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}/?hours=1`);
  const card = (dev, probe) => `section[data-device="${dev}"] .card[data-probe="${probe}"]`;
  await page.waitForSelector(card('pit', 'p2'), { timeout: 10000 });
  check('the page shows a card per probe from the replayed history',
    await page.locator(`section[data-device="pit"] .card`).count() === 2, 'not 2 cards');
  check('a card shows the temperature, target, ETA, alert, battery and signal',
    /22[0-9]\.0°F[\s\S]*Target[\s\S]*ETA[\s\S]*Alert[\s\S]*Battery[\s\S]*87 %[\s\S]*Signal[\s\S]*-61 dBm/.test(
      await page.locator(card('pit', 'p1')).innerText()), await page.locator(card('pit', 'p1')).innerText());
  await page.waitForSelector('section[data-device="pit"] .chart canvas', { timeout: 5000 });
  check('the device has a chart (uPlot, from npm)', true);
  await page.waitForFunction(() => window.grilld.status === 'live', null, { timeout: 5000 });
  check('the indicator says live', true);

  ev('r pit p1 231.5');
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.temperature === '231.5',
    card('pit', 'p1'), { timeout: 5000 });
  check('a new reading updates its card at once', true);
  ev('a pit p1 high');
  await page.waitForSelector(`${card('pit', 'p1')}.alert`, { timeout: 5000 });
  check('an alert marks the card', true);

  console.log('restart');
  while (!existsSync(join(dir, 'restarted'))) await sleep(50);
  await page.waitForFunction(() => window.grilld.opens >= 2 && window.grilld.status === 'live',
    null, { timeout: 15000 });
  const st = await page.evaluate(() => window.grilld);
  check('the indicator showed the outage and came back',
    st.statuses.includes('reconnecting') || st.statuses.includes('offline'), JSON.stringify(st.statuses));
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.temperature === '99.5',
    card('pit', 'p2'), { timeout: 5000 });
  check('what was published while the stream was down arrived after it came back', true);
  ev('r pit p2 101.5');
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.temperature === '101.5',
    card('pit', 'p2'), { timeout: 5000 });
  check('and the page is live again', true);
  const end = await page.evaluate(() => window.grilld);
  check('no event came twice', end.duplicates === 0, `${end.duplicates} duplicates`);
  check('no script error on the page', errors.length === 0, errors.join('; '));

  // What a cook reads: the ingester's cook block, the thermometer's alarm,
  // humidity in %, the F/C switch, a future reading kept off the chart.
  // Published as raw events with ids after every other (the page drops
  // older ids as duplicates).
  let seq = 0;
  const base = Date.now() + 3600e3;
  const raw = (o) => ev(`raw reading ${JSON.stringify({ ...o, event_id: `${base}-${seq++}` })}`);
  const ts = new Date().toISOString();
  raw({ device_id: 'smoker', probe_id: '2', temperature: 158.9, unit: 'F', timestamp: ts, label: 'Brisket',
    status: 'NORMAL', cook: { rate: 0.01, rate_unit: 'F/min', target: 203, stall: true } });
  raw({ device_id: 'smoker', probe_id: '1', temperature: 301.5, unit: 'F', timestamp: ts, label: 'Pit', status: 'HIGH' });
  raw({ device_id: 'smoker', probe_id: 'h', temperature: 46.7, unit: 'H', timestamp: ts, label: 'Humidity' });
  raw({ device_id: 'smoker', probe_id: '1', temperature: 999, unit: 'F', timestamp: '2029-01-01T00:00:00Z', label: 'Pit', status: 'HIGH' });
  await page.waitForSelector(card('smoker', 'h'), { timeout: 5000 });
  const brisket = await page.locator(card('smoker', '2')).innerText();
  check('the target and the stall come from the cook block (no ETA while stalled)',
    /Brisket[\s\S]*158\.9°F[\s\S]*Target\s*203\.0°F[\s\S]*ETA\s*stalled/.test(brisket), brisket);
  const pit = await page.locator(card('smoker', '1')).innerText();
  check("the thermometer's own alarm state is shown and marks the card",
    /Alert\s*alarm HIGH/.test(pit) && await page.locator(`${card('smoker', '1')}.alert`).count() === 1, pit);
  const hum = await page.locator(card('smoker', 'h')).innerText();
  check('humidity is in %, not °H', /46\.7%/.test(hum) && !/°H/.test(hum), hum);
  check('the alarm was announced (notifications are opt-in)',
    (await page.evaluate(() => window.grilld.notified)).some((t) => /Pit HIGH/.test(t)), 'not announced');
  await page.click('#unit');
  await page.waitForFunction((sel) => /70\.5°C/.test(document.querySelector(sel).innerText), card('smoker', '2'), { timeout: 3000 })
    .then(() => check('the F/C switch shows Celsius', true), () => check('the F/C switch shows Celsius', false, 'no 70.5°C'));
  check('humidity stays in % in Celsius', /46\.7%/.test(await page.locator(card('smoker', 'h')).innerText()), 'changed');
  await sleep(1300);
  const span = await page.evaluate(() => {
    const u = document.querySelector('section[data-device="smoker"] .chart');
    return u ? u.innerText : '';
  });
  check('a reading stamped in 2029 does not stretch the chart', !/2029/.test(span), span.slice(0, 200));
  await page.click('#unit');
  await sleep(1200);		/* one chart redraw */
  await page.screenshot({ path: shot });
} catch (e) {
  check('the page test ran to the end', false, e.message.split('\n')[0]);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
