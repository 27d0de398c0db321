// Messaging end to end: PWA → IndexedDB → outbox → reference API, through network loss.
import { test, expect } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import {
  FOLLOW_UP, apiToken, clearFaults, fault, openThread, screenshot, send, serverBodies, signIn, tag,
  underServiceWorker,
} from './helpers';

test.afterEach(async ({ request }) => {
  await clearFaults(request);
});

test('wrong credentials get a clear message, and nothing else happens', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Tenant').fill('north-clinic');
  await page.getByLabel('Username').fill('patient1');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('The tenant, username or password is wrong.');
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
});

test('offline: five messages queue, survive a reload, and reach the server once each, in order', async ({ page, context, request }) => {
  await signIn(page);
  await underServiceWorker(page);
  await screenshot(page, 'threads.png');
  await openThread(page, FOLLOW_UP);
  await context.setOffline(true);
  await expect(page.getByRole('status')).toContainText('Offline');
  await expect(page.getByText(/^Offline - latest messages at /)).toBeVisible();
  const texts = [1, 2, 3, 4, 5].map((i) => tag(`offline ${i}`));
  for (const text of texts) await send(page, text);
  await expect(page.getByText('Waiting for network')).toHaveCount(5);
  // Five messages: the header counts the user's own changes; the read receipts the app
  // queued for what the thread showed are counted apart, on the Sync page.
  await expect(page.getByRole('status')).toContainText('5 changes waiting');

  await page.reload();
  await expect(page.getByRole('heading', { name: FOLLOW_UP })).toBeVisible();
  for (const text of texts) await expect(page.getByText(text, { exact: true })).toBeVisible();
  await expect(page.getByText('Waiting for network')).toHaveCount(5);
  await screenshot(page, 'thread-offline.png');

  await context.setOffline(false);
  await expect(page.getByRole('status')).toContainText('All changes sent', { timeout: 30_000 });
  await expect(page.getByText('Sending…')).toHaveCount(0);
  const bodies = await serverBodies(request, await apiToken(request), FOLLOW_UP);
  expect(bodies.filter((b) => texts.includes(b))).toEqual(texts);
});

test('lost responses after commit: every message still arrives exactly once', async ({ page, request }) => {
  await signIn(page);
  await openThread(page, FOLLOW_UP);
  // The server commits, then the connection breaks before the answer: on both upload paths.
  await fault(request, { method: 'POST', path: '/api/v1/sync/push', mode: 'drop_after_commit', times: 2 });
  await fault(request, { method: 'POST', path: '/api/v1/threads/*/messages', mode: 'drop_after_commit', times: 2 });
  const texts = [1, 2, 3].map((i) => tag(`lost answer ${i}`));
  for (const text of texts) await send(page, text);
  await expect(page.getByRole('status')).toContainText('All changes sent', { timeout: 30_000 });
  const bodies = await serverBodies(request, await apiToken(request), FOLLOW_UP);
  for (const text of texts) expect(bodies.filter((b) => b === text)).toHaveLength(1);
  expect(bodies.filter((b) => texts.includes(b))).toEqual(texts);
});

test('two tabs of one user, both offline: each sends, both show all, exactly once', async ({ context, request }) => {
  const a = await context.newPage();
  await signIn(a);
  await openThread(a, FOLLOW_UP);
  const b = await context.newPage();
  await b.goto(a.url());
  await expect(b.getByRole('heading', { name: FOLLOW_UP })).toBeVisible();
  await context.setOffline(true);
  const [fromA, fromB] = [tag('tab A'), tag('tab B')];
  await send(a, fromA);
  await send(b, fromB);
  await context.setOffline(false);
  for (const page of [a, b]) {
    await expect(page.getByRole('status')).toContainText('All changes sent', { timeout: 30_000 });
    for (const text of [fromA, fromB]) await expect(page.getByText(text, { exact: true })).toBeVisible();
  }
  const bodies = await serverBodies(request, await apiToken(request), FOLLOW_UP);
  expect(bodies.filter((x) => x === fromA)).toHaveLength(1);
  expect(bodies.filter((x) => x === fromB)).toHaveLength(1);
});

