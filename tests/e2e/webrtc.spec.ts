import { test, expect } from './fixtures/quire';
import { QuirePeer, serveInteropDist, type Site } from '../interop/harness';

// Quire's browser-to-browser /webrtc transport between two Quire nodes in separate browser
// contexts, introduced by a real quire-relay. The peer pages come from tests/interop/build.sh.

let site: Site;
test.beforeAll(async () => {
  site = await serveInteropDist();
});
test.afterAll(async () => {
  await site?.close();
});

async function connectedPair(browser: import('@playwright/test').Browser, relayUrl: string) {
  const alice = await QuirePeer.open(browser, site, relayUrl);
  const bob = await QuirePeer.open(browser, site, relayUrl);
  await alice.connect(bob.peerId);
  await expect.poll(() => alice.linkState(bob.peerId), { timeout: 20_000 }).toBe('direct');
  await expect.poll(() => bob.linkState(alice.peerId), { timeout: 20_000 }).toBe('direct');
  return { alice, bob };
}

test('two Quire peers connect directly over /webrtc and echo both ways', async ({ browser, relay }) => {
  const { alice, bob } = await connectedPair(browser, relay.url);

  // The relayed circuit is closed once the direct link is up: only /webrtc connections remain.
  await expect.poll(() => alice.connectionAddrs(bob.peerId)).toEqual([`/webrtc/p2p/${bob.peerId}`]);
  const bobSees = await bob.connectionAddrs(alice.peerId);
  expect(bobSees.length).toBe(1);
  expect(bobSees[0]).toMatch(/^\/webrtc/);
  expect(bobSees[0]).not.toContain('p2p-circuit');

  expect(await alice.echoText(bob.peerId, 'hello from alice')).toBe('hello from alice');
  expect(await bob.echoText(alice.peerId, 'hello from bob')).toBe('hello from bob');
});

test('the direct link survives the relay going away', async ({ browser, relay }) => {
  const { alice, bob } = await connectedPair(browser, relay.url);
  expect(await alice.echoText(bob.peerId, 'before')).toBe('before');

  await relay.stop();
  await expect.poll(() => alice.page.evaluate(() => window.net.relayConnected())).toBe(false);

  // Each echo opens a new stream (a new data channel) on the surviving connection.
  expect(await alice.echoText(bob.peerId, 'after, new stream')).toBe('after, new stream');
  expect(await bob.echoText(alice.peerId, 'and back')).toBe('and back');
  expect(await alice.linkState(bob.peerId)).toBe('direct');
});

test('one mebibyte arrives byte for byte over one stream', async ({ browser, relay }) => {
  const { alice, bob } = await connectedPair(browser, relay.url);
  const result = await alice.echoBytes(bob.peerId, 1024 * 1024);
  expect(result).toEqual({ length: 1024 * 1024, identical: true });
});

test('a peer that closes its tab shows offline within 10 seconds', async ({ browser, relay }) => {
  const { alice, bob } = await connectedPair(browser, relay.url);
  const bobId = bob.peerId;
  const closedAt = Date.now();
  await bob.close();
  await expect.poll(() => alice.linkState(bobId), { timeout: 10_000, intervals: [250] }).toBe('offline');
  expect(Date.now() - closedAt).toBeLessThan(10_000);
});

test('peers that dial each other at the same time keep one direct link', async ({ browser, relay }) => {
  const alice = await QuirePeer.open(browser, site, relay.url);
  const bob = await QuirePeer.open(browser, site, relay.url);
  await Promise.all([alice.connect(bob.peerId), bob.connect(alice.peerId)]);
  await expect.poll(() => alice.linkState(bob.peerId), { timeout: 20_000 }).toBe('direct');
  await expect.poll(() => bob.linkState(alice.peerId), { timeout: 20_000 }).toBe('direct');
  await expect.poll(() => alice.connectionAddrs(bob.peerId), { timeout: 10_000 }).toHaveLength(1);
  await expect.poll(() => bob.connectionAddrs(alice.peerId), { timeout: 10_000 }).toHaveLength(1);
  // Each side counting one connection does not yet mean both count the *same* one: while the
  // duplicate is being closed a stream opened on it fails once ("oneshot canceled"; seen in a
  // CI run). What must hold is that the surviving link carries streams within seconds.
  await expect
    .poll(() => alice.echoText(bob.peerId, 'still fine').catch((e) => String(e)), {
      timeout: 10_000,
    })
    .toBe('still fine');
});

test('when ICE finds no direct path the link stays on the relay and says so', async ({ browser, relay }) => {
  // Alice allows only TURN candidates and there is no TURN server: no direct path can form.
  const alice = await QuirePeer.open(browser, site, relay.url, { relayOnly: true });
  const bob = await QuirePeer.open(browser, site, relay.url);
  await alice.connect(bob.peerId);
  await expect.poll(() => alice.linkState(bob.peerId), { timeout: 30_000 }).toBe('relayed');
  expect(await bob.linkState(alice.peerId)).toBe('relayed');
  const addrs = await alice.connectionAddrs(bob.peerId);
  expect(addrs).toHaveLength(1);
  expect(addrs[0]).toContain('/p2p-circuit');

  // Streams still work, through the relay.
  expect(await alice.echoText(bob.peerId, 'via the relay')).toBe('via the relay');
  expect(await bob.echoText(alice.peerId, 'and back')).toBe('and back');
});
