import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { test, expect, roomWith, Person } from './fixtures/messenger';

// Resources: a file shared into a room is sealed into the sharer's storage and announced by a
// small file page; another member downloads it from whoever holds it, verified piece by piece,
// and then holds (and serves) it too.

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Picks `bytes` as a file in the composer of `person`'s open room. */
async function share(person: Person, name: string, mimeType: string, bytes: Buffer) {
  await person.id('composer-file').setInputFiles({ name, mimeType, buffer: bytes });
}

/** The card of the file called `name` in `person`'s open room. */
function card(person: Person, name: string) {
  return person.id('file-card').filter({ has: person.page.getByTestId('file-name').getByText(name, { exact: true }) });
}

/** Saves the held file `name` through the browser's download and returns its bytes. */
async function save(person: Person, name: string): Promise<Buffer> {
  const downloading = person.page.waitForEvent('download');
  await card(person, name).getByTestId('file-save').click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe(name);
  return readFile(await download.path());
}

test('a shared 20 MiB file downloads with the same bytes, and the downloader then holds it too', async ({
  registered,
}) => {
  test.setTimeout(240_000);
  const [alice, bob] = await registered('Alice', 'Bob');
  await roomWith(alice, 'Lab', [bob]);
  const data = randomBytes(20 << 20);
  await share(alice, 'dataset.bin', 'application/octet-stream', data);

  // Alice's card: hers, held here, one holder.
  const mine = card(alice, 'dataset.bin');
  await expect(mine).toHaveAttribute('data-state', 'held', { timeout: 120_000 });
  await expect(mine.getByTestId('file-info')).toContainText('20.0 MB');

  // Bob sees the card from Alice's book, with Alice online, and downloads it.
  const theirs = card(bob, 'dataset.bin');
  await expect(theirs).toHaveAttribute('data-state', 'available', { timeout: 60_000 });
  await expect(theirs.getByTestId('file-info')).toContainText('available from 1 of 1 now');
  await theirs.getByTestId('file-download').click();
  await expect(theirs).toHaveAttribute('data-state', 'held', { timeout: 120_000 });
  expect(sha256(await save(bob, 'dataset.bin'))).toBe(sha256(data));

  // Bob said he holds it: Alice's card now counts two holders.
  await expect(mine.getByTestId('file-info')).toContainText('of 2', { timeout: 60_000 });
  expect(sha256(await save(alice, 'dataset.bin'))).toBe(sha256(data));
  expect(alice.unexpectedErrors()).toEqual([]);
  expect(bob.unexpectedErrors()).toEqual([]);
});

test('once the sharer is offline the file comes from the member who downloaded it; with no holder online the card is greyed out until one returns', async ({
  registered,
}) => {
  test.setTimeout(300_000);
  const [alice, bob, carol] = await registered('Alice', 'Bob', 'Carol');
  await roomWith(alice, 'Lab', [bob, carol]);
  const data = randomBytes(3 << 20);
  await share(alice, 'slides.pdf', 'application/pdf', data);
  await expect(card(alice, 'slides.pdf')).toHaveAttribute('data-state', 'held', { timeout: 60_000 });
  await expect(card(bob, 'slides.pdf')).toHaveAttribute('data-state', 'available', { timeout: 60_000 });
  await card(bob, 'slides.pdf').getByTestId('file-download').click();
  await expect(card(bob, 'slides.pdf')).toHaveAttribute('data-state', 'held', { timeout: 60_000 });
  const carols = card(carol, 'slides.pdf');
  await expect(carols.getByTestId('file-info')).toContainText('available from 2 of 2 now', { timeout: 60_000 });

  // Both holders leave: Carol's card is greyed out and cannot download.
  await alice.goOffline();
  await bob.goOffline();
  await expect(carols).toHaveAttribute('data-state', 'unavailable', { timeout: 60_000 });
  await expect(carols.getByTestId('file-info')).toContainText('all 2 holders offline');
  await expect(carols.getByTestId('file-download')).toBeDisabled();

  // Bob comes back (Alice stays away): the file comes from him.
  await bob.comeBack();
  await bob.openRoom('Lab');
  await expect(carols.getByTestId('file-info')).toContainText('available from 1 of 2 now', { timeout: 60_000 });
  await carols.getByTestId('file-download').click();
  await expect(carols).toHaveAttribute('data-state', 'held', { timeout: 60_000 });
  expect(sha256(await save(carol, 'slides.pdf'))).toBe(sha256(data));
  expect(carol.unexpectedErrors()).toEqual([]);
});

