// Replay with the app closed: writes made offline are sealed into the courier's mailbox, and
// the service worker delivers them on Background Sync with no page of the app open. The app,
// reopened, takes the answers in and sends nothing again.
import { test, expect, type BrowserContext, type Page } from '@playwright/test';
import {
  FOLLOW_UP, PROXY, apiToken, chaosStats, clearFaults, fault, openThread, scanOrigin, send,
  serverBodies, signIn, tag, underServiceWorker,
} from './helpers';

test.afterEach(async ({ request }) => {
  await clearFaults(request);
});

/** The parcels waiting in the courier's mailbox (never creating the database if absent). */
function parcels(page: Page) {
  return page.evaluate(() => new Promise<number>((resolve) => {
    const open = indexedDB.open('caresync:courier');
    open.onupgradeneeded = () => open.transaction?.abort();
    open.onerror = () => resolve(0);
    open.onsuccess = () => {
      const db = open.result;
      const count = db.transaction('parcels').objectStore('parcels').count();
      count.onsuccess = () => { db.close(); resolve(count.result); };
    };
  }));
}

/**
 * Waits until the worker has written an answer beside every parcel, reading the mailbox from
 * a page of the origin that is not the app (`/healthz`), so the app does not start meanwhile.
 */
async function answered(context: BrowserContext) {
  const look = await context.newPage();
  await look.goto('/healthz');
  const count = () => look.evaluate(() => new Promise<{ total: number; answered: number }>((resolve) => {
    const open = indexedDB.open('caresync:courier');
    open.onupgradeneeded = () => open.transaction?.abort();
    open.onerror = () => resolve({ total: 0, answered: 0 });
    open.onsuccess = () => {
      const db = open.result;
      const all = db.transaction('parcels').objectStore('parcels').getAll();
      all.onsuccess = () => {
        db.close();
        const list = all.result as { answer?: unknown }[];
        resolve({ total: list.length, answered: list.filter((p) => p.answer).length });
      };
    };
  }));
  await expect.poll(async () => { const c = await count(); return c.total > 0 && c.answered === c.total; }, { timeout: 30_000 }).toBe(true);
  await look.close();
}

/** The sync tags the app registered. */
function syncTags(page: Page) {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    return (registration as unknown as { sync: { getTags(): Promise<string[]> } }).sync.getTags();
  });
}

/**
 * Fires `tag` at the app's worker through the DevTools protocol, from a blank page that is
 * not the app's (Chromium also fires it by itself when it sees the network back).
 */
async function fireSync(context: BrowserContext, tag: string) {
  const blank = context.pages().find((p) => p.url() === 'about:blank') ?? await context.newPage();
  const cdp = await context.newCDPSession(blank);
  const origin = new URL(PROXY).origin;
  const registrations = new Map<string, string>();
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: list }) => {
    for (const r of list) if (!r.isDeleted) registrations.set(r.scopeURL, r.registrationId);
  });
  await cdp.send('ServiceWorker.enable');
  await expect.poll(() => registrations.get(`${origin}/`) ?? '').not.toBe('');
  await cdp.send('ServiceWorker.dispatchSyncEvent', {
    origin, registrationId: registrations.get(`${origin}/`) ?? '', tag, lastChance: false,
  });
  await cdp.detach();
}

/** Signs in, opens the thread offline and sends `texts`; returns the courier's sync tag. */
async function writeOffline(page: Page, context: BrowserContext, texts: string[]) {
  await signIn(page);
  await underServiceWorker(page);
  await openThread(page, FOLLOW_UP);
  await context.setOffline(true);
  for (const text of texts) await send(page, text);
  await expect(page.getByText('Waiting for network')).toHaveCount(texts.length);
  await expect.poll(() => parcels(page)).toBeGreaterThanOrEqual(texts.length);
  const tags = await syncTags(page);
  expect(tags).toHaveLength(1);
  expect(tags[0]).toMatch(/^caresync-outbox:north-clinic:/);
  return tags[0];
}

/** Reopens the app: the messages show as sent, once each, and the Sync page says how. */
async function reopen(context: BrowserContext, texts: string[]) {
  const page = await context.newPage();
  await page.goto('/');
  // The first pass takes in the worker's answers; a navigation must not cut it short.
  await expect(page.getByRole('banner').getByRole('status')).toContainText('All changes sent', { timeout: 30_000 });
  // The list may reorder as it revalidates: go by the thread's own address.
  const thread = await page.getByRole('link', { name: FOLLOW_UP }).getAttribute('href');
  await page.goto(thread ?? '/');
  await expect(page.getByRole('heading', { name: FOLLOW_UP })).toBeVisible();
  for (const text of texts) await expect(page.getByText(text, { exact: true })).toHaveCount(1);
  await expect(page.getByText('Waiting for network')).toHaveCount(0);
  await expect(page.getByText('Sending…')).toHaveCount(0);
  await page.getByRole('link', { name: 'Sync status' }).click();
  await expect(page.getByText(new RegExp(`${texts.length} messages( and \\d+ read receipts?)? sent in the background at `))).toBeVisible();
  await expect(page.getByText('Changes are also sent in the background when the connection returns, even with the app closed.')).toBeVisible();
  await expect.poll(() => parcels(page)).toBe(0);
  return page;
}

