import { expect, Page, test } from "@playwright/test";
import { ADMIN_PASSWORD, addApp, hydrated, signIn, unique } from "./helpers";

/** The SCIM side of the seed: an account and an API key (Access Management), shown once. */
async function accountWithKey(page: Page, name: string): Promise<{ tenant: string; key: string }> {
  await page.goto("/access/accounts");
  await hydrated(page);
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  const tenant = await page.locator("#tenant-url").inputValue();
  await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "API keys" }).click();
  await hydrated(page);
  await page.getByLabel("Name").fill("Provisio");
  await page.getByRole("button", { name: "Add API Key" }).click();
  const key = await page.locator("#new-api-key").inputValue();
  return { tenant, key };
}

test("admin configures automatic provisioning the way the seed describes", async ({ page }) => {
  const errors: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  const tag = unique("p").toLowerCase();
  const { tenant, key } = await accountWithKey(page, `Harness ${tag}`);

  // A directory user to test expressions on.
  await page.goto("/directory/users/new");
  await hydrated(page);
  await page.getByLabel("User principal name (required)").fill(`zoe.${tag}@contoso.com`);
  await page.getByLabel("Display name (required)").fill(`Zoë ${tag}`);
  await page.getByLabel("First name").fill("Zoë");
  await page.getByLabel("Last name").fill("Ångström");
  await page.getByLabel("Department").fill("Sales");
  await page.getByRole("button", { name: "Create user" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Zoë ${tag}` })).toBeVisible();

  // Add Harness from the gallery, open its Provisioning tab.
  await page.goto("/apps/gallery?template=harness");
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill(`Harness ${tag}`);
  await page.getByRole("button", { name: "Add" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Harness ${tag}` })).toBeVisible();
  await page.getByRole("navigation", { name: "Application" }).getByRole("link", { name: "Provisioning", exact: true }).click();
  await expect(page.getByLabel("Provisioning Mode")).toBeVisible();
  await hydrated(page);
  // A new application's first cycle is an initial one anyway: nothing "changed".
  await expect(page.getByText("Mappings or scoping filters changed")).toHaveCount(0);

  // Automatic; Admin Credentials; a wrong token first, then the right one.
  await page.getByLabel("Provisioning Mode").selectOption("automatic");
  await page.getByLabel("Tenant URL").fill(tenant);
  await page.getByLabel("Secret Token").fill("not-the-key");
  await page.getByRole("button", { name: "Test Connection" }).click();
  await expect(page.locator('[data-connection="failed"]')).toContainText("HTTP status: 401");
  await expect(page.locator('[data-connection="failed"]')).toContainText("admin");
  await page.getByLabel("Secret Token").fill(key);
  await page.getByRole("button", { name: "Test Connection" }).click();
  await expect(page.locator('[data-connection="ok"]')).toContainText("The supplied credentials are authorized to enable provisioning.");

  // Settings, On, Save.
  await page.getByLabel("Notification Email").fill("ops@contoso.com");
  await page.getByLabel("Send an email notification when a failure occurs").check();
  await expect(page.getByText("Unsaved changes")).toBeVisible();
  await page.getByLabel("Scope", { exact: true }).selectOption("assigned");
  await page.getByLabel("On", { exact: true }).check();
  await page.getByRole("button", { name: "Save" }).first().click();
  await expect(page.getByText(/^Saved \(\d+ changes\)\./)).toBeVisible();
  await expect(page.getByLabel("Secret Token")).toHaveAttribute("placeholder", /Saved/);
  await expect(page.getByLabel("Secret Token")).toHaveValue("");

  // Review the users mapping; edit displayName into an expression, tested on a user first.
  await page.getByRole("link", { name: `Synchronize users to Harness ${tag}` }).click();
  await expect(page.getByRole("heading", { name: `Attribute Mapping: Synchronize users to Harness ${tag}` })).toBeVisible();
  await expect(page.locator('tr[data-target="userName"]')).toContainText("userPrincipalName");
  await expect(page.locator('tr[data-target="userName"]')).toContainText("1");
  await hydrated(page);
  // The whole mapping tried on the users in scope, before anything is provisioned.
  await page.getByLabel("Users", { exact: true }).selectOption("all");
  await page.getByRole("button", { name: "Try the mapping" }).click();
  await expect(page.locator("[data-whatif-summary]")).toContainText(/Evaluated for \d+ users? in scope/);
  await expect(page.locator('[data-whatif] tr[data-attribute="userName"]')).toBeVisible();
  await page.locator('tr[data-target="displayName"]').getByRole("link", { name: "Edit" }).click();
  await expect(page.getByRole("heading", { name: "Edit attribute" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Mapping type").selectOption("expression");
  await expect(page.getByLabel("Source attribute")).toBeHidden();
  await page.getByLabel("Expression", { exact: true }).fill('NormalizeDiacritics(Join(" ", [givenName], ToUpper([surname])))');
  await page.getByLabel("User (user principal name)").fill(`zoe.${tag}@contoso.com`);
  await page.getByRole("button", { name: "Test expression" }).click();
  await expect(page.locator("[data-expression-result] [data-value]")).toHaveText('"Zoe ANGSTROM"');
  // The trace shows each call with its arguments: ToUpper got the surname, Join the rest.
  await expect(page.locator('[data-trace] [data-step="ToUpper"] .trace-result')).toHaveText('"ÅNGSTRÖM"');
  await expect(page.locator('[data-trace] [data-step="Join"] .trace-args').first()).toContainText('"Zoë"');
  // The what-if over the users in scope, without saving anything.
  await page.getByLabel("Try it on the users in scope").selectOption("all");
  await page.getByRole("button", { name: "Try on users in scope" }).click();
  await expect(page.locator("[data-survey] [role=status]")).toContainText(/Evaluated for \d+ users? in scope/);
  // A broken expression is reported with its position, and not saved.
  await page.getByLabel("Expression", { exact: true }).fill('Join(" ", [givenName]');
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#expression-error")).toContainText("position");
  await page.getByLabel("Expression", { exact: true }).fill('NormalizeDiacritics(Join(" ", [givenName], ToUpper([surname])))');
  // Preview before saving: what the change would do, nothing saved (the page stays on the form).
  await page.getByRole("button", { name: "Preview", exact: true }).click();
  await expect(page.locator("[data-change-preview] [role=status]")).toContainText(/Saving this|changes nothing/);
  await expect(page.getByRole("heading", { name: "Edit attribute" })).toBeVisible();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator('tr[data-target="displayName"]')).toContainText("Expression");
  await expect(page.locator('tr[data-target="displayName"]')).toContainText("NormalizeDiacritics");

  // A scoping filter: only Sales.
  await page.getByRole("link", { name: "Edit scoping filters" }).click();
  await hydrated(page);
  await page.getByLabel("Attribute Name").selectOption("department");
  await page.getByLabel("Operator").selectOption("EQUALS");
  await page.getByLabel("Value").fill("Sales");
  await page.getByRole("button", { name: "Preview", exact: true }).click();
  await expect(page.locator("[data-change-preview]")).toContainText('department EQUALS "Sales"');
  await expect(page.locator(".filter-text")).toHaveCount(0);
  await page.getByRole("button", { name: "Add clause" }).click();
  await expect(page.locator(".filter-text")).toHaveText('department EQUALS "Sales"');
  // An integer operator refuses text.
  await page.getByLabel("Scoping filter", { exact: true }).selectOption("0");
  await page.getByLabel("Attribute Name").selectOption("employeeId");
  await page.getByLabel("Operator").selectOption("Greater_Than");
  await page.getByLabel("Value").fill("ten");
  await page.getByRole("button", { name: "Add clause" }).click();
  await expect(page.locator("#value-error")).toContainText("whole numbers");

  // Back on the Provisioning page: the next cycle is an initial one, and Provisioning is On.
  await page.goto(page.url().replace(/\/user\/scoping$/, ""));
  await expect(page.getByLabel("On", { exact: true })).toBeChecked();
  await expect(page.getByLabel("Tenant URL")).toHaveValue(tenant);
  // Assign the user with a provisioned role, then provision it on demand: the five steps.
  const tabs = page.getByRole("navigation", { name: "Application" });
  await tabs.getByRole("link", { name: "Users and groups" }).click();
  await hydrated(page);
  await page.getByLabel("User or group").fill(`zoe.${tag}@contoso.com`);
  await page.getByLabel("Role", { exact: true }).selectOption({ label: "User" });
  await page.getByRole("button", { name: "Assign", exact: true }).click();
  await expect(page.locator(`tr[data-assignment="Zoë ${tag}"]`)).toBeVisible();
  // Provisioning is On: the assignment reaches the target by itself. The Provisioning tab's
  // synchronization details follow it without a reload.
  await tabs.getByRole("link", { name: "Provisioning", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Synchronization details" })).toBeVisible();
  await hydrated(page);
  await expect(page.locator("[data-users-managed]")).toHaveAttribute("data-users-managed", "1", { timeout: 20_000 });
  await expect(page.getByRole("progressbar", { name: "Current cycle" })).toHaveAttribute("aria-valuenow", "100", { timeout: 20_000 });
  await expect(page.locator("[data-job-state]")).toHaveText("Active");
  await expect(page.locator("table.cycles tbody tr").first()).toBeVisible();
  // The compatibility profile: an admin forces an adaptation, sees it in effect, then leaves it
  // to be learned again. The choices stay open while the live details refresh around them.
  await page.getByText("Change what Provisio adapts to").click();
  const putForPatch = page.getByLabel("Writes changes with GET and PUT instead of PATCH");
  const savePutForPatch = page.locator("form.compat-choice", { has: putForPatch }).getByRole("button", { name: "Save" });
  await putForPatch.selectOption("always");
  await savePutForPatch.click();
  await expect(page.getByText("Compatibility: auto -> put_for_patch always")).toBeVisible();
  await expect(page.locator('tr[data-adaptation="put_for_patch"]')).toHaveAttribute("data-choice", "always");
  await expect(putForPatch).toHaveValue("always");
  await putForPatch.selectOption("auto");
  await savePutForPatch.click();
  await expect(page.locator('tr[data-adaptation="put_for_patch"]')).toHaveCount(0);

  // Preview: everything is in sync, so the next cycle would change nothing.
  await tabs.getByRole("link", { name: "Preview" }).click();
  await hydrated(page);
  await page.getByRole("button", { name: "Preview the next cycle" }).click();
  await expect(page.locator('[data-preview-counts] [data-count="created"]')).toHaveText("0");
  await expect(page.locator("[data-preview]")).toContainText(/The next cycle is (an initial cycle|incremental)/);

  // Provision on demand: the five steps; the user is already in sync.
  await tabs.getByRole("link", { name: "Provision on demand" }).click();
  await hydrated(page);
  await page.getByLabel("User (user principal name)").fill(`zoe.${tag}@contoso.com`);
  await page.getByRole("button", { name: "Provision", exact: true }).click();
  await expect(page.locator("[data-report]")).toContainText("Other Skipped");
  await expect(page.locator('[data-step="Determine if user is in scope"]')).toHaveAttribute("data-status", "Success");
  await expect(page.locator('[data-step="Match user between source and target"]')).toContainText("Matched the user in the target");

  // The provisioning logs: the cycle's create and the on-demand run, filtered, one opened.
  await tabs.getByRole("link", { name: "Provisioning logs" }).click();
  await expect(page.locator(`tr[data-log="Zoë ${tag}"]`)).toHaveCount(2);
  await page.getByLabel("Action").selectOption("Create");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.locator(`tr[data-log="Zoë ${tag}"]`)).toHaveCount(1);
  await page.getByRole("link", { name: `Zoë ${tag}` }).click();
  await expect(page.locator(".log-detail")).toContainText("Perform action");
  await expect(page.locator(".log-detail")).toContainText("Summary");
  await expect(page.locator(".log-detail")).toContainText('"Zoe ANGSTROM"');
  await expect(page.getByRole("link", { name: "CSV" })).toHaveAttribute("href", /format=csv.*action=Create/);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Provisioning logs" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Provisioning logs" })).toBeVisible();
  await expect(page.locator(`tr[data-log="Zoë ${tag}"]`).first()).toContainText(`Harness ${tag}`);
  // Narrowed to the application.
  await hydrated(page);
  await page.getByLabel("Application").selectOption({ label: `Harness ${tag}` });
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/[?&]app=/);
  await expect(page.locator(`tr[data-log="Zoë ${tag}"]`)).toHaveCount(2);

  // Refused input answers 400 by design (the browser logs it); nothing else may be logged.
  expect(errors.filter((e) => !/status of 400/.test(e))).toEqual([]);
});

