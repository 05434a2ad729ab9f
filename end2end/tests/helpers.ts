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
