import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, expect } from './fixtures/messenger';

// A measurement, not a speed test (nothing here fails for being slow, only for not arriving):
// how long from opening an invite link to reading the room's history, for a newcomer who
// already has a name, with an auto-admit link so no human decision is timed. Each sample is a
// different newcomer opening the link in a new tab (as a click from another app would), the
// owner being the only other device online. Results: console and test-results/invite-timing.json.

const HISTORY = 20;
/** Newcomers measured; QUIRE_INVITE_SAMPLES overrides (more samples show the spread). */
const SAMPLES = Number(process.env.QUIRE_INVITE_SAMPLES ?? 3);
/** A sample slower than this keeps both inspectors' state in its log. */
const SLOW_SAMPLE_MS = 10_000;
const OUT = path.join(__dirname, '..', 'test-results', 'invite-timing.json');

test('time from opening an invite link to seeing the room history', async ({ person }, testInfo) => {
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

    // What both apps log while the newcomer gets in: attached to the report, to explain a
    // slow sample.
    const log: string[] = [];
    const since = performance.now();
    const record = (who: string) => (m: { type(): string; text(): string }) =>
      log.push(`${Math.round(performance.now() - since)} ms ${who} ${m.type()}: ${m.text()}`);
    const ownerLog = record('owner');
    owner.page.on('console', ownerLog);
    newcomer.page.on('console', record('newcomer'));

    // A timeline of what each side shows (connection, approval, presence), recorded on change.
    await owner.showMembers();
    let watching = true;
    const watcher = (async () => {
      let last = '';
      while (watching) {
        const read = (page: typeof owner.page, name: string) =>
          page
            .evaluate((newcomerName) => {
              const q = (sel: string) => document.querySelector(sel);
              const state = q('[data-testid="connection-status"]')?.textContent ?? '-';
              const waiting = q('[data-testid="waiting-approval"]') ? ' waiting' : '';
              const count = document.querySelectorAll('[data-testid="message"]').length;
              const row = [...document.querySelectorAll('[data-testid="member"]')].find(
                (el) => el.querySelector('[data-testid="member-name"]')?.textContent === newcomerName,
              );
              const request = [...document.querySelectorAll('[data-testid="join-request-name"]')].some(
                (el) => el.textContent === newcomerName,
              );
              return `${state}${waiting} msgs=${count} newcomer=${row?.getAttribute('data-presence') ?? (request ? 'asking' : '-')}`;
            }, name)
            .catch(() => 'navigating');
        const now = `newcomer[${await read(newcomer.page, newcomer.name)}] owner[${await read(owner.page, newcomer.name)}]`;
        if (now !== last) log.push(`${Math.round(performance.now() - since)} ms ${now}`);
        last = now;
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

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
    watching = false;
    await watcher;
    owner.page.off('console', ownerLog);
    if (historyMs > SLOW_SAMPLE_MS) {
      // A slow sample: keep what both inspectors say (links, sync sessions, recent errors).
      for (const who of [newcomer, owner]) {
        await who.openInspector();
        log.push(`--- ${who.name}'s inspector after the sample ---`, await who.id('inspector').innerText());
        await who.closeInspector();
      }
    }
    const logFile = testInfo.outputPath(`sample-${i + 1}-console.txt`);
    writeFileSync(logFile, `${log.join('\n')}\n`);
    await testInfo.attach(`sample ${i + 1} console`, { path: logFile, contentType: 'text/plain' });
    await newcomer.goOffline();
  }

  const sorted = samples.map((s) => s.historyMs).sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
  const result = {
    what: `ms from page.goto(invite link) to all ${HISTORY} history messages visible (auto-admit, owner online)`,
    medianHistoryMs: median,
    maxHistoryMs: sorted[sorted.length - 1],
    samples,
    measuredAt: new Date().toISOString(),
  };
  console.log(`invite timing: ${JSON.stringify(result)}`);
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
});
