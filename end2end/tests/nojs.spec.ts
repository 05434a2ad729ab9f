import { expect, test } from "@playwright/test";
import { ADMIN_PASSWORD, signIn, unique } from "./helpers";

// The same console with JavaScript disabled: every page renders on the server and every form posts.

test("sign-in and a wrong password without JavaScript", async ({ page }) => {
  await signIn(page, "admin", "wrong, and without javascript", false);
  await expect(page.getByText("The user name or password is incorrect.")).toBeVisible();
  await signIn(page, "admin", ADMIN_PASSWORD, false);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  await expect(page.locator("body")).not.toHaveAttribute("data-hydrated", "true");
});

test("a console form posts without JavaScript", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD, false);
  await page.goto("/settings/console-users");
  const name = unique("nojs");
  await page.locator("#new-username").fill(name);
  await page.locator("#new-password").fill("no script long password");
  await page.getByRole("button", { name: "Add user" }).click();
  await expect(page.locator(`tr[data-user="${name}"]`)).toBeVisible();

  // An invalid post comes back to the same page with the error next to its field.
  await page.locator("#new-username").fill("x");
  await page.locator("#new-password").fill("no script long password");
  await page.getByRole("button", { name: "Add user" }).click();
  await expect(page.getByText("Use 3 to 64 letters")).toBeVisible();

  // Filters are a GET form.
  await page.goto("/settings/audit-log");
  await page.locator("#f-actor").fill("admin");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/actor=admin/);
  await expect(page.locator("table.audit")).toContainText("Console user: created");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login/);
});

test("an API key is created and shown once without JavaScript", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD, false);
  await page.goto("/access/accounts");
  await page.getByLabel("Name").fill(unique("NoJS "));
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/access\/accounts\/[A-Za-z0-9_-]{22}$/);
  await expect(page.locator("#tenant-url")).toHaveValue(/\/gateway\/api\/scim\/account\//);
  await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "API keys" }).click();
  await page.getByLabel("Name").fill("okta");
  await page.getByLabel("Expires").selectOption("90");
  await page.getByRole("button", { name: "Add API Key" }).click();
  await expect(page.getByText("will not be shown again")).toBeVisible();
  await expect(page.locator("#new-api-key")).toHaveValue(/^pvs_/);
  await expect(page.locator('tr[data-key="okta"]')).toContainText("Active");
  await page.reload();
  await expect(page.getByText("will not be shown again")).toHaveCount(0);
  // Revoking asks first without JavaScript too (a popover opened by its button).
  const row = page.locator('tr[data-key="okta"]');
  await row.getByRole("button", { name: "Revoke the key okta" }).click();
  const confirm = page.getByRole("dialog", { name: "Revoke the key okta?" });
  await expect(confirm).toContainText("Every client that uses this key");
  await confirm.getByRole("button", { name: "Revoke key" }).click();
  await expect(page.locator('tr[data-key="okta"]')).toContainText("Revoked");
});

