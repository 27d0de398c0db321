// Phones and ward tablets: every screen, at both sizes, has touch targets of at least
// 44 × 44 px and nothing scrolling sideways. On a phone the header is one line (the full
// status and the Sync status page a tap away), the navigation is a labelled tab bar at the
// bottom, and a conversation scrolls as the page with its composer held above the tab bar,
// covering no message.
import { test, expect, type Page } from '@playwright/test';
import { FOLLOW_UP, openThread, signIn } from './helpers';

const PHONE = { name: 'phone', width: 390, height: 844 };
const TABLET = { name: '10-inch tablet, landscape', width: 1280, height: 800 };
const TABS = ['Messages', 'Visits', 'Appointments', 'Documents'];

/** The visible controls smaller than 44 × 44 px, after checking there are some to measure. */
async function smallTargets(page: Page, atLeast: number) {
  const targets = await page.evaluate(() =>
    Array.from(document.querySelectorAll('button, a[href], input, textarea'))
      .filter((el) => (el as HTMLElement).offsetParent !== null || getComputedStyle(el).position === 'fixed')
      .map((el) => {
        const r = el.getBoundingClientRect();
        return { name: (el.textContent || el.getAttribute('aria-label') || el.id || el.tagName).trim(), w: r.width, h: r.height };
      }),
  );
  expect(targets.length).toBeGreaterThanOrEqual(atLeast);
  return targets.filter((t) => t.w < 44 || t.h < 44);
}

async function sideways(page: Page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** One screen, checked: big enough targets, no sideways scroll, and on a phone the tab bar. */
async function fits(page: Page, atLeast: number, phone: boolean) {
  expect(await smallTargets(page, atLeast)).toEqual([]);
  expect(await sideways(page)).toBeLessThanOrEqual(0);
  if (!phone) return;
  const nav = page.getByRole('navigation', { name: 'Main' });
  const box = (await nav.boundingBox())!;
  expect(box.y + box.height).toBeCloseTo(PHONE.height, 0);
  for (const name of TABS) await expect(nav.getByRole('link', { name })).toBeInViewport();
  const header = (await page.getByRole('banner').boundingBox())!;
  expect(header.height).toBeLessThanOrEqual(64);
}

for (const size of [PHONE, TABLET]) {
  const phone = size === PHONE;
  test(`${size.name}: every screen fits, with touch targets of at least 44 px`, async ({ page }) => {
    await page.setViewportSize({ width: size.width, height: size.height });
    await page.goto('/');
    await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
    expect(await smallTargets(page, 4)).toEqual([]); // three fields and the button
    expect(await sideways(page)).toBeLessThanOrEqual(0);
    await signIn(page);
    await expect(page.getByRole('link', { name: FOLLOW_UP })).toBeVisible();
    await fits(page, 6, phone); // the tabs and the thread links

    await openThread(page, FOLLOW_UP);
    await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
    await fits(page, 7, phone); // plus back link, composer and Send
    await expect(page.getByRole('textbox', { name: 'Message' })).toBeInViewport();

    await page.getByRole('link', { name: 'Visits' }).click();
    await page.getByRole('button', { name: 'New visit' }).click();
    await expect(page.getByLabel('Chief complaint')).toBeVisible();
    await fits(page, 8, phone); // plus complaint, photos, submit, close

    await page.getByRole('link', { name: 'Appointments' }).click();
    await expect(page.getByRole('button', { name: 'Join' }).first()).toBeVisible();
    await fits(page, 7, phone); // plus each appointment's actions

    await page.getByRole('link', { name: 'Documents' }).click();
    await expect(page.getByRole('button', { name: 'Request Sick note' })).toBeVisible();
    await fits(page, 7, phone); // plus each template's "Request"

    // On a phone "Sync status" sits behind the status phrase, whose summary it is.
    if (phone) await page.getByRole('banner').getByRole('button', { name: /^Online · / }).click();
    await page.getByRole('link', { name: 'Sync status' }).click();
    await expect(page.getByRole('heading', { name: 'Sync status' })).toBeVisible();
    await fits(page, 5, phone);
  });
}

test('phone: the header is one line whose status phrase opens the full status and the account actions', async ({ page }) => {
  await page.setViewportSize({ width: PHONE.width, height: PHONE.height });
  await signIn(page);
  const banner = page.getByRole('banner');
  const toggle = banner.getByRole('button', { name: /^Online · all sent/ });
  await expect(toggle).toBeVisible();
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  await expect(banner.getByRole('button', { name: 'Sign out' })).toBeHidden();
  // Collapsed, the full line is still there for a screen reader.
  await expect(banner.getByRole('status')).toContainText('All changes sent');

  await page.context().setOffline(true);
  await expect(banner.getByRole('button', { name: /^Offline · / })).toBeVisible();
  await page.context().setOffline(false);
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  await expect(banner.getByRole('status')).toBeInViewport();
  await expect(banner.getByRole('button', { name: 'Sync now' })).toBeVisible();
  await expect(banner.getByRole('button', { name: 'Sign out' })).toBeVisible();
});

test('phone: a long conversation scrolls as the page; the composer stays above the tab bar and covers no message', async ({ page }) => {
  await page.setViewportSize({ width: PHONE.width, height: PHONE.height });
  await signIn(page);
  await openThread(page, FOLLOW_UP);
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
  // Enough messages to overflow the screen, added to the page's own list so the server
  // is untouched: the layout is what is measured.
  await page.evaluate(() => {
    const list = document.querySelector('ol.messages')!;
    for (let i = 0; i < 30; i++) {
      const item = document.createElement('li');
      item.className = 'message';
      item.textContent = `Filler message ${i}`;
      list.append(item);
    }
  });
  const inner = await page.evaluate(() => {
    const list = document.querySelector('ol.messages') as HTMLElement;
    return list.scrollHeight - list.clientHeight;
  });
  expect(inner).toBeLessThanOrEqual(0); // no scroll box inside the page
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  const last = (await page.getByRole('list', { name: 'Messages' }).getByRole('listitem').last().boundingBox())!;
  const composer = (await page.locator('.composer').boundingBox())!;
  const tabs = (await page.getByRole('navigation', { name: 'Main' }).boundingBox())!;
  expect(last.y + last.height).toBeLessThanOrEqual(composer.y + 1);
  expect(composer.y + composer.height).toBeLessThanOrEqual(tabs.y + 1);
  // Mid-conversation the composer is still on screen, just above the tabs.
  await page.evaluate(() => window.scrollTo(0, 200));
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeInViewport();
  const held = (await page.locator('.composer').boundingBox())!;
  expect(held.y + held.height).toBeLessThanOrEqual(tabs.y + 1);
});

test('10-inch tablet, landscape: the ward board\'s bed buttons are 48 px touch targets and nothing scrolls sideways', async ({ page }) => {
  await page.setViewportSize({ width: TABLET.width, height: TABLET.height });
  await page.goto('/ward/');
  await page.getByLabel('Tenant').fill('north-clinic');
  await page.getByLabel('Username').fill('nurse1');
  await page.getByLabel('Password').fill('demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Ward A' })).toBeVisible();
  await page.getByRole('button', { name: 'Bed A1-1', exact: true }).click();
  await fits(page, 8, false);
  const beds = await page.locator('.bed-button, .choice').evaluateAll((els) =>
    els.map((el) => { const r = el.getBoundingClientRect(); return { name: el.textContent?.trim(), w: r.width, h: r.height }; }));
  expect(beds.length).toBeGreaterThanOrEqual(6);
  expect(beds.filter((b) => b.w < 48 || b.h < 48)).toEqual([]);
});
