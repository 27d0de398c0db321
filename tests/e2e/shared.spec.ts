// Shared devices (clinic kiosk, ward tablet), on one browser profile marked shared, against a
// server that locks them after 5 s idle: the lock shows nothing of the user's, sign-out wipes,
// and writes still waiting are either kept sealed (then delivered once, in order, under their
// author, whoever is signed in next) or discarded with an audit event.
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { FOLLOW_UP, SERVER, apiToken, openThread, scanOrigin, send, serverBodies, serverMessages, signIn, tag, underServiceWorker } from './helpers';

const PATIENT_DB = 'caresync:north-clinic:usr-north-patient1';

async function signInShared(page: Page, username = 'patient1') {
  await signIn(page, 'north-clinic', username, '', false, true);
}

async function databases(page: Page) {
  return page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
}

/** Waits until the server holds each of `texts` (and nothing else of them), in order. */
async function delivered(request: APIRequestContext, texts: string[]) {
  const token = await apiToken(request);
  await expect
    .poll(async () => (await serverBodies(request, token, FOLLOW_UP)).filter((b) => texts.includes(b)), { timeout: 30_000 })
    .toEqual(texts);
  return serverMessages(request, token, FOLLOW_UP);
}

test('idle for 5 s, a shared device locks: no PHI on the Locked screen, and the password restores the screen', async ({ page, request }) => {
  await signInShared(page);
  await openThread(page, FOLLOW_UP);
  const marker = tag('IDLE');
  await send(page, marker);
  await expect(page.getByRole('heading', { name: 'Locked' })).toBeVisible({ timeout: 15_000 });
  const shown = await page.locator('body').innerText();
  expect(shown).not.toContain(marker);
  expect(shown).not.toContain(FOLLOW_UP);
  for (const body of await serverBodies(request, await apiToken(request), FOLLOW_UP)) {
    expect(shown).not.toContain(body);
  }
  await page.getByLabel('Password').fill('demo');
  await page.getByRole('button', { name: 'Unlock' }).click();
  await expect(page.getByRole('heading', { name: FOLLOW_UP })).toBeVisible();
  await expect(page.getByText(marker, { exact: true })).toBeVisible();
});

test('signed out offline and kept sealed: nothing readable stays; with dr-lee signed in, each arrives once, in order, as patient1', async ({ page, context, request }) => {
  await signInShared(page);
  await openThread(page, FOLLOW_UP);
  await context.setOffline(true);
  const texts = [tag('KIOSK-1'), tag('KIOSK-2')];
  for (const text of texts) await send(page, text);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByText('2 changes not yet sent')).toBeVisible();
  await page.getByRole('button', { name: 'Keep sealed and send later' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByText('your data was removed from this shared device')).toBeVisible();

  expect(await databases(page)).not.toContain(PATIENT_DB);
  const scan = await scanOrigin(page, texts);
  console.log(`after sign-out: ${scan.databases} databases, ${scan.values} values read, ${scan.found} markers found`);
  expect(scan.found).toBe(0);

  await context.setOffline(false);
  await signInShared(page, 'dr-lee');
  const messages = await delivered(request, texts);
  for (const m of messages.filter((m) => texts.includes(m.body))) expect(m.senderId).toBe('usr-north-patient1');
  // dr-lee never saw them as his own: not waiting in his header, not on his Sync page.
  await expect(page.getByRole('status')).not.toContainText('waiting');
  await page.getByRole('link', { name: 'Sync status' }).click();
  for (const text of texts) await expect(page.getByText(text)).toHaveCount(0);
});

