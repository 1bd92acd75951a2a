import { test, expect, expectSameHistory, roomWith, DELIVERY_TIMEOUT_MS } from './fixtures/messenger';

// People are cut off the network (or the relay killed) on purpose here: the browser's console
// errors for the refused sockets are expected.
test.use({ networkNoise: true });

// Issue 6, journeys 6 and 7: leaving, removal and deletion do what they say; a bad invite link
// explains itself and changes nothing.

test('a member who leaves keeps the room read-only, and the others carry on without them', async ({
  registered,
}) => {
  test.setTimeout(180_000);
  const [alice, bob] = await registered('Alice', 'Bob');
  await roomWith(alice, 'Choir', [bob]);
  await alice.send('Rehearsal at seven');
  await bob.waitForMessages(['Rehearsal at seven']);

  await bob.leaveRoom();
  // Bob still has the room and its history, but can no longer write in it.
  await bob.expectReadOnly();
  await expect(bob.roomItem('Choir')).toHaveCount(1);
  expect(await bob.texts()).toEqual(['Rehearsal at seven']);
  // Alice sees him gone from the members.
  await alice.showMembers();
  await expect(alice.member('Bob')).toHaveCount(0, { timeout: DELIVERY_TIMEOUT_MS });
  await expect(alice.member('Alice')).toHaveAttribute('data-role', 'owner');
  // Alice's room is still hers to write in.
  await alice.send('See you there');
  await expect(alice.id('read-only')).toBeHidden();
});

test("an owner removes a member: the room turns read-only for them, their later pages count for no one, and they read nothing written after", async ({
  registered,
}) => {
  test.setTimeout(240_000);
  const [alice, bob, carol] = await registered('Alice', 'Bob', 'Carol');
  await roomWith(alice, 'Committee', [bob, carol]);
  const before = ['Agenda: budget', 'I have the figures', 'Send them over'];
  await alice.send(before[0]);
  await carol.waitForMessages(before.slice(0, 1));
  await carol.send(before[1]);
  await bob.waitForMessages(before.slice(0, 2));
  await bob.send(before[2]);
  for (const who of [alice, bob, carol]) await who.waitForMessages(before);
  const carolKey = await alice.memberKey('Carol');

  // Carol is cut off, so she cannot hear of what happens next.
  await carol.cutOff();
  await carol.openRoom('Committee');

  // Alice removes her; Bob sees it.
  await alice.removeMember('Carol');
  await bob.showMembers();
  await expect(bob.member('Carol')).toHaveCount(0, { timeout: DELIVERY_TIMEOUT_MS });

  // Carol, not knowing yet, writes after her removal: it is stored on her device.
  await carol.page.waitForTimeout(1_500); // a clearly later wall-clock time than the removal
  const late = 'Carol: I disagree with the budget';
  await carol.send(late);
  await expect(carol.delivery(late)).toHaveAttribute('data-delivery', 'saved');
  const lateKey = (await carol.messages()).find((m) => m.text === late)!.key;
  const lateSeq = Number(lateKey.split('.').pop());
  expect(lateKey.startsWith(`${carolKey}.`), 'a message key starts with its author key').toBe(true);

  // Back online, Carol learns she was removed: read-only, room still listed.
  await carol.reconnect();
  await carol.openRoom('Committee');
  await carol.expectReadOnly();
  await expect(carol.roomItem('Committee')).toHaveCount(1);

  // Alice's device receives Carol's late page (the inspector shows her book holding it) ...
  await alice.openInspector();
  await expect
    .poll(() => alice.inspectedBookLength(carolKey), {
      timeout: DELIVERY_TIMEOUT_MS,
      message: "Alice's device holds Carol's page written after her removal",
    })
    .toBeGreaterThan(lateSeq);
  expect(await alice.inspectedPageCounts(carolKey, lateSeq), 'the late page is void').toBe(false);
  // ... and does not show it; neither does Bob. Both still agree on the rest.
  await alice.closeInspector();
  await alice.openRoom('Committee');
  await alice.send('Budget approved');
  await bob.waitForMessages([...before, 'Budget approved']);
  await alice.waitForMessages([...before, 'Budget approved']);
  await expectSameHistory([alice, bob]);
  await expect(alice.messageRow(late)).toHaveCount(0);

  // Carol's device is sent Alice's book only up to the removal (what it depends on) and nothing
  // Alice wrote after it, though it keeps asking: before and after a reload she reads nothing new.
  const aliceKey = await bob.memberKey('Alice');
  await alice.openInspector();
  const aliceLength = await alice.inspectedBookLength(aliceKey);
  // The removal's seq in Alice's book; after it she wrote the re-key and a message.
  const removal = alice.page
    .locator(`[data-testid="inspector-book"][data-author="${aliceKey}"] [data-testid="inspector-page"]`)
    .filter({ hasText: 'Remove' });
  await expect(removal).toHaveCount(1);
  const removalSeq = Number(await removal.getAttribute('data-seq'));
  expect(aliceLength, 'Alice wrote after the removal').toBeGreaterThan(removalSeq + 1);
  await alice.closeInspector();
  for (const reload of [false, true]) {
    if (reload) {
      await carol.reload();
      // Longer than the sync heads interval (15 s), after which every peer has told her device
      // what it may have.
      await carol.page.waitForTimeout(16_000);
    }
    await carol.openInspector();
    const held = await carol.inspectedBookLength(aliceKey);
    // Exactly up to the removal: none of the pages Alice wrote after it (the re-key, whose
    // grants leave Carol out, and the message), and not less either.
    expect(held, "Carol's device holds Alice's book up to the removal, and nothing after").toBe(
      removalSeq + 1,
    );
    await carol.closeInspector();
    await carol.openRoom('Committee');
    await carol.expectReadOnly();
    expect(await carol.texts(), 'nothing written after her removal').toEqual(before);
  }
});

