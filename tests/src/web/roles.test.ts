/**
 * What each role sees in the dashboard (real browser, real control plane and agent): a viewer reads
 * everything but is offered no action, and the terminal ignores its typing; an operator drives
 * sessions but is offered no admin action. The server refuses anyway (access-matrix.test.ts); this
 * checks that the pages do not offer what would only fail.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk, Fleet } from "../support/index.js";
import { loginViaUi, newPage, openBrowser, type TestPage } from "../support/browser.js";
import { paneOf, runFakeProviderHost, startSession, waitSessionStatus, type FakeProviderHost } from "../support/sessions.js";

const PASSWORD = "role-test-password-1";

describe("roles in the dashboard", () => {
  let fleet: Fleet;
  let browser: Browser;
  let fp: FakeProviderHost;
  let sessionId = "";

  async function as(role: "viewer" | "operator"): Promise<TestPage> {
    const page = await newPage(browser);
    await loginViaUi(page, fleet.url, `${role}@example.com`, PASSWORD);
    return page;
  }
  const open = async (page: TestPage, path: string, heading: string) => {
    await page.goto(new URL(path, fleet.url).toString());
    await page.getByRole("heading", { level: 1, name: heading, exact: true }).waitFor();
  };

  beforeAll(async () => {
    [fleet, browser] = await Promise.all([Fleet.start(), openBrowser()]);
    for (const role of ["viewer", "operator"]) {
      expectOk(await fleet.cli(["users", "create", "--email", `${role}@example.com`, "--role", role, "--password-stdin"], { stdin: PASSWORD }));
    }
    fp = await runFakeProviderHost(fleet, "roles-host");
    sessionId = (await startSession(fleet, fp.startArgs())).id;
    await waitSessionStatus(fleet, sessionId, "idle");
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
  });

  it("a viewer reads sessions but cannot start, stop or type into one", async () => {
    const page = await as("viewer");
    await open(page, "/sessions/", "Sessions");
    await page.locator(`tr[data-session="${sessionId}"]`).waitFor();
    expect(await page.getByRole("link", { name: "New session" }).count()).toBe(0);

    await open(page, `/session/?id=${sessionId}`, sessionId.slice(0, 8));
    await page.getByTestId("terminal-status").filter({ hasText: /^Live$/ }).waitFor({ timeout: 30_000 });
    expect(await page.getByRole("region", { name: "Session actions" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Stop" }).count()).toBe(0);
    // Typing into a viewer's terminal reaches nothing.
    await page.getByTestId("terminal").click();
    await page.keyboard.type("viewer-typed-this");
    await page.keyboard.press("Enter");
    // An operator's text sent now arrives: once it is on screen, the viewer's would have been too.
    expectOk(await fleet.cli(["send", sessionId, "operator-marker"]));
    await expect.poll(() => paneOf(fleet, sessionId), { timeout: 30_000 }).toContain("fake reply to: operator-marker");
    expect(await paneOf(fleet, sessionId)).not.toContain("viewer-typed-this");
    page.assertNoPageErrors();
  });

  it("a viewer is offered no mutation on the admin pages", async () => {
    const page = await as("viewer");
    await open(page, "/policies/", "Policies");
    expect(await page.getByRole("button", { name: "New policy", exact: true }).count()).toBe(0);
    expect(await page.getByLabel("Default action", { exact: true }).count()).toBe(0);
    // The rule tester is a read: viewers may use it.
    await page.getByRole("form", { name: "Rule tester" }).waitFor();

    await open(page, "/env-sets/", "Env sets");
    expect(await page.getByRole("button", { name: "Create env set" }).count()).toBe(0);
    await open(page, "/workspaces/", "Workspaces");
    expect(await page.getByRole("button", { name: "Create workspace" }).count()).toBe(0);
    await open(page, "/", "Fleet");
    expect(await page.getByRole("link", { name: "Enroll a host" }).count()).toBe(0);
    await open(page, "/users/", "Users & tokens");
    expect(await page.getByRole("table", { name: "Users" }).count()).toBe(0);
    // Their own API tokens, at most their own role.
    const roleSelect = page.getByRole("form", { name: "New token" }).locator("select");
    await roleSelect.waitFor();
    const roles = await roleSelect.locator("option").allTextContents();
    expect(roles.map((r) => r.trim().toLowerCase())).toEqual(["viewer"]);
    page.assertNoPageErrors();
  });

  it("an operator drives sessions but gets no admin controls", async () => {
    const page = await as("operator");
    await open(page, "/sessions/", "Sessions");
    await page.getByRole("link", { name: "New session" }).waitFor();
    await open(page, `/session/?id=${sessionId}`, sessionId.slice(0, 8));
    await page.getByRole("region", { name: "Session actions" }).getByRole("button", { name: "Stop" }).waitFor();
    await page.getByTestId("terminal-status").filter({ hasText: /^Live$/ }).waitFor({ timeout: 30_000 });
    await page.getByTestId("terminal").click();
    await page.keyboard.type("operator-typed-this");
    await page.keyboard.press("Enter");
    await expect.poll(() => paneOf(fleet, sessionId), { timeout: 30_000 }).toContain("fake reply to: operator-typed-this");

    await open(page, "/policies/", "Policies");
    expect(await page.getByRole("button", { name: "New policy", exact: true }).count()).toBe(0);
    await open(page, "/", "Fleet");
    expect(await page.getByRole("link", { name: "Enroll a host" }).count()).toBe(0);
    page.assertNoPageErrors();
  });
});