test("directory and applications without JavaScript", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD, false);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  const tag = unique("nj").toLowerCase();
  await page.goto("/directory/users/new");
  await page.getByLabel("User principal name (required)").fill(`nils.${tag}@contoso.com`);
  await page.getByLabel("Display name (required)").fill(`Nils ${tag}`);
  await page.getByRole("button", { name: "Create user" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Nils ${tag}` })).toBeVisible();

  await page.goto("/directory/groups");
  await page.getByLabel("Name").fill(`NoScript ${tag}`);
  await page.getByRole("button", { name: "Create group" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `NoScript ${tag}` })).toBeVisible();
  await page.getByLabel(/Add a member/).fill(`nils.${tag}@contoso.com`);
  await page.getByRole("button", { name: "Add member" }).click();
  await expect(page.locator(`tr[data-member="Nils ${tag}"]`)).toBeVisible();

  await page.goto("/directory/import");
  await page.getByLabel(/^File/).setInputFiles({
    name: "users.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(`userPrincipalName,displayName\nola.${tag}@contoso.com,Ola ${tag}\n`),
  });
  await page.getByRole("button", { name: "Upload and preview" }).click();
  await page.getByRole("button", { name: "Import 1 row" }).click();
  await expect(page.getByText(/Imported: 1 users created/)).toBeVisible();

  await page.goto("/apps/gallery?template=scim2");
  await page.getByLabel("Name").fill(`Generic ${tag}`);
  await page.getByRole("button", { name: "Add" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Generic ${tag}` })).toBeVisible();
  await page.getByRole("navigation", { name: "Application" }).getByRole("link", { name: "Users and groups" }).click();
  await page.getByLabel("User or group").fill(`NoScript ${tag}`);
  await page.getByRole("button", { name: "Assign", exact: true }).click();
  await expect(page.locator(`tr[data-assignment="NoScript ${tag}"]`)).toBeVisible();

  // Add assignment: a search, ticked boxes and a plain post; the page says what it did.
  await page.getByRole("link", { name: "Add users and groups" }).click();
  await page.getByLabel("Search").fill(tag);
  await page.getByLabel("Show").selectOption("user");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("checkbox", { name: `Nils ${tag}` }).check();
  await page.getByRole("checkbox", { name: `Ola ${tag}` }).check();
  await page.getByRole("button", { name: "Assign selected" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Assigned 2 users." })).toBeVisible();
  await page.getByRole("link", { name: "See the assignments" }).click();
  await expect(page.locator(`tr[data-assignment="Ola ${tag}"]`)).toContainText("Not provisioned yet");

  // The users list: sorted by a heading link, then a bulk action behind its confirmation.
  await page.goto(`/directory/users?q=${tag}`);
  await page.getByRole("link", { name: "User principal name" }).click();
  await expect(page.getByRole("columnheader", { name: /User principal name/ })).toHaveAttribute("aria-sort", "ascending");
  await page.getByRole("checkbox", { name: `Select Ola ${tag}` }).check();
  await page.getByRole("button", { name: "Disable sign-in for the selected users" }).click();
  await page.getByRole("dialog", { name: "Disable sign-in for the selected users?" }).getByRole("button", { name: "Disable sign-in" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Disabled sign-in for 1 user." })).toBeVisible();
  await expect(page.locator(`tr[data-upn="ola.${tag}@contoso.com"]`)).toContainText("Disabled");
});

test("provisioning configuration without JavaScript", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD, false);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  const tag = unique("np").toLowerCase();
  await page.goto("/access/accounts");
  await page.getByLabel("Name").fill(`Target ${tag}`);
  await page.getByRole("button", { name: "Create account" }).click();
  const tenant = await page.locator("#tenant-url").inputValue();
  await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "API keys" }).click();
  await page.getByLabel("Name").fill("provisio");
  await page.getByRole("button", { name: "Add API Key" }).click();
  const key = await page.locator("#new-api-key").inputValue();

  await page.goto("/apps/gallery?template=scim2");
  await page.getByLabel("Name").fill(`Generic ${tag}`);
  await page.getByRole("button", { name: "Add" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Generic ${tag}` })).toBeVisible();
  await page.getByRole("navigation", { name: "Application" }).getByRole("link", { name: "Provisioning", exact: true }).click();

  // Test Connection: the result survives the post's redirect.
  await page.getByLabel("Provisioning Mode").selectOption("automatic");
  await page.getByLabel("Tenant URL").fill(tenant);
  await page.getByLabel("Secret Token").fill(key);
  await page.getByRole("button", { name: "Test Connection" }).click();
  await expect(page.locator('[data-connection="ok"]')).toContainText("authorized");

  // Save with provisioning On.
  await page.getByLabel("Provisioning Mode").selectOption("automatic");
  await page.getByLabel("Tenant URL").fill(tenant);
  await page.getByLabel("Secret Token").fill(key);
  await page.getByLabel("On", { exact: true }).check();
  await page.getByRole("button", { name: "Save" }).first().click();
  await expect(page.getByText(/^Saved \(\d+ changes\)\./)).toBeVisible();
  await expect(page.getByLabel("Provisioning Mode")).toHaveValue("automatic");
  await expect(page.getByLabel("Secret Token")).toHaveAttribute("placeholder", /Saved/);

  // Edit a mapping: the fields follow the mapping type without JavaScript (CSS).
  await page.getByRole("link", { name: `Synchronize users to Generic ${tag}` }).click();
  await page.locator('tr[data-target="title"]').getByRole("link", { name: "Edit" }).click();
  await expect(page.getByLabel("Source attribute")).toBeVisible();
  await page.getByLabel("Mapping type").selectOption("constant");
  await expect(page.getByLabel("Source attribute")).toBeHidden();
  await page.getByLabel("Constant Value").fill("Employee");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator('tr[data-target="title"]')).toContainText('"Employee"');

  // A scoping filter.
  await page.getByRole("link", { name: "Edit scoping filters" }).click();
  await page.getByLabel("Attribute Name").selectOption("accountEnabled");
  await page.getByLabel("Operator").selectOption("IS TRUE");
  await page.getByRole("button", { name: "Add clause" }).click();
  await expect(page.locator(".filter-text")).toHaveText("accountEnabled IS TRUE");

  // Provision on demand: the report survives the post's redirect.
  const appUrl = page.url().replace(/\/provisioning\/.*$/, "");
  await page.goto("/directory/users/new");
  await page.getByLabel("User principal name (required)").fill(`odin.${tag}@contoso.com`);
  await page.getByLabel("Display name (required)").fill(`Odin ${tag}`);
  await page.getByRole("button", { name: "Create user" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Odin ${tag}` })).toBeVisible();
  await page.goto(`${appUrl}/users-and-groups`);
  await page.getByLabel("User or group").fill(`odin.${tag}@contoso.com`);
  await page.getByRole("button", { name: "Assign", exact: true }).click();
  await page.goto(`${appUrl}/provision-on-demand`);
  await page.getByLabel("User (user principal name)").fill(`odin.${tag}@contoso.com`);
  await page.getByRole("button", { name: "Provision", exact: true }).click();
  // Provisioning is On, so the engine may have provisioned Odin already (or be doing it: then
  // matching finds the user and on demand updates it instead of creating a second one).
  await expect(page.locator("[data-report]")).toContainText(/Create Success|Update Success|Other Skipped/);

  // The expression tester and its what-if post as plain forms; the outcome follows the redirect.
  await page.goto(`${appUrl}/provisioning/user/attribute?target=displayName`);
  await page.getByLabel("Mapping type").selectOption("expression");
  await page.getByLabel("Expression", { exact: true }).fill("ToUpper([displayName])");
  await page.getByLabel("User (user principal name)").fill(`odin.${tag}@contoso.com`);
  await page.getByRole("button", { name: "Test expression" }).click();
  await expect(page.locator("[data-expression-result] [data-value]")).toHaveText(`"ODIN ${tag.toUpperCase()}"`);
  await expect(page.locator('[data-trace] [data-step="ToUpper"] .trace-args')).toContainText(`"Odin ${tag}"`);
  await page.getByLabel("Try it on the users in scope").selectOption("all");
  await page.getByRole("button", { name: "Try on users in scope" }).click();
  await expect(page.locator("[data-survey] [role=status]")).toContainText(/Evaluated for 1 user in scope: 1 with a value/);

  // Preview of the next cycle, narrowed to updates, as a plain GET form.
  await page.goto(`${appUrl}/preview`);
  await page.getByLabel("Show").selectOption("Update");
  await page.getByRole("button", { name: "Preview the next cycle" }).click();
  await expect(page).toHaveURL(/run=1&action=Update/);
  await expect(page.locator("[data-preview-counts]")).toBeVisible();

  // A group with Odin, assigned, then provisioned on demand with him as its member.
  await page.goto("/directory/groups");
  await page.getByLabel("Name").fill(`Crew ${tag}`);
  await page.getByRole("button", { name: "Create group" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Crew ${tag}` })).toBeVisible();
  await page.getByLabel(/Add a member/).fill(`odin.${tag}@contoso.com`);
  await page.getByRole("button", { name: "Add member" }).click();
  await expect(page.locator(`tr[data-member="Odin ${tag}"]`)).toBeVisible();
  await page.goto(`${appUrl}/users-and-groups`);
  await page.getByLabel("User or group").fill(`Crew ${tag}`);
  await page.getByRole("button", { name: "Assign", exact: true }).click();
  await page.goto(`${appUrl}/provision-on-demand`);
  await page.getByLabel("Group (name)").fill(`Crew ${tag}`);
  await page.getByLabel("Members (user principal names, up to 5)").fill(`odin.${tag}@contoso.com`);
  await page.getByRole("button", { name: "Provision group" }).click();
  // The engine may have been first (provisioning is On): then the group is updated or in sync.
  await expect(page.locator("[data-report]").last()).toContainText(
    new RegExp(`Crew ${tag}: (Create Success|Update Success|Other Skipped)`),
  );

  // Synchronization details render on the server: the job and its cycles.
  await page.goto(`${appUrl}/provisioning`);
  await expect(page.getByRole("heading", { name: "Synchronization details" })).toBeVisible();
  await expect(page.getByRole("progressbar", { name: "Current cycle" })).toBeVisible();
  await expect(page.locator("[data-job-state]")).toHaveText(/Active|NotRun/);
  // An adaptation forced by a plain form post, in effect after the redirect.
  await page.getByText("Change what Provisio adapts to").click();
  const never = page.getByLabel("Removes group members by value (Entra's form)");
  await never.selectOption("never");
  await page.locator("form.compat-choice", { has: never }).getByRole("button", { name: "Save" }).click();
  await expect(page.locator('tr[data-adaptation="members_by_value"]')).toHaveAttribute("data-choice", "never");
  await expect(page.locator('tr[data-adaptation="members_by_value"]')).toContainText("Removes group members by path");
});

test("on a phone the navigation opens behind Menu without JavaScript", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, "admin", ADMIN_PASSWORD, false);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Users", exact: true })).toBeHidden();
  await page.getByRole("checkbox", { name: "Menu" }).check();
  await nav.getByRole("link", { name: "Users", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Users" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Users", exact: true })).toBeHidden();
  expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  await context.close();
});