test('an owner deletes the room: it stays readable for everyone and writable for no one', async ({
  registered,
}) => {
  test.setTimeout(180_000);
  const [alice, bob] = await registered('Alice', 'Bob');
  await roomWith(alice, 'Old project', [bob]);
  await bob.send('Is this project finished?');
  await alice.waitForMessages(['Is this project finished?']);
  await alice.send('Yes, closing the room');
  await bob.waitForMessages(['Is this project finished?', 'Yes, closing the room']);

  // A member cannot delete; only owners are offered the action.
  await expect(bob.id('room-delete')).toHaveCount(0);

  await alice.deleteRoom();
  for (const who of [alice, bob]) {
    await who.expectReadOnly();
    await expect(who.roomItem('Old project')).toHaveCount(1);
    await who.waitForMessages(['Is this project finished?', 'Yes, closing the room']);
  }
});

test('a bad invite link explains what is wrong and changes nothing', async ({ registered }) => {
  test.setTimeout(180_000);
  const [alice, bob] = await registered('Alice', 'Bob');
  await alice.createRoom('Secret society');
  const link = await alice.inviteLink();
  await alice.closeInvitePanel();
  await bob.createRoom('Bob notes');
  await bob.send('buy milk');
  const bobRooms = await bob.roomNames();

  const payload = link.slice(link.indexOf('#/join/') + '#/join/'.length);
  const base = link.slice(0, link.indexOf('#/join/'));
  // One character of the room id changed: the signature no longer matches.
  const at = 8;
  const flipped = payload[at] === 'A' ? 'B' : 'A';
  const cases = [
    { problem: 'tampered', link: `${base}#/join/${payload.slice(0, at)}${flipped}${payload.slice(at + 1)}` },
    { problem: 'truncated', link: `${base}#/join/${payload.slice(0, Math.floor(payload.length / 2))}` },
    { problem: 'invalid', link: `${base}#/join/not*an*invite` },
  ];
  for (const bad of cases) {
    await bob.page.goto(bad.link);
    const screen = bob.id('bad-invite');
    await expect(screen).toBeVisible({ timeout: 20_000 });
    await expect(screen).toHaveAttribute('data-problem', bad.problem);
    await expect(bob.id('bad-invite-title')).not.toBeEmpty();
    await expect(bob.id('bad-invite-advice')).not.toBeEmpty();
    await expect(bob.id('join-screen')).toHaveCount(0);
    await bob.id('bad-invite-dismiss').click();
    await expect(screen).toBeHidden();
    // Nothing changed: same rooms, and his own room as he left it.
    expect(await bob.roomNames()).toEqual(bobRooms);
    await bob.openRoom('Bob notes');
    await bob.waitForMessages(['buy milk'], 5_000);
  }
  // Nothing was stored either: after a reload Bob has the same rooms.
  await bob.page.goto('/');
  await expect(bob.id('layout')).toBeVisible({ timeout: 20_000 });
  await expect.poll(() => bob.roomNames()).toEqual(bobRooms);

  // Alice received no join request and her room still has only her.
  await alice.showMembers();
  await alice.page.waitForTimeout(3_000);
  await expect(alice.id('join-request')).toHaveCount(0);
  expect(await alice.memberNames()).toEqual(['Alice']);
  // The untouched link still works, so it was really the changes that were refused.
  await bob.openInvite(link, { expectRoom: 'Secret society' });
  await alice.approve('Bob');
  await bob.waitUntilAdmitted();
});
