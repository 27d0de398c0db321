// Store-and-forward visits: written offline with two photos (one far over the server's
// 512 KiB limit, made by the test), submitted, kept across an offline reload, and delivered
// once when the network returns, each photo downscaled on the device to fit.
import { expect, test, type Page } from '@playwright/test';
import { SERVER, apiToken, clearFaults, fault, screenshot, signIn, tag, underServiceWorker } from './helpers';

/** Puts two generated photos into the "Photos" input: a noisy 1600×1200 PNG (megabytes)
 *  and a small flat one. */
async function attachPhotos(page: Page) {
  const sizes = await page.evaluate(async () => {
    const make = async (w: number, h: number, noisy: boolean) => {
      const canvas = document.createElement('canvas');
      canvas.width = w;
      canvas.height = h;
      const ctx = canvas.getContext('2d')!;
      const img = ctx.createImageData(w, h);
      for (let i = 0; i < img.data.length; i += 4) {
        const v = noisy ? Math.floor(Math.random() * 256) : 180;
        img.data[i] = v; img.data[i + 1] = noisy ? Math.floor(Math.random() * 256) : 90; img.data[i + 2] = 120; img.data[i + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      const blob: Blob = await new Promise((ok) => canvas.toBlob((b) => ok(b!), 'image/png'));
      return blob;
    };
    const big = await make(1600, 1200, true);
    const small = await make(320, 240, false);
    const dt = new DataTransfer();
    dt.items.add(new File([big], 'forearm.png', { type: 'image/png' }));
    dt.items.add(new File([small], 'close-up.png', { type: 'image/png' }));
    const input = document.getElementById('photos') as HTMLInputElement;
    input.files = dt.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
    return [big.size, small.size];
  });
  expect(sizes[0]).toBeGreaterThan(512 * 1024);
}

test('an offline visit with two photos survives a reload and arrives once, each photo within the limit', async ({ page, context, request }) => {
  await signIn(page);
  await underServiceWorker(page);
  await page.getByRole('link', { name: 'Visits' }).click();
  await expect(page.getByRole('heading', { name: 'Visits' })).toBeVisible();
  await context.setOffline(true);
  await page.getByRole('button', { name: 'New visit' }).click();
  const complaint = tag('VISIT rash on the forearm');
  await page.getByLabel('Chief complaint').fill(complaint);
  await attachPhotos(page);
  await expect(page.getByRole('button', { name: 'Remove photo' })).toHaveCount(2, { timeout: 20_000 });
  // Disabled until there is a complaint and while photos are being prepared.
  await page.getByRole('button', { name: 'Submit visit', exact: true }).click();
  const item = page.getByRole('listitem').filter({ hasText: complaint });
  await expect(item.getByText('Waiting for network')).toBeVisible();
  await expect(item.getByText('2 photos')).toBeVisible();
  await expect(item.getByRole('img', { name: /^Photo \d of this visit$/ })).toHaveCount(2);
  await screenshot(page, 'visit-queued.png');

  await page.reload();
  await expect(page.getByRole('heading', { name: 'Visits' })).toBeVisible();
  await expect(page.getByRole('listitem').filter({ hasText: complaint }).getByText('Waiting for network')).toBeVisible();

  await context.setOffline(false);
  const token = await apiToken(request);
  const headers = { Authorization: `Bearer ${token}` };
  type Visit = { asyncVisitId: string; chiefComplaint: string; attachments: { attachmentId: string; size: number }[] };
  await expect
    .poll(async () => {
      const all: Visit[] = await (await request.get(`${SERVER}/api/v1/virtual-care/async-visits`, { headers })).json();
      return all.filter((v) => v.chiefComplaint === complaint).length;
    }, { timeout: 30_000 })
    .toBe(1);
  const all: Visit[] = await (await request.get(`${SERVER}/api/v1/virtual-care/async-visits`, { headers })).json();
  const visit = all.find((v) => v.chiefComplaint === complaint)!;
  expect(visit.attachments).toHaveLength(2);
  for (const a of visit.attachments) {
    expect(a.size).toBeLessThanOrEqual(512 * 1024);
    const res = await request.get(`${SERVER}/api/v1/virtual-care/async-visits/${visit.asyncVisitId}/attachments/${a.attachmentId}`, { headers });
    expect(res.status()).toBe(200);
    const bytes = await res.body();
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
  }
  await expect(page.getByRole('listitem').filter({ hasText: complaint }).getByText(/^Submitted /)).toBeVisible({ timeout: 30_000 });
});

test('the answer to a visit is lost after the server committed it: the visit exists once', async ({ page, request }) => {
  await signIn(page);
  await page.getByRole('link', { name: 'Visits' }).click();
  await fault(request, { method: 'POST', path: '/api/v1/virtual-care/async-visits', mode: 'drop_after_commit', times: 1 });
  await fault(request, { method: 'POST', path: '/api/v1/sync/push', mode: 'drop_after_commit', times: 1 });
  try {
    await page.getByRole('button', { name: 'New visit' }).click();
    const complaint = tag('VISIT lost answer');
    await page.getByLabel('Chief complaint').fill(complaint);
    await page.getByRole('button', { name: 'Submit visit', exact: true }).click();
    const token = await apiToken(request);
    const headers = { Authorization: `Bearer ${token}` };
    const count = async () => {
      const all: { chiefComplaint: string }[] = await (await request.get(`${SERVER}/api/v1/virtual-care/async-visits`, { headers })).json();
      return all.filter((v) => v.chiefComplaint === complaint).length;
    };
    await expect(page.getByRole('listitem').filter({ hasText: complaint }).getByText(/^Submitted /)).toBeVisible({ timeout: 30_000 });
    expect(await count()).toBe(1);
    await expect(page.getByRole('banner').getByRole('status')).toContainText('All changes sent');
    expect(await count()).toBe(1);
  } finally {
    await clearFaults(request);
  }
});

/** A 1×1 GIF: an image the browser reads, and not the JPEG the app says it sends. */
const GIF_BASE64 = 'R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==';

/** Replaces the second photo of any visit in a request body (per resource or in a sync
 *  push) with GIF bytes still labelled image/jpeg; returns whether it changed anything. */
function spoilSecondPhoto(node: unknown): boolean {
  if (Array.isArray(node)) return node.map(spoilSecondPhoto).some(Boolean);
  if (!node || typeof node !== 'object') return false;
  const record = node as Record<string, unknown>;
  const photos = record.attachments;
  if (Array.isArray(photos) && photos.length >= 2) {
    (photos[1] as { dataBase64: string }).dataBase64 = GIF_BASE64;
    return true;
  }
  return Object.values(record).map(spoilSecondPhoto).some(Boolean);
}

test('a photo the server refuses parks the visit with its reason; "Remove photo and retry" sends it once without that photo', async ({ page, context, request }) => {
  // The real server refuses the photo on its own rule (its bytes are not the JPEG its label
  // says); the test only changes the bytes on the way, as a broken upload would.
  await context.route(/\/api\/v1\/(virtual-care\/async-visits|sync\/push)$/, async (route) => {
    const body = route.request().postDataJSON() as unknown;
    if (route.request().method() === 'POST' && spoilSecondPhoto(body)) {
      await route.continue({ postData: JSON.stringify(body) });
    } else {
      await route.continue();
    }
  });
  await signIn(page);
  await page.getByRole('link', { name: 'Visits' }).click();
  await page.getByRole('button', { name: 'New visit' }).click();
  const complaint = tag('VISIT refused photo');
  await page.getByLabel('Chief complaint').fill(complaint);
  await attachPhotos(page);
  await expect(page.getByRole('button', { name: 'Remove photo' })).toHaveCount(2, { timeout: 20_000 });
  await page.getByRole('button', { name: 'Submit visit', exact: true }).click();

  const item = page.getByRole('listitem').filter({ hasText: complaint });
  await expect(item.getByText(/^Not sent: Photo 2: the data is not a image\/jpeg image/)).toBeVisible({ timeout: 30_000 });
  await expect(item.getByRole('img', { name: 'Photo 2 of this visit, refused by the server' })).toBeVisible();
  const token = await apiToken(request);
  const headers = { Authorization: `Bearer ${token}` };
  type Visit = { chiefComplaint: string; attachments: unknown[] };
  const mine = async () => {
    const all: Visit[] = await (await request.get(`${SERVER}/api/v1/virtual-care/async-visits`, { headers })).json();
    return all.filter((v) => v.chiefComplaint === complaint);
  };
  expect(await mine()).toHaveLength(0);

  await item.getByRole('button', { name: 'Remove photo and retry' }).click();
  await expect(item.getByText(/^Submitted /)).toBeVisible({ timeout: 30_000 });
  const sent = await mine();
  expect(sent).toHaveLength(1);
  expect(sent[0].attachments).toHaveLength(1);
  await expect(page.getByRole('banner').getByRole('status')).toContainText('All changes sent');
  expect(await mine()).toHaveLength(1);
});
