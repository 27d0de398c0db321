// Appointments: a cancel made offline survives a provider's concurrent reschedule (the
// version conflict is refetched and the cancel reapplied); joining needs a connection and
// says so; a failed session continues by message.
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { SERVER, apiToken, calm, chaos, chaosStats, signIn } from './helpers';

async function makeSession(request: APIRequestContext, status: string, scheduledAt: string) {
  const res = await request.post(`${SERVER}/__test/sessions`, {
    data: { tenantId: 'north-clinic', patient: 'patient1', provider: 'dr-lee', status, scheduledAt },
  });
  expect(res.status()).toBe(201);
  return (await res.json()) as { sessionId: string; version: number; scheduledAt: string };
}

async function serverSession(request: APIRequestContext, token: string, id: string) {
  const res = await request.get(`${SERVER}/api/v1/virtual-care/sessions/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status()).toBe(200);
  return (await res.json()) as { status: string; version: number; fallbackThreadId?: string };
}

async function openAppointments(page: Page) {
  await page.getByRole('link', { name: 'Appointments' }).click();
  await expect(page.getByRole('heading', { name: 'Appointments', level: 1 })).toBeVisible();
}

/** A new session `days` ahead in `status`, at a time no other test uses, on patient1's
 *  Appointments screen; its row is found by its heading. */
async function scheduledOnScreen(page: Page, request: APIRequestContext, days: number, status = 'scheduled', words = 'Scheduled') {
  const at = new Date(Date.now() + days * 86_400_000 + Math.floor(Math.random() * 1e6) * 60_000).toISOString();
  const made = await makeSession(request, status, at);
  await signIn(page);
  await openAppointments(page);
  const when = await page.evaluate((iso) => new Date(iso).toLocaleString('en-GB'), made.scheduledAt);
  const row = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: `With Dr. Lee · ${when}` }) });
  await expect(row.getByText(words, { exact: true })).toBeVisible();
  return { at, made, row };
}

test('cancelled offline while the provider reschedules: the conflict is refetched and the cancel reapplied', async ({ page, context, request }) => {
  const { at, made, row } = await scheduledOnScreen(page, request, 5);

  await context.setOffline(true);
  const lee = await apiToken(request, 'north-clinic', 'dr-lee');
  const moved = await request.post(`${SERVER}/api/v1/virtual-care/sessions/${made.sessionId}/reschedule`, {
    headers: { Authorization: `Bearer ${lee}` },
    data: { version: made.version, scheduledAt: new Date(Date.parse(at) + 3_600_000).toISOString() },
  });
  expect(moved.status()).toBe(200);

  await row.getByRole('button', { name: 'Cancel appointment' }).click();
  await expect(row.getByText('To be cancelled: waiting for network')).toBeVisible();
  await context.setOffline(false);
  const patient = await apiToken(request);
  await expect.poll(async () => (await serverSession(request, patient, made.sessionId)).status, { timeout: 30_000 }).toBe('cancelled');
  // The header's status line (each row may say its own state as a status too).
  await expect(page.getByRole('banner').getByRole('status')).toContainText('All changes sent', { timeout: 30_000 });
});

test('cancelled offline after the provider cancelled it first: "Not cancelled", in words, and nothing silently dropped', async ({ page, context, request }) => {
  const { made, row } = await scheduledOnScreen(page, request, 9);

  await context.setOffline(true);
  const lee = await apiToken(request, 'north-clinic', 'dr-lee');
  const cancelled = await request.post(`${SERVER}/api/v1/virtual-care/sessions/${made.sessionId}/cancel`, {
    headers: { Authorization: `Bearer ${lee}` },
    data: { version: made.version },
  });
  expect(cancelled.status()).toBe(200);

  await row.getByRole('button', { name: 'Cancel appointment' }).click();
  await context.setOffline(false);
  // The refetch finds it no longer scheduled: the cancel does not apply, and the screen says so.
  await expect(page.getByText('Not cancelled: the appointment is already cancelled')).toBeVisible({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Dismiss' }).first().click();
  await expect(page.getByText('Not cancelled: the appointment is already cancelled')).toHaveCount(0);
});

test('cancelled offline while the provider admits the patient: "Not cancelled: already active", and the session stays active', async ({ page, context, request }) => {
  const { made, row } = await scheduledOnScreen(page, request, 13, 'waiting', 'Waiting room open');

  await context.setOffline(true);
  const lee = await apiToken(request, 'north-clinic', 'dr-lee');
  const admitted = await request.post(`${SERVER}/api/v1/virtual-care/sessions/${made.sessionId}/admit`, {
    headers: { Authorization: `Bearer ${lee}` },
    data: { version: made.version },
  });
  expect(admitted.status()).toBe(200);

  await row.getByRole('button', { name: 'Cancel appointment' }).click();
  await expect(row.getByText('To be cancelled: waiting for network')).toBeVisible();
  await context.setOffline(false);
  await expect(page.getByText('Not cancelled: the appointment is already active')).toBeVisible({ timeout: 30_000 });
  const patient = await apiToken(request);
  expect((await serverSession(request, patient, made.sessionId)).status).toBe('active');
});

test('"Join" needs a connection and says so; a failed session continues by message', async ({ page, context }) => {
  await signIn(page);
  await openAppointments(page);
  const waiting = page.getByRole('listitem').filter({ hasText: 'Waiting room open' }).first();
  await expect(waiting.getByRole('button', { name: 'Join' })).toBeEnabled();
  await context.setOffline(true);
  await expect(waiting.getByRole('button', { name: 'Join' })).toBeDisabled();
  await expect(waiting.getByText('Joining needs a connection')).toBeVisible();
  await context.setOffline(false);
  await expect(waiting.getByRole('button', { name: 'Join' })).toBeEnabled();

  const failed = page.getByRole('listitem').filter({ hasText: 'Failed' }).first();
  await failed.getByRole('button', { name: 'Continue by message' }).click();
  await expect(page.getByRole('heading', { name: 'Your video visit: continue by message' })).toBeVisible();
});

test('every first answer lost, reads included: "Continue by message" says the first try failed, a second tap opens the conversation, and the server opens it once', async ({ page, request }) => {
  const { made, row } = await scheduledOnScreen(page, request, 17, 'failed', 'Failed');
  // From here on the proxy loses the first answer to each distinct request under /api/: the
  // fallback POST (after the server has opened the thread) and each read, the new thread's too.
  await calm(request); // counters from zero
  await chaos(request, { dropFirstPost: true, dropFirstGet: true });
  try {
    await row.getByRole('button', { name: 'Continue by message' }).click();
    await expect(page.getByRole('alert')).toContainText('The conversation could not be opened', { timeout: 30_000 });
    await row.getByRole('button', { name: 'Continue by message' }).click();
    await expect(page.getByRole('heading', { name: 'Your video visit: continue by message' })).toBeVisible({ timeout: 30_000 });
  } finally {
    const stats = await chaosStats(request);
    console.log(`chaos figures: continue by message, every first answer lost: ${JSON.stringify({
      dropped: stats.droppedResponses,
      fallbackPosts: stats.byRoute[`POST /api/v1/virtual-care/sessions/${made.sessionId}/fallback`] ?? 0,
      messageReads: stats.byRoute['GET /api/v1/threads/*/messages'] ?? 0,
    })}`);
    await calm(request);
  }
  const opened = new URL(page.url()).pathname.split('/').pop();
  const patient = await apiToken(request);
  expect((await serverSession(request, patient, made.sessionId)).fallbackThreadId).toBe(opened);
  const threads = await request.get(`${SERVER}/api/v1/threads`, { headers: { Authorization: `Bearer ${patient}` } });
  const ids = ((await threads.json()) as { threadId: string }[]).map((t) => t.threadId);
  expect(ids.filter((id) => id === opened)).toHaveLength(1);
});

test('axe finds no accessibility violations on appointments, visits and the new-visit form', async ({ page }) => {
  await signIn(page);
  await openAppointments(page);
  await expect(page.getByRole('button', { name: 'Join' }).first()).toBeVisible();
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);
  await page.getByRole('link', { name: 'Visits' }).click();
  await expect(page.getByRole('heading', { name: 'Visits' })).toBeVisible();
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);
  await page.getByRole('button', { name: 'New visit' }).click();
  await expect(page.getByLabel('Chief complaint')).toBeVisible();
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);
});
