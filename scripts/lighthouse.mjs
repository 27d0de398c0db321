// Lighthouse on the app's first online visit (`cargo xtask lighthouse`): prints the performance figures; asserts nothing.
//
// Usage: node scripts/lighthouse.mjs [url] [runs]   (default http://127.0.0.1:8080/, 3 runs)
// Debian's Chromium (CHROME_PATH, default /usr/bin/chromium), headless, a fresh profile per run;
// the Lighthouse defaults otherwise: mobile form factor, storage cleared first. Each run is done
// twice: with Lighthouse's simulated throttling (its default: the page loads unthrottled and the
// timings are modelled from that trace) and with DevTools throttling (the same 150 ms RTT,
// 1.6 Mbit/s and 4x CPU applied to the real load). The two differ when the page paints in a
// different order unthrottled: see docs/benchmarks.md, "Lighthouse on the first online visit".
// The last full report of each method is kept in target/lighthouse/report-<method>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';
import { chromiumArgs } from './chromium-args.mjs';

const url = process.argv[2] ?? 'http://127.0.0.1:8080/';
const runs = Number(process.argv[3] ?? 3);
const chromePath = process.env.CHROME_PATH ?? '/usr/bin/chromium';
const chromeFlags = ['--headless=new', ...chromiumArgs];
const bytes = (n) => `${Math.round(n).toLocaleString('en-US')} B`;

async function audit(throttlingMethod) {
  const chrome = await chromeLauncher.launch({ chromePath, chromeFlags });
  let result;
  try {
    result = await lighthouse(url, {
      port: chrome.port, output: 'json', onlyCategories: ['performance'], logLevel: 'error', throttlingMethod,
    });
  } finally {
    await chrome.kill();
  }
  if (!result) throw new Error('lighthouse: no result');
  if (result.lhr.runtimeError) throw new Error(`lighthouse: ${result.lhr.runtimeError.code}: ${result.lhr.runtimeError.message}`);
  return result;
}

function describe({ lhr }) {
  const { throttling, throttlingMethod } = lhr.configSettings;
  const applied = throttlingMethod === 'devtools'
    ? `RTT ${throttling.requestLatencyMs} ms, ${(throttling.downloadThroughputKbps / 1024).toFixed(1)} Mbit/s`
    : `RTT ${throttling.rttMs} ms, ${(throttling.throughputKbps / 1024).toFixed(1)} Mbit/s`;
  return `lighthouse ${lhr.lighthouseVersion}, ${lhr.environment.hostUserAgent.match(/Chrome\/[\d.]+/)?.[0] ?? 'Chromium'}, `
    + `${lhr.configSettings.formFactor}, ${throttlingMethod} throttling (${applied}, CPU ${throttling.cpuSlowdownMultiplier}x): ${lhr.finalDisplayedUrl}`;
}

function figures({ lhr }) {
  const a = (id) => lhr.audits[id];
  const ms = (id) => `${Math.round(a(id).numericValue)} ms`;
  const node = a('largest-contentful-paint-element')?.details?.items?.[0]?.items?.[0]?.node;
  // Lighthouse names the element only if it is still in the page at the end (the boot screen is not).
  const lcpOf = node ? ` (${node.selector}: "${node.nodeLabel.slice(0, 40)}")` : ' (an element no longer in the page)';
  return `score ${Math.round(lhr.categories.performance.score * 100)}, LCP ${ms('largest-contentful-paint')}${lcpOf}, `
    + `TTI ${ms('interactive')}, FCP ${ms('first-contentful-paint')}, TBT ${ms('total-blocking-time')}, `
    + `Speed Index ${ms('speed-index')}, CLS ${a('cumulative-layout-shift').numericValue.toFixed(3)}`;
}

// The wasm's answer as the page got it: its size on the wire and how it was encoded.
function transfer({ lhr, artifacts }) {
  const requests = lhr.audits['network-requests'].details.items;
  const encodings = new Map();
  for (const event of artifacts.DevtoolsLog ?? []) {
    if (event.method !== 'Network.responseReceived') continue;
    const { response } = event.params;
    const header = Object.entries(response.headers ?? {}).find(([k]) => k.toLowerCase() === 'content-encoding');
    encodings.set(response.url, header ? header[1] : 'none');
  }
  const lines = [`total bytes transferred: ${bytes(lhr.audits['total-byte-weight'].numericValue)} in ${requests.length} requests`];
  const wasm = requests.filter((r) => /_bg\.wasm$/.test(new URL(r.url).pathname));
  if (wasm.length === 0) lines.push('wasm: not among the requests');
  for (const r of wasm) {
    const name = new URL(r.url).pathname.split('/').pop();
    lines.push(`wasm ${name}: ${bytes(r.transferSize)} transferred, ${bytes(r.resourceSize)} decoded, `
      + `Content-Encoding: ${encodings.get(r.url) ?? 'not recorded'}`);
  }
  return lines;
}

mkdirSync('target/lighthouse', { recursive: true });
for (const method of ['simulate', 'devtools']) {
  let last;
  for (let run = 1; run <= runs; run += 1) {
    last = await audit(method);
    if (run === 1) console.log(describe(last));
    console.log(`  run ${run}: ${figures(last)}`);
  }
  for (const line of transfer(last)) console.log(`  ${line}`);
  writeFileSync(`target/lighthouse/report-${method}.json`, JSON.stringify(last.lhr, null, 2));
}
