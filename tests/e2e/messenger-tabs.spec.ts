import { test, expect, expectSameHistory, roomWith } from './fixtures/messenger';

// Issue 11: one writing tab per profile. A second tab of the same profile never writes while
// the first one does; "Use here" moves Quire over without losing or forking anything.

test('a second tab of the same profile waits, takes over with "Use here", and the book stays one', async ({
  registered,
}) => {
  test.setTimeout(180_000);
  const [ada, bo] = await registered('Ada', 'Bo');
  await roomWith(ada, 'Two tabs', [bo], { autoAdmit: true });
  await ada.send('from the first tab');
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
  await expect(ada.messageRow('from the first tab')).toHaveCount(1);
  await ada.send('from the second tab');
  await expect(ada.delivery('from the second tab')).not.toHaveAttribute('data-delivery', 'sending');

  // And back: the first tab takes Quire again and sees what the second one wrote.
  await first.getByTestId('use-here').click();
  await expect(second.getByTestId('open-elsewhere')).toBeVisible();
  ada.page = first;
  await expect(ada.id('layout')).toBeVisible();
  await ada.openRoom('Two tabs');
  await ada.waitForMessages(['from the first tab', 'from the second tab']);
  await ada.send('from the first tab again');

  // Bo gets all three in order: Ada's book was written by one tab at a time, never forked.
  await bo.waitForMessages(['from the first tab', 'from the second tab', 'from the first tab again']);
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
