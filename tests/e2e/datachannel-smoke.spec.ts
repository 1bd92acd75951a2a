import { test, expect } from './fixtures/quire';
import type { Page } from '@playwright/test';

// Journey 2: the harness can carry browser-to-browser tests. Two separate browser contexts
// (two people) open a plain RTCDataChannel to each other inside the test network namespace and
// exchange messages. The test itself carries the SDP between the pages (no signaling server),
// so a failure here is about the browser/namespace set-up, never about Quire's code.

/** Addresses a connection may use: the namespace's veth address (scripts/netns.sh) or loopback. */
const INSIDE_NAMESPACE = /^(192\.0\.2\.10|127\.0\.0\.1|::1)$/;

declare global {
  interface Window {
    smoke: {
      pc: RTCPeerConnection;
      channel?: RTCDataChannel;
      received: string[];
      opened: Promise<void>;
    };
  }
}

/** Creates the peer connection in `page`; the offerer also creates the data channel. */
async function preparePeer(page: Page, offerer: boolean) {
  await page.evaluate((offerer) => {
    // No STUN/TURN: host candidates only, which is all a closed namespace has.
    const pc = new RTCPeerConnection({ iceServers: [] });
    const received: string[] = [];
    let markOpen: () => void;
    const opened = new Promise<void>((resolve) => (markOpen = resolve));
    const adopt = (channel: RTCDataChannel) => {
      window.smoke.channel = channel;
      channel.onmessage = (event) => received.push(String(event.data));
      if (channel.readyState === 'open') markOpen();
      else channel.onopen = () => markOpen();
    };
    window.smoke = { pc, received, opened };
    if (offerer) adopt(pc.createDataChannel('smoke'));
    else pc.ondatachannel = (event) => adopt(event.channel);
  }, offerer);
}

/** Sets `remote` (if any), makes the local description and returns it once ICE gathering is
 *  complete, so the SDP carries every candidate (no trickle needed). */
async function describe(page: Page, kind: 'offer' | 'answer', remote?: RTCSessionDescriptionInit) {
  return page.evaluate(
    async ({ kind, remote }) => {
      const { pc } = window.smoke;
      if (remote) await pc.setRemoteDescription(remote);
      const gathered = new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc.iceGatheringState === 'complete') resolve();
        });
      });
      await pc.setLocalDescription(kind === 'offer' ? await pc.createOffer() : await pc.createAnswer());
      await gathered;
      const local = pc.localDescription!;
      return { type: local.type, sdp: local.sdp } as RTCSessionDescriptionInit;
    },
    { kind, remote },
  );
}

/** The local address of the candidate pair the connection actually uses. */
async function selectedLocalAddress(page: Page): Promise<string | undefined> {
  return page.evaluate(async () => {
    const stats = await window.smoke.pc.getStats();
    let pairId: string | undefined;
    stats.forEach((report) => {
      if (report.type === 'transport' && report.selectedCandidatePairId) pairId = report.selectedCandidatePairId;
    });
    const pair = pairId ? stats.get(pairId) : undefined;
    const local = pair ? stats.get(pair.localCandidateId) : undefined;
    return local?.address ?? local?.ip;
  });
}

test('two browsers open a data channel to each other and exchange messages', async ({ twoUsers }) => {
  expect(process.env.QUIRE_IN_NETNS, 'run the suite through scripts/netns.sh (make e2e)').toBe('1');
  const { alice, bob } = twoUsers;
  await preparePeer(alice.page, true);
  await preparePeer(bob.page, false);

  const offer = await describe(alice.page, 'offer');
  expect(offer.sdp, 'the offer carries a host candidate').toMatch(/a=candidate:.* typ host/);
  const answer = await describe(bob.page, 'answer', offer);
  await alice.page.evaluate((answer) => window.smoke.pc.setRemoteDescription(answer), answer);

  await Promise.all([
    alice.page.evaluate(() => window.smoke.opened),
    bob.page.evaluate(() => window.smoke.opened),
  ]);

  await alice.page.evaluate(() => window.smoke.channel!.send('hello from alice'));
  await expect.poll(() => bob.page.evaluate(() => window.smoke.received)).toEqual(['hello from alice']);
  await bob.page.evaluate(() => window.smoke.channel!.send('hi alice, bob here'));
  await expect.poll(() => alice.page.evaluate(() => window.smoke.received)).toEqual(['hi alice, bob here']);

  for (const user of [alice, bob]) {
    const address = await selectedLocalAddress(user.page);
    expect(address, `${user.name}'s connection stays inside the namespace`).toMatch(INSIDE_NAMESPACE);
  }

  await alice.page.evaluate(() => window.smoke.pc.close());
  await bob.page.evaluate(() => window.smoke.pc.close());
});
