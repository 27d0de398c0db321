// The ward board on kiosk tablets: two tablets as nurse1 change one bed offline and meet on
// the server's last-writer-wins answer; a change stamped over an hour ago is held for review;
// past 24 h offline the board refuses changes and says why.
import { expect, test, type APIRequestContext, type Browser, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { SERVER, apiToken } from './helpers';

type Bed = { bedId: string; label: string; status: string; statusUpdatedAt: string };

async function serverBed(request: APIRequestContext, label: string): Promise<Bed> {
  const token = await apiToken(request, 'north-clinic', 'nurse1');
  const res = await request.get(`${SERVER}/internal/edge/snapshot?nodeId=node-ward-a`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status()).toBe(200);
  const beds = ((await res.json()) as { beds: Bed[] }).beds;
  return beds.find((b) => b.label === label)!;
}

/** Sets a bed's status through the API, stamped now: a known start for a test. */
async function setStatus(request: APIRequestContext, bed: string, status: string) {
  const token = await apiToken(request, 'north-clinic', 'nurse1');
  const res = await request.put(`${SERVER}/api/v1/facility/beds/${bed}/status`, {
    headers: { Authorization: `Bearer ${token}` },
    data: { status, updatedAt: new Date().toISOString(), clientMutationId: crypto.randomUUID() },
  });
  expect(res.status()).toBe(200);
}

/** Signs nurse1 in on the ward app, kept signed in on this tablet, and waits for the board. */
async function signInWard(page: Page) {
  await page.goto('/ward/');
  await page.getByLabel('Tenant').fill('north-clinic');
  await page.getByLabel('Username').fill('nurse1');
  await page.getByLabel('Password').fill('demo');
  await page.getByRole('checkbox', { name: 'Keep me signed in on this device' }).check();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Ward A' })).toBeVisible();
}

/** A tablet: its own browser context (its own storage), its own clock, on the board. */
async function tablet(browser: Browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.clock.install();
  await signInWard(page);
  return { context, page };
}

function bedItem(page: Page, label: string) {
  return page.locator('li.bed').filter({ has: page.getByRole('button', { name: `Bed ${label}`, exact: true }) });
}

async function choose(page: Page, label: string, choice: string) {
  const bed = bedItem(page, label);
  await bed.getByRole('button', { name: `Bed ${label}`, exact: true }).click();
  await bed.getByRole('group', { name: `Change Bed ${label}` }).getByRole('button', { name: choice, exact: true }).click();
}

test('two tablets offline change one bed; online in the other order, the server and both boards agree on the later change', async ({ browser, request }) => {
  await setStatus(request, 'bed-a1-1', 'available');
  const one = await tablet(browser);
  const two = await tablet(browser);
  await expect(bedItem(one.page, 'A1-1').getByText('Available', { exact: true })).toBeVisible();
  await one.context.setOffline(true);
  await two.context.setOffline(true);

  await choose(one.page, 'A1-1', 'Occupied');
  await expect(bedItem(one.page, 'A1-1').getByText('Occupied', { exact: true })).toBeVisible();
  await expect(bedItem(one.page, 'A1-1').getByText('· Not yet sent')).toBeVisible();
  await two.page.clock.fastForward('01:00');
  await choose(two.page, 'A1-1', 'Out of service');
  await expect(bedItem(two.page, 'A1-1').getByText('Out of service', { exact: true })).toBeVisible();

  await two.context.setOffline(false);
  await expect.poll(async () => (await serverBed(request, 'A1-1')).status, { timeout: 30_000 }).toBe('out_of_service');
  await one.context.setOffline(false);
  await expect(bedItem(one.page, 'A1-1').getByText('Out of service', { exact: true })).toBeVisible({ timeout: 30_000 });
  await expect(bedItem(one.page, 'A1-1').getByText('· Not yet sent')).toHaveCount(0);
  expect((await serverBed(request, 'A1-1')).status).toBe('out_of_service');
  await expect(bedItem(two.page, 'A1-1').getByText('Out of service', { exact: true })).toBeVisible();
  await expect(bedItem(two.page, 'A1-1').getByText('· Not yet sent')).toHaveCount(0);
  await one.page.screenshot({ path: 'docs/screenshots/ward-board.png', fullPage: true });
  await one.context.close();
  await two.context.close();
});

test('a change stamped more than an hour ago is held for review, in words', async ({ browser, request }) => {
  await setStatus(request, 'bed-a1-2', 'available');
  const one = await tablet(browser);
  await one.context.setOffline(true);
  // The tablet's clock is behind by more than the one-hour window.
  await one.page.clock.setSystemTime(Date.now() - 2 * 3600 * 1000);
  await choose(one.page, 'A1-2', 'Reserved');
  await one.page.clock.setSystemTime(Date.now());
  await one.context.setOffline(false);
  await expect(bedItem(one.page, 'A1-2').getByText('· Held for review: changed more than an hour ago')).toBeVisible({ timeout: 30_000 });
  expect((await serverBed(request, 'A1-2')).status).toBe('available');
  await bedItem(one.page, 'A1-2').getByRole('button', { name: 'Dismiss' }).click();
  await expect(bedItem(one.page, 'A1-2').getByText('Available', { exact: true })).toBeVisible();
  await one.context.close();
});

test('after 24 hours offline the board refuses changes and says why', async ({ browser }) => {
  const one = await tablet(browser);
  await one.context.setOffline(true);
  await one.page.clock.fastForward('24:00:01');
  await one.page.getByRole('link', { name: 'Sync status' }).click();
  await one.page.getByRole('link', { name: 'Beds' }).click();
  await expect(one.page.getByText('Bed registry out of date: connect to refresh')).toBeVisible();
  await expect(one.page.getByRole('button', { name: 'Bed A1-1', exact: true })).toBeDisabled();
  await one.context.setOffline(false);
  await expect(one.page.getByRole('button', { name: 'Bed A1-1', exact: true })).toBeEnabled({ timeout: 30_000 });
  await one.context.close();
});

test('the ward board is its own app at /ward/, and starts with no network from its own service worker', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signInWard(page);
  await page.evaluate(async () => { await navigator.serviceWorker.ready; });
  await page.reload();
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? '')).toMatch(/\/ward\/sw\.js$/);
  await context.setOffline(true);
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Ward A' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Messages' })).toHaveCount(0);
  await context.close();
});

test('axe finds no accessibility violations on the ward board', async ({ browser }) => {
  const one = await tablet(browser);
  await bedItem(one.page, 'A2-1').getByRole('button', { name: 'Bed A2-1', exact: true }).click();
  expect((await new AxeBuilder({ page: one.page }).analyze()).violations).toEqual([]);
  await one.context.close();
});