test("Add assignment: search, tick several, one role; then change a role", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  const tag = unique("as").toLowerCase();
  for (const [upn, name] of [[`ines.${tag}@contoso.com`, `Inés Muñoz ${tag}`], [`ivo.${tag}@contoso.com`, `Ivo Nuñez ${tag}`]]) {
    await page.goto("/directory/users/new");
    await hydrated(page);
    await page.getByLabel("User principal name (required)").fill(upn);
    await page.getByLabel("Display name (required)").fill(name);
    await page.getByRole("button", { name: "Create user" }).click();
    await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  }
  const app = await addApp(page, "harness", `Harness ${tag}`);
  await page.goto(`/apps/${app}/users-and-groups`);
  await hydrated(page);
  await expect(page.getByText("Nobody is assigned yet.")).toBeVisible();
  await page.getByRole("link", { name: "Add users and groups" }).click();
  await expect(page.getByRole("heading", { name: "Add users and groups" })).toBeVisible();
  await hydrated(page);
  // Accents and case do not matter: "MUNOZ" finds Muñoz.
  await page.getByLabel("Search").fill(`${tag}`);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.locator("tr[data-candidate]")).toHaveCount(2);
  await page.getByLabel("Search").fill(`MUNOZ ${tag}`);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.locator("tr[data-candidate]")).toHaveCount(1);
  await page.getByLabel("Search").fill(tag);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.locator("tr[data-candidate]")).toHaveCount(2);
  await page.getByRole("checkbox", { name: `Inés Muñoz ${tag}` }).check();
  await page.getByRole("checkbox", { name: `Ivo Nuñez ${tag}` }).check();
  await expect(page.getByText("2 selected")).toBeVisible();
  await page.getByLabel("Role", { exact: true }).selectOption({ label: "User" });
  await page.getByRole("button", { name: "Assign selected" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Assigned 2 users with the role User." })).toBeVisible();
  await expect(page.locator(`tr[data-candidate="Ivo Nuñez ${tag}"]`)).toContainText("User");
  await expect(page.getByRole("checkbox", { name: `Ivo Nuñez ${tag}` })).not.toBeChecked();

  // The assignments, each with what provisioning did (nothing yet: provisioning is off).
  await page.getByRole("link", { name: "See the assignments" }).click();
  const ivo = page.locator(`tr[data-assignment="Ivo Nuñez ${tag}"]`);
  await expect(ivo).toContainText("Not provisioned yet");
  await hydrated(page);
  await ivo.getByLabel(`Role of Ivo Nuñez ${tag}`).selectOption({ label: "Account Admin" });
  await ivo.getByRole("button", { name: "Change role" }).click();
  await expect(page.getByRole("status").filter({ hasText: `ivo.${tag}@contoso.com now has the role Account Admin.` })).toBeVisible();
  await page.reload();
  await expect(page.locator(`tr[data-assignment="Ivo Nuñez ${tag}"]`).getByLabel(`Role of Ivo Nuñez ${tag}`)).toHaveValue("account_admin");
});

