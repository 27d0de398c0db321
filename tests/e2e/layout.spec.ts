// Phones and ward tablets: every control is a touch target of at least 44 × 44 px, and the
// conversation fits the screen without sideways scrolling.
import { test, expect, type Page } from '@playwright/test';
import { FOLLOW_UP, openThread, signIn } from './helpers';

const sizes = [
  { name: 'phone', width: 390, height: 844 },
  { name: '10-inch tablet, landscape', width: 1280, height: 800 },
];

/** The visible controls smaller than 44 × 44 px, after checking there are some to measure. */
async function smallTargets(page: Page, atLeast: number) {
  const targets = await page.evaluate(() =>
    Array.from(document.querySelectorAll('button, a[href], input, textarea'))
      .filter((el) => (el as HTMLElement).offsetParent !== null)
      .map((el) => {
        const r = el.getBoundingClientRect();
        return { name: (el.textContent || el.getAttribute('aria-label') || el.id || el.tagName).trim(), w: r.width, h: r.height };
      }),
  );
  expect(targets.length).toBeGreaterThanOrEqual(atLeast);
  return targets.filter((t) => t.w < 44 || t.h < 44);
}

for (const size of sizes) {
  test(`${size.name}: touch targets are at least 44 px and nothing scrolls sideways`, async ({ page }) => {
    await page.setViewportSize({ width: size.width, height: size.height });
    await page.goto('/');
    await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
    expect(await smallTargets(page, 4)).toEqual([]); // three fields and the button
    await signIn(page);
    await expect(page.getByRole('link', { name: FOLLOW_UP })).toBeVisible();
    expect(await smallTargets(page, 6)).toEqual([]); // header actions and thread links
    await openThread(page, FOLLOW_UP);
    await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
    expect(await smallTargets(page, 7)).toEqual([]); // plus back link, composer and Send
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await expect(page.getByRole('textbox', { name: 'Message' })).toBeInViewport();

    await page.getByRole('link', { name: 'Visits' }).click();
    await page.getByRole('button', { name: 'New visit' }).click();
    await expect(page.getByLabel('Chief complaint')).toBeVisible();
    expect(await smallTargets(page, 8)).toEqual([]); // plus complaint, photos, submit, close
    expect(await sideways(page)).toBeLessThanOrEqual(0);

    await page.getByRole('link', { name: 'Appointments' }).click();
    await expect(page.getByRole('button', { name: 'Join' }).first()).toBeVisible();
    expect(await smallTargets(page, 7)).toEqual([]); // plus each appointment's actions
    expect(await sideways(page)).toBeLessThanOrEqual(0);
  });
}

async function sideways(page: Page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}
