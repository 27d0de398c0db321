// Faults at the network, not where the code expects them: a chaos proxy between Chromium and
// the reference server loses answers on every route (login and refresh included), resets
// connections and delays answers. Each test counts what reached the server.
import { test, expect, type Page } from '@playwright/test';
import {
  FOLLOW_UP, SERVER, apiToken, calm, chaos, chaosStats, type ChaosStats, clearFaults, fault,
  openThread, refreshesPerMinute, send, serverBodies, signIn, tag, underServiceWorker,
} from './helpers';

const SHORT = process.env.SHORT_TTL_URL ?? '';
const SHORT_SERVER = process.env.SHORT_TTL_SERVER_URL ?? '';

test.beforeEach(async ({ request }) => {
  await calm(request);
  if (SHORT) await calm(request, SHORT);
});

test.afterEach(async ({ request }) => {
  await calm(request);
  await clearFaults(request);
  if (SHORT) await calm(request, SHORT);
});

/** What the closing note reports for each test. */
function report(name: string, figures: Record<string, number>) {
  console.log(`chaos figures: ${name}: ${JSON.stringify(figures)}`);
}

/** Requests to the API (not the app shell) that reached the proxy. */
function apiRequests(stats: ChaosStats) {
  return Object.entries(stats.byRoute)
    .filter(([route]) => route.includes(' /api/'))
    .reduce((sum, [, n]) => sum + n, 0);
}

async function allSent(page: Page) {
  await expect(page.getByRole('status')).toContainText('All changes sent', { timeout: 60_000 });
  await expect(page.getByText('Sending…')).toHaveCount(0);
}

test('every first answer lost (login, refresh and reads too): offline compose, offline reload, online — each message once, in order', async ({ page, context, request }) => {
  await chaos(request, { dropFirstPost: true, dropFirstGet: true });
  await signIn(page);
  await underServiceWorker(page);
  await openThread(page, FOLLOW_UP);
  await context.setOffline(true);
  const texts = [1, 2, 3, 4].map((i) => tag(`tunnel ${i}`));
  for (const text of texts) await send(page, text);
  await page.reload();
  await expect(page.getByRole('heading', { name: FOLLOW_UP })).toBeVisible();
  await expect(page.getByText('Waiting for network')).toHaveCount(4);
  await context.setOffline(false);
  await allSent(page);
  const bodies = await serverBodies(request, await apiToken(request), FOLLOW_UP);
  expect(bodies.filter((b) => texts.includes(b))).toEqual(texts);
  const stats = await chaosStats(request);
  expect(stats.droppedResponses).toBeGreaterThan(0);
  expect(stats.byRoute['POST /api/v1/auth/login'] ?? stats.loginRequests).toBeGreaterThanOrEqual(2);
  expect(refreshesPerMinute(stats.refreshTimes)).toBeLessThanOrEqual(10);
  report('lossy offline-reload-online', {
    messages: texts.length, droppedResponses: stats.droppedResponses, refreshRequests: stats.refreshRequests,
    loginRequests: stats.loginRequests, requests: stats.requests,
  });
});

test('the first answer to every read lost on a fresh device: each page still fills, by trying its read again, without a busy loop', async ({ page, request }) => {
  await chaos(request, { dropFirstGet: true });
  await signIn(page);
  // Nothing is on this device yet: each list appears only once a read of it succeeds.
  await expect(page.getByRole('link', { name: FOLLOW_UP })).toBeVisible({ timeout: 15_000 });
  await page.getByRole('link', { name: 'Appointments' }).click();
  await expect(page.getByRole('button', { name: 'Join' }).first()).toBeVisible({ timeout: 15_000 });
  await page.getByRole('link', { name: 'Documents' }).click();
  await expect(page.getByRole('button', { name: 'Request Sick note' })).toBeVisible({ timeout: 15_000 });
  const stats = await chaosStats(request);
  const reads = (route: string) => stats.byRoute[`GET ${route}`] ?? 0;
  report('first read answers lost', {
    dropped: stats.droppedResponses,
    threads: reads('/api/v1/threads'),
    sessions: reads('/api/v1/virtual-care/sessions'),
  });
  expect(stats.droppedResponses).toBeGreaterThanOrEqual(3);
  for (const route of ['/api/v1/threads', '/api/v1/virtual-care/sessions']) {
    expect(reads(route)).toBeGreaterThanOrEqual(2); // the lost answer, then the retry
    expect(reads(route)).toBeLessThanOrEqual(8);
  }
});

test('the documents API (under /v1/) losing the first answer to every read: the shelf still fills by trying again', async ({ page, request }) => {
  await signIn(page);
  await chaos(request, { dropFirstGet: true, only: '/v1/documents/' });
  await page.getByRole('link', { name: 'Documents' }).click();
  await expect(page.getByRole('button', { name: 'Request Sick note' })).toBeVisible({ timeout: 15_000 });
  const stats = await chaosStats(request);
  report('first document read answers lost', { dropped: stats.droppedResponses, templates: stats.byRoute['GET /v1/documents/templates'] ?? 0 });
  expect(stats.droppedResponses).toBeGreaterThanOrEqual(1);
  expect(stats.byRoute['GET /v1/documents/templates']).toBeGreaterThanOrEqual(2);
  expect(stats.byRoute['GET /v1/documents/templates']).toBeLessThanOrEqual(8);
});

