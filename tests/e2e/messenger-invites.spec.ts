import { test, expect, roomWith, type Person } from './fixtures/messenger';

/** How long a requester is watched for being let in when it must not be, once the owner's
 *  device shows the request (the moment an auto-admission would be written): an admission
 *  through a working link reaches the requester in a few seconds here. */
const NOT_ADMITTED_MS = 10_000;

/** `owner` makes a link that lets people in without asking, for one person only. */
async function singleUseLink(owner: Person): Promise<string> {
  const link = await owner.inviteLink({ autoAdmit: true });
  const before = link;
  await owner.id('invite-single-use').setChecked(true);
  const field = owner.id('invite-link');
  await expect(field).not.toHaveValue(before);
  return field.inputValue();
}

// A single-use link lets in its first requester on its own; the next one through the same
// link waits for an owner, who sees the request and decides. A revoked link lets no one in.
test('a single-use link admits one person, the next waits for an owner; a revoked link admits no one', async ({
  registered,
  person,
}) => {
  test.setTimeout(240_000);
  const [alice] = await registered('Alice');
  await alice.createRoom('Choir');

  const once = await singleUseLink(alice);
  await expect(alice.id('invite-active')).toHaveCount(2); // the first auto link and this one
  const bob = await person('Bob');
  await bob.openInvite(once, { expectRoom: 'Choir' });
  await bob.waitUntilAdmitted();
  // Used up: it leaves the list of links that let people in.
  await expect(alice.id('invite-active')).toHaveCount(1, { timeout: 10_000 });

  const carol = await person('Carol');
  await carol.openInvite(once, { expectRoom: 'Choir' });
  await expect(carol.id('waiting-approval')).toBeVisible({ timeout: 30_000 });
  // Alice's device sees the request and does not let Carol in by itself.
  await alice.closeInvitePanel();
  await alice.showMembers();
  await expect(alice.joinRequest('Carol')).toHaveCount(1, { timeout: 30_000 });
  await carol.page.waitForTimeout(NOT_ADMITTED_MS);
  await expect(carol.id('waiting-approval')).toBeVisible();
  await expect(carol.id('composer-input')).toBeDisabled();

  // A multi-use link, revoked: Dave's request waits as well.
  const open = await alice.inviteLink({ autoAdmit: true });
  const rows = alice.id('invite-active');
  const before = await rows.count();
  await rows.last().getByTestId('invite-revoke').click();
  await expect(rows).toHaveCount(before - 1);
  const dave = await person('Dave');
  await dave.openInvite(open, { expectRoom: 'Choir' });
  await expect(dave.id('waiting-approval')).toBeVisible({ timeout: 30_000 });
  await alice.closeInvitePanel();
  await alice.showMembers();
  await expect(alice.joinRequest('Dave')).toHaveCount(1, { timeout: 30_000 });
  await dave.page.waitForTimeout(NOT_ADMITTED_MS);
  await expect(dave.id('waiting-approval')).toBeVisible();

  // The owner still decides by hand.
  await alice.approve('Carol');
  await carol.waitUntilAdmitted();
  for (const who of [alice, bob, carol, dave]) expect(who.unexpectedErrors()).toEqual([]);
});

test('a 60-character CJK name asks to join, is approved by that name and is shown to the others', async ({
  registered,
}) => {
  const longName = '山川'.repeat(30);
  const [alice, bo] = await registered('Alice', longName);
  await roomWith(alice, 'Lab', [bo]);
  await bo.send('こんにちは');
  await alice.waitForMessages(['こんにちは']);
  await expect(alice.member(longName)).toHaveAttribute('data-role', 'member');
  expect(alice.unexpectedErrors()).toEqual([]);
  expect(bo.unexpectedErrors()).toEqual([]);
});