test('"Discard them" removes the writes for good, and the server receives the audit event', async ({ page, context, request }) => {
  await signInShared(page);
  await openThread(page, FOLLOW_UP);
  await context.setOffline(true);
  const gone = tag('DISCARDED');
  await send(page, gone);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByText('1 change not yet sent')).toBeVisible();
  await page.getByRole('button', { name: 'Discard them' }).click();
  await expect(page.getByRole('alert')).toContainText('Discard 1 change?');
  await page.getByRole('button', { name: 'Yes, discard them' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  expect(await databases(page)).not.toContain(PATIENT_DB);

  await context.setOffline(false);
  const token = await apiToken(request);
  const headers = { Authorization: `Bearer ${token}` };
  await expect
    .poll(async () => {
      const events = await (await request.get(`${SERVER}/api/v1/audit-events?type=outbox.discarded`, { headers })).json();
      return Array.isArray(events) ? events.length : 0;
    }, { timeout: 30_000 })
    .toBeGreaterThan(0);
  const events = await (await request.get(`${SERVER}/api/v1/audit-events?type=outbox.discarded`, { headers })).json();
  const last = events[events.length - 1];
  expect(last.payload.count).toBeGreaterThanOrEqual(1);
  expect(JSON.stringify(last)).not.toContain(gone);
  expect(await serverBodies(request, token, FOLLOW_UP)).not.toContain(gone);
});

test('five wrong passwords on the Locked screen wipe the data and keep the sealed writes', async ({ page, context, request }) => {
  await signInShared(page);
  await openThread(page, FOLLOW_UP);
  await context.setOffline(true);
  const kept = tag('LOCKED-KEPT');
  await send(page, kept);
  await expect(page.getByRole('heading', { name: 'Locked' })).toBeVisible({ timeout: 15_000 });
  for (let i = 1; i <= 4; i += 1) {
    await page.getByLabel('Password').fill(`wrong-${i}`);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect(page.getByRole('alert')).toContainText(`${5 - i} more`);
  }
  await page.getByLabel('Password').fill('wrong-5');
  await page.getByRole('button', { name: 'Unlock' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByText('Five wrong passwords')).toBeVisible();
  expect(await databases(page)).not.toContain(PATIENT_DB);
  expect((await scanOrigin(page, [kept])).found).toBe(0);

  await context.setOffline(false);
  await delivered(request, [kept]);
});

test('reloaded offline, then five wrong passwords: the writes still under the lost key go out from their sealed copies, once', async ({ page, context, request }) => {
  await signInShared(page);
  await underServiceWorker(page);
  // A shared device reopens locked: its key was never kept.
  await expect(page.getByRole('heading', { name: 'Locked' })).toBeVisible();
  await page.getByLabel('Password').fill('demo');
  await page.getByRole('button', { name: 'Unlock' }).click();
  await openThread(page, FOLLOW_UP);
  await context.setOffline(true);
  const texts = [tag('RELOADED-1'), tag('RELOADED-2')];
  for (const text of texts) await send(page, text);
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Locked' })).toBeVisible();
  for (let i = 1; i <= 5; i += 1) {
    await page.getByLabel('Password').fill(`wrong-${i}`);
    await page.getByRole('button', { name: 'Unlock' }).click();
    if (i < 5) await expect(page.getByRole('alert')).toContainText(`${5 - i} more`);
  }
  await expect(page.getByText('Five wrong passwords')).toBeVisible();
  expect(await databases(page)).not.toContain(PATIENT_DB);
  expect((await scanOrigin(page, texts)).found).toBe(0);

  await context.setOffline(false);
  await delivered(request, texts);
});

test('sealed at an idle lock, then more written after unlock: the thread keeps its order on the server', async ({ page, context, request }) => {
  await signInShared(page);
  await openThread(page, FOLLOW_UP);
  await context.setOffline(true);
  const before = [tag('BEFORE-LOCK-1'), tag('BEFORE-LOCK-2')];
  for (const text of before) await send(page, text);
  await expect(page.getByRole('heading', { name: 'Locked' })).toBeVisible({ timeout: 15_000 });
  await page.getByLabel('Password').fill('demo');
  await page.getByRole('button', { name: 'Unlock' }).click();
  await expect(page.getByRole('heading', { name: FOLLOW_UP })).toBeVisible();
  // Still on screen, in words: sealed at the lock, sent from the device's own queue.
  await expect(page.getByText('Sealed on this device, sending when it can')).toHaveCount(2);
  const after = tag('AFTER-UNLOCK');
  await send(page, after);
  await context.setOffline(false);
  await delivered(request, [...before, after]);
});
