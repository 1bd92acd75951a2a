import { test, expect, expectSameHistory, roomWith } from './fixtures/messenger';

// Issue 11: one writing tab per profile. A second tab of the same profile never writes while
// the first one does; "Use here" moves Quire over without losing or forking anything.

test('a second tab of the same profile waits, takes over with "Use here", and the book stays one', async ({
  registered,
}) => {
  test.setTimeout(180_000);
  const [ada, bo] = await registered('Ada', 'Bo');
  await roomWith(ada, 'Two tabs', [bo], { autoAdmit: true });
  const lines = Array.from({ length: 8 }, (_, i) => `line ${i + 1}`);
  for (const text of lines.slice(0, 3)) await ada.send(text);
  const first = ada.page;

  // The same profile in a second tab: it does not start the messenger.
  const second = await ada.user.context.newPage();
  await second.goto('/');
  await expect(second.getByTestId('open-elsewhere')).toBeVisible();
  await expect(second.getByTestId('open-elsewhere')).toContainText('open in another tab');
  await expect(second.getByTestId('layout')).toHaveCount(0);
  await expect(first.getByTestId('layout')).toBeVisible();

  // "Use here": the first tab stores what it holds and steps aside; the second one runs.
  await second.getByTestId('use-here').click();
  await expect(first.getByTestId('open-elsewhere')).toBeVisible();
  await expect(first.getByTestId('open-elsewhere')).toContainText('moved to another tab');
  await expect(first.getByTestId('layout')).toHaveCount(0);
  ada.page = second;
  await expect(ada.id('layout')).toBeVisible();
  await ada.openRoom('Two tabs');
  await ada.waitForMessages(lines.slice(0, 3));
  for (const text of lines.slice(3, 6)) await ada.send(text);

  // And back: the first tab takes Quire again and sees what the second one wrote.
  await first.getByTestId('use-here').click();
  await expect(second.getByTestId('open-elsewhere')).toBeVisible();
  ada.page = first;
  await expect(ada.id('layout')).toBeVisible();
  await ada.openRoom('Two tabs');
  await ada.waitForMessages(lines.slice(0, 6));
  for (const text of lines.slice(6)) await ada.send(text);

  // Nothing is left at "Sending…", and Bo gets all eight in order: Ada's book was written by
  // one tab at a time, so it never forked (a forked book would hide everything after the fork).
  for (const text of lines) {
    await expect(ada.delivery(text)).not.toHaveAttribute('data-delivery', 'sending');
  }
  await bo.waitForMessages(lines);
  await expectSameHistory([ada, bo]);
});

test('closing the tab that runs Quire lets the waiting tab take over by itself', async ({
  registered,
}) => {
  const [ada] = await registered('Ada');
  await ada.createRoom('Notes');
  await ada.send('written before closing');

  const second = await ada.user.context.newPage();
  await second.goto('/');
  await expect(second.getByTestId('open-elsewhere')).toBeVisible();
  await ada.page.close();

  ada.page = second;
  await expect(ada.id('layout')).toBeVisible();
  await ada.openRoom('Notes');
  await expect(ada.messageRow('written before closing')).toHaveCount(1);
  await ada.send('written in the tab that took over');
});
