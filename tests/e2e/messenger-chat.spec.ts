import { test, expect, expectSameHistory, roomWith } from './fixtures/messenger';

// Issue 6, journeys 1, 2 and 8: people chat through invite links and all see one history.

test('two people chat through an invite link the owner approves, and see the same messages in the same order', async ({
  person,
}) => {
  test.setTimeout(180_000);
  const alice = await person('Alice', { permissions: ['clipboard-read', 'clipboard-write'] });
  const bob = await person('Bob');
  await alice.register();
  await bob.register();

  await alice.createRoom('Book club');
  await expect(alice.id('no-messages')).toBeVisible();
  await alice.showMembers();
  await expect(alice.member('Alice')).toHaveAttribute('data-role', 'owner');
  await expect(alice.member('Alice')).toHaveAttribute('data-presence', 'you');

  // The owner copies a link that needs approval (the default).
  const link = await alice.inviteLink();
  await expect(alice.id('invite-auto-admit')).not.toBeChecked();
  expect(new URL(link).hash).toMatch(/^#\/join\/[A-Za-z0-9_-]+$/);
  await alice.id('invite-copy').click();
  await expect(alice.id('invite-panel')).toContainText('Copied');
  expect(await alice.page.evaluate(() => navigator.clipboard.readText())).toBe(link);
  await alice.closeInvitePanel();

  // Bob opens it: he sees which room, asks to join, and waits with the composer off.
  await bob.openInvite(link, { expectRoom: 'Book club' });
  await expect(bob.id('waiting-approval')).toBeVisible();
  await expect(bob.id('composer-input')).toBeDisabled();
  await expect(bob.roomItem('Book club')).toHaveCount(1);

  // Alice sees the request and approves it; Bob is in and can write.
  await alice.approve('Bob');
  await bob.waitUntilAdmitted();
  await expect(bob.id('room-title')).toHaveText('Book club');

  // A conversation in turns: each line is read before the answer is written.
  const turns: Array<[typeof alice, string]> = [
    [alice, 'Hi Bob, welcome to the book club'],
    [bob, 'Thanks Alice! What are we reading?'],
    [alice, 'Middlemarch, chapters 1 to 10'],
    [bob, 'Great, I have a copy'],
  ];
  const said: string[] = [];
  for (const [who, text] of turns) {
    await who.send(text);
    said.push(text);
    await alice.waitForMessages(said);
    await bob.waitForMessages(said);
  }

  // Then both type at once: the order is whatever the causal order says, but the same for both.
  const burst = ['a1', 'a2', 'a3'].map((t) => `Alice ${t}`);
  const bobBurst = ['b1', 'b2', 'b3'].map((t) => `Bob ${t}`);
  await Promise.all([
    (async () => { for (const t of burst) await alice.send(t); })(),
    (async () => { for (const t of bobBurst) await bob.send(t); })(),
  ]);
  await alice.waitForMessageSet([...said, ...burst, ...bobBurst]);
  await bob.waitForMessageSet([...said, ...burst, ...bobBurst]);
  const history = await expectSameHistory([alice, bob]);
  expect(history.slice(0, said.length).map((m) => m.text)).toEqual(said);
  // Each person's own lines stay in the order they were typed.
  const texts = history.map((m) => m.text);
  expect(texts.filter((t) => burst.includes(t))).toEqual(burst);
  expect(texts.filter((t) => bobBurst.includes(t))).toEqual(bobBurst);
  expect(history.filter((m) => m.text.startsWith('Alice ')).every((m) => m.author === 'Alice')).toBe(true);
  expect(history.filter((m) => m.text.startsWith('Bob ')).every((m) => m.author === 'Bob')).toBe(true);

  // Everything Alice wrote ends up held by both members' devices.
  await expect(alice.delivery('Middlemarch, chapters 1 to 10')).toHaveAttribute(
    'data-delivery',
    'delivered',
    { timeout: 30_000 },
  );
  await expect(alice.delivery('Alice a3')).toHaveAttribute('data-delivery', 'delivered', {
    timeout: 30_000,
  });
});

// A recipient tells the sender as soon as it has stored a page, so "Delivered" follows the
// message onto the other screen instead of waiting for the next periodic report (15 s).
test('the sender sees Delivered within two seconds of the recipient showing the message', async ({
  registered,
}) => {
  const [alice, bob] = await registered('Alice', 'Bob');
  await roomWith(alice, 'Tea', [bob]);
  await alice.waitForDirectLink('Bob');
  for (const text of ['First cup', 'Second cup', 'Third cup']) {
    await alice.send(text);
    await expect(bob.messageRow(text)).toHaveCount(1, { timeout: 30_000 });
    await expect(alice.delivery(text)).toHaveAttribute('data-delivery', 'delivered', { timeout: 2_000 });
  }
  expect(alice.unexpectedErrors()).toEqual([]);
  expect(bob.unexpectedErrors()).toEqual([]);
});

test('after a reload the room that was open is open again, and each room keeps what was typed and not sent', async ({ registered }) => {
  const [alice] = await registered('Alice');
  await alice.createRoom('Tea');
  await alice.createRoom('Garden');
  await alice.openRoom('Tea');
  await alice.send('Kettle on');
  await alice.reload();
  await expect(alice.id('room-title')).toHaveText('Tea', { timeout: 30_000 });
  await expect(alice.messageRow('Kettle on')).toHaveCount(1);
  // What was typed and not sent stays with its room, across switches and a reload.
  await alice.id('composer-input').fill('Half a thought about tea');
  await alice.openRoom('Garden');
  await expect(alice.id('composer-input')).toHaveValue('');
  await alice.id('composer-input').fill('Roses?');
  await alice.openRoom('Tea');
  await expect(alice.id('composer-input')).toHaveValue('Half a thought about tea');
  // Another room opened is the one that comes back next time, with its draft.
  await alice.openRoom('Garden');
  await alice.reload();
  await expect(alice.id('room-title')).toHaveText('Garden', { timeout: 30_000 });
  await expect(alice.id('composer-input')).toHaveValue('Roses?');
  await alice.send('Roses!');
  await alice.reload();
  await expect(alice.id('room-title')).toHaveText('Garden', { timeout: 30_000 });
  await expect(alice.id('composer-input')).toHaveValue('', { timeout: 5_000 });
  expect(alice.unexpectedErrors()).toEqual([]);
});

test('a third person who joins later sees the whole history, then talks with everyone', async ({
  registered,
}) => {
  test.setTimeout(180_000);
  const [alice, bob, carol] = await registered('Alice', 'Bob', 'Carol');
  await roomWith(alice, 'Garden', [bob]);

  const history = [
    'The tomatoes are ripe',
    'Can I take some?',
    'Of course, take the basket',
    'Thanks, I will bring it back on Sunday',
    'And the beans need water',
    'On it',
  ];
  for (const [i, text] of history.entries()) {
    await (i % 2 === 0 ? alice : bob).send(text);
    await alice.waitForMessages(history.slice(0, i + 1));
  }
  await bob.waitForMessages(history);

  // Carol joins later through a fresh link and sees everything said before she came.
  const link = await alice.inviteLink();
  await alice.closeInvitePanel();
  await carol.openInvite(link, { expectRoom: 'Garden' });
  await alice.approve('Carol');
  await carol.waitUntilAdmitted();
  await carol.waitForMessages(history);
  await expectSameHistory([alice, bob, carol]);

  // And she is a full member: both others read her, she reads them.
  await carol.send('Hello both, I can help on Saturday');
  await alice.waitForMessages([...history, 'Hello both, I can help on Saturday']);
  await bob.waitForMessages([...history, 'Hello both, I can help on Saturday']);
  await bob.send('Welcome Carol');
  const all = [...history, 'Hello both, I can help on Saturday', 'Welcome Carol'];
  await carol.waitForMessages(all);
  await alice.waitForMessages(all);
  await expectSameHistory([alice, bob, carol]);
  for (const who of [alice, bob, carol]) {
    expect((await who.memberNames()).sort()).toEqual(['Alice', 'Bob', 'Carol']);
  }
});

test('five members in one room all receive every message in the same order', async ({ person }) => {
  test.setTimeout(300_000);
  const names = ['Ada', 'Ben', 'Cy', 'Dee', 'Eve'];
  const people = await Promise.all(names.map((n) => person(n)));
  for (const p of people) await p.register();
  const [owner, ...joiners] = people;
  await roomWith(owner, 'Five', joiners, { autoAdmit: true });

  // Round one: everyone writes at the same time.
  const round1 = people.map((p) => `${p.name}: first`);
  await Promise.all(people.map((p) => p.send(`${p.name}: first`)));
  for (const p of people) await p.waitForMessageSet(round1, 90_000);
  // Round two: in turns, each after seeing the previous line.
  const round2: string[] = [];
  for (const p of people) {
    await p.waitForMessageSet([...round1, ...round2], 90_000);
    await p.send(`${p.name}: second`);
    round2.push(`${p.name}: second`);
  }
  for (const p of people) await p.waitForMessageSet([...round1, ...round2], 90_000);

  const history = await expectSameHistory(people);
  expect(history.slice(round1.length).map((m) => m.text)).toEqual(round2);
  for (const p of people) expect((await p.memberNames()).sort()).toEqual([...names].sort());
});
