import {
  test,
  expect,
  expectSameHistory,
  roomWith,
  type Person,
} from './fixtures/messenger';

// A fork never erases a room. Someone saves their identity backup, their browser goes away, and
// a fresh browser restores the backup and opens a link into a room they were in. The new
// browser writes nothing until a member has said what it holds: it takes its user's own book
// back and writes after its last page, with no approval. (Were it to write a first page anyway,
// the room's creator would still be safe: core never takes another page at seq 0 of the
// creator's book for a fork of the room's root.)

/** `who` saves a backup and closes the browser; a fresh browser restores it and opens a link
 *  `inviter` makes into `roomName`. Returns the person in the fresh browser. */
async function backInFreshBrowser(
  who: Person,
  person: (name: string) => Promise<Person>,
  inviter: Person,
  roomName: string,
  file: string,
): Promise<Person> {
  const backup = await who.saveBackup(file);
  await who.goOffline();
  const restored = await person(who.name);
  await restored.restoreBackup(backup);
  const link = await inviter.inviteLink();
  await inviter.closeInvitePanel();
  await restored.openInvite(link, { expectRoom: roomName });
  // Still a member: no approval.
  await restored.waitUntilAdmitted();
  return restored;
}

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
  const file = testInfo.outputPath('alice-backup.json');
  const restored = await backInFreshBrowser(alice, person, bob, 'Trip', file);

  // The whole history, and she writes.
  await restored.waitForMessages(six);
  const back = 'Alice 4: writing from my new laptop';
  await restored.send(back);
  await bob.waitForMessages([...six, back]);

  // Bob keeps all six messages and can write; he sees one Alice, still the owner, and no fork.
  const reply = 'Bob 4: welcome back';
  await bob.send(reply);
  await restored.waitForMessages([...six, back, reply]);
  await expectSameHistory([bob, restored]);
  await expect(bob.id('fork-notice')).toHaveCount(0);
  await expect(bob.id('read-only')).toBeHidden();
  expect((await bob.memberNames()).sort()).toEqual(['Alice', 'Bob']);
  await expect(bob.member('Alice')).toHaveAttribute('data-role', 'owner');
});

// The same for a member who is not the creator: nothing protects her first page, so her new
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
  const file = testInfo.outputPath('bob-backup.json');
  const restored = await backInFreshBrowser(bob, person, alice, 'Trip', file);

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

// The same browser, with the site's data cleared (every room and the identity gone), then the
// backup restored.
test("after clearing the site's data, the restored backup rejoins and the room comes back whole", async ({
  registered,
}, testInfo) => {
  test.setTimeout(240_000);
  const [alice, bob] = await registered('Alice', 'Bob');
  await roomWith(alice, 'Trip', [bob]);
  const said = ['Alice: who brings the map?', 'Bob: I do'];
  await alice.send(said[0]);
  await bob.waitForMessages(said.slice(0, 1));
  await bob.send(said[1]);
  await alice.waitForMessages(said);
  const backup = await alice.saveBackup(testInfo.outputPath('alice-backup.json'));

  // Leave the app (so nothing holds the database open), then clear what the site stored.
  const origin = new URL(alice.page.url()).origin;
  await alice.page.goto('about:blank');
  const cdp = await alice.user.context.newCDPSession(alice.page);
  await cdp.send('Storage.clearDataForOrigin', { origin, storageTypes: 'all' });
  // The welcome screen again: the identity went with the site data (and every room with it).
  await alice.restoreBackup(backup);

  const link = await bob.inviteLink();
  await bob.closeInvitePanel();
  await alice.openInvite(link, { expectRoom: 'Trip' });
  await alice.waitUntilAdmitted();
  await alice.waitForMessages(said);
  const back = 'Alice: map found';
  await alice.send(back);
  await bob.waitForMessages([...said, back]);
  await expectSameHistory([bob, alice]);
  await expect(bob.id('fork-notice')).toHaveCount(0);
});
