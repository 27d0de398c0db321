// Encryption at rest, seen from outside: after real use, online and offline, every byte the
// origin keeps (every IndexedDB database, store and value, Cache Storage, localStorage,
// sessionStorage) is read raw and searched for what the user wrote. Then an offline reload
// asks for the password, refuses a wrong one, and the right one shows the queued messages,
// which go out exactly once when the network returns.
import { expect, test, type Page } from '@playwright/test';
import { FOLLOW_UP, apiToken, openThread, scanOrigin, send, serverBodies, signIn, tag, underServiceWorker } from './helpers';

/** A reload without "Keep me signed in" asks for the password before it shows anything. */
async function unlock(page: Page) {
  await expect(page.getByRole('heading', { name: 'Unlock' })).toBeVisible();
  await page.getByLabel('Password').fill('demo');
  await page.getByRole('button', { name: 'Unlock' }).click();
  await expect(page.getByRole('heading', { name: 'Unlock' })).toHaveCount(0);
}

test('nothing the user wrote is readable at rest; an offline reload unlocks with the password and delivers once', async ({ page, context, request }) => {
  const logged: string[] = [];
  page.on('console', (msg) => logged.push(msg.text()));
  await signIn(page, 'north-clinic', 'patient1', '', false);
  await underServiceWorker(page);
  await unlock(page);
  await openThread(page, FOLLOW_UP);

  const online = tag('SECRET-online');
  await send(page, online);
  await expect(page.getByRole('status')).toContainText('All changes sent', { timeout: 30_000 });
  await context.setOffline(true);
  await expect(page.getByRole('status')).toContainText('Offline');
  const queued = [tag('SECRET-queued-1'), tag('SECRET-queued-2')];
  for (const text of queued) await send(page, text);
  const draft = tag('SECRET-draft');
  await page.getByRole('textbox', { name: 'Message' }).fill(draft);
  await expect(page.getByText('Waiting for network')).toHaveCount(2);
  // The draft is saved on every keystroke; give that write a moment to land.
  await page.waitForTimeout(500);

  // Controls: the scanner must see text in storage and inside bytes, or a zero means nothing.
  const control = tag('CONTROL');
  await page.evaluate(async (control) => {
    sessionStorage.setItem('scan-control', control);
    const open = indexedDB.open('scan-control', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('bytes');
    const db = await new Promise<IDBDatabase>((ok) => { open.onsuccess = () => ok(open.result); });
    const tx = db.transaction('bytes', 'readwrite');
    tx.objectStore('bytes').put(new TextEncoder().encode(control), 'k');
    await new Promise((ok) => { tx.oncomplete = ok; });
    db.close();
  }, control);
  expect((await scanOrigin(page, [control])).counts).toEqual([2]);
  await page.evaluate(async () => {
    sessionStorage.removeItem('scan-control');
    await new Promise((ok) => { indexedDB.deleteDatabase('scan-control').onsuccess = ok; });
  });

  const markers = [online, ...queued, draft];
  const scan = await scanOrigin(page, markers);
  console.log(`raw scan: ${scan.databases} databases, ${scan.values} values read (${scan.cached} cached responses), ${scan.found} markers found`);
  expect(scan.databases).toBeGreaterThan(0);
  expect(scan.values).toBeGreaterThan(10);
  expect(scan.found).toBe(0);

  // Reload offline: the data is sealed and the key is not on the device.
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Unlock' })).toBeVisible();
  for (const text of queued) await expect(page.getByText(text)).toHaveCount(0);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Unlock' }).click();
  await expect(page.getByRole('alert')).toHaveText('Wrong password');
  await expect(page.getByRole('heading', { name: 'Unlock' })).toBeVisible();
  await page.getByLabel('Password').fill('demo');
  await page.getByRole('button', { name: 'Unlock' }).click();
  await expect(page.getByRole('heading', { name: FOLLOW_UP })).toBeVisible();
  for (const text of queued) await expect(page.getByText(text, { exact: true })).toBeVisible();
  await expect(page.getByText('Waiting for network')).toHaveCount(2);
  await expect(page.getByRole('textbox', { name: 'Message' })).toHaveValue(draft);

  await context.setOffline(false);
  await expect(page.getByRole('status')).toContainText('All changes sent', { timeout: 30_000 });
  const bodies = await serverBodies(request, await apiToken(request), FOLLOW_UP);
  for (const text of [online, ...queued]) expect(bodies.filter((b) => b === text)).toHaveLength(1);
  expect(bodies).not.toContain(draft);

  const after = await scanOrigin(page, markers);
  expect(after.found).toBe(0);
  expect(logged.filter((line) => markers.some((m) => line.includes(m)))).toEqual([]);
});

test('"Sign out" on the Unlock screen returns to sign-in; signing in again opens the same data', async ({ page, context }) => {
  await signIn(page, 'north-clinic', 'patient1', '', false);
  await underServiceWorker(page);
  await unlock(page);
  await openThread(page, FOLLOW_UP);
  await context.setOffline(true);
  const kept = tag('SECRET-kept');
  await send(page, kept);
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Unlock' })).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await context.setOffline(false);
  await signIn(page, 'north-clinic', 'patient1', '', false);
  await openThread(page, FOLLOW_UP);
  await expect(page.getByText(kept, { exact: true })).toBeVisible();
  await expect(page.getByRole('status')).toContainText('All changes sent', { timeout: 30_000 });
});

test('a sealed message moved onto another record is refused, and the thread says so', async ({ page, context }) => {
  await signIn(page);
  await underServiceWorker(page);
  await openThread(page, FOLLOW_UP);
  await expect(page.getByRole('listitem').first()).toBeVisible();
  await context.setOffline(true);
  // Someone with the disk copies one message's ciphertext over another's.
  const moved = await page.evaluate(async () => {
    const open = indexedDB.open('caresync:north-clinic:usr-north-patient1');
    const db = await new Promise<IDBDatabase>((ok, fail) => {
      open.onsuccess = () => ok(open.result);
      open.onerror = () => fail(open.error);
    });
    const tx = db.transaction('entities', 'readwrite');
    const store = tx.objectStore('entities');
    const keys = await new Promise<IDBValidKey[]>((ok) => {
      const r = store.getAllKeys(IDBKeyRange.bound('message:', 'message:\uffff'));
      r.onsuccess = () => ok(r.result);
    });
    if (keys.length < 2) return 0;
    const first = await new Promise<unknown>((ok) => {
      const r = store.get(keys[0]);
      r.onsuccess = () => ok(r.result);
    });
    store.put(first, keys[1]);
    await new Promise((ok) => { tx.oncomplete = ok; });
    db.close();
    return keys.length;
  });
  expect(moved).toBeGreaterThan(1);
  await page.reload();
  await expect(page.getByRole('alert')).toContainText('altered or does not belong here');
});
