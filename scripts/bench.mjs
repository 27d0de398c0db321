// Drives the benchmark page in Debian's Chromium and prints its figures (`cargo xtask bench`).
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';

const base = process.env.BASE_URL;
if (!base) {
  console.error('bench: BASE_URL is not set; run `cargo xtask bench`.');
  process.exit(1);
}
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--js-flags=--expose-gc'],
});
try {
  const page = await browser.newPage();
  let last = '';
  const ticker = setInterval(async () => {
    const p = await page.locator('#progress').textContent().catch(() => '');
    if (p && p !== last) { console.log(`bench: ${p}`); last = p; }
  }, 2000);
  await page.goto(base);
  await page.waitForFunction(() => document.querySelector('#progress')?.textContent === 'Done', null, { timeout: 15 * 60_000 });
  clearInterval(ticker);
  const text = await page.locator('#results').textContent();
  const results = JSON.parse(text);
  if (results.error) throw new Error(results.error);
  mkdirSync('target/bench', { recursive: true });
  writeFileSync('target/bench/results.json', JSON.stringify(results, null, 2));
  const c = results.commit;
  const r = results.replay;
  const row = (label, x) => `  ${label.padEnd(22)} engine p50 ${x.engine.p50_ms.toFixed(2)} ms, p95 ${x.engine.p95_ms.toFixed(2)} ms | raw put p50 ${x.raw_idb_put.p50_ms.toFixed(2)} ms, p95 ${x.raw_idb_put.p95_ms.toFixed(2)} ms | p50 ratio ${(x.engine.p50_ms / x.raw_idb_put.p50_ms).toFixed(2)}x`;
  console.log('\nlocal commit (one strict IndexedDB transaction):');
  console.log(row('0 pending', c.at_0_pending));
  console.log(row('10,000 pending', c.at_10000_pending));
  console.log(`  engine p95 at 10k / at 0: ${(c.at_10000_pending.engine.p95_ms / c.at_0_pending.engine.p95_ms).toFixed(2)}x`);
  const e = results.encryption;
  const x2 = (v) => (v == null ? 'n/a' : v.toFixed(2));
  console.log('\nencryption at rest (the engine seals; raw JS puts plaintext, or seals with AES-GCM itself):');
  for (const [label, x] of [['0 pending', e.commit.at_0_pending], ['10,000 pending', e.commit.at_10000_pending]]) {
    console.log(`  commit, ${label.padEnd(15)} p50/p95 engine ${x2(x.engine_p50_ms)}/${x2(x.engine_p95_ms)} ms | raw plain put ${x2(x.raw_plain_p50_ms)}/${x2(x.raw_plain_p95_ms)} ms | raw sealed put ${x2(x.raw_sealed_p50_ms)}/${x2(x.raw_sealed_p95_ms)} ms`);
    console.log(`  ${''.padEnd(23)} engine / raw plain ${x2(x.engine_over_raw_plain_p50)}x p50, ${x2(x.engine_over_raw_plain_mean)}x mean | raw sealed / raw plain ${x2(x.raw_sealed_over_raw_plain_p50)}x p50, ${x2(x.raw_sealed_over_raw_plain_mean)}x mean`);
  }
  const t = e.thread_200;
  console.log(`  ${t.n}-message thread, read + render (median of ${t.engine.n}): engine ${x2(t.engine.p50_ms)} ms (read ${x2(t.read_only.engine.p50_ms)}) | raw getAll ${x2(t.raw_js.p50_ms)} ms (read ${x2(t.read_only.raw_js.p50_ms)}) | ${x2(t.engine_over_raw_p50)}x`);
  const u = e.unlock;
  console.log(`  unlock, PBKDF2-SHA256 ${u.iterations} rounds (median of ${u.engine.n}): engine ${x2(u.engine.p50_ms)} ms | raw JS ${x2(u.raw_js.p50_ms)} ms | ${x2(u.engine_over_raw_p50)}x`);
  console.log(`\nreplay of ${r.writes} writes over ${r.lanes} lanes (best of 2 rounds):`);
  console.log(`  raw fetch loop (concurrency ${r.concurrency}): ${r.best_ms.raw_fetch_loop.toFixed(0)} ms`);
  console.log(`  engine, per resource:            ${r.best_ms.engine_per_resource.toFixed(0)} ms (${r.ratios.engine_per_resource_over_raw.toFixed(2)}x raw)`);
  console.log(`  engine, batch endpoint:          ${r.best_ms.engine_batch.toFixed(0)} ms (raw is ${r.ratios.raw_over_engine_batch.toFixed(1)}x slower)`);
  const mb = (b) => (b == null ? 'n/a' : `${(b / 1e6).toFixed(1)} MB`);
  console.log('\nscale, batch endpoint (linear time, flat memory):');
  for (const [label, x] of Object.entries(results.scale)) {
    console.log(`  ${String(x.writes).padStart(6)} writes: ${x.ms.toFixed(0)} ms, ${x.ms_per_write.toFixed(3)} ms/write | JS heap ${mb(x.js_heap_before)} -> ${mb(x.js_heap_after)} | wasm memory ${mb(x.wasm_memory_before)} -> ${mb(x.wasm_memory_after)}`);
  }
  console.log('\nbench: figures written to target/bench/results.json');
} finally {
  await browser.close();
}
