// js-libp2p reference peer for Quire's /webrtc interop tests: WebSockets to the relay, circuit
// relay client, @libp2p/webrtc (browser-to-browser), identify, ping, and the same echo protocol
// Quire's test node serves. Bundled offline by tests/interop/build.sh; driven by Playwright.
import { createLibp2p } from 'libp2p';
import { webSockets } from '@libp2p/websockets';
import { webRTC } from '@libp2p/webrtc';
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { identify } from '@libp2p/identify';
import { ping } from '@libp2p/ping';
import { multiaddr } from '@multiformats/multiaddr';

const ECHO = '/quire/dev/echo/1';

async function echoHandler(stream) {
  for await (const chunk of stream) {
    if (!stream.send(chunk.subarray())) await stream.onDrain();
  }
  await stream.close();
}

function webrtcConnection(node, peer) {
  const conn = node
    .getConnections()
    .find((c) => c.remotePeer.toString() === peer && c.remoteAddr.toString().includes('/webrtc'));
  if (!conn) throw new Error(`no /webrtc connection to ${peer}`);
  return conn;
}

async function start(relayJson) {
  const relay = JSON.parse(relayJson);
  const node = await createLibp2p({
    addresses: { listen: ['/p2p-circuit', '/webrtc'] },
    transports: [
      webSockets(),
      webRTC({ rtcConfiguration: { iceServers: [] } }),
      circuitRelayTransport(),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // The browser gater refuses ws:// and private addresses; the test relay is on 127.0.0.1.
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify(), ping: ping() },
  });
  await node.handle(ECHO, echoHandler);
  const wsAddr = relay.addrs.find((a) => a.includes('/ws'));
  await node.dial(multiaddr(wsAddr));
  const deadline = Date.now() + 15_000;
  while (!node.getMultiaddrs().some((a) => a.toString().includes('/p2p-circuit/webrtc'))) {
    if (Date.now() > deadline) throw new Error('js peer got no /webrtc address');
    await new Promise((r) => setTimeout(r, 100));
  }
  window.jsPeer = {
    node,
    peerId: node.peerId.toString(),
    addrs: () => node.getMultiaddrs().map((a) => a.toString()),
    async dial(addr) {
      const conn = await node.dial(multiaddr(addr));
      return conn.remoteAddr.toString();
    },
    connections: (peer) =>
      node
        .getConnections()
        .filter((c) => c.remotePeer.toString() === peer)
        .map((c) => c.remoteAddr.toString()),
    async ping(peer) {
      return node.services.ping.ping(webrtcConnection(node, peer).remotePeer);
    },
    async echo(peer, text) {
      const stream = await webrtcConnection(node, peer).newStream(ECHO);
      stream.send(new TextEncoder().encode(text));
      await stream.close();
      const parts = [];
      for await (const chunk of stream) parts.push(...chunk.subarray());
      return new TextDecoder().decode(new Uint8Array(parts));
    },
  };
  return { peerId: window.jsPeer.peerId, addrs: window.jsPeer.addrs() };
}

window.startJsPeer = start;
