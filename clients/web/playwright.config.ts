// Browser tests of the web UI: Debian's Chromium, headless, driven by
// Playwright against real tickwire servers the tests start themselves.
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "tests",
  testMatch: "*.spec.ts",
  timeout: 90_000,
  expect: { timeout: 15_000 },
  // One browser and one server at a time: the machine has two cores.
  workers: 1,
  fullyParallel: false,
  reporter: [["list"]],
  outputDir: "../../target/web/test-results",
  use: {
    browserName: "chromium",
    headless: true,
    viewport: { width: 1440, height: 900 },
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      // As root in CI, without a sandbox; and no calls home, which this
      // machine's closed network refuses.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
});
