import type { Page } from '@playwright/test';

/**
 * The baseline of the browser benchmarks: a raw RTCDataChannel between two pages of the same
 * run, set up by the test (full ICE, no trickle), and a bulk transfer over it with the same
 * framing size and send high-water mark as Quire's /webrtc streams.
 */

/** Raw RTCDataChannel between the two pages, signaled by the test (full ICE, no trickle). */
export async function rawChannel(a: Page, b: Page) {
  const setup = async (page: Page, offerer: boolean) =>
    page.evaluate((offerer) => {
      const pc = new RTCPeerConnection({ iceServers: [] });
      const w = window as any;
      w.raw = { pc };
      w.raw.ready = new Promise<void>((resolve) => {
        const adopt = (ch: RTCDataChannel) => {
          ch.binaryType = 'arraybuffer';
          w.raw.ch = ch;
          if (ch.readyState === 'open') resolve();
          else ch.onopen = () => resolve();
        };
        if (offerer) adopt(pc.createDataChannel('bench'));
        else pc.ondatachannel = (e) => adopt(e.channel);
      });
    }, offerer);
  const describe = (page: Page, remote?: RTCSessionDescriptionInit) =>
    page.evaluate(async (remote) => {
      const { pc } = (window as any).raw as { pc: RTCPeerConnection };
      if (remote) await pc.setRemoteDescription(remote);
      const done = new Promise<void>((r) => {
        pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
      });
      await pc.setLocalDescription(remote ? await pc.createAnswer() : await pc.createOffer());
      if (pc.iceGatheringState !== 'complete') await done;
      return pc.localDescription!.toJSON();
    }, remote);
  await setup(a, true);
  await setup(b, false);
  const offer = await describe(a);
  const answer = await describe(b, offer);
  await a.evaluate((answer) => (window as any).raw.pc.setRemoteDescription(answer), answer);
  await Promise.all([a, b].map((p) => p.evaluate(() => (window as any).raw.ready)));
}

/** Milliseconds to push `total` bytes from `a` to `b` until `b` confirms them all. */
export async function rawThroughput(a: Page, b: Page, total: number): Promise<number> {
  await b.evaluate((total) => {
    const ch: RTCDataChannel = (window as any).raw.ch;
    let got = 0;
    ch.onmessage = (e) => {
      got += (e.data as ArrayBuffer).byteLength;
      if (got >= total) ch.send(new Float64Array([got]).buffer);
    };
  }, total);
  return a.evaluate(async (total) => {
    const ch: RTCDataChannel = (window as any).raw.ch;
    // Same framing size and high-water mark as Quire's /webrtc streams.
    const chunk = new Uint8Array(16 * 1024 - 7).fill(0xa5);
    const HIGH = 1024 * 1024;
    ch.bufferedAmountLowThreshold = 256 * 1024;
    const t0 = performance.now();
    const done = new Promise<void>((r) => (ch.onmessage = () => r()));
    let left = total;
    while (left > 0) {
      if (ch.bufferedAmount > HIGH) {
        await new Promise<void>((r) => (ch.onbufferedamountlow = () => r()));
      }
      const n = Math.min(left, chunk.length);
      ch.send(n === chunk.length ? chunk : chunk.subarray(0, n));
      left -= n;
    }
    await done;
    return performance.now() - t0;
  }, total);
}

