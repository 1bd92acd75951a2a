import { defineConfig } from '@playwright/test';
import base from '../playwright.config';

/**
 * The shared-files benchmark (tests/bench/resources-bench.sh): the e2e browser settings, only
 * tests/bench/resources.bench.ts, once, without parallelism (a shared machine skews numbers).
 */
export default defineConfig({
  ...base,
  testDir: '.',
  testMatch: /resources\.bench\.ts$/,
  outputDir: '../test-results/bench',
  fullyParallel: false,
  workers: 1,
  timeout: 900_000,
  reporter: [['list']],
});
