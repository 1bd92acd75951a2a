import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, expect } from './fixtures/messenger';

// A measurement, not a speed test (nothing here fails for being slow, only for not arriving):
// how long from opening an invite link to reading the room's history, for a newcomer who
// already has a name, with an auto-admit link so no human decision is timed. Each sample is a
// different newcomer opening the link in a new tab (as a click from another app would), the
// owner being the only other device online. Results: console and test-results/invite-timing.json.

const HISTORY = 20;
const SAMPLES = 3;
const OUT = path.join(__dirname, '..', 'test-results', 'invite-timing.json');

test('time from opening an invite link to seeing the room history', async ({ person }) => {
  test.setTimeout(300_000);
  const owner = await person('Olga');
  await owner.register();
  await owner.createRoom('Timing');
  const history = Array.from({ length: HISTORY }, (_, i) => `history line ${i + 1}`);
  for (const text of history) await owner.send(text);
  const link = await owner.inviteLink({ autoAdmit: true });
  await owner.closeInvitePanel();

  const samples: Array<{ joinScreenMs: number; firstMessageMs: number; historyMs: number }> = [];
  for (let i = 0; i < SAMPLES; i++) {
    const newcomer = await person(`Newcomer ${i + 1}`);
    await newcomer.register();
    // A fresh tab of the same profile: the app loads from the link, like a clicked link.
    await newcomer.goOffline();
    newcomer.page = await newcomer.user.context.newPage();

    const start = performance.now();
    await newcomer.page.goto(link);
    await expect(newcomer.id('join-screen')).toBeVisible({ timeout: 20_000 });
    const joinScreenMs = performance.now() - start;
    await newcomer.id('join-submit').click();
    const firstMessage = newcomer.id('messages').getByTestId('message').first();
    await expect(firstMessage).toBeVisible({ timeout: 60_000 });
    const firstMessageMs = performance.now() - start;
    await expect
      .poll(() => newcomer.texts(), { timeout: 60_000, intervals: [50] })
      .toEqual(history);
    const historyMs = performance.now() - start;
    samples.push({
      joinScreenMs: Math.round(joinScreenMs),
      firstMessageMs: Math.round(firstMessageMs),
      historyMs: Math.round(historyMs),
    });
    await newcomer.goOffline();
  }

  const sorted = samples.map((s) => s.historyMs).sort((a, b) => a - b);
  const result = {
    what: `ms from page.goto(invite link) to all ${HISTORY} history messages visible (auto-admit, owner online)`,
    medianHistoryMs: sorted[Math.floor(sorted.length / 2)],
    samples,
    measuredAt: new Date().toISOString(),
  };
  console.log(`invite timing: ${JSON.stringify(result)}`);
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
});
