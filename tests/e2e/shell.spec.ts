// The installable, offline app shell: service worker, installability, offline start, update prompt.
import { test, expect, chromium, type Page } from '@playwright/test';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumArgs } from '../../playwright.config';
import { FOLLOW_UP, openThread, send, signIn, tag, underServiceWorker } from './helpers';

const baseURL = process.env.BASE_URL ?? 'http://127.0.0.1:8080';

/** Waits until a service worker is active for this page's scope. */
async function swReady(page: Page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
}

/** Collects Content-Security-Policy violations reported to the console. */
function cspViolations(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) seen.push(msg.text());
  });
  return seen;
}

test('first visit installs the service worker, which controls the page after a reload', async ({ page }) => {
  const violations = cspViolations(page);
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByRole('status')).toHaveText('Online');
  await swReady(page);
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  const controlled = await page.evaluate(() => navigator.serviceWorker.controller !== null);
  expect(controlled).toBe(true);
  expect(violations).toEqual([]);
});

test('while the app downloads, a boot screen says so in words; the app replaces it', async ({ page }) => {
  // Hold the wasm back, as a slow first visit does, until the boot screen has been seen.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(/\.wasm$/, async (route) => {
    await held;
    await route.continue();
  });
  await page.goto('/', { waitUntil: 'commit' });
  await expect(page.getByRole('status')).toHaveText('Starting caresync…');
  await expect(page.getByRole('progressbar', { name: 'Starting caresync…' })).toBeVisible();
  release();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByText('Starting caresync…')).toHaveCount(0);
  await expect(page.getByRole('main')).toHaveCount(1);
});

test('the shell alone shows the sign-in form; a part that cannot download is said in words, and signing in again works once it can', async ({ page }) => {
  // Every wasm chunk fails (a first visit whose connection drops after the shell): only the
  // main module (`*_bg.wasm`) and the scripts get through.
  const chunk = /\/[^/]+-[0-9a-f]{16}\.wasm$/;
  const refused: string[] = [];
  await page.route(chunk, (route) => {
    refused.push(route.request().url());
    return route.abort('internetdisconnected');
  });
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await page.getByLabel('Tenant').fill('north-clinic');
  await page.getByLabel('Username').fill('patient1');
  await page.getByLabel('Password').fill('demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('This part of caresync has not downloaded yet');
  expect(refused.length).toBeGreaterThan(0);
  // What was typed stays; once the chunks can download, the same tap signs in.
  await page.unroute(chunk);
  await expect(page.getByLabel('Username')).toHaveValue('patient1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Messages' })).toBeVisible();
  console.log(`figure: first screen with every chunk refused: ${refused.length} chunk requests refused`);
});

for (const [what, part] of [['wasm', /\.wasm$/], ['script', /\/caresync-[0-9a-f]+\.js$/]] as const) {
  test(`if the app's ${what} cannot download, the boot screen says so and offers a reload that works`, async ({ page }) => {
    await page.route(part, (route) => route.abort('connectionfailed'));
    await page.goto('/', { waitUntil: 'commit' });
    await expect(page.getByRole('status')).toHaveText('caresync could not start. Check the connection, then reload.');
    await expect(page.getByRole('progressbar')).toHaveCount(0);
    await page.unroute(part);
    await page.getByRole('button', { name: 'Reload' }).click();
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
    await expect(page.getByText('could not start')).toHaveCount(0);
  });
}

test('if the running app traps, the page says so in words and a reload brings back what was saved', async ({ page, context }) => {
  // Keep the wasm module's exports as Trunk hands them over, to make it trap for real.
  await page.addInitScript(() => {
    addEventListener('TrunkApplicationStarted', (e) => {
      (window as unknown as { appWasm: unknown }).appWasm = (e as CustomEvent).detail.wasm;
    });
  });
  await signIn(page);
  await underServiceWorker(page);
  await openThread(page, FOLLOW_UP);
  await context.setOffline(true);
  const text = tag('kept through a trap');
  await send(page, text);
  // A table read far out of bounds: a WebAssembly trap, as a Rust panic (abort) ends in,
  // thrown from a task of the page's own event loop.
  await page.evaluate(() => {
    const wasm = (window as unknown as { appWasm: { __wbindgen_exn_store(i: number): void } }).appWasm;
    setTimeout(() => wasm.__wbindgen_exn_store(0x7fffffff));
  });
  await expect(page.getByRole('alert')).toContainText('caresync stopped working. What it saved on this device is kept. Reload to go on.');
  await page.getByRole('button', { name: 'Reload' }).click();
  await expect(page.getByRole('heading', { name: FOLLOW_UP })).toBeVisible();
  await expect(page.getByText(text, { exact: true })).toBeVisible();
  await expect(page.getByText('stopped working')).toHaveCount(0);
  await context.setOffline(false);
});

