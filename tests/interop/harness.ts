import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from '@playwright/test';

/**
 * Test harness for the /webrtc suites: serves tests/interop/dist (built by tests/interop/build.sh)
 * on 127.0.0.1 and wraps the two kinds of peer pages in page objects:
 * - QuirePeer: Quire's real browser node (app/src/net) driven through `QuireNetDev`;
 * - JsPeer: a js-libp2p node with @libp2p/webrtc, the reference implementation.
 * Both get the relay's /relay.json from the test (node side), so the pages need no CORS.
 */

export const INTEROP_DIST = path.resolve(__dirname, 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
};

export interface Site {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves INTEROP_DIST on a free loopback port. */
export async function serveInteropDist(): Promise<Site> {
  const server: Server = createServer(async (req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.join(INTEROP_DIST, path.normalize(rel).replace(/^(\.\.[/\\])+/, ''));
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function relayJson(relayUrl: string): Promise<string> {
  const res = await fetch(`${relayUrl}/relay.json`);
  if (!res.ok) throw new Error(`relay.json: HTTP ${res.status}`);
  return res.text();
}

export type LinkState = 'direct' | 'relayed' | 'connecting' | 'offline';

declare global {
  interface Window {
    quireReady: Promise<void>;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    QuireNetDev: any;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    net: any;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    jsPeer: any;
    jsReady: Promise<void>;
  }
}

/** Quire's browser node in its own browser context (a separate person). */
export class QuirePeer {
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    readonly peerId: string,
    readonly addrs: string[],
  ) {}

  /** `relayOnly`: forbid direct ICE paths, as when no path exists between two networks. */
  static async open(
    browser: Browser,
    site: Site,
    relayUrl: string,
    options: { relayOnly?: boolean } = {},
  ): Promise<QuirePeer> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // QUIRE_PEER_LOG=<tracing filter> prints the node's logs, e.g. `debug`.
    const log = process.env.QUIRE_PEER_LOG;
    if (log) page.on('console', (m) => console.log(`[quire ${page.url().slice(-4)}] ${m.text()}`));
    await page.goto(`${site.url}/quire-peer.html${log ? `?log=${encodeURIComponent(log)}` : ''}`);
    const json = await relayJson(relayUrl);
    const peerId = await page.evaluate(
      async ({ json, relayOnly }) => {
        await window.quireReady;
        window.net = await window.QuireNetDev.start(json, relayOnly);
        window.net.serveTestProtocols();
        return window.net.peerId() as string;
      },
      { json, relayOnly: options.relayOnly ?? false },
    );
    await page.waitForFunction(() => window.net.listenAddrs().length > 0, null, { timeout: 15_000 });
    const addrs = await page.evaluate(() => window.net.listenAddrs() as string[]);
    if (errors.length) throw new Error(`quire peer page errors: ${errors.join('\n')}`);
    return new QuirePeer(context, page, peerId, addrs);
  }

  /** `…/p2p-circuit/webrtc/p2p/<id>`, as js-libp2p peers dial it. */
  webrtcAddr(): string {
    const a = this.addrs.find((x) => x.includes('/p2p-circuit/webrtc'));
    if (!a) throw new Error(`no /webrtc address among ${this.addrs.join(', ')}`);
    return a;
  }

  connect(target: string): Promise<string> {
    return this.page.evaluate((t) => window.net.connect(t) as string, target);
  }

  linkState(peer: string): Promise<LinkState> {
    return this.page.evaluate((p) => window.net.linkState(p) as LinkState, peer);
  }

  connectionAddrs(peer: string): Promise<string[]> {
    return this.page.evaluate((p) => window.net.connectionAddrs(p) as string[], peer);
  }

  /** Echoes `text` through `peer` on a new stream. */
  echoText(peer: string, text: string): Promise<string> {
    return this.page.evaluate(
      async ({ peer, text }) => {
        const back: Uint8Array = await window.net.echo(peer, new TextEncoder().encode(text));
        return new TextDecoder().decode(back);
      },
      { peer, text },
    );
  }

  /** Echoes `size` pseudo-random bytes on one stream; returns the length back and whether every
   *  byte matched. */
  echoBytes(peer: string, size: number): Promise<{ length: number; identical: boolean }> {
    return this.page.evaluate(
      async ({ peer, size }) => {
        const data = new Uint8Array(size);
        let x = 0x2545f491;
        for (let i = 0; i < size; i++) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          data[i] = x & 0xff;
        }
        const back: Uint8Array = await window.net.echo(peer, data);
        let identical = back.length === data.length;
        for (let i = 0; identical && i < size; i++) identical = back[i] === data[i];
        return { length: back.length, identical };
      },
      { peer, size },
    );
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

/** A js-libp2p node (@libp2p/webrtc), the reference implementation, in its own context. */
export class JsPeer {
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    readonly peerId: string,
    readonly addrs: string[],
  ) {}

  static async open(browser: Browser, site: Site, relayUrl: string): Promise<JsPeer> {
    const context = await browser.newContext();
    const page = await context.newPage();
    if (process.env.QUIRE_PEER_LOG) page.on('console', (m) => console.log(`[js] ${m.text()}`));
    await page.goto(`${site.url}/js-peer.html`);
    const json = await relayJson(relayUrl);
    await page.waitForFunction(() => typeof (window as any).startJsPeer === 'function');
    const { peerId, addrs } = await page.evaluate(
      (json) => (window as any).startJsPeer(json) as Promise<{ peerId: string; addrs: string[] }>,
      json,
    );
    return new JsPeer(context, page, peerId, addrs);
  }

  webrtcAddr(): string {
    const a = this.addrs.find((x) => x.includes('/p2p-circuit/webrtc'));
    if (!a) throw new Error(`no /webrtc address among ${this.addrs.join(', ')}`);
    return a;
  }

  dial(addr: string): Promise<string> {
    return this.page.evaluate((a) => window.jsPeer.dial(a) as Promise<string>, addr);
  }

  connections(peer: string): Promise<string[]> {
    return this.page.evaluate((p) => window.jsPeer.connections(p) as string[], peer);
  }

  ping(peer: string): Promise<number> {
    return this.page.evaluate((p) => window.jsPeer.ping(p) as Promise<number>, peer);
  }

  echoText(peer: string, text: string): Promise<string> {
    return this.page.evaluate(
      ({ peer, text }) => window.jsPeer.echo(peer, text) as Promise<string>,
      { peer, text },
    );
  }
}
