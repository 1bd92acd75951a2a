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
