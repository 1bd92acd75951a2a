import path from 'node:path';
import { type Page } from '@playwright/test';
import { test, expect } from './fixtures/messenger';

// The main screens, captured from a real session between three people. Each screen is also
// checked for what it must show, so this is a test too. The images go to the test's output
// folder; with QUIRE_UPDATE_SCREENSHOTS=1 they replace the committed ones in tests/screenshots/
// (kept out of ordinary runs so `make test` never rewrites tracked files):
//
//   QUIRE_UPDATE_SCREENSHOTS=1 E2E_ARGS=messenger-screenshots make e2e

const COMMITTED = path.join(__dirname, '..', 'screenshots');

test('screenshots of the main screens', async ({ person }, testInfo) => {
  test.setTimeout(240_000);
  const update = process.env.QUIRE_UPDATE_SCREENSHOTS === '1';
  const shoot = async (page: Page, name: string) => {
    // Let transitions and the caret settle so the picture shows the resting state.
    await page.waitForTimeout(300);
    const file = update ? path.join(COMMITTED, `${name}.png`) : testInfo.outputPath(`${name}.png`);
    await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
  };

  const alice = await person('Alice');
  const bob = await person('Bob');
  const carol = await person('Carol');

  // Welcome (first visit).
  await alice.page.goto('/');
  await expect(alice.id('welcome')).toBeVisible({ timeout: 20_000 });
  await shoot(alice.page, 'welcome');
  await alice.pickName();
  await bob.register();
  await carol.register();

  // Room list and chat on a desktop.
  await alice.createRoom('Weekend trip');
  const link = await alice.inviteLink();
  await alice.closeInvitePanel();
  await bob.openInvite(link, { expectRoom: 'Weekend trip' });
  await alice.approve('Bob');
  await bob.waitUntilAdmitted();
  await alice.createRoom('Reading list');
  await alice.send('Started "The Left Hand of Darkness"');
  await alice.openRoom('Weekend trip');
  const lines: Array<[typeof alice, string]> = [
    [alice, 'Train or car on Saturday?'],
    [bob, 'Train, I can read on the way'],
    [alice, 'Then the 8:15 from the central station'],
    [bob, 'Booked two seats, coach 4'],
  ];
  const said: string[] = [];
  for (const [who, text] of lines) {
    await who.send(text);
    said.push(text);
    await alice.waitForMessages(said);
    await bob.waitForMessages(said);
  }
  await expect(alice.delivery(said[2])).toHaveAttribute('data-delivery', 'delivered', {
    timeout: 30_000,
  });
  await shoot(alice.page, 'desktop-chat');

  // Members panel with a pending join request.
  await carol.openInvite(link, { expectRoom: 'Weekend trip' });
  await expect(carol.id('waiting-approval')).toBeVisible();
  await shoot(carol.page, 'waiting-approval');
  await alice.showMembers();
  await expect(alice.joinRequest('Carol')).toHaveCount(1, { timeout: 45_000 });
  await shoot(alice.page, 'members-join-request');

  // Invite panel.
  await alice.inviteLink();
  await shoot(alice.page, 'invite-panel');
  await alice.closeInvitePanel();

  // A bad invite link.
  const payload = link.slice(link.indexOf('#/join/') + '#/join/'.length);
  await bob.page.goto(`${link.slice(0, link.indexOf('#/join/'))}#/join/${payload.slice(0, 40)}`);
  await expect(bob.id('bad-invite')).toBeVisible({ timeout: 20_000 });
  await shoot(bob.page, 'bad-invite');
  await bob.id('bad-invite-dismiss').click();

  // The chat on a phone.
  await bob.page.setViewportSize({ width: 390, height: 844 });
  await bob.openRoom('Weekend trip');
  await bob.hideSidebar();
  await bob.waitForMessages(said);
  await shoot(bob.page, 'phone-chat');
  await bob.showMembers();
  await expect(bob.member('Alice')).toHaveAttribute('data-role', 'owner');
  await shoot(bob.page, 'phone-members');
  await bob.id('members-panel').getByRole('button', { name: /close/i }).click();
  await expect(bob.id('members-panel')).toBeHidden();
  await bob.showSidebar();
  await shoot(bob.page, 'phone-rooms');

  // The inspector.
  await alice.openInspector();
  await expect(alice.page.getByTestId('inspector-book').first()).toBeVisible();
  await shoot(alice.page, 'inspector');
});