test('Explore lists every shared file with its holders; removing a copy updates the count for the others', async ({
  registered,
}) => {
  test.setTimeout(240_000);
  const [alice, bob] = await registered('Alice', 'Bob');
  await roomWith(alice, 'Lab', [bob]);
  await share(alice, 'cat.png', 'image/png', randomBytes(300_000));
  await expect(card(alice, 'cat.png')).toHaveAttribute('data-state', 'held', { timeout: 60_000 });
  await alice.send('and the notes');
  await share(alice, 'notes.txt', 'text/plain', Buffer.from('reading notes\n'));
  await expect(card(alice, 'notes.txt')).toHaveAttribute('data-state', 'held', { timeout: 60_000 });
  await expect(card(bob, 'cat.png')).toHaveAttribute('data-state', 'available', { timeout: 60_000 });
  await card(bob, 'cat.png').getByTestId('file-download').click();
  await expect(card(bob, 'cat.png')).toHaveAttribute('data-state', 'held', { timeout: 60_000 });
  await expect(card(alice, 'cat.png').getByTestId('file-info')).toContainText('of 2', { timeout: 60_000 });

  // Bob's Explore: both files, newest first; search, type filter and "On this device".
  await bob.showSidebar();
  await bob.id('explore-link').click();
  const names = () => bob.id('explore-list').getByTestId('file-name');
  await expect(names()).toHaveText(['notes.txt', 'cat.png']);
  await expect(bob.id('explore-list').getByTestId('resource').first()).toContainText('Lab · shared by Alice');
  await bob.id('explore-search').fill('CAT');
  await expect(names()).toHaveText(['cat.png']);
  await bob.id('explore-search').fill('');
  await bob.id('explore-kind').selectOption('document');
  await expect(names()).toHaveText(['notes.txt']);
  await bob.id('explore-kind').selectOption('');
  await bob.id('explore-here').check();
  await expect(names()).toHaveText(['cat.png']);
  await expect(bob.id('explore-space')).toHaveText('1 file, 293 KB on this device');

  // Bob removes his copy: gone from "On this device", and Alice counts one holder again.
  await bob.id('explore-list').getByTestId('file-remove').click();
  await expect(bob.id('explore-empty')).toBeVisible();
  await expect(bob.id('explore-space')).toHaveText('No files on this device');
  await expect(card(alice, 'cat.png').getByTestId('file-info')).toContainText('available from 1 of 1 now', { timeout: 60_000 });
  await bob.id('explore-here').uncheck();
  const cat = bob.id('explore-list').getByTestId('file-card').filter({ hasText: 'cat.png' });
  await expect(cat).toHaveAttribute('data-state', 'available');
  expect(bob.unexpectedErrors()).toEqual([]);
});

/**
 * Turns `person`'s device into a holder that lies: from now on every large message its data
 * channels send (each piece of a file it serves is sent as such messages) has its last byte
 * flipped, after the bytes left the app's own checks.
 */
async function serveWrongBytes(person: Person) {
  await person.page.evaluate(() => {
    const send = RTCDataChannel.prototype.send;
    RTCDataChannel.prototype.send = function (data: any) {
      if (data instanceof Uint8Array && data.length >= 8192) {
        const copy = new Uint8Array(data);
        copy[copy.length - 1] ^= 0xff;
        return send.call(this, copy);
      }
      return send.call(this, data);
    };
  });
}

test('a holder that serves wrong bytes is set aside and the download completes from an honest one', async ({
  registered,
}) => {
  test.setTimeout(300_000);
  const [alice, bob, carol] = await registered('Alice', 'Bob', 'Carol');
  await roomWith(alice, 'Lab', [bob, carol]);
  const data = randomBytes(8 << 20);
  await share(alice, 'survey.bin', 'application/octet-stream', data);
  await expect(card(alice, 'survey.bin')).toHaveAttribute('data-state', 'held', { timeout: 60_000 });
  const carols = card(carol, 'survey.bin');
  await expect(carols).toHaveAttribute('data-state', 'available', { timeout: 60_000 });
  await carols.getByTestId('file-download').click();
  await expect(carols).toHaveAttribute('data-state', 'held', { timeout: 120_000 });

  // Bob sees both copies online; then Carol's turns bad.
  const bobs = card(bob, 'survey.bin');
  await expect(bobs.getByTestId('file-info')).toContainText('available from 2 of 2 now', { timeout: 60_000 });
  await serveWrongBytes(carol);
  await bobs.getByTestId('file-download').click();
  await expect(bobs).toHaveAttribute('data-state', 'held', { timeout: 120_000 });
  expect(sha256(await save(bob, 'survey.bin'))).toBe(sha256(data));

  // Bob's inspector says which holder lied.
  await bob.openInspector();
  await expect(
    bob.id('inspector-error').filter({ hasText: /Downloading “survey\.bin”: .* sent data that does not match/ }),
  ).not.toHaveCount(0);
  expect(bob.unexpectedErrors()).toEqual([]);
});

