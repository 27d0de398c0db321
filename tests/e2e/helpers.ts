// Shared steps for the end-to-end tests: a person's actions by role and name, and the
// server-side checks through the real API.
import { expect, type APIRequestContext, type Page } from '@playwright/test';

export const FOLLOW_UP = 'Follow-up after your visit';

/** The reference server itself, not through the chaos proxy: what it holds is the truth. */
export const SERVER = process.env.SERVER_URL ?? process.env.BASE_URL ?? 'http://127.0.0.1:8080';

/**
 * Signs in. `keep` ticks "Keep me signed in on this device", so a reload reopens the data
 * without the password: the sync suites reload a lot and are not about unlocking (the
 * encryption suite signs in without it).
 */
export async function signIn(page: Page, tenant = 'north-clinic', username = 'patient1', base = '', keep = true) {
  await page.goto(`${base}/`);
  await page.getByLabel('Tenant').fill(tenant);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('demo');
  const box = page.getByRole('checkbox', { name: 'Keep me signed in on this device' });
  await expect(box).not.toBeChecked();
  if (keep) await box.check();
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

/** The bodies the server holds in a thread, in the server's order. */
export async function serverBodies(request: APIRequestContext, token: string, subject: string, server = SERVER) {
  const headers = { Authorization: `Bearer ${token}` };
  const threads = await (await request.get(`${server}/api/v1/threads`, { headers })).json();
  const thread = threads.find((t: { subject: string }) => t.subject === subject);
  expect(thread, `thread ${subject}`).toBeTruthy();
  const messages = await (await request.get(`${server}/api/v1/threads/${thread.threadId}/messages`, { headers })).json();
  return messages.map((m: { body: string }) => m.body) as string[];
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

export type ChaosRules = { dropFirstPost?: boolean; resetFraction?: number; delayMs?: number; seed?: number };

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
