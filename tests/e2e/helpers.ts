// Shared steps for the end-to-end tests: a person's actions by role and name, and the
// server-side checks through the real API.
import { expect, type APIRequestContext, type Page } from '@playwright/test';

export const FOLLOW_UP = 'Follow-up after your visit';

export async function signIn(page: Page, tenant = 'north-clinic', username = 'patient1') {
  await page.goto('/');
  await page.getByLabel('Tenant').fill(tenant);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('demo');
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

export async function apiToken(request: APIRequestContext, tenantId = 'north-clinic', username = 'patient1') {
  const res = await request.post('/api/v1/auth/login', { data: { tenantId, username, password: 'demo' } });
  expect(res.status()).toBe(200);
  return (await res.json()).accessToken as string;
}

/** The bodies the server holds in a thread, in the server's order. */
export async function serverBodies(request: APIRequestContext, token: string, subject: string) {
  const headers = { Authorization: `Bearer ${token}` };
  const threads = await (await request.get('/api/v1/threads', { headers })).json();
  const thread = threads.find((t: { subject: string }) => t.subject === subject);
  expect(thread, `thread ${subject}`).toBeTruthy();
  const messages = await (await request.get(`/api/v1/threads/${thread.threadId}/messages`, { headers })).json();
  return messages.map((m: { body: string }) => m.body) as string[];
}

export async function fault(request: APIRequestContext, rule: Record<string, unknown>) {
  const res = await request.post('/__test/faults', { data: rule });
  expect(res.status()).toBe(204);
}

export async function clearFaults(request: APIRequestContext) {
  await request.delete('/__test/faults');
}
