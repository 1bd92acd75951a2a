import { test, expect, expectSameHistory, roomWith } from './fixtures/messenger';

// A fork never erases a room: the room's creator restores her backup in a fresh browser and
// rejoins through a member's link. Her new browser's first page (a join request at seq 0 of
// her book) is no fork of the room's first page: the member keeps everything, and the restored
// browser gets her own book back from him and writes after it.

test("the creator's backup restored in a fresh browser rejoins through a member's link: nobody loses a message and nothing forks", async ({
  registered,
  person,
}, testInfo) => {
  test.setTimeout(240_000);
  const [alice, bob] = await registered('Alice', 'Bob');
  await roomWith(alice, 'Trip', [bob]);
  const six: string[] = [];
  for (const n of [1, 2, 3]) {
    const a = `Alice ${n}: packing list`;
    await alice.send(a);
    six.push(a);
    await bob.waitForMessages(six);
    const b = `Bob ${n}: got it`;
    await bob.send(b);
    six.push(b);
    await alice.waitForMessages(six);
  }
  const backup = await alice.saveBackup(testInfo.outputPath('alice-backup.json'));
  // Her old browser goes away.
  await alice.goOffline();

  const restored = await person('Alice');
  await restored.restoreBackup(backup);
  const link = await bob.inviteLink();
  await bob.closeInvitePanel();
  await restored.openInvite(link, { expectRoom: 'Trip' });

  // Still a member (and the owner): no approval, the whole history, and she writes.
  await restored.waitUntilAdmitted();
  await restored.waitForMessages(six);
  const back = 'Alice 4: writing from my new laptop';
  await restored.send(back);
  await bob.waitForMessages([...six, back]);

  // Bob keeps all six messages and can write; he sees one Alice and no fork.
  const reply = 'Bob 4: welcome back';
  await bob.send(reply);
  await restored.waitForMessages([...six, back, reply]);
  await expectSameHistory([bob, restored]);
  await expect(bob.id('fork-notice')).toHaveCount(0);
  await expect(bob.id('read-only')).toBeHidden();
  expect((await bob.memberNames()).sort()).toEqual(['Alice', 'Bob']);
  await expect(bob.member('Alice')).toHaveAttribute('data-role', 'owner');
});

// The same for a member who is not the creator: her book has no root to protect it, so her new
// browser must not write anything before it holds her book again.
test("a member's backup restored in a fresh browser takes her own book back before writing: no approval, no fork", async ({
  registered,
  person,
}, testInfo) => {
  test.setTimeout(240_000);
  const [alice, bob] = await registered('Alice', 'Bob');
  await roomWith(alice, 'Trip', [bob]);
  const said = ['Alice: tickets booked', 'Bob: I bring the tent'];
  await alice.send(said[0]);
  await bob.waitForMessages(said.slice(0, 1));
  await bob.send(said[1]);
  await alice.waitForMessages(said);
  const backup = await bob.saveBackup(testInfo.outputPath('bob-backup.json'));
  await bob.goOffline();

  const restored = await person('Bob');
  await restored.restoreBackup(backup);
  const link = await alice.inviteLink();
  await alice.closeInvitePanel();
  await restored.openInvite(link, { expectRoom: 'Trip' });
  await restored.waitUntilAdmitted();
  await restored.waitForMessages(said);
  const back = 'Bob: back on a new laptop';
  await restored.send(back);
  await alice.waitForMessages([...said, back]);
  await expectSameHistory([alice, restored]);

  // Alice, the owner, saw no request and no fork: one Bob, a member, and his pages count.
  await alice.showMembers();
  await expect(alice.id('members-panel').getByTestId('join-request')).toHaveCount(0);
  expect((await alice.memberNames()).sort()).toEqual(['Alice', 'Bob']);
  await expect(alice.id('fork-notice')).toHaveCount(0);
});