/** A 1×1 PNG. */
const PIXEL = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

/** How far `person`'s download of `name` is, in percent. */
async function percent(person: Person, name: string): Promise<number> {
  return Number(await card(person, name).getByTestId('file-progress').getAttribute('value'));
}

test('a paused download stops and stays paused across a reload, then fetches only the pieces it had not stored; an image opens in the viewer', async ({
  registered,
}) => {
  test.setTimeout(300_000);
  const [alice, bob] = await registered('Alice', 'Bob');
  await roomWith(alice, 'Lab', [bob]);
  const data = randomBytes(12 << 20);
  await share(alice, 'scan.bin', 'application/octet-stream', data);
  await expect(card(alice, 'scan.bin')).toHaveAttribute('data-state', 'held', { timeout: 60_000 });
  await share(alice, 'pixel.png', 'image/png', PIXEL);
  await expect(card(alice, 'pixel.png')).toHaveAttribute('data-state', 'held', { timeout: 60_000 });

  // Its card shows a preview made when it was shared, on Bob's screen too.
  const preview = card(bob, 'pixel.png').getByTestId('file-thumbnail');
  await expect(preview).toBeVisible({ timeout: 60_000 });
  await expect.poll(() => preview.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1);
  await expect(card(bob, 'scan.bin').getByTestId('file-thumbnail')).toHaveCount(0);

  // The image opens in the viewer, and closes.
  await card(alice, 'pixel.png').getByTestId('file-open').click();
  const image = alice.id('image-viewer-image');
  await expect(image).toBeVisible();
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1);
  await alice.id('image-viewer-close').click();
  await expect(alice.id('image-viewer')).toHaveCount(0);

  // Alice's device serves slowly (its CPU throttled), so the download can be caught midway.
  const cdp = await alice.page.context().newCDPSession(alice.page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 30 });
  const bobs = card(bob, 'scan.bin');
  await expect(bobs).toHaveAttribute('data-state', 'available', { timeout: 60_000 });
  await bobs.getByTestId('file-download').click();
  await expect.poll(() => percent(bob, 'scan.bin'), { timeout: 120_000 }).toBeGreaterThanOrEqual(10);
  await bobs.getByTestId('file-pause').click();
  await expect(bobs).toHaveAttribute('data-state', 'paused');
  const paused = await percent(bob, 'scan.bin');
  expect(paused).toBeGreaterThanOrEqual(10);
  expect(paused).toBeLessThan(100);
  // Paused means stopped: nothing more arrives.
  await bob.page.waitForTimeout(3_000);
  expect(await percent(bob, 'scan.bin')).toBe(paused);

  // A reload keeps it paused, with what it stored.
  await bob.reload();
  await bob.openRoom('Lab');
  await expect(bobs).toHaveAttribute('data-state', 'paused', { timeout: 30_000 });
  const reloaded = await percent(bob, 'scan.bin');
  expect(reloaded).toBeGreaterThanOrEqual(paused);
  await bob.page.waitForTimeout(3_000);
  await expect(bobs).toHaveAttribute('data-state', 'paused');
  expect(await percent(bob, 'scan.bin')).toBe(reloaded);

  // Resume goes on from the pieces it stored, not from the start.
  await bobs.getByTestId('file-resume').click();
  await expect(bobs).toHaveAttribute('data-state', 'moving', { timeout: 30_000 });
  expect(await percent(bob, 'scan.bin')).toBeGreaterThanOrEqual(reloaded);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
  await expect(bobs).toHaveAttribute('data-state', 'held', { timeout: 120_000 });
  expect(sha256(await save(bob, 'scan.bin'))).toBe(sha256(data));

  // Counted piece by piece (Bob's inspector, this tab's one run since the reload): it began
  // with the pieces the paused card showed, asked for none of them, and fetched exactly the rest.
  await bob.openInspector();
  const run = bob.page.locator('[data-testid="inspector-download"][data-name="scan.bin"]');
  await expect(run).toHaveCount(1);
  await expect(run).toHaveAttribute('data-complete', 'true');
  const count = async (attr: string) => Number(await run.getAttribute(attr));
  const total = await count('data-total');
  const atStart = await count('data-stored-at-start');
  expect(total).toBeGreaterThanOrEqual((12 << 20) / (256 << 10));
  expect(Math.floor((atStart * 100) / total)).toBe(reloaded);
  expect(atStart).toBeGreaterThan(0);
  expect(await count('data-asked-for-stored')).toBe(0);
  expect(await count('data-fetched')).toBe(total - atStart);
  expect(bob.unexpectedErrors()).toEqual([]);
});
