import { expect, Page, test } from "@playwright/test";
import { addApp, ADMIN_PASSWORD, hydrated, signIn, unique } from "./helpers";

/** Every screen of the console, with one of each kind of object to show. */
async function everyScreen(page: Page): Promise<string[]> {
  const tag = unique("l").toLowerCase();
  // An account with a key, a user, a group with the user in it, an application.
  await page.goto("/access/accounts");
  await hydrated(page);
  await page.getByLabel("Name").fill(`Layout account ${tag} with a long name to see it wrap`);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { level: 1, name: /Layout account/ })).toBeVisible();
  const account = page.url().replace(/^.*\/access\/accounts\//, "");
  await page.goto(`/access/accounts/${account}/api-keys`);
  await hydrated(page);
  await page.getByLabel("Name").fill("Microsoft Entra ID provisioning key");
  await page.getByRole("button", { name: "Add API Key" }).click();
  await expect(page.locator("#new-api-key")).toBeVisible();

  await page.goto("/directory/users/new");
  await hydrated(page);
  await page.getByLabel("User principal name (required)").fill(`a.very.long.user.principal.name.${tag}@subsidiary.contoso.com`);
  await page.getByLabel("Display name (required)").fill(`Layout ${tag}`);
  await page.getByLabel("Department").fill("Research and Development");
  await page.getByRole("button", { name: "Create user" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Layout ${tag}` })).toBeVisible();
  const user = page.url().replace(/^.*\/directory\/users\//, "");

  await page.goto("/directory/groups");
  await hydrated(page);
  await page.getByLabel("Name").fill(`Layout group ${tag}`);
  await page.getByRole("button", { name: "Create group" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Layout group ${tag}` })).toBeVisible();
  const group = page.url().replace(/^.*\/directory\/groups\//, "");
  await hydrated(page);
  await page.getByLabel(/Add a member/).fill(`a.very.long.user.principal.name.${tag}@subsidiary.contoso.com`);
  await page.getByRole("button", { name: "Add member" }).click();
  await expect(page.getByText("1 direct member")).toBeVisible();

  const app = await addApp(page, "harness", `Harness ${tag}`);

  return [
    "/",
    "/directory/users",
    "/directory/users/new",
    `/directory/users/${user}`,
    "/directory/deleted-users",
    "/directory/groups",
    `/directory/groups/${group}`,
    "/directory/import",
    "/apps",
    "/apps/gallery?template=harness",
    `/apps/${app}`,
    `/apps/${app}/users-and-groups`,
    `/apps/${app}/users-and-groups/add`,
    `/apps/${app}/provisioning`,
    `/apps/${app}/provision-on-demand`,
    `/apps/${app}/provisioning-logs`,
    `/apps/${app}/preview`,
    `/apps/${app}/drift`,
    `/apps/${app}/provisioning/user`,
    `/apps/${app}/provisioning/user/attribute?target=userName`,
    `/apps/${app}/provisioning/user/scoping`,
    "/provisioning-logs",
    "/access/accounts",
    `/access/accounts/${account}`,
    `/access/accounts/${account}/user-groups`,
    `/access/accounts/${account}/api-keys`,
    `/access/accounts/${account}/users`,
    "/settings/notifications",
    "/settings/console-users",
    "/settings/audit-log",
  ];
}

/** How far the page reaches beyond the viewport (0 when it fits). */
async function overflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

test("no screen is wider than the window, on a phone or a laptop", async ({ page, browser }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  const screens = await everyScreen(page);
  const state = await page.context().storageState();
  for (const width of [390, 1280]) {
    const context = await browser.newContext({ viewport: { width, height: 900 }, storageState: state });
    const p = await context.newPage();
    const wide: string[] = [];
    for (const screen of screens) {
      await p.goto(screen);
      await hydrated(p);
      const by = await overflow(p);
      if (by > 0) wide.push(`${screen} by ${by}px`);
    }
    await context.close();
    expect(wide, `screens wider than ${width}px`).toEqual([]);
  }
  // The sign-in page too (signed out).
  for (const width of [390, 1280]) {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    const p = await context.newPage();
    await p.goto("/login");
    await hydrated(p);
    expect(await overflow(p), `/login at ${width}px`).toBeLessThanOrEqual(0);
    await context.close();
  }
});

test("the mapping page's heading names the application on every load", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  const tag = unique("h").toLowerCase();
  const app = await addApp(page, "harness", `Harness ${tag}`);
  const heading = `Attribute Mapping: Synchronize users to Harness ${tag}`;
  for (let i = 0; i < 8; i++) {
    const response = await page.goto(`/apps/${app}/provisioning/user`);
    // As served (before hydration) ...
    expect(await response!.text()).toContain(heading);
    // ... and once the wasm has taken over.
    await hydrated(page);
    await expect(page.getByRole("heading", { level: 2 })).toContainText([heading]);
  }
  // Reached from the Provisioning page without a page load.
  await page.goto(`/apps/${app}/provisioning`);
  await hydrated(page);
  await page.getByRole("link", { name: `Synchronize users to Harness ${tag}` }).click();
  await expect(page.getByRole("heading", { name: heading })).toBeVisible();
});

test("dark mode follows the system, and times show in the browser's time zone", async ({ browser }) => {
  const context = await browser.newContext({ colorScheme: "dark", timezoneId: "Asia/Kolkata" });
  const page = await context.newPage();
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  await hydrated(page);
  // The page's background (on the root element) and the cards on it are dark, the text light.
  const colours = await page.evaluate(() => [
    getComputedStyle(document.documentElement).backgroundColor,
    getComputedStyle(document.querySelector(".card")!).backgroundColor,
    getComputedStyle(document.querySelector("h1")!).color,
  ]);
  const sum = (c: string) => (c.match(/\d+/g) ?? []).slice(0, 3).map(Number).reduce((a, b) => a + b, 0);
  expect(sum(colours[0]), `page ${colours[0]}`).toBeLessThan(120);
  expect(sum(colours[1]), `card ${colours[1]}`).toBeLessThan(120);
  expect(sum(colours[2]), `heading ${colours[2]}`).toBeGreaterThan(600);
  await page.goto("/settings/audit-log");
  await hydrated(page);
  const first = page.locator("table.audit time").first();
  await expect(first).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC\+05:30$/);
  await expect(first).toHaveAttribute("title", /UTC$/);
  await context.close();
});
