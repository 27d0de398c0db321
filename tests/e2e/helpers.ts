// Shared steps for the end-to-end tests: a person's actions by role and name, and the
// server-side checks through the real API.
import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';

export const FOLLOW_UP = 'Follow-up after your visit';

/** The reference server itself, not through the chaos proxy: what it holds is the truth. */
export const SERVER = process.env.SERVER_URL ?? process.env.BASE_URL ?? 'http://127.0.0.1:8080';

/**
 * Signs in. `keep` ticks "Keep me signed in on this device", so a reload reopens the data
 * without the password: the sync suites reload a lot and are not about unlocking (the
 * encryption suite signs in without it).
 */
export async function signIn(page: Page, tenant = 'north-clinic', username = 'patient1', base = '', keep = true, shared = false) {
  await page.goto(`${base}/`);
  await page.getByLabel('Tenant').fill(tenant);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('demo');
  const sharedBox = page.getByRole('checkbox', { name: 'Shared device (clinic kiosk or ward tablet)' });
  const box = page.getByRole('checkbox', { name: 'Keep me signed in on this device' });
  if (shared) {
    await sharedBox.check();
    // A shared device never offers to stay signed in.
    await expect(box).toHaveCount(0);
  } else {
    await expect(sharedBox).not.toBeChecked();
    await expect(box).not.toBeChecked();
    if (keep) await box.check();
  }
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Messages' })).toBeVisible();
}

/** Waits until the service worker is active, then reloads so it controls the page. */
export async function underServiceWorker(page: Page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await page.reload();
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
}

export async function openThread(page: Page, subject: string) {
  await page.getByRole('link', { name: subject }).click();
  await expect(page.getByRole('heading', { name: subject })).toBeVisible();
}

export async function send(page: Page, text: string) {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByText(text, { exact: true })).toBeVisible();
}

export function tag(what: string) {
  return `${what}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

export async function apiToken(request: APIRequestContext, tenantId = 'north-clinic', username = 'patient1', server = SERVER) {
  const res = await request.post(`${server}/api/v1/auth/login`, { data: { tenantId, username, password: 'demo' } });
  expect(res.status()).toBe(200);
  return (await res.json()).accessToken as string;
}

/** The messages the server holds in a thread, in the server's order. */
export async function serverMessages(request: APIRequestContext, token: string, subject: string, server = SERVER) {
  const headers = { Authorization: `Bearer ${token}` };
  const threads = await (await request.get(`${server}/api/v1/threads`, { headers })).json();
  const thread = threads.find((t: { subject: string }) => t.subject === subject);
  expect(thread, `thread ${subject}`).toBeTruthy();
  const messages = await (await request.get(`${server}/api/v1/threads/${thread.threadId}/messages`, { headers })).json();
  return messages as { body: string; senderId: string }[];
}

/** The bodies the server holds in a thread, in the server's order. */
export async function serverBodies(request: APIRequestContext, token: string, subject: string, server = SERVER) {
  return (await serverMessages(request, token, subject, server)).map((m) => m.body);
}

export async function fault(request: APIRequestContext, rule: Record<string, unknown>) {
  const res = await request.post(`${SERVER}/__test/faults`, { data: rule });
  expect(res.status()).toBe(204);
}

export async function clearFaults(request: APIRequestContext) {
  await request.delete(`${SERVER}/__test/faults`);
}

/** The chaos proxy between Chromium and the server (BASE_URL): its rules and its counts. */
export const PROXY = process.env.BASE_URL ?? 'http://127.0.0.1:8080';

export type ChaosRules = { dropFirstPost?: boolean; dropFirstGet?: boolean; resetFraction?: number; delayMs?: number; seed?: number; only?: string };

export async function chaos(request: APIRequestContext, rules: ChaosRules, proxy = PROXY) {
  const res = await request.post(`${proxy}/__chaos`, { data: rules });
  expect(res.ok()).toBe(true);
}

export async function calm(request: APIRequestContext, proxy = PROXY) {
  const res = await request.delete(`${proxy}/__chaos`);
  expect(res.ok()).toBe(true);
}

export type ChaosStats = {
  requests: number; forwarded: number; droppedResponses: number; resetBeforeServer: number;
  resetAfterServer: number; refreshRequests: number; refreshTimes: number[]; loginRequests: number;
  byRoute: Record<string, number>;
};

export async function chaosStats(request: APIRequestContext, proxy = PROXY): Promise<ChaosStats> {
  return (await request.get(`${proxy}/__chaos/stats`)).json();
}

/** The most refresh requests in any 60 s window. */
export function refreshesPerMinute(times: number[]) {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0; i < sorted.length; i++) {
    const inWindow = sorted.filter((t) => t >= sorted[i] && t < sorted[i] + 60_000).length;
    most = Math.max(most, inWindow);
  }
  return most;
}

/** Reads everything the origin keeps, raw, and counts the markers in it. */
export async function scanOrigin(page: Page, markers: string[]) {
  return page.evaluate(async (markers) => {
    const texts: string[] = [];
    let values = 0;
    const walk = async (v: unknown): Promise<void> => {
      if (v === null || v === undefined) return;
      if (typeof v === 'string') { texts.push(v); return; }
      if (typeof v !== 'object') return;
      if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
        texts.push(new TextDecoder().decode(v as ArrayBuffer));
        return;
      }
      if (v instanceof Blob) { texts.push(await v.text()); return; }
      if (v instanceof CryptoKey) return;
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        texts.push(k);
        await walk(x);
      }
    };
    const request = <T>(r: IDBRequest<T>) => new Promise<T>((ok, fail) => {
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
    });
    const databases = await indexedDB.databases();
    for (const info of databases) {
      if (!info.name) continue;
      const db = await request(indexedDB.open(info.name));
      for (const name of Array.from(db.objectStoreNames)) {
        const store = db.transaction(name).objectStore(name);
        const [keys, all] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
        for (const k of keys) texts.push(JSON.stringify(k));
        for (const v of all) { values += 1; await walk(v); }
      }
      db.close();
    }
    let cached = 0;
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const req of await cache.keys()) {
        texts.push(req.url);
        const res = await cache.match(req);
        if (res) { values += 1; cached += 1; texts.push(await res.text()); }
      }
    }
    for (const storage of [localStorage, sessionStorage]) {
      for (let i = 0; i < storage.length; i += 1) {
        const key = storage.key(i) ?? '';
        values += 1;
        texts.push(key, storage.getItem(key) ?? '');
      }
    }
    texts.push(location.href);
    const counts = markers.map((m) => texts.filter((t) => t.includes(m)).length);
    const found = counts.reduce((a, b) => a + b, 0);
    return { databases: databases.length, values, cached, found, counts };
  }, markers);
}


/**
 * A full-page screenshot for the README. Test runs write them to target/screenshots;
 * `SCREENSHOTS_DIR=docs/screenshots cargo xtask e2e` refreshes the ones the README shows.
 */
export async function screenshot(page: Page, name: string) {
  const dir = process.env.SCREENSHOTS_DIR ?? 'target/screenshots';
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: `${dir}/${name}`, fullPage: true });
}
