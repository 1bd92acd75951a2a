import { test, expect, type Person } from './fixtures/messenger';

/** The id `person` gives others (the sidebar's "Chat with someone by id"). */
async function myId(person: Person): Promise<string> {
  await person.showSidebar();
  await person.id('direct-by-id').locator('summary').click();
  const id = (await person.id('my-id').textContent())?.trim() ?? '';
  expect(id).toMatch(/^[0-9a-f]{64}$/);
  return id;
}

/** `person` opens a 1:1 chat with the id `id`. */
async function chatWith(person: Person, id: string) {
  await person.showSidebar();
  const form = person.id('direct-by-id');
  if ((await form.getAttribute('open')) === null) await form.locator('summary').click();
  await person.id('direct-id').fill(id);
  await person.id('direct-open').click();
}

function request(person: Person, name: string) {
  return person.id('chat-request').filter({ hasText: name });
}

// Someone Alice shares no room with opens a 1:1 chat with her id: it waits under Requests with
// the name they gave, nothing is written or stored until she accepts, and one she ignores
// leaves no room behind.
test('a 1:1 chat from someone who shares no room is a request: nothing is written before Accept, and Ignore leaves no room', async ({
  registered,
}) => {
  test.setTimeout(240_000);
  const [alice, bob, carol] = await registered('Alice', 'Bob', 'Carol');
  const aliceId = await myId(alice);

  await chatWith(bob, 'not an id');
  await expect(bob.id('direct-error')).toContainText('not a Quire id');
  await chatWith(bob, aliceId);
  await bob.send('Hi Alice, Bob from the conference');
  await chatWith(carol, aliceId);
  await carol.send('Buy cheap watches');

  // Both wait under Requests, named; no chat is opened for either.
  await expect(request(alice, 'Bob')).toHaveCount(1, { timeout: 60_000 });
  await expect(request(alice, 'Carol')).toHaveCount(1, { timeout: 60_000 });
  expect(await alice.roomNames()).toEqual([]);
  // Alice wrote nothing: Bob holds no page of hers.
  const aliceKey = aliceId;
  await bob.openInspector();
  expect(await bob.inspectedBookLength(aliceKey)).toBe(0);
  await bob.closeInspector();

  // Ignore: Carol's request goes, and whatever her device tries later is dropped unasked.
  await request(alice, 'Carol').getByTestId('chat-request-ignore').click();
  await expect(request(alice, 'Carol')).toHaveCount(0);

  // Accept: Bob's chat opens with his message, and both write.
  await request(alice, 'Bob').getByTestId('chat-request-accept').click();
  await expect(alice.id('chat-request')).toHaveCount(0);
  await expect(alice.roomItem('Bob')).toHaveCount(1);
  await alice.openRoom('Bob');
  await alice.waitForMessages(['Hi Alice, Bob from the conference']);
  await alice.send('Hello Bob');
  await expect(bob.roomItem('Alice')).toHaveCount(1, { timeout: 45_000 });
  await bob.openRoom('Alice');
  await bob.waitForMessages(['Hi Alice, Bob from the conference', 'Hello Bob']);

  expect(await alice.roomNames()).toEqual(['Bob']);
  // Nothing of Carol's was stored: after a reload only Bob's chat is there.
  await alice.reload();
  await expect(alice.roomItem('Bob')).toHaveCount(1);
  expect(await alice.roomNames()).toEqual(['Bob']);
  await expect(alice.id('chat-request')).toHaveCount(0);
  for (const person of [alice, bob, carol]) expect(person.unexpectedErrors()).toEqual([]);
});
