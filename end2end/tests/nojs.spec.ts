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
  await expect(page.locator("table.audit")).toContainText("console_user.create");

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
});
