// Offline cold start, a figure and not a limit: the app's time to interactive against a static page served by the same service worker.
//
// One online visit installs the worker and its precache. Then, offline, each round opens a fresh
// page (every page closed, the worker stopped) on the app and on /startup-probe.html, a plain
// static page in the same precache, in alternating order. Times are on the page's own clock, in
// ms from navigation start (performance.timeOrigin), taken by a few lines Playwright adds to every
// document before it loads (so none of Playwright's round trips is in them):
// - "shown": the first animation frame in which the page's button is visible and enabled;
// - "interactive": shown, or the end of the last long task (> 50 ms, the Long Tasks API) after it
//   if later, once the page has had no long task for a second: from then on input is handled
//   within 50 ms. Lighthouse's TTI is the same idea with a 5 s window and the network counted.
// Then Playwright types into the page's field (found by role and name) and the key must land: the
// test asserts behaviour only. The figure line also gives how long that key waited in the page.
import { test, expect, type BrowserContext, type Page } from '@playwright/test';

const ROUNDS = 7;
const QUIET_MS = 1_000;
const PROBE = '/startup-probe.html';

type Target = { name: string; url: string; heading: string; button: string; field: string };

const APP: Target = { name: 'app', url: '/', heading: 'Sign in', button: 'Sign in', field: 'Username' };
const STATIC: Target = { name: 'static page', url: PROBE, heading: 'Startup probe', button: 'Continue', field: 'Name' };

type Sample = { shown: number; interactive: number; responseEnd: number; wasmEnd: number; longTasks: number; keyWait: number };

type Marks = { shown?: number; longTaskEnd: number; longTasks: number; keyWait?: number };

/** Runs in every document before its own scripts: stamps "shown", long tasks and the first key's wait. */
function watch(buttons: Record<string, string>) {
  const name = location.protocol.startsWith('http') ? buttons[location.pathname] : undefined;
  if (!name) return;
  const marks: Marks = { longTaskEnd: 0, longTasks: 0 };
  (window as unknown as { startup: Marks }).startup = marks;
  new PerformanceObserver((list) => {
    for (const t of list.getEntries()) {
      marks.longTasks += 1;
      marks.longTaskEnd = Math.max(marks.longTaskEnd, t.startTime + t.duration);
    }
  }).observe({ type: 'longtask', buffered: true });
  // A key's timeStamp is when the browser took it in, so this is how long it queued in the page.
  addEventListener('keydown', (e) => { marks.keyWait ??= performance.now() - e.timeStamp; }, { capture: true });
  const look = () => {
    const button = Array.from(document.querySelectorAll('button')).find((b) => b.textContent?.trim() === name);
    if (button && !button.disabled && button.checkVisibility()) marks.shown = performance.now();
    else requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
}

/** Closes every page, stops the worker (as after the app was left alone) and opens a blank page. */
async function freshPage(context: BrowserContext): Promise<Page> {
  for (const open of context.pages()) await open.close();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const status = new Map<string, string>();
  cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
    for (const v of versions) status.set(v.versionId, v.runningStatus);
  });
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  // The app's worker is known (so it was reported) and no worker runs.
  await expect.poll(() => status.size > 0 && [...status.values()].every((s) => s === 'stopped')).toBe(true);
  await cdp.send('ServiceWorker.disable');
  await cdp.detach();
  return page;
}

/** The page's marks and its clock now. */
const marks = (page: Page) => page.evaluate(() => ({ ...(window as unknown as { startup: Marks }).startup, now: performance.now() }));

/** One offline cold start of `target` in a fresh page. */
async function coldStart(context: BrowserContext, target: Target): Promise<Sample> {
  const page = await freshPage(context);
  await page.goto(target.url, { waitUntil: 'commit' });
  await expect(page.getByRole('heading', { name: target.heading })).toBeVisible();
  await expect(page.getByRole('button', { name: target.button })).toBeEnabled();
  const field = page.getByRole('textbox', { name: target.field });
  await field.press('a');
  await expect(field).toHaveValue('a');
  // Offline, only the worker could have answered: the page is the one asked for, and it responds.
  expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  await expect.poll(async () => {
    const m = await marks(page);
    return m.shown !== undefined && m.keyWait !== undefined && m.now - Math.max(m.shown, m.longTaskEnd) >= QUIET_MS;
  }, { intervals: [250] }).toBe(true);
  const m = await marks(page);
  const { responseEnd, wasmEnd } = await page.evaluate(() => ({
    responseEnd: (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).responseEnd,
    wasmEnd: performance.getEntriesByType('resource').find((r) => r.name.endsWith('_bg.wasm'))?.responseEnd ?? NaN,
  }));
  return {
    shown: m.shown!, interactive: Math.max(m.shown!, m.longTaskEnd), responseEnd, wasmEnd, longTasks: m.longTasks, keyWait: m.keyWait!,
  };
}

function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const ms = (x: number) => `${x.toFixed(0)} ms`;

test('figures: offline cold start of the app against a static page from the same service worker', async ({ page, context }) => {
  test.setTimeout(180_000);
  await context.addInitScript(watch, { [APP.url]: APP.button, [STATIC.url]: STATIC.button });
  // Online once: the worker installs (its precache complete when it is active) and takes over.
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await page.evaluate(async () => { await navigator.serviceWorker.ready; });
  await page.reload();
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  const cached = await page.evaluate(async () => {
    const paths: string[] = [];
    for (const name of await caches.keys()) {
      for (const req of await (await caches.open(name)).keys()) paths.push(new URL(req.url).pathname);
    }
    return paths;
  });
  expect(cached).toContain(PROBE);
  expect(cached).toContain('/index.html');
  expect(cached.some((p) => p.endsWith('_bg.wasm'))).toBe(true);

  await context.setOffline(true);
  const samples: Record<string, Sample[]> = { [APP.name]: [], [STATIC.name]: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first, so neither always follows the other.
    const order = round % 2 === 0 ? [APP, STATIC] : [STATIC, APP];
    for (const target of order) samples[target.name].push(await coldStart(context, target));
  }
  await context.setOffline(false);

  const mid = (target: Target, key: keyof Sample) => median(samples[target.name].map((x) => x[key]));
  const line = (target: Target) => {
    const all = samples[target.name];
    const wasm = Number.isNaN(mid(target, 'wasmEnd')) ? '' : `, wasm from the worker ${ms(mid(target, 'wasmEnd'))}`;
    return `figure: offline cold start, ${target.name} (median of ${ROUNDS}, ms from navigation start): `
      + `interactive ${ms(mid(target, 'interactive'))}; shown ${ms(mid(target, 'shown'))}, page from the worker `
      + `${ms(mid(target, 'responseEnd'))}${wasm}, first key waited ${ms(mid(target, 'keyWait'))}, `
      + `long tasks ${all.reduce((n, x) => n + x.longTasks, 0)} in ${ROUNDS} starts; each: ${all.map((x) => x.interactive.toFixed(0)).join(', ')}`;
  };
  const ratio = (key: keyof Sample) => (mid(APP, key) / mid(STATIC, key)).toFixed(2);
  console.log(line(APP));
  console.log(line(STATIC));
  console.log(`figure: offline cold start, app / static page: ${ratio('interactive')}x interactive, ${ratio('shown')}x shown (goal <= 2x)`);
});
