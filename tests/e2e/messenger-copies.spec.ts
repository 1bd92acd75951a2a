import { test, expect, expectSameHistory, roomWith } from './fixtures/messenger';

// Two live copies of one account are noticed before they fork. Alice restores her backup in a
// fresh browser while her old one is still open: both are told about the other, the new one
// stops writing (it may not hold her latest pages), and "Use here" moves the writing from one
// to the other. Bob ends with one Alice, one history and no fork.

test('a restored backup opened while the old browser is still online: both are warned, the new one writes nothing until Use here', async ({
  registered,
  person,
}, testInfo) => {
  test.setTimeout(180_000);
  const [alice, bob] = await registered('Alice', 'Bob');
  await roomWith(alice, 'Trip', [bob]);
  const history = ['Alice: the old laptop is still on'];
  await alice.send(history[0]);
  await bob.waitForMessages(history);

  const backup = await alice.saveBackup(testInfo.outputPath('alice-backup.json'));
  const laptop = await person('Alice');
  await laptop.restoreBackup(backup);

  // Both browsers say so; the new one has stopped, the old one still writes.
  await expect(laptop.id('copies-notice')).toHaveAttribute('data-state', 'other-writes');
  await expect(alice.id('copies-notice')).toHaveAttribute('data-state', 'other-stopped');
  await expect(alice.id('copies-use-here')).toHaveCount(0);
  const old = 'Alice: still writing from the old one';
  await alice.send(old);
  history.push(old);
  await bob.waitForMessages(history);

  // The new browser opens Bob's link into Trip: it writes nothing there either.
  const link = await bob.inviteLink();
  await bob.closeInvitePanel();
  await laptop.openInvite(link, { expectRoom: 'Trip' });
  await expect(laptop.id('composer-send')).toBeDisabled();

  // Use here: the old browser stops and says why; the new one is the writer.
  await laptop.id('copies-use-here').click();
  await expect(laptop.id('copies-notice')).toHaveAttribute('data-state', 'other-stopped');
  await expect(alice.id('copies-notice')).toHaveAttribute('data-state', 'other-writes');
  await expect(alice.id('composer-send')).toBeDisabled();

  // The old browser closes (both copies share one peer id, so Bob links to one at a time):
  // the new one takes Alice's book back from Bob, with everything the old one wrote, and
  // writes after it. Bob sees one Alice and no fork.
  await alice.goOffline();
  await expect(laptop.id('copies-notice')).toHaveCount(0);
  await laptop.waitForMessages(history);
  const moved = 'Alice: now on the new laptop';
  await laptop.send(moved);
  history.push(moved);
  await bob.waitForMessages(history);
  const reply = 'Bob: welcome to the new laptop';
  await bob.send(reply);
  history.push(reply);
  await laptop.waitForMessages(history);
  await expectSameHistory([bob, laptop]);
  await expect(bob.id('fork-notice')).toHaveCount(0);
  expect((await bob.memberNames()).sort()).toEqual(['Alice', 'Bob']);
});
