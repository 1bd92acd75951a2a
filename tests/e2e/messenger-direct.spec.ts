import { test, expect, roomWith } from './fixtures/messenger';

// A 1:1 chat opened from the members list: the other person gets it without any invite, named
// after the one who opened it, and both can write in it.
test('a 1:1 chat opened from the members list reaches the other person, both ways', async ({
  registered,
}) => {
  test.setTimeout(180_000);
  const [alice, bob] = await registered('Alice', 'Bob');
  await roomWith(alice, 'Team', [bob]);

  await alice.showMembers();
  await alice.member('Bob').getByTestId('member-message').click();
  await expect(alice.id('room-title')).toHaveText('Bob', { timeout: 10_000 });
  await alice.send('Just between us');

  // Bob never opened anything: the chat arrives on its own, under Alice's name.
  await expect(bob.roomItem('Alice')).toHaveCount(1, { timeout: 45_000 });
  await bob.openRoom('Alice');
  await bob.waitForMessages(['Just between us']);
  await bob.send('Sure');
  await alice.waitForMessages(['Just between us', 'Sure']);
  // A private chat has no invite links and no join requests.
  await expect(alice.id('invite-button')).toHaveCount(0);
  expect((await alice.roomNames()).sort()).toEqual(['Bob', 'Team']);
});