test("a quarantined application says so everywhere, and its failed cycle is red", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  const tag = unique("q").toLowerCase();
  const { tenant } = await accountWithKey(page, `Quarantined ${tag}`);
  const name = `Harness ${tag}`;
  const id = await addApp(page, "harness", name);
  // The header of a new application: provisioning is Off.
  await expect(page.locator(".app-title [data-health]")).toHaveAttribute("data-health", "Off");

  // On, with a token the application refuses.
  await page.goto(`/apps/${id}/provisioning`);
  await hydrated(page);
  await page.getByLabel("Provisioning Mode").selectOption("automatic");
  await page.getByLabel("Tenant URL").fill(tenant);
  await page.getByLabel("Secret Token").fill("pvs_not-a-real-key");
  await page.getByLabel("Scope", { exact: true }).selectOption("assigned");
  await page.getByLabel("On", { exact: true }).check();
  await page.getByRole("button", { name: "Save" }).first().click();
  await expect(page.getByText(/^Saved \(\d+ changes\)\./)).toBeVisible();

  // Its own page: the quarantine banner with the reason, the header's badge, the failed cycle
  // in red (the progress text and the table's state), all without a reload.
  await expect(page.locator("[data-quarantine]")).toBeVisible({ timeout: 20_000 });
  await expect(page.locator(".app-title [data-health]")).toHaveAttribute("data-health", "Quarantine", { timeout: 20_000 });
  await page.reload();
  await expect(page.locator(".app-title [data-health]")).toHaveAttribute("data-health", "Quarantine");
  await expect(page.locator(".app-title .health-reason")).toContainText("refused the credentials");
  await expect(page.locator(".progress .progress-failed")).toBeVisible();
  await expect(page.locator(".progress-text-failed")).toBeVisible();
  await expect(page.locator("table.cycles tbody tr").first()).toContainText("Failed");
  await expect(page.locator(".chart-legend")).toContainText("Failed");
  await expect(page.locator(".cycle-chart svg .axis-title").first()).toBeVisible();

  // The applications list and Overview's health panel: Quarantine, not "On", problems first.
  await page.goto(`/apps?q=${tag}`);
  await expect(page.locator(`tr[data-app="${name}"] [data-health]`)).toHaveAttribute("data-health", "Quarantine");
  await page.goto("/");
  const row = page.locator(`section[aria-labelledby="health-heading"] tr[data-app="${name}"]`);
  await expect(row.locator("[data-health]")).toHaveAttribute("data-health", "Quarantine");
  await expect(row).toContainText("refused the credentials");
  await expect(page.locator('section[aria-labelledby="health-heading"]')).toContainText(/needs? attention/);
  // Problems first: no healthy or switched-off application is listed above it.
  const states = await page.locator('section[aria-labelledby="health-heading"] tbody [data-health]').evaluateAll(
    (els) => els.map((e) => e.getAttribute("data-health")),
  );
  const mine = await page.locator('section[aria-labelledby="health-heading"] tbody tr').evaluateAll(
    (rows, n) => rows.findIndex((r) => r.getAttribute("data-app") === n), name,
  );
  expect(states.slice(0, mine).every((s) => s === "Quarantine")).toBe(true);
});

