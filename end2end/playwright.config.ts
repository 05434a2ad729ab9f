import { defineConfig } from "@playwright/test";

// The server is started by scripts/test.sh (a fresh data directory, a random port) and passed in.
const baseURL = process.env.PROVISIO_E2E_URL ?? "http://127.0.0.1:3000";

// Debian's Chromium: Playwright cannot download its own browser here.
const launchOptions = {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
};

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: { baseURL, launchOptions, trace: "retain-on-failure", screenshot: "only-on-failure" },
  projects: [
    { name: "javascript", testMatch: /(console|access|directory|provisioning|layout)\.spec\.ts/ },
    { name: "no-javascript", testMatch: /nojs\.spec\.ts/, use: { javaScriptEnabled: false } },
  ],
});
