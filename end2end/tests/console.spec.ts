import { expect, test } from "@playwright/test";
import { ADMIN_PASSWORD, hydrated, signIn, unique } from "./helpers";

test("an unknown visitor is sent to sign in, and a wrong password is explained inline", async ({ page }) => {
  await page.goto("/settings/audit-log");
  await expect(page).toHaveURL(/\/login\?next=/);
  await hydrated(page);
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password", { exact: true }).fill("certainly not it");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText("The user name or password is incorrect.")).toBeVisible();
  await expect(page.getByLabel("Password", { exact: true })).toHaveAttribute("aria-invalid", "true");
});

test("admin signs in, adds a Viewer, and the Viewer cannot change anything", async ({ page, browser }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  await expect(page.locator(".topbar")).toContainText("admin");
  await hydrated(page);

  await page.getByRole("link", { name: "Console users" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Console users" })).toBeVisible();
  const viewer = unique("viewer");
  await page.locator("#new-username").fill(viewer);
  await page.locator("#new-role").selectOption("viewer");
  await page.locator("#new-password").fill("short");
  await page.getByRole("button", { name: "Add user" }).click();
  // The browser's own minlength check does not apply here; the server's message shows inline.
  await expect(page.getByText("Use at least 12 characters.")).toBeVisible();
  await page.locator("#new-password").fill("viewer's long password");
  await page.getByRole("button", { name: "Add user" }).click();
  await expect(page.getByText(`Added ${viewer}.`)).toBeVisible();
  const row = page.locator(`tr[data-user="${viewer}"]`);
  await expect(row).toContainText("Viewer");
  await expect(row).toContainText("Enabled");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  // Signing in again on the page that sign-out led to (reached without a page load) works.
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password", { exact: true }).fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();

  // The Viewer, in a browser of their own.
  const context = await browser.newContext();
  const vpage = await context.newPage();
  await signIn(vpage, viewer, "viewer's long password");
  await expect(vpage.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  await expect(vpage.locator(".topbar .badge")).toHaveText("Viewer");
  await expect(vpage.getByRole("link", { name: "Console users" })).toHaveCount(0);
  await vpage.goto("/settings/console-users");
  await expect(vpage.getByText("Only Administrators can see and manage console users.")).toBeVisible();

  // Even a hand-made request with the Viewer's valid CSRF token is refused by the server.
  await hydrated(vpage);
  const csrf = await vpage.locator('.topbar input[name="csrf"]').inputValue();
  const result = await vpage.evaluate(async (token) => {
    const body = new URLSearchParams({ csrf: token, username: "sneaky-admin", role: "administrator", password: "a long enough password" });
    const r = await fetch("/api/console_users/add", { method: "POST", body, headers: { Accept: "application/json" } });
    return { status: r.status, text: await r.text() };
  }, csrf);
  expect(result.status).toBe(403);
  expect(result.text).toContain("Forbidden");

  // The audit log shows what happened, to the Viewer as well.
  await vpage.getByRole("link", { name: "Audit log" }).click();
  await expect(vpage.getByRole("heading", { level: 1, name: "Audit log" })).toBeVisible();
  await expect(vpage.locator("table.audit")).toContainText("Console user: created");
  await expect(vpage.locator('table.audit td[data-action="console_user.create"]').first()).toBeVisible();
  await context.close();
});

test("the audit log filters and pages", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  await page.goto("/settings/audit-log");
  await hydrated(page);
  await page.locator("#f-outcome").selectOption("failure");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/outcome=failure/);
  const outcomes = page.locator("table.audit tbody .status");
  await expect(outcomes.first()).toHaveText("failure");
  for (const text of await outcomes.allTextContents()) expect(text).toBe("failure");
  await page.locator("#f-from").fill("2001-01-01");
  await page.locator("#f-to").fill("2001-01-02");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByText("No entries match.")).toBeVisible();
});

test("the console fits a phone's width", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  await hydrated(page);
  // The navigation folds behind Menu, opens on it, and folds again after a move.
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Audit log", exact: true })).toBeHidden();
  await page.getByRole("checkbox", { name: "Menu" }).check();
  await expect(nav.getByRole("link", { name: "Audit log", exact: true })).toBeVisible();
  await nav.getByRole("link", { name: "Audit log", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Audit log" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Overview", exact: true })).toBeHidden();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await context.close();
});

test("Settings > Notifications: SMTP settings, a refused test email, the outbox", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Notifications" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Notifications" })).toBeVisible();
  await hydrated(page);
  // Without a host the server refuses, on the host field.
  await page.getByLabel("From address").fill("provisio@contoso.com");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#host-error")).toContainText("host name");
  // Saved with a password: it never comes back, the field says it is saved.
  await page.getByLabel("SMTP host").fill("127.0.0.1");
  await page.getByLabel("Port", { exact: true }).fill("1");
  await page.getByLabel("TLS").selectOption("none");
  await page.getByLabel("User name").fill("provisio");
  await page.getByLabel("Password", { exact: true }).fill("e2e-smtp-password");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Saved. Waiting emails are sent now.")).toBeVisible();
  await expect(page.getByLabel("Password", { exact: true })).toHaveAttribute("placeholder", /Saved/);
  await expect(page.getByLabel("Password", { exact: true })).toHaveValue("");
  // Nothing listens on port 1: the test email says what went wrong.
  await page.getByLabel("Send a test email to").fill("me@contoso.com");
  await page.getByRole("button", { name: "Send test email" }).click();
  await expect(page.locator("#test_to-error")).toContainText("did not accept");
  await expect(page.getByRole("heading", { name: "Outbox" })).toBeVisible();
});
