import { defineConfig } from '@playwright/test';

/**
 * Quire's end-to-end suite. Run it through `make test` (or `make e2e`), which builds dist/ and the
 * relay first and wraps the run in a private network namespace (scripts/netns.sh).
 *
 * Every test gets its own relay on a free port serving dist/ (fixtures/quire.ts), so no
 * webServer entry here and nothing is shared between tests.
 */

const CI = !!process.env.CI;

/** Chromium flags from DESIGN.md §5: quiet on a closed network, real WebRTC host candidates. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Headless Linux cannot resolve the mDNS names Chromium would hide local addresses behind.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  // The second recipe (loopback candidates once media permission is granted), so a test may
  // also connect peers over 127.0.0.1 by granting 'microphone' and 'camera' to its contexts.
  '--allow-loopback-in-peer-connection',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
];

export default defineConfig({
  testDir: './e2e',
  outputDir: './test-results',
  fullyParallel: true,
  forbidOnly: CI,
  // A retry would hide flakiness in a peer-to-peer messenger, which is exactly what we test for.
  retries: 0,
  // Two cores on CI: one worker keeps each test's browsers and relay from starving each other.
  workers: CI ? 1 : 2,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [
    ['list'],
    ['json', { outputFile: process.env.QUIRE_E2E_REPORT ?? './test-results/report.json' }],
  ],
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        headless: true,
        viewport: { width: 1280, height: 800 },
        launchOptions: {
          // Debian's Chromium: Playwright never downloads a browser here.
          executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
          args: CHROMIUM_ARGS,
        },
      },
    },
  ],
});
