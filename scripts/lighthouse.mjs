// Lighthouse on the app's first online visit (`cargo xtask lighthouse`): prints the performance figures; asserts nothing.
//
// Usage: node scripts/lighthouse.mjs [url]   (default http://127.0.0.1:8080/)
// Debian's Chromium (CHROME_PATH, default /usr/bin/chromium), headless, a fresh profile; the
// Lighthouse defaults otherwise: mobile form factor, simulated throttling, storage cleared first.
// The full report is kept in target/lighthouse/report.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';
import { chromiumArgs } from './chromium-args.mjs';

const url = process.argv[2] ?? 'http://127.0.0.1:8080/';
const chromePath = process.env.CHROME_PATH ?? '/usr/bin/chromium';
const chromeFlags = ['--headless=new', ...chromiumArgs];

const chrome = await chromeLauncher.launch({ chromePath, chromeFlags });
let result;
try {
  result = await lighthouse(url, { port: chrome.port, output: 'json', onlyCategories: ['performance'], logLevel: 'error' });
} finally {
  await chrome.kill();
}
if (!result) throw new Error('lighthouse: no result');
const { lhr, artifacts } = result;
if (lhr.runtimeError) throw new Error(`lighthouse: ${lhr.runtimeError.code}: ${lhr.runtimeError.message}`);
mkdirSync('target/lighthouse', { recursive: true });
writeFileSync('target/lighthouse/report.json', JSON.stringify(lhr, null, 2));

const audit = (id) => lhr.audits[id];
const ms = (id) => `${Math.round(audit(id).numericValue)} ms`;
const bytes = (n) => `${Math.round(n).toLocaleString('en-US')} B`;

// The wasm's answer as the page got it: its size on the wire and how it was encoded.
const requests = audit('network-requests').details.items;
const wasm = requests.filter((r) => /_bg\.wasm$/.test(new URL(r.url).pathname));
const encodings = new Map();
for (const event of artifacts.DevtoolsLog ?? []) {
  if (event.method !== 'Network.responseReceived') continue;
  const { response } = event.params;
  if (!/_bg\.wasm$/.test(new URL(response.url).pathname)) continue;
  const header = Object.entries(response.headers ?? {}).find(([k]) => k.toLowerCase() === 'content-encoding');
  encodings.set(response.url, header ? header[1] : 'none');
}
const byTarget = new Map();
for (const r of requests) {
  const target = r.sessionTargetType ?? 'page';
  byTarget.set(target, (byTarget.get(target) ?? 0) + (r.transferSize ?? 0));
}

const { throttling } = lhr.configSettings;
console.log(`lighthouse ${lhr.lighthouseVersion}, ${artifacts.HostProduct ?? 'Chromium'} (benchmark index ${Math.round(lhr.environment.benchmarkIndex)}), `
  + `${lhr.configSettings.formFactor}, ${lhr.configSettings.throttlingMethod}d throttling (RTT ${throttling.rttMs} ms, `
  + `${(throttling.throughputKbps / 1024).toFixed(1)} Mbit/s, CPU ${throttling.cpuSlowdownMultiplier}x): ${lhr.finalDisplayedUrl}`);
console.log(`performance score: ${Math.round(lhr.categories.performance.score * 100)}`);
console.log(`LCP ${ms('largest-contentful-paint')}, TTI ${ms('interactive')}, FCP ${ms('first-contentful-paint')}, TBT ${ms('total-blocking-time')}, `
  + `Speed Index ${ms('speed-index')}, CLS ${audit('cumulative-layout-shift').numericValue.toFixed(3)}`);
// What moved, when something did: the element and its share of the shift.
for (const item of audit('layout-shifts')?.details?.items ?? []) {
  console.log(`  layout shift ${item.score?.toFixed(3)}: ${item.node?.snippet ?? item.node?.selector ?? 'unknown element'}`);
}
// Requests a worker made (its precache, if it installed during the run) are named apart.
const split = byTarget.size > 1 ? ` (${[...byTarget].map(([t, b]) => `${t} ${bytes(b)}`).join(', ')})` : '';
console.log(`total bytes transferred: ${bytes(audit('total-byte-weight').numericValue)} in ${requests.length} requests${split}`);
if (wasm.length === 0) console.log('wasm: not among the requests');
for (const r of wasm) {
  const name = new URL(r.url).pathname.split('/').pop();
  console.log(`wasm ${name} (${r.sessionTargetType ?? 'page'}): ${bytes(r.transferSize)} transferred, ${bytes(r.resourceSize)} decoded, `
    + `Content-Encoding: ${encodings.get(r.url) ?? 'not recorded'}`);
}
