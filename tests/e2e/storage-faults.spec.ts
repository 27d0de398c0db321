// Faults in the device's own storage, injected in the page: IndexedDB refuses a write the
// user cares about. The user must read what failed, in words, and nothing is lost.
import { test, expect, type Page } from '@playwright/test';
import { FOLLOW_UP, openThread, send, signIn, tag } from './helpers';

/** Makes IndexedDB throw on `method` for the object store named `store`, until undone. */
async function breakStore(page: Page, method: 'put' | 'delete', store: string) {
  await page.evaluate(([m, name]) => {
    const proto = IDBObjectStore.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
    const w = window as unknown as { restoreStore?: () => void };
    const original = proto[m];
    proto[m] = function (this: IDBObjectStore, ...args: unknown[]) {
      if (this.name === name) throw new DOMException('the disk is full', 'QuotaExceededError');
      return original.apply(this, args);
    };
    w.restoreStore = () => { proto[m] = original; };
  }, [method, store] as const);
}

async function mendStore(page: Page) {
  await page.evaluate(() => (window as unknown as { restoreStore: () => void }).restoreStore());
}

test('a draft that cannot be saved says so, and saving again clears the warning', async ({ page }) => {
  await signIn(page);
  await openThread(page, FOLLOW_UP);
  await breakStore(page, 'put', 'drafts');
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(tag('unsaved draft'));
  await expect(page.getByRole('alert')).toContainText('Your draft could not be saved on this device');
  await mendStore(page);
  await box.fill(tag('saved draft'));
  await expect(page.getByRole('alert')).toHaveCount(0);
  await box.fill('');
});

test('a discard the device cannot carry out says so, and the write stays until it can', async ({ page }) => {
  await signIn(page, 'south-clinic', 'patient2');
  await openThread(page, 'Billing question');
  const text = tag('cannot discard');
  await send(page, text);
  await expect(page.getByText('Not sent: this conversation is archived')).toBeVisible({ timeout: 15_000 });
  await page.getByRole('link', { name: 'Sync status' }).click();
  await expect(page.getByText(text, { exact: true })).toBeVisible();
  await breakStore(page, 'delete', 'outbox');
  await page.getByRole('button', { name: 'Discard' }).click();
  await expect(page.getByRole('alert')).toContainText('This change could not be updated on this device');
  await expect(page.getByText(text, { exact: true })).toBeVisible();
  await mendStore(page);
  await page.getByRole('button', { name: 'Discard' }).click();
  await expect(page.getByText(text, { exact: true })).toHaveCount(0);
  await expect(page.getByRole('alert')).toHaveCount(0);
});
