import { test, expect } from './fixtures/quire';
import { ShellPage } from './fixtures/shell-page';

// Journey 1: the app loads in a real browser, with no console error or uncaught exception
// (the `page` fixture fails the test on any), and shows Quire's shell.

test('first visit shows the name prompt inside the shell, without browser errors', async ({ page }) => {
  const shell = new ShellPage(page);
  await shell.open();

  await expect(page).toHaveTitle('Quire');
  await expect(shell.welcome).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Welcome to Quire' })).toBeVisible();
  await expect(shell.nameInput).toBeFocused();
  await expect(shell.connectionStatus).toHaveText('Offline: not connected to a relay');
});

test('picking a display name opens the sidebar and main pane', async ({ page }) => {
  const shell = new ShellPage(page);
  await shell.open();

  await shell.pickDisplayName('  Ada   Lovelace ');

  await expect(shell.sidebar).toBeVisible();
  await expect(shell.myName).toHaveText('Ada Lovelace');
  await expect(shell.mainPane.getByRole('heading', { name: 'No room open' })).toBeVisible();
  await expect(shell.statusLine).toBeVisible();
});

test('a blank name is refused with a reason the user can read', async ({ page }) => {
  const shell = new ShellPage(page);
  await shell.open();

  await shell.nameInput.fill('   ');
  await shell.continueButton.click();

  await expect(shell.nameError).toHaveText('Please enter a name.');
  await expect(shell.nameInput).toHaveAttribute('aria-invalid', 'true');
  await expect(shell.welcome).toBeVisible();
});

test('on a phone-sized screen the sidebar is a drawer behind the menu button', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 800 });
  const shell = new ShellPage(page);
  await shell.open();
  await shell.pickDisplayName('Grace');

  await expect(shell.sidebar).toBeHidden();
  await shell.menuButton.click();
  await expect(shell.sidebar).toBeVisible();
  await expect(shell.menuButton).toHaveAttribute('aria-expanded', 'true');
  await shell.menuButton.click();
  await expect(shell.sidebar).toBeHidden();
});

test('a deep link is answered with the app, and the relay reports healthy', async ({ page, request }) => {
  // Invite links and future routes must load the app, not a 404 (SPA fallback).
  const shell = new ShellPage(page);
  await shell.open('/some/deep/link');
  await expect(shell.welcome).toBeVisible();

  const health = await request.get('/healthz');
  expect(health.status()).toBe(200);
  expect((await health.text()).trim()).toBe('ok');

  const wasm = (await page.evaluate(() =>
    performance.getEntriesByType('resource').map((entry) => entry.name),
  )).find((name) => name.endsWith('.wasm'));
  expect(wasm, 'the page loaded a wasm module').toBeDefined();
  const response = await request.get(wasm!);
  expect(response.headers()['content-type']).toBe('application/wasm');
});