test('two tabs on a network that loses every first answer, reads too: both messages once each', async ({ context, request }) => {
  const a = await context.newPage();
  await signIn(a);
  await openThread(a, FOLLOW_UP);
  const b = await context.newPage();
  await b.goto(a.url());
  await expect(b.getByRole('heading', { name: FOLLOW_UP })).toBeVisible();
  await chaos(request, { dropFirstPost: true, dropFirstGet: true });
  await context.setOffline(true);
  const [fromA, fromB] = [tag('lossy tab A'), tag('lossy tab B')];
  await send(a, fromA);
  await send(b, fromB);
  // Both tabs reload offline: neither has an access token when the network returns.
  await a.reload();
  await b.reload();
  await context.setOffline(false);
  for (const page of [a, b]) {
    await allSent(page);
    for (const text of [fromA, fromB]) await expect(page.getByText(text, { exact: true })).toBeVisible();
  }
  const bodies = await serverBodies(request, await apiToken(request), FOLLOW_UP);
  expect(bodies.filter((x) => x === fromA)).toHaveLength(1);
  expect(bodies.filter((x) => x === fromB)).toHaveLength(1);
  const stats = await chaosStats(request);
  expect(refreshesPerMinute(stats.refreshTimes)).toBeLessThanOrEqual(20);
  report('lossy two tabs', {
    messages: 2, droppedResponses: stats.droppedResponses, refreshRequests: stats.refreshRequests, requests: stats.requests,
  });
});

test('a third of connections reset and slow answers: six messages sent online arrive once each, in order', async ({ page, request }) => {
  await signIn(page);
  await openThread(page, FOLLOW_UP);
  await chaos(request, { resetFraction: 0.35, delayMs: 150, seed: 7 });
  const texts = [1, 2, 3, 4, 5, 6].map((i) => tag(`reset ${i}`));
  for (const text of texts) await send(page, text);
  await allSent(page);
  const bodies = await serverBodies(request, await apiToken(request), FOLLOW_UP);
  expect(bodies.filter((b) => texts.includes(b))).toEqual(texts);
  const stats = await chaosStats(request);
  expect(stats.resetBeforeServer + stats.resetAfterServer).toBeGreaterThan(0);
  expect(refreshesPerMinute(stats.refreshTimes)).toBeLessThanOrEqual(10);
  report('random resets', {
    messages: texts.length, resetBeforeServer: stats.resetBeforeServer, resetAfterServer: stats.resetAfterServer,
    refreshRequests: stats.refreshRequests, requests: stats.requests,
  });
});

test('tokens that expire every few seconds, mid-replay, on a lossy network: everything once, refreshes paced', async ({ page, context, request }) => {
  test.skip(!SHORT, 'SHORT_TTL_URL names the short-token server (cargo xtask test starts it)');
  await signIn(page, 'north-clinic', 'patient1', SHORT);
  await openThread(page, FOLLOW_UP);
  await context.setOffline(true);
  const texts = [1, 2, 3, 4, 5].map((i) => tag(`short token ${i}`));
  for (const text of texts) await send(page, text);
  // Longer than a token's life: the replay starts with an expired token, and slow, lossy
  // answers make later requests outlive the next one too.
  await page.waitForTimeout(6_000);
  await chaos(request, { dropFirstPost: true, delayMs: 1_500 }, SHORT);
  await context.setOffline(false);
  await allSent(page);
  const bodies = await serverBodies(request, await apiToken(request, 'north-clinic', 'patient1', SHORT_SERVER), FOLLOW_UP, SHORT_SERVER);
  expect(bodies.filter((b) => texts.includes(b))).toEqual(texts);
  const stats = await chaosStats(request, SHORT);
  expect(stats.refreshRequests).toBeGreaterThan(0);
  expect(refreshesPerMinute(stats.refreshTimes)).toBeLessThanOrEqual(10);
  report('short tokens', {
    messages: texts.length, droppedResponses: stats.droppedResponses, refreshRequests: stats.refreshRequests, requests: stats.requests,
  });
});

