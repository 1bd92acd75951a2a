import { test, expect } from './fixtures/quire';
import { JsPeer, QuirePeer, serveInteropDist, type Site } from '../interop/harness';

// Interop with the reference implementation: js-libp2p's @libp2p/webrtc (npm, bundled offline by
// tests/interop/build.sh) and Quire's node meet through quire-relay and connect over /webrtc in
// both dial directions, then run ping and an echo protocol in both directions.

let site: Site;
test.beforeAll(async () => {
  site = await serveInteropDist();
});
test.afterAll(async () => {
  await site?.close();
});

async function expectWebrtcBothWays(quire: QuirePeer, js: JsPeer) {
  await expect.poll(() => quire.linkState(js.peerId), { timeout: 20_000 }).toBe('direct');
  await expect
    .poll(async () => (await js.connections(quire.peerId)).some((a) => /\/webrtc(\/|$)/.test(a) && !a.includes('webrtc-direct')), {
      timeout: 20_000,
    })
    .toBe(true);
  const quireSees = await quire.connectionAddrs(js.peerId);
  expect(quireSees.some((a) => a.startsWith('/webrtc'))).toBe(true);

  expect(await js.ping(quire.peerId)).toBeGreaterThanOrEqual(0);
  expect(await js.echoText(quire.peerId, 'js asks quire')).toBe('js asks quire');
  expect(await quire.echoText(js.peerId, 'quire asks js')).toBe('quire asks js');
}

test('Quire dials a js-libp2p peer over /webrtc', async ({ browser, relay }) => {
  const js = await JsPeer.open(browser, site, relay.url);
  const quire = await QuirePeer.open(browser, site, relay.url);
  await quire.connect(js.webrtcAddr());
  await expectWebrtcBothWays(quire, js);
});

test('a js-libp2p peer dials Quire over /webrtc', async ({ browser, relay }) => {
  const quire = await QuirePeer.open(browser, site, relay.url);
  const js = await JsPeer.open(browser, site, relay.url);
  const remote = await js.dial(quire.webrtcAddr());
  expect(remote).toContain('/webrtc');
  await expectWebrtcBothWays(quire, js);
});
