import type { CDPSession, Page } from '@playwright/test';
import {
  test,
  expect,
  expectSameHistory,
  roomWith,
  DELIVERY_TIMEOUT_MS,
  type Person,
} from './fixtures/messenger';

// Storage full: when the browser refuses Quire's writes for quota, the user is told so (banner
// with Retry), the composer pauses with the reason and keeps the draft, and what was already
// sent stays on screen as "Sending…", held in memory. Once there is room again and the user
// presses Retry, the held message is saved, reaches the other member, and survives a reload.
//
// The quota is Chromium's own, set per origin through the DevTools protocol: the writes fail
// inside the browser's storage exactly as they do on a full disk; the app is not touched.

/** Quota Ada's browser gives the app while the room is set up: plenty for a short chat. */
const ROOMY_QUOTA = 8 * 1024 * 1024;
/** Room left once storage is "full": less than any page the app writes (a signature alone is
 *  64 bytes). */
const TINY_MARGIN = 32;
/** A write larger than `ROOMY_QUOTA`. IndexedDB approves small writes against the space it
 *  last saw free for a while before asking the quota again; a write bigger than that space
 *  makes it ask at once, so the new quota holds from this write on. */
const LARGER_THAN_ROOMY = 2 * ROOMY_QUOTA;
/** How long the persister's first attempts and the banner may take to show a failure. */
const SHOWS_FAILURE_MS = 15_000;

/** Sets Chromium's storage quota of `page`'s origin (`undefined`: the browser's own again). */
async function setQuota(cdp: CDPSession, origin: string, quotaSize?: number) {
  const params = quotaSize === undefined ? { origin } : { origin, quotaSize };
  await cdp.send('Storage.overrideQuotaForOrigin', params);
}

/** What the origin has stored, as the browser counts it for the quota. */
async function usage(cdp: CDPSession, origin: string): Promise<number> {
  return (await cdp.send('Storage.getUsageAndQuota', { origin })).usage;
}

/** Writes `bytes` of random data into a database of the page's origin that the app never
 *  opens; resolves with "ok" or the name of the error the transaction ended with. */
function writeElsewhere(page: Page, bytes: number): Promise<string> {
  return page.evaluate(
    (bytes) =>
      new Promise<string>((resolve) => {
        const open = indexedDB.open('storage-full-probe', 1);
        open.onupgradeneeded = () => open.result.createObjectStore('bulk');
        open.onerror = () => resolve(`open failed: ${open.error?.name}`);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction('bulk', 'readwrite');
          // Random bytes: IndexedDB compresses values, and zeros would take no room at all.
          const value = new Uint8Array(bytes);
          for (let at = 0; at < bytes; at += 65_536) {
            crypto.getRandomValues(value.subarray(at, at + 65_536));
          }
          tx.objectStore('bulk').put(value, 'bulk');
          tx.oncomplete = () => (db.close(), resolve('ok'));
          tx.onabort = () => (db.close(), resolve(tx.error?.name ?? 'aborted'));
        };
      }),
    bytes,
  );
}

async function expectNothingSending(person: Person, texts: string[]) {
  for (const text of texts) {
    await expect(person.delivery(text), `"${text}" is saved`).not.toHaveAttribute(
      'data-delivery',
      'sending',
    );
  }
}

test('storage full: the banner says so, writing pauses, the sent message waits and is saved after Retry', async ({
  registered,
  person,
  relay,
}) => {
  test.setTimeout(180_000);
  const origin = new URL(relay.url).origin;

  // Ada's browser has a modest quota from the start; Bo's is the browser's own.
  const ada = await person('Ada');
  const cdp = await ada.user.context.newCDPSession(ada.page);
  await setQuota(cdp, origin, ROOMY_QUOTA);
  await ada.register();
  const [bo] = await registered('Bo');

  await roomWith(ada, 'Pantry', [bo], { autoAdmit: true });
  await ada.send('shall we plan the week?');
  await bo.waitForMessages(['shall we plan the week?']);
  await bo.send('yes, after lunch');
  await ada.waitForMessages(['shall we plan the week?', 'yes, after lunch']);
  await expectNothingSending(ada, ['shall we plan the week?']);
  await expect(ada.id('storage-health')).toHaveCount(0);

  // The disk fills up: the origin may keep only what it has now, plus a few bytes.
  await setQuota(cdp, origin, (await usage(cdp, origin)) + TINY_MARGIN);
  expect(
    await writeElsewhere(ada.page, LARGER_THAN_ROOMY),
    'the browser refuses writes beyond the new quota',
  ).toBe('QuotaExceededError');

  // The next message is accepted on screen but cannot be saved.
  await ada.send('bring the big pot');
  const banner = ada.id('storage-health');
  await expect(banner).toBeVisible({ timeout: SHOWS_FAILURE_MS });
  await expect(banner).toHaveAttribute('data-state', 'full');
  await expect(banner).toContainText("This browser's storage for Quire is full");
  await expect(banner).toContainText('Messages already sent here are kept');
  await expect(ada.id('storage-retry')).toBeVisible();
  await expect(ada.delivery('bring the big pot')).toHaveAttribute('data-delivery', 'sending');
  await expect(ada.delivery('bring the big pot')).toHaveText('Sending…');

  // Writing is paused with the reason; the draft stays in the field and is not sent.
  const paused = ada.id('composer-paused');
  await expect(paused).toHaveText('Storage is full: free some space, then press Retry');
  await expect(ada.id('composer-send')).toBeDisabled();
  const input = ada.id('composer-input');
  await expect(input).toBeEditable();
  await input.fill('and the ladle');
  await input.press('Enter');
  await expect(input).toHaveValue('and the ladle');
  await expect(ada.messageRow('and the ladle')).toHaveCount(0);

  // Nothing was lost, and the unsaved message was not announced to Bo.
  expect(await ada.texts()).toEqual([
    'shall we plan the week?',
    'yes, after lunch',
    'bring the big pot',
  ]);
  expect(await bo.texts()).toEqual(['shall we plan the week?', 'yes, after lunch']);
  // The automatic retries keep failing while the quota stays tiny.
  await expect(banner).toHaveAttribute('data-state', 'full');

  // Space is freed; Ada presses Retry and the held message is saved and goes out.
  await setQuota(cdp, origin);
  await ada.id('storage-retry').click();
  await expect(banner).toHaveCount(0, { timeout: SHOWS_FAILURE_MS });
  await expect(paused).toHaveCount(0);
  await expectNothingSending(ada, ['bring the big pot']);
  await expect(input).toHaveValue('and the ladle');
  await expect(ada.id('composer-send')).toBeEnabled();
  await input.press('Enter');
  await expect(input).toHaveValue('');

  const all = ['shall we plan the week?', 'yes, after lunch', 'bring the big pot', 'and the ladle'];
  await ada.waitForMessages(all);
  await bo.waitForMessages(all);
  await expectSameHistory([ada, bo]);
  // Bo's device reports holding them, so Ada sees her held messages delivered.
  for (const text of ['bring the big pot', 'and the ladle']) {
    await expect(ada.delivery(text)).toHaveAttribute('data-delivery', 'delivered', {
      timeout: DELIVERY_TIMEOUT_MS,
    });
  }

  // Saved for real: a reload shows the same history.
  await ada.reload();
  await ada.openRoom('Pantry');
  await ada.waitForMessages(all);
});
