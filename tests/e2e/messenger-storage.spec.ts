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
/** A write larger than `ROOMY_QUOTA`. IndexedDB approves small writes against the space it
 *  last saw free for a while before asking the quota again; a write bigger than that space
 *  makes it ask at once, so the new quota holds from this write on. */
const LARGER_THAN_ROOMY = 2 * ROOMY_QUOTA;
/** A write about the size of one of the app's page batches. */
const SMALL_WRITE_BYTES = 64 * 1024;
/** How long the persister's first attempts and the banner may take to show a failure. */
const SHOWS_FAILURE_MS = 15_000;
/** Longest wait between automatic storage retries (30 s), plus time for the write itself. */
const AUTOMATIC_RETRY_MS = 40_000;

/** Sets Chromium's storage quota of `page`'s origin (`undefined`: the browser's own again). */
async function setQuota(cdp: CDPSession, origin: string, quotaSize?: number) {
  const params = quotaSize === undefined ? { origin } : { origin, quotaSize };
  await cdp.send('Storage.overrideQuotaForOrigin', params);
}

/** What the origin has stored, as the browser counts it for the quota. */
async function usage(cdp: CDPSession, origin: string): Promise<number> {
  return (await cdp.send('Storage.getUsageAndQuota', { origin })).usage;
}

/** Writes `bytes` of random data under `key` into a database of the page's origin that the
 *  app never opens; resolves with "ok" or the name of the error the transaction ended with. */
function writeElsewhere(page: Page, bytes: number, key = 'bulk'): Promise<string> {
  return page.evaluate(
    ([bytes, key]) =>
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
          tx.objectStore('bulk').put(value, key);
          tx.oncomplete = () => (db.close(), resolve('ok'));
          tx.onabort = () => (db.close(), resolve(tx.error?.name ?? 'aborted'));
        };
      }),
    [bytes, key] as const,
  );
}

/** A person whose browser gives the app `ROOMY_QUOTA` from the first visit on; returns the
 *  DevTools connection that sets the quota of the app's origin (the quota it set holds as
 *  long as that connection, i.e. the tab, lives). */
async function withRoomyQuota(someone: Person, origin: string): Promise<CDPSession> {
  const cdp = await someone.user.context.newCDPSession(someone.page);
  await setQuota(cdp, origin, ROOMY_QUOTA);
  return cdp;
}

/** Small writes after the large one, at most: enough to use up any space IndexedDB still
 *  approves small writes against (at most `ROOMY_QUOTA`). */
const SMALL_WRITES = ROOMY_QUOTA / SMALL_WRITE_BYTES + 1;

/** The disk fills up: the origin's quota drops below what it already uses, so no write fits
 *  (a quota just above the usage would not stay full: the database's own housekeeping shrinks
 *  its files now and then, and a small write would fit again). Checks that the browser itself
 *  now refuses a write for quota, a large one and then a small one: IndexedDB may approve
 *  small writes against the free space it saw before for a while, and the app's next write is
 *  a small one, so small writes are made until the browser refuses one too. */
async function fillUp(someone: Person, cdp: CDPSession, origin: string) {
  await setQuota(cdp, origin, Math.floor((await usage(cdp, origin)) / 2));
  expect(
    await writeElsewhere(someone.page, LARGER_THAN_ROOMY),
    'the browser refuses writes beyond the new quota',
  ).toBe('QuotaExceededError');
  let small = 'ok';
  for (let i = 0; i < SMALL_WRITES && small === 'ok'; i++) {
    small = await writeElsewhere(someone.page, SMALL_WRITE_BYTES, `small-${i}`);
  }
  expect(small, 'the browser refuses small writes too').toBe('QuotaExceededError');
}

