// node shot.mjs URL width out path...  (signs in as admin)
import { chromium } from "@playwright/test";
const [url, width, out, ...paths] = process.argv.slice(2);
const b = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox"] });
const p = await b.newPage({ viewport: { width: Number(width), height: 900 } });
await p.goto(url + "/login");
await p.getByLabel("User name").fill("admin");
await p.getByLabel("Password").fill("e2e admin password");
await p.getByRole("button", { name: "Sign in" }).click();
await p.waitForURL((u) => !u.pathname.startsWith("/login"));
let i = 0;
for (const path of paths) {
  await p.goto(url + path);
  await p.waitForTimeout(800);
  await p.screenshot({ path: `${out}-${i++}.png`, fullPage: true });
}
await b.close();