test('with every page of the app closed, the service worker delivers sealed messages once each, in order', async ({ page, context, request }) => {
  const texts = [1, 2, 3].map((i) => tag(`courier ${i}`));
  const sealTimes: string[] = [];
  page.on('console', (m) => { if (m.text().startsWith('courier:')) sealTimes.push(m.text()); });
  const syncTag = await writeOffline(page, context, texts);
  // The mailbox holds envelopes only the server opens: no marker anywhere at rest.
  expect((await scanOrigin(page, texts)).found).toBe(0);
  console.log(`figure: ${sealTimes.at(-1)}`);

  await context.newPage();
  await page.close();
  const before = await chaosStats(request);
  await context.setOffline(false);
  await fireSync(context, syncTag);
  const token = await apiToken(request);
  await expect.poll(async () => (await serverBodies(request, token, FOLLOW_UP)).filter((b) => texts.includes(b)), { timeout: 30_000 }).toEqual(texts);
  const carried = await chaosStats(request);
  expect(carried.byRoute['POST /api/v1/sync/sealed'] - (before.byRoute['POST /api/v1/sync/sealed'] ?? 0)).toBeGreaterThanOrEqual(texts.length);

  // Reopened, the app reports them delivered in the background: its engine took the worker's
  // answers as its own (a write it had sent again would not count as carried).
  await answered(context);
  const again = await reopen(context, texts);
  expect((await serverBodies(request, token, FOLLOW_UP)).filter((b) => texts.includes(b))).toEqual(texts);
  await again.close();
});

test('the first answer lost after commit: the worker goes again, and each message is still there once', async ({ page, context, request }) => {
  const texts = [1, 2].map((i) => tag(`courier lost ${i}`));
  const syncTag = await writeOffline(page, context, texts);
  await context.newPage();
  await page.close();
  const before = await chaosStats(request);
  await fault(request, { method: 'POST', path: '/api/v1/sync/sealed', mode: 'drop_after_commit', times: 1 });
  await context.setOffline(false);
  await fireSync(context, syncTag);
  const token = await apiToken(request);
  const held = async () => (await serverBodies(request, token, FOLLOW_UP)).filter((b) => texts.includes(b));
  // The first committed and its answer was lost: the worker stopped that lane and asks to be
  // woken again (Chromium may also fire by itself once it sees the network back).
  await expect.poll(async () => (await held()).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
  await fireSync(context, syncTag);
  await expect.poll(async () => (await serverBodies(request, token, FOLLOW_UP)).filter((b) => texts.includes(b)), { timeout: 30_000 }).toEqual(texts);
  // The lost one went twice and is there once.
  const sealed = (s: Awaited<ReturnType<typeof chaosStats>>) => s.byRoute['POST /api/v1/sync/sealed'] ?? 0;
  expect(sealed(await chaosStats(request)) - sealed(before)).toBeGreaterThanOrEqual(texts.length + 1);
  await answered(context);
  const again = await reopen(context, texts);
  expect(await held()).toEqual(texts);
  await again.close();
});

test('a browser without Background Sync says changes go when the app is open, and the app sends them itself', async ({ page, context, request }) => {
  await context.addInitScript(() => {
    delete (globalThis as { SyncManager?: unknown }).SyncManager;
  });
  await signIn(page);
  await underServiceWorker(page);
  await page.getByRole('link', { name: 'Sync status' }).click();
  await expect(page.getByText('Changes are sent when the app is open.')).toBeVisible();
  await page.goto('/');
  await openThread(page, FOLLOW_UP);
  await context.setOffline(true);
  const text = tag('no courier');
  await send(page, text);
  await expect(page.getByText('Waiting for network')).toHaveCount(1);
  expect(await parcels(page)).toBe(0);
  await context.setOffline(false);
  await expect(page.getByText('Waiting for network')).toHaveCount(0, { timeout: 30_000 });
  const token = await apiToken(request);
  expect((await serverBodies(request, token, FOLLOW_UP)).filter((b) => b === text)).toHaveLength(1);
});

test('figures: sealing every waiting write for the courier, at 10 and at 100 waiting writes', async ({ page, context }) => {
  test.setTimeout(240_000);
  const seals: { count: number; ms: number }[] = [];
  page.on('console', (m) => {
    const said = /^courier: (\d+) waiting writes sealed for background delivery in (\d+) ms$/.exec(m.text());
    if (said) seals.push({ count: Number(said[1]), ms: Number(said[2]) });
  });
  await signIn(page);
  await underServiceWorker(page);
  await openThread(page, FOLLOW_UP);
  await context.setOffline(true);
  for (let i = 1; i <= 100; i += 1) {
    await page.getByRole('textbox', { name: 'Message' }).fill(tag(`figure ${i}`));
    await page.getByRole('button', { name: 'Send' }).click();
  }
  await expect(page.getByText('Waiting for network')).toHaveCount(100, { timeout: 60_000 });
  // What a page being hidden seals when nothing was sealed before: every waiting write.
  await expect.poll(() => seals.some((s) => s.count >= 100), { timeout: 30_000 }).toBe(true);
  const at = (n: number) => seals.filter((s) => s.count >= n && s.count < n + 5).map((s) => s.ms);
  console.log(`figure: seal for the courier, ~10 waiting writes: ${at(10).join(', ')} ms; ~100: ${at(100).join(', ')} ms`);
  expect(await parcels(page)).toBeGreaterThanOrEqual(100);
  await context.setOffline(false);
  await expect(page.getByText('Waiting for network')).toHaveCount(0, { timeout: 60_000 });
  await expect.poll(() => parcels(page), { timeout: 30_000 }).toBe(0);
});