test('closing the page mid-replay: reopening completes it, with no duplicates', async ({ context, request }) => {
  const page = await context.newPage();
  await signIn(page);
  await openThread(page, FOLLOW_UP);
  const url = page.url();
  await context.setOffline(true);
  const texts = [1, 2, 3].map((i) => tag(`mid-replay ${i}`));
  for (const text of texts) await send(page, text);
  // The server holds the replay for 2 s before committing: the tab closes meanwhile.
  await fault(request, { method: 'POST', path: '/api/v1/sync/push', mode: 'delay', delayMs: 2000, times: 1 });
  await fault(request, { method: 'POST', path: '/api/v1/threads/*/messages', mode: 'delay', delayMs: 2000, times: 3 });
  const replay = page.waitForRequest((r) => r.method() === 'POST' && /\/api\/v1\/(sync\/push|threads\/)/.test(r.url()));
  await context.setOffline(false);
  await replay;
  await page.close();

  const again = await context.newPage();
  await again.goto(url);
  await expect(again.getByRole('heading', { name: FOLLOW_UP })).toBeVisible();
  await expect(again.getByRole('status')).toContainText('All changes sent', { timeout: 30_000 });
  for (const text of texts) await expect(again.getByText(text, { exact: true })).toBeVisible();
  await expect(again.getByText('Sending…')).toHaveCount(0);
  const token = await apiToken(request);
  // The first tab's delayed request may still commit after the second tab's replay: either
  // way, each message must be there exactly once.
  await expect
    .poll(async () => (await serverBodies(request, token, FOLLOW_UP)).filter((b) => texts.includes(b)), { timeout: 10_000 })
    .toEqual(texts);
  await new Promise((r) => setTimeout(r, 2500));
  const settled = await serverBodies(request, token, FOLLOW_UP);
  expect(settled.filter((b) => texts.includes(b))).toEqual(texts);
});

test('archived thread: the message parks, later ones wait, "Reopen thread" delivers both', async ({ page, request }) => {
  await signIn(page);
  await openThread(page, 'Prescription renewal');
  const [first, second] = [tag('to the archive'), tag('behind it')];
  await send(page, first);
  await expect(page.getByText('Not sent: this conversation is archived')).toBeVisible({ timeout: 15_000 });
  await expect(page.getByRole('button', { name: 'Copy text' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Discard' })).toBeVisible();
  await send(page, second);
  await page.getByRole('link', { name: 'Sync status' }).click();
  await expect(page.getByText(first, { exact: true })).toBeVisible();
  await page.goBack();
  await page.getByRole('button', { name: 'Reopen thread' }).click();
  await expect(page.getByText('Not sent: this conversation is archived')).toHaveCount(0, { timeout: 15_000 });
  await expect(page.getByRole('status')).toContainText('All changes sent', { timeout: 30_000 });
  const bodies = await serverBodies(request, await apiToken(request), 'Prescription renewal');
  expect(bodies.slice(-2)).toEqual([first, second]);
});

test('archived thread: "Discard" removes the message from the outbox and the screen', async ({ page, request }) => {
  await signIn(page, 'south-clinic', 'patient2');
  await openThread(page, 'Billing question');
  const text = tag('never mind');
  await send(page, text);
  await expect(page.getByText('Not sent: this conversation is archived')).toBeVisible({ timeout: 15_000 });
  await page.getByRole('button', { name: 'Discard' }).click();
  await expect(page.getByText(text, { exact: true })).toHaveCount(0);
  await expect(page.getByRole('status')).not.toContainText('need your attention');
  await page.getByRole('link', { name: 'Sync status' }).click();
  await expect(page.getByText('Nothing needs your attention.', { exact: false })).toBeVisible();
  const bodies = await serverBodies(request, await apiToken(request, 'south-clinic', 'patient2'), 'Billing question');
  expect(bodies).not.toContain(text);
});

test('a message with HTML in it is shown as text', async ({ page }) => {
  await signIn(page);
  await openThread(page, FOLLOW_UP);
  const text = `<b>bold</b> <img src=x onerror="document.title='pwned'"> ${tag('html')}`;
  await send(page, text);
  await expect(page.getByRole('status')).toContainText('All changes sent', { timeout: 30_000 });
  await expect(page.getByText(text, { exact: true })).toBeVisible();
  await expect(page.locator('.messages b')).toHaveCount(0);
  await expect(page.locator('.messages img')).toHaveCount(0);
  expect(await page.title()).toBe('caresync');
});

test('the draft survives a reload', async ({ page }) => {
  await signIn(page);
  await openThread(page, FOLLOW_UP);
  const draft = tag('half-written');
  await page.getByRole('textbox', { name: 'Message' }).fill(draft);
  await page.reload();
  await expect(page.getByRole('textbox', { name: 'Message' })).toHaveValue(draft);
  await page.getByRole('textbox', { name: 'Message' }).fill('');
});

test('axe finds no accessibility violations on sign-in, threads and a thread', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);
  await signIn(page);
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);
  await openThread(page, FOLLOW_UP);
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);
});
