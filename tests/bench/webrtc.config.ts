import { defineConfig } from '@playwright/test';
import base from '../playwright.config';

/**
 * The /webrtc benchmark (tests/bench/webrtc-bench.sh) reuses the e2e browser settings but runs
 * only tests/bench/webrtc.bench.ts, once, with a long timeout and no parallelism (numbers from a
 * machine shared with another run are meaningless).
 */
export default defineConfig({
  ...base,
  testDir: '.',
  testMatch: /webrtc\.bench\.ts$/,
  outputDir: '../test-results/bench',
  fullyParallel: false,
  workers: 1,
  timeout: 300_000,
  reporter: [['list']],
});