/** Waits for the storage banner to say storage is full, with Retry. */
async function expectFullBanner(someone: Person) {
  const banner = someone.id('storage-health');
  await expect(banner).toBeVisible({ timeout: SHOWS_FAILURE_MS });
  await expect(banner).toHaveAttribute('data-state', 'full');
  await expect(banner).toContainText("This browser's storage for Quire is full");
  await expect(banner).toContainText('Messages already sent here are kept');
  await expect(someone.id('storage-retry')).toBeVisible();
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
  const cdp = await withRoomyQuota(ada, origin);
  await ada.register();
  const [bo] = await registered('Bo');

  await roomWith(ada, 'Pantry', [bo], { autoAdmit: true });
  await ada.send('shall we plan the week?');
  await bo.waitForMessages(['shall we plan the week?']);
  await bo.send('yes, after lunch');
  await ada.waitForMessages(['shall we plan the week?', 'yes, after lunch']);
  await expectNothingSending(ada, ['shall we plan the week?']);
  await expect(ada.id('storage-health')).toHaveCount(0);

  // Ada's disk fills up. Her next message is accepted on screen but cannot be saved.
  await fillUp(ada, cdp, origin);
  await ada.send('bring the big pot');
  const banner = ada.id('storage-health');
  await expectFullBanner(ada);
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

  // Bo writes meanwhile; Ada's device cannot keep it yet, but it is not lost either.
  await bo.send('I have a ladle');

  // Space is freed; Ada presses Retry and the held message is saved and goes out. (Bo's page
  // arriving just now makes the app try a write of its own, which may get there first: then
  // the banner is gone before the click lands, and that is the same outcome.)
  await setQuota(cdp, origin);
  try {
    await ada.id('storage-retry').click({ timeout: 5_000 });
  } catch {
    await expect(banner, 'the write the app was making saved it first').toHaveCount(0);
  }
  await expect(banner).toHaveCount(0, { timeout: SHOWS_FAILURE_MS });
  await expect(paused).toHaveCount(0);
  await expectNothingSending(ada, ['bring the big pot']);
  await expect(input).toHaveValue('and the ladle');
  await expect(ada.id('composer-send')).toBeEnabled();
  await input.press('Enter');
  await expect(input).toHaveValue('');

  const all = [
    'shall we plan the week?',
    'yes, after lunch',
    'bring the big pot',
    'I have a ladle',
    'and the ladle',
  ];
  await ada.waitForMessageSet(all);
  await bo.waitForMessageSet(all);
  await expectSameHistory([ada, bo]);
  // Bo's device reports holding them, so Ada sees her held messages delivered.
  for (const text of ['bring the big pot', 'and the ladle']) {
    await expect(ada.delivery(text)).toHaveAttribute('data-delivery', 'delivered', {
      timeout: DELIVERY_TIMEOUT_MS,
    });
  }

  // Saved for real: after a reload Ada's device shows the same history.
  const seen = await ada.texts();
  await ada.reload();
  await ada.openRoom('Pantry');
  await ada.waitForMessages(seen);
  await expectSameHistory([ada, bo]);
});

test('storage full: once there is room again, the automatic retry saves the held message', async ({
  person,
  relay,
}) => {
  const origin = new URL(relay.url).origin;
  const ada = await person('Ada');
  const cdp = await withRoomyQuota(ada, origin);
  await ada.register();
  await ada.createRoom('Notes');
  await ada.send('first note');
  await expectNothingSending(ada, ['first note']);

  await fillUp(ada, cdp, origin);
  await ada.send('written on a full disk');
  await expectFullBanner(ada);
  await expect(ada.delivery('written on a full disk')).toHaveAttribute('data-delivery', 'sending');
  await ada.id('composer-input').fill('a draft');

  // Space comes back and nobody presses Retry: the backoff (at most 30 s apart) tries again.
  await setQuota(cdp, origin);
  await expect(ada.id('storage-health')).toHaveCount(0, { timeout: AUTOMATIC_RETRY_MS });
  await expect(ada.delivery('written on a full disk')).toHaveAttribute('data-delivery', 'saved');
  await expect(ada.id('composer-paused')).toHaveCount(0);
  await expect(ada.id('composer-input')).toHaveValue('a draft');
  await ada.send('written after');
  await expectNothingSending(ada, ['written after']);

  await ada.reload();
  await ada.openRoom('Notes');
  await ada.waitForMessages(['first note', 'written on a full disk', 'written after']);
});
