import { expect, Page } from "@playwright/test";

export const ADMIN_PASSWORD = process.env.PROVISIO_E2E_ADMIN_PASSWORD ?? "first admin password";

/** A user name no earlier run of the suite has used against this server. */
export function unique(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;
}

/** Waits until the wasm has hydrated the page (only with JavaScript). */
export async function hydrated(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

export async function signIn(page: Page, user: string, password: string, js = true) {
  await page.goto("/login");
  if (js) await hydrated(page);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Adds an application from the gallery and returns its id (the page shows its overview). */
export async function addApp(page: Page, template: string, name: string): Promise<string> {
  await page.goto(`/apps/gallery?template=${template}`);
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByRole("button", { name: "Add" }).click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  return page.url().replace(/^.*\/apps\//, "").replace(/\/.*$/, "");
}