test('a refused refresh asks to sign in again, sends nothing meanwhile, and signing in delivers everything', async ({ page, context, request }) => {
  await signIn(page);
  await underServiceWorker(page);
  await openThread(page, FOLLOW_UP);
  await context.setOffline(true);
  const texts = [1, 2, 3].map((i) => tag(`refused ${i}`));
  for (const text of texts) await send(page, text);
  await page.reload();
  // Signed out everywhere from another device while this one was offline.
  const token = await apiToken(request);
  const revoked = await request.post(`${SERVER}/api/v1/auth/sessions/revoke`, { headers: { Authorization: `Bearer ${token}` } });
  expect(revoked.status()).toBe(204);
  await context.setOffline(false);
  const prompt = page.getByRole('region', { name: 'Sign in again' });
  await expect(prompt).toBeVisible({ timeout: 30_000 });
  await expect(prompt).toContainText(/Sign in again to send your \d+ changes\./);
  await expect(page.getByRole('status')).toContainText('sign in again');
  const before = await chaosStats(request);
  await page.waitForTimeout(10_000);
  const after = await chaosStats(request);
  expect(after.refreshRequests - before.refreshRequests).toBe(0);
  expect(apiRequests(after) - apiRequests(before)).toBe(0);
  await expect(page.getByText("Waiting for you to sign in again")).toHaveCount(3);
  await prompt.getByLabel('Password').fill('demo');
  await prompt.getByRole('button', { name: 'Sign in' }).click();
  await expect(prompt).toHaveCount(0, { timeout: 15_000 });
  await allSent(page);
  const bodies = await serverBodies(request, await apiToken(request), FOLLOW_UP);
  expect(bodies.filter((b) => texts.includes(b))).toEqual(texts);
  report('refused refresh', {
    messages: texts.length, refreshRequestsWhilePrompted: after.refreshRequests - before.refreshRequests,
    apiRequestsWhilePrompted: apiRequests(after) - apiRequests(before), refreshRequests: after.refreshRequests,
  });
});

test('a clock moved two hours forward: the token is refreshed once and everything arrives once', async ({ page, context, request }) => {
  await page.clock.install();
  await signIn(page);
  await openThread(page, FOLLOW_UP);
  await context.setOffline(true);
  const texts = [1, 2].map((i) => tag(`clock ${i}`));
  for (const text of texts) await send(page, text);
  await page.clock.fastForward('02:00:00');
  await context.setOffline(false);
  await allSent(page);
  const bodies = await serverBodies(request, await apiToken(request), FOLLOW_UP);
  expect(bodies.filter((b) => texts.includes(b))).toEqual(texts);
  const stats = await chaosStats(request);
  expect(stats.refreshRequests).toBeLessThanOrEqual(3);
  report('clock forward', { messages: texts.length, refreshRequests: stats.refreshRequests });
});

test('offline, nothing is probed; a server out of reach is named, with the last failure and the next attempt', async ({ page, context, request }) => {
  await signIn(page);
  await openThread(page, FOLLOW_UP);
  // What was on its way while online finishes first; then the browser goes offline.
  await page.waitForLoadState('networkidle');
  await context.setOffline(true);
  await expect.poll(() => page.evaluate(() => navigator.onLine)).toBe(false);
  const api: string[] = [];
  page.on('request', (r) => { if (r.url().includes('/api/')) api.push(r.url()); });
  await send(page, tag('no probes'));
  await page.waitForTimeout(5_000);
  expect(api).toEqual([]);
  // The browser says online, but every connection breaks: a dead route or a captive portal.
  await chaos(request, { resetFraction: 1 });
  await context.setOffline(false);
  await expect(page.getByRole('status')).toContainText("Can't reach the server", { timeout: 20_000 });
  await page.getByRole('link', { name: 'Sync status' }).click();
  await expect(page.getByText(/the last attempt failed at /)).toBeVisible();
  await expect(page.getByText(/^Next attempt at /)).toBeVisible();
  await calm(request);
  await page.getByRole('button', { name: 'Sync now' }).click();
  await expect(page.getByRole('status')).toContainText('Online', { timeout: 20_000 });
  await allSent(page);
});

test('storage: persistence is asked for at sign-in, and the Sync page says whether data is protected', async ({ page }) => {
  await page.addInitScript(() => {
    const original = navigator.storage.persist.bind(navigator.storage);
    (window as unknown as { persistCalls: number }).persistCalls = 0;
    navigator.storage.persist = async () => {
      (window as unknown as { persistCalls: number }).persistCalls += 1;
      return original();
    };
  });
  await signIn(page);
  expect(await page.evaluate(() => (window as unknown as { persistCalls: number }).persistCalls)).toBe(1);
  await page.getByRole('link', { name: 'Sync status' }).click();
  const persisted = await page.evaluate(() => navigator.storage.persisted());
  const words = persisted
    ? "Protected: the browser will not clear this app's data to free up space."
    : "Not protected: the browser may clear this app's data when the device runs low on space.";
  await expect(page.getByText(words)).toBeVisible();
  await expect(page.getByText(/^Using [\d.]+ MB of [\d.]+ MB of storage\.$/)).toBeVisible();
});

test('a server in trouble (503) is named in words, and the message waits to try again', async ({ page, request }) => {
  await signIn(page);
  await openThread(page, FOLLOW_UP);
  for (const path of ['/api/v1/sync/push', '/api/v1/threads/*/messages']) {
    await fault(request, { method: 'POST', path, mode: 'unavailable', retryAfterSecs: 3, times: 2 });
  }
  const text = tag('server trouble');
  await send(page, text);
  await expect(page.getByRole('status')).toContainText('Server problem (error 503)');
  await expect(page.getByText('Waiting to try again')).toBeVisible();
  await allSent(page);
  const bodies = await serverBodies(request, await apiToken(request), FOLLOW_UP);
  expect(bodies.filter((b) => b === text)).toHaveLength(1);
});
