import { expect, test } from "@playwright/test";
import { addApp, ADMIN_PASSWORD, hydrated, signIn, unique } from "./helpers";

test("admin creates an account, adds an API key shown once, and a SCIM client uses it", async ({ page, context }) => {
  // Every page of the flow hydrates cleanly.
  const errors: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  await hydrated(page);
  await page.getByRole("link", { name: "Accounts" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Accounts" })).toBeVisible();
  const name = unique("Acme ");
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Create account" }).click();
  // Creating an account opens it.
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  const tabs = page.getByRole("navigation", { name: "Account" });

  // The tenant URL with a copy button.
  const tenant = await page.locator("#tenant-url").inputValue();
  expect(tenant).toMatch(/\/gateway\/api\/scim\/account\/[A-Za-z0-9_-]{22}$/);
  await page.locator('[data-copy-for="tenant-url"]').click();
  await expect(page.locator('[data-copy-for="tenant-url"]')).toHaveText("Copied");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(tenant);

  // Add API Key: name, Permissions Inherited from (Account Administrators preselected), shown once.
  await tabs.getByRole("link", { name: "API keys" }).click();
  await page.getByLabel("Name").fill("Microsoft Entra ID");
  await expect(page.getByLabel(/Account Administrators/)).toBeChecked();
  await page.getByRole("button", { name: "Add API Key" }).click();
  await expect(page.getByText("will not be shown again")).toBeVisible();
  const key = await page.locator("#new-api-key").inputValue();
  expect(key).toMatch(/^pvs_[A-Za-z0-9_-]{43}$/);
  // The form is ready for the next key.
  await expect(page.getByLabel("Name")).toHaveValue("");
  expect(await page.locator("#new-key-tenant-url").inputValue()).toBe(tenant);
  const row = page.locator('tr[data-key="Microsoft Entra ID"]');
  await expect(row).toContainText(key.slice(0, 12));
  await expect(row).toContainText("Account Administrators");
  await expect(row).toContainText("Active");

  // A SCIM client provisions a user with it; the user shows up in the console.
  const created = await page.request.post(`${tenant}/Users`, {
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/scim+json" },
    data: { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "jay.young@contoso.com", displayName: "Jay Young" },
  });
  expect(created.status()).toBe(201);
  await tabs.getByRole("link", { name: "Users" }).click();
  await page.getByLabel("Search").fill("jay");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.locator('tr[data-user="jay.young@contoso.com"]')).toContainText("Microsoft Entra ID");
  await page.getByRole("link", { name: "jay.young@contoso.com" }).click();
  await expect(page.locator("pre.json")).toContainText('"userName": "jay.young@contoso.com"');

  // Reloading does not show the key again; revoking stops it.
  await page.goto(new URL(page.url()).pathname.replace(/\/users\/.*$/, "/api-keys"));
  await expect(page.getByText("will not be shown again")).toHaveCount(0);
  await hydrated(page);
  // Revoking asks first, naming what it breaks; Cancel changes nothing.
  const keyRow = page.locator('tr[data-key="Microsoft Entra ID"]');
  await keyRow.getByRole("button", { name: "Revoke the key Microsoft Entra ID" }).click();
  const confirm = page.getByRole("dialog", { name: "Revoke the key Microsoft Entra ID?" });
  await expect(confirm).toContainText("Every client that uses this key");
  await confirm.getByRole("button", { name: "Cancel" }).click();
  await expect(confirm).toBeHidden();
  await expect(keyRow).toContainText("Active");
  await keyRow.getByRole("button", { name: "Revoke the key Microsoft Entra ID" }).click();
  await confirm.getByRole("button", { name: "Revoke key" }).click();
  await expect(keyRow).toContainText("Revoked");
  const refused = await page.request.get(`${tenant}/Users`, { headers: { Authorization: `Bearer ${key}` } });
  expect(refused.status()).toBe(401);

  // Each tab loaded directly hydrates without errors too.
  const base = new URL(page.url()).pathname.replace(/\/api-keys$/, "");
  for (const tab of ["", "/user-groups", "/api-keys", "/users"]) {
    await page.goto(base + tab);
    await hydrated(page);
  }
  expect(errors).toEqual([]);
});

test("user groups: add a Viewer group and change its role", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  await page.goto("/access/accounts");
  await hydrated(page);
  const name = unique("Groups ");
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "User groups" }).click();
  await expect(page.locator('tr[data-group="Account Administrators"]')).toContainText("Built in");
  await page.getByLabel("Name").fill("Auditors");
  await page.getByLabel("Role", { exact: true }).selectOption("account_viewer");
  await page.getByRole("button", { name: "Add group" }).click();
  const row = page.locator('tr[data-group="Auditors"]');
  await expect(row).toContainText("Account Viewer");
  await row.getByLabel("Role of Auditors").selectOption("account_admin");
  await row.getByRole("button", { name: "Set role" }).click();
  await expect(row.locator("td").nth(2)).toHaveText("Account Admin");
});

test("Copy still helps where the browser will not copy (an http:// address)", async ({ page }) => {
  // What a page on a plain http:// address other than localhost gets: no Clipboard API, and a
  // copy command that does nothing.
  await page.addInitScript(() => {
    Object.defineProperty(window, "isSecureContext", { value: false });
    Object.defineProperty(Navigator.prototype, "clipboard", { get: () => undefined });
    document.execCommand = () => false;
  });
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  await page.goto("/access/accounts");
  await hydrated(page);
  await page.getByLabel("Name").fill(unique("Copy "));
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#tenant-url")).toBeVisible();
  await hydrated(page);
  await page.locator('[data-copy-for="tenant-url"]').click();
  await expect(page.locator('[data-copy-for="tenant-url"]')).toHaveText("Press Ctrl+C");
  await expect(page.getByText("the value is selected, press Ctrl+C")).toBeVisible();
  // The whole value is selected, ready for Ctrl+C.
  const selected = await page.evaluate(() => {
    const i = document.getElementById("tenant-url") as HTMLInputElement;
    return document.activeElement === i && i.selectionStart === 0 && i.selectionEnd === i.value.length;
  });
  expect(selected).toBe(true);
  // Ids, keys and URLs are in a monospace font.
  const font = await page.locator("#tenant-url").evaluate((e) => getComputedStyle(e).fontFamily);
  expect(font).toMatch(/mono|Menlo|Consolas/i);
});

test("ticking failure emails without an SMTP server says where they would go", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  // The check needs a server without SMTP settings (the Notifications test adds them).
  const smtp = await page.request.post("/api/notifications/get", { headers: { Accept: "application/json" } });
  test.skip((await smtp.json()).host !== "", "an SMTP server is set on this server already");
  const app = await addApp(page, "scim2", unique("Emails "));
  await page.goto(`/apps/${app}/provisioning`);
  await hydrated(page);
  const warning = page.locator("[data-smtp-missing]");
  await expect(warning).toBeHidden();
  await page.getByLabel("Send an email notification when a failure occurs").check();
  await expect(warning).toContainText("No SMTP server is set");
  await expect(page.getByText("Unsaved changes")).toBeVisible();
  // Discard puts the form back as saved.
  await page.getByRole("button", { name: "Discard" }).click();
  await expect(page.getByLabel("Send an email notification when a failure occurs")).not.toBeChecked();
  await expect(warning).toBeHidden();
  await expect(page.getByText("Unsaved changes")).toHaveCount(0);
});