test("Drift: an account created behind Provisio's back is found and disabled", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  const tag = unique("d").toLowerCase();
  const { tenant, key } = await accountWithKey(page, `Drift ${tag}`);
  const id = await addApp(page, "harness", `Harness ${tag}`);
  await page.goto(`/apps/${id}/provisioning`);
  await hydrated(page);
  await page.getByLabel("Provisioning Mode").selectOption("automatic");
  await page.getByLabel("Tenant URL").fill(tenant);
  await page.getByLabel("Secret Token").fill(key);
  await page.getByRole("button", { name: "Save" }).first().click();
  await expect(page.getByText(/^Saved \(\d+ changes\)\./)).toBeVisible();
  // Someone adds an account in the application directly.
  const orphan = `someone.${tag}@elsewhere.com`;
  const r = await page.request.post(`${tenant}/Users`, {
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/scim+json" },
    data: { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: orphan, active: true },
  });
  expect(r.status()).toBe(201);

  await page.getByRole("navigation", { name: "Application" }).getByRole("link", { name: "Drift" }).click();
  await hydrated(page);
  await page.getByRole("button", { name: "Compare with the application" }).click();
  const row = page.locator(`tr[data-orphan="${orphan}"]`);
  await expect(row).toContainText("none");
  await expect(page.locator("[data-drift-summary]")).toContainText("1 account not managed by Provisio");
  await row.getByRole("button", { name: `Disable ${orphan} in the application` }).click();
  await page.getByRole("button", { name: "Disable account" }).click();
  await expect(page.locator("[data-drift-outcome]")).toContainText(`${orphan} disabled in the application`);
  await expect(row).toContainText("(inactive)");
  // Synchronization details show the last comparison, with the way back to it.
  await page.getByRole("navigation", { name: "Application" }).getByRole("link", { name: "Provisioning", exact: true }).click();
  await expect(page.locator("[data-drift-check]")).toContainText("1 account not managed by Provisio");
  await expect(page.locator("[data-drift-check]").getByRole("link", { name: "Compare now" })).toHaveAttribute("href", `/apps/${id}/drift`);
  // A scheduled check, daily.
  await hydrated(page);
  await page.getByLabel("Check for drift every (hours)").fill("24");
  await page.getByLabel(/Scheduled checks revert values changed/).check();
  await page.getByRole("button", { name: "Save" }).first().click();
  await expect(page.getByText(/^Saved \(2 changes\)\./)).toBeVisible();
  await expect(page.getByLabel("Check for drift every (hours)")).toHaveValue("24");
  await expect(page.getByLabel(/Scheduled checks revert values changed/)).toBeChecked();
  await expect(page.getByLabel(/Scheduled checks adopt accounts/)).not.toBeChecked();
});