test('a first visit installs the worker without ever offering "Reload"', async ({ page }) => {
  // The first worker passes through "waiting" on its way to active: it is no update, and a
  // prompt that flashed up for it would shift the page (and invite a pointless reload).
  await page.addInitScript(() => {
    const w = window as unknown as { offered: boolean };
    w.offered = false;
    new MutationObserver(() => {
      if (document.querySelector('.update-prompt')) w.offered = true;
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  const state = await page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    return registration.active?.state;
  });
  expect(['activating', 'activated']).toContain(state);
  await expect(page.getByRole('button', { name: 'Reload' })).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { offered: boolean }).offered)).toBe(false);
});

test('the page is a strict-CSP document with no inline-script allowance', async ({ request }) => {
  const res = await request.get('/');
  expect(res.status()).toBe(200);
  const csp = res.headers()['content-security-policy'];
  expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval' 'sha256-");
  expect(csp).not.toContain('unsafe-inline');
  expect(res.headers()['cache-control']).toBe('no-cache');
  const sw = await request.get('/sw.js');
  expect(sw.headers()['cache-control']).toBe('no-cache');
  const html = await res.text();
  const wasm = html.match(/href="?\/([^"\s>]+_bg\.wasm)/);
  expect(wasm).not.toBeNull();
  const wasmRes = await request.get(`/${wasm![1]}`);
  expect(wasmRes.headers()['content-type']).toBe('application/wasm');
  expect(wasmRes.headers()['cache-control']).toContain('immutable');
});

test("Chromium's own installability check finds no errors", async () => {
  // Chromium judges installability only outside incognito, so use a persistent profile.
  const profile = mkdtempSync(join(tmpdir(), 'caresync-install-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: chromiumArgs,
    baseURL,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto('/');
    await swReady(page);
    await page.reload();
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
    const cdp = await context.newCDPSession(page);
    const verdict = await cdp.send('Page.getInstallabilityErrors');
    expect(verdict.installabilityErrors).toEqual([]);
    const manifest = await cdp.send('Page.getAppManifest');
    expect(manifest.errors).toEqual([]);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});

test('after one online visit the app starts offline and says "Offline"', async ({ page, context }) => {
  await page.goto('/');
  await swReady(page);
  await page.reload();
  await context.setOffline(true);
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByRole('status')).toHaveText('Offline');
  await page.goto('/some/deep/link');
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await context.setOffline(false);
  await expect(page.getByRole('status')).toHaveText('Online');
});

test('the service worker caches the app shell and never an API answer', async ({ page }) => {
  await page.goto('/');
  await swReady(page);
  await page.evaluate(() => fetch('/healthz').then((r) => r.text()));
  await page.evaluate(() => fetch('/api/v1/nothing-here').then((r) => r.status));
  const urls = await page.evaluate(async () => {
    const all: string[] = [];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const req of await cache.keys()) all.push(new URL(req.url).pathname);
    }
    return all;
  });
  expect(urls.some((u) => u.endsWith('.wasm'))).toBe(true);
  expect(urls.some((u) => u.endsWith('index.html'))).toBe(true);
  expect(urls.filter((u) => u.startsWith('/api/') || u.startsWith('/healthz'))).toEqual([]);
});

test('a new service worker makes the running app offer "Reload"', async ({ page }) => {
  const dist = process.env.E2E_DIST;
  test.skip(!dist, 'E2E_DIST names the dist/ copy the server serves');
  const swPath = join(dist!, 'sw.js');
  const original = readFileSync(swPath, 'utf8');
  try {
    await page.goto('/');
    await swReady(page);
    await page.reload();
    await expect(page.getByText('A new version is available')).toHaveCount(0);

    // A new build: the same files with one precache revision changed.
    // (injectManifest writes each entry as JSON: {"revision":"…","url":"index.html"}.)
    const changed = original.replace(/("revision":")([0-9a-f]+)(","url":"\/?index\.html")/, '$1$2ff$3');
    expect(changed).not.toBe(original);
    writeFileSync(swPath, changed);
    await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.getRegistration();
      await reg?.update();
    });
    await expect(page.getByText('A new version is available')).toBeVisible();
    const reload = page.getByRole('button', { name: 'Reload' });
    await expect(reload).toBeVisible();
    await Promise.all([page.waitForEvent('load'), reload.click()]);
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
    await expect(page.getByText('A new version is available')).toHaveCount(0);
  } finally {
    writeFileSync(swPath, original);
  }
});
