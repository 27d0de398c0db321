// End-to-end tests: Playwright drives Debian's Chromium (never a downloaded browser) against the
// reference server that `cargo xtask test` starts and names in BASE_URL.
import { defineConfig } from '@playwright/test';
import { chromiumArgs } from './scripts/chromium-args.mjs';

export { chromiumArgs };

export default defineConfig({
  testDir: 'tests/e2e',
  // tests/e2e/chaos/ holds the chaos proxy and its own node:test suite (`node --test`), not Playwright's.
  testIgnore: '**/chaos/**',
  // Tests share one server and one dist/ copy that the update test rewrites: run them in order.
  workers: 1,
  fullyParallel: false,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  outputDir: 'target/e2e/results',
  use: {
    baseURL: process.env.BASE_URL ?? 'http://127.0.0.1:8080',
    launchOptions: { executablePath: '/usr/bin/chromium', args: chromiumArgs },
    serviceWorkers: 'allow',
    trace: 'retain-on-failure',
  },
});
