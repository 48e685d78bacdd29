// The web UI's figures (bench/ui.measure.ts): `npm run measure`.
import { defineConfig } from "@playwright/test";

import base from "./playwright.config";

export default defineConfig({
  ...base,
  testDir: "bench",
  testMatch: "*.measure.ts",
  timeout: 0,
});
