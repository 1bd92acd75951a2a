import { test, expect, expectSameHistory, roomWith } from './fixtures/messenger';

// People are cut off the network (or the relay killed) on purpose here: the browser's console
// errors for the refused sockets are expected.
test.use({ networkNoise: true });

// Issue 6, journeys 3, 4 and 5: the relay dies, tabs reload, people go offline; nothing
// acknowledged is lost and messages find their way.

test('the relay is killed mid-conversation and the chat continues both ways', async ({
  registered,
  relay,
}) => {
  test.setTimeout(180_000);
  const [alice, bob] = await registered('Alice', 'Bob');
  await roomWith(alice, 'Night shift', [bob]);

  const said = ['Are you there?', 'Yes, all quiet here'];
  await alice.send(said[0]);
  await bob.waitForMessages(said.slice(0, 1));
  await bob.send(said[1]);
  await alice.waitForMessages(said);

  // Both show each other as directly linked: the relay only introduced them.
  await alice.waitForDirectLink('Bob');
  await bob.waitForDirectLink('Alice');

  await relay.kill();
  for (const who of [alice, bob]) {
    await expect(who.id('connection-status')).not.toHaveAttribute('data-state', 'online', {
      timeout: 30_000,
    });
  }

  const after = ['The relay just went down', 'I still get your messages', 'Good, carry on'];
  await alice.send(after[0]);
  await bob.waitForMessages([...said, after[0]], 30_000);
  await bob.send(after[1]);
  await alice.waitForMessages([...said, ...after.slice(0, 2)], 30_000);
  await alice.send(after[2]);
  await bob.waitForMessages([...said, ...after], 30_000);
  await expectSameHistory([alice, bob]);
  await expect(alice.delivery(after[2])).toHaveAttribute('data-delivery', 'delivered', {
    timeout: 30_000,
  });
  // Still directly linked without the relay.
  await expect(alice.member('Bob')).toHaveAttribute('data-presence', 'direct');
});

test('a reload in the middle of a conversation loses nothing, and unsent messages go out after reload', async ({
  registered,
}) => {
  test.setTimeout(240_000);
  const [alice, bob] = await registered('Alice', 'Bob');
  await roomWith(alice, 'Plans', [bob]);

  const said: string[] = [];
  for (const [i, text] of ['Dinner on Friday?', 'Sure, where?', 'The usual place', 'At eight?'].entries()) {
    await (i % 2 === 0 ? alice : bob).send(text);
    said.push(text);
    await alice.waitForMessages(said);
    await bob.waitForMessages(said);
  }

  // Alice sends and reloads as soon as the app says the message is saved on her device.
  await alice.send('Eight is perfect');
  await expect(alice.delivery('Eight is perfect')).not.toHaveAttribute('data-delivery', 'sending');
  await alice.reload();
  said.push('Eight is perfect');
  await alice.openRoom('Plans');
  await alice.waitForMessages(said, 15_000);
  await bob.waitForMessages(said);

  // Bob reloads too and finds the same conversation.
  await bob.reload();
  await bob.openRoom('Plans');
  await bob.waitForMessages(said, 15_000);
  await expectSameHistory([alice, bob]);

  // Alice is cut off (no relay, hence no peers) and writes: saved here, not delivered.
  await alice.cutOff();
  await alice.openRoom('Plans');
  const unsent = ['I booked a table', 'Bring the book back please'];
  for (const text of unsent) {
    await alice.send(text);
    await expect(alice.delivery(text)).toHaveAttribute('data-delivery', 'saved');
  }
  // Give the messages every chance to leak before checking that they did not.
  await alice.page.waitForTimeout(3_000);
  expect(await bob.texts()).toEqual(said);

  // She reloads on a working network: the stored, unsent messages go out on their own.
  await alice.reconnect();
  await alice.openRoom('Plans');
  await alice.waitForMessages([...said, ...unsent], 15_000);
  await bob.waitForMessages([...said, ...unsent]);
  for (const text of unsent) {
    await expect(alice.delivery(text)).toHaveAttribute('data-delivery', 'delivered', {
      timeout: 30_000,
    });
  }
  await expectSameHistory([alice, bob]);
});

test('offline delivery: a message written while Bob is away reaches him through Carol after Alice has gone', async ({
  registered,
}) => {
  test.setTimeout(240_000);
  const [alice, bob, carol] = await registered('Alice', 'Bob', 'Carol');
  await roomWith(alice, 'Relay race', [bob, carol]);

  await carol.send('Everyone here?');
  for (const who of [alice, bob]) await who.waitForMessages(['Everyone here?']);

  // Bob closes his tab. Alice writes; only Carol is there to receive it.
  await bob.goOffline();
  const note = 'Bob, the meeting moved to 10:00';
  await alice.send(note);
  await carol.waitForMessages(['Everyone here?', note]);
  // Held by Alice and Carol, not yet by Bob: two of three devices.
  await expect(alice.delivery(note)).toHaveAttribute('data-delivery', 'partial', {
    timeout: 30_000,
  });

  // Alice closes her tab too: the author is gone.
  await alice.goOffline();

  // Bob comes back (same browser profile, same storage) and gets Alice's note from Carol.
  await bob.comeBack();
  await bob.openRoom('Relay race');
  await bob.waitForMessages(['Everyone here?', note], 60_000);
  const got = (await bob.messages()).find((m) => m.text === note);
  expect(got?.author).toBe('Alice');
  await expectSameHistory([carol, bob]);
  await bob.showMembers();
  await expect(bob.member('Alice')).toHaveAttribute('data-presence', 'offline');
});
