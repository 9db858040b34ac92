import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { ADMIN, expectOk, Fleet, runCli, startServer, type ServerHandle } from "../support/index.js";
import { totpAt, totpStep } from "../support/totp.js";
import { loginViaUi, newPage, openBrowser, screenshot, type TestPage } from "../support/browser.js";

/** The dashboard's login, logout, first-run setup and session cookie, in a real browser against a real control plane. */

const COOKIE = "cp_session";
/** Chromium logs an expected refusal (401 wrong password, 401 whoami while logged out) as a console error. */
const EXPECTED_REFUSALS = [/Failed to load resource: the server responded with a status of 401/];

function pathOf(page: Page): string {
  const url = new URL(page.url());
  return url.pathname + url.search;
}

async function sessionCookie(page: Page) {
  const cookie = (await page.context().cookies()).find((c) => c.name === COOKIE);
  expect(cookie, "the session cookie is set").toBeDefined();
  return cookie!;
}

/** auth.whoami with just the cookie, from Node (no browser): 200 + the user, or the refusal. */
async function whoamiWithCookie(baseUrl: string, value: string): Promise<{ status: number; email: string | null }> {
  const res = await fetch(`${baseUrl}/trpc/auth.whoami`, { headers: { cookie: `${COOKIE}=${value}` } });
  const body = (await res.json().catch(() => null)) as { result?: { data?: { email?: string } } } | null;
  return { status: res.status, email: body?.result?.data?.email ?? null };
}


describe("dashboard authentication in a real browser", () => {
  let fleet: Fleet;
  let browser: Browser;
  let fresh: ServerHandle | null = null;
  const pages: TestPage[] = [];

  async function page(): Promise<TestPage> {
    const p = await newPage(browser);
    pages.push(p);
    return p;
  }

  beforeAll(async () => {
    [fleet, browser] = await Promise.all([Fleet.start(), openBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([fleet?.close(), fresh?.proc.kill()]);
  });

  it("a wrong password shows the server's error and stays on /login/", async () => {
    const p = await page();
    await p.goto(`${fleet.url}/login/`);
    await p.getByRole("heading", { name: "Log in to CodePiper Fleet" }).waitFor();
    await screenshot(p, "login");
    await p.getByLabel("Email").fill(ADMIN.email);
    await p.getByLabel("Password").fill("not-the-password");
    await p.getByRole("button", { name: "Log in" }).click();
    await p.getByText("wrong email or password").waitFor();
    expect(new URL(p.url()).pathname).toBe("/login/");
    expect((await p.context().cookies()).some((c) => c.name === COOKIE)).toBe(false);
    // The password field keeps what was typed; the button is usable again.
    expect(await p.getByRole("button", { name: "Log in" }).isEnabled()).toBe(true);
    p.assertNoPageErrors({ ignoreConsole: EXPECTED_REFUSALS });
  });

  it("logging in lands on the fleet page", async () => {
    const p = await page();
    await loginViaUi(p, fleet.url, ADMIN.email, ADMIN.password);
    await p.getByRole("heading", { level: 1, name: "Fleet" }).waitFor();
    expect(pathOf(p)).toBe("/");
    await p.getByRole("navigation", { name: "Main" }).getByText(ADMIN.email).waitFor();
    p.assertNoPageErrors();
  });

  it("a page visited while logged out redirects to /login/?next=…, and login returns there", async () => {
    const p = await page();
    // "commit": the guard's script redirect must not count as an aborted navigation of goto's own.
    await p.goto(`${fleet.url}/hosts/enroll/`, { waitUntil: "commit" });
    // The guard redirects from script (after whoami answers 401): poll the URL rather than wait
    // for a navigation event, which a prefetch aborted by that redirect can report as a failure.
    await expect.poll(() => new URL(p.url()).pathname, { timeout: 15_000 }).toBe("/login/");
    await p.getByLabel("Email").waitFor();
    expect(new URL(p.url()).searchParams.get("next")).toBe("/hosts/enroll/");
    await loginViaUi(p, fleet.url, ADMIN.email, ADMIN.password);
    await p.getByRole("heading", { level: 1, name: "Enroll a host" }).waitFor();
    expect(pathOf(p)).toBe("/hosts/enroll/");
    p.assertNoPageErrors({ ignoreConsole: EXPECTED_REFUSALS });
  });

  it("the session cookie is HttpOnly and SameSite=Strict, invisible to scripts, and useless cross-origin", async () => {
    const p = await page();
    await loginViaUi(p, fleet.url, ADMIN.email, ADMIN.password);
    const cookie = await sessionCookie(p);
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe("Strict");
    expect(cookie.path).toBe("/");
    expect(cookie.value.length).toBeGreaterThanOrEqual(20);
    const visible = await p.evaluate<string>("document.cookie");
    expect(visible).not.toContain(COOKIE);
    expect(visible).not.toContain(cookie.value);

    // The cookie itself is a working credential...
    expect(await whoamiWithCookie(fleet.url, cookie.value)).toEqual({ status: 200, email: ADMIN.email });
    // ...but a state-changing POST carrying it from a foreign origin (or with no Origin) is refused.
    for (const origin of ["https://evil.example", `http://localhost:${fleet.server.port + 1}`, null]) {
      const res = await fetch(`${fleet.url}/trpc/auth.logout`, {
        method: "POST",
        headers: { cookie: `${COOKIE}=${cookie.value}`, "content-type": "application/json", ...(origin ? { origin } : {}) },
        body: "{}",
      });
      expect(res.status, `POST with Origin ${origin}`).toBe(403);
      const body = (await res.json()) as { error?: { code?: string } } | { error?: { data?: { code?: string } } };
      expect(JSON.stringify(body)).toMatch(/FORBIDDEN/);
    }
    // The refused logouts did not happen: the session still works in Node and in the page.
    expect(await whoamiWithCookie(fleet.url, cookie.value)).toEqual({ status: 200, email: ADMIN.email });
    await p.reload();
    await p.getByRole("heading", { level: 1, name: "Fleet" }).waitFor();
    p.assertNoPageErrors();
  });

  it("Log out ends the session: the cookie stops working and / goes back to the login page", async () => {
    const p = await page();
    await loginViaUi(p, fleet.url, ADMIN.email, ADMIN.password);
    const cookie = await sessionCookie(p);
    await p.getByRole("button", { name: "Log out" }).click();
    await p.waitForURL((u) => u.pathname === "/login/", { timeout: 15_000 });
    await p.getByRole("button", { name: "Log in" }).waitFor();
    expect((await whoamiWithCookie(fleet.url, cookie.value)).status).toBe(401);
    await p.goto(`${fleet.url}/`, { waitUntil: "commit" });
    await expect.poll(() => new URL(p.url()).pathname, { timeout: 15_000 }).toBe("/login/");
    await p.getByRole("button", { name: "Log in" }).waitFor();
    expect(new URL(p.url()).searchParams.get("next")).toBe("/");
    expect(await p.getByRole("navigation", { name: "Main" }).count()).toBe(0);
    p.assertNoPageErrors({ ignoreConsole: EXPECTED_REFUSALS });
  });

  it("an account with two-factor on is asked for the code: a wrong one is refused, a valid one logs in", async () => {
    const user = { email: "totp-user@example.com", password: "totp-user-password" };
    expectOk(await fleet.cli(["users", "create", "--email", user.email, "--role", "operator", "--password-stdin"], { stdin: user.password }));
    const env = { CODEPIPER_CONFIG_DIR: join(fleet.root, "config-totp") };
    expectOk(await runCli(["login", fleet.url, "--email", user.email, "--password-stdin"], { stdin: user.password, env }));
    const { secret } = expectOk(await runCli(["totp", "setup", "--json"], { env })).json<{ secret: string }>();
    const enabledStep = totpStep();
    expectOk(await runCli(["totp", "enable", "--code", totpAt(secret, enabledStep), "--json"], { env }));

    const p = await page();
    await p.goto(`${fleet.url}/login/`);
    await p.getByLabel("Email").fill(user.email);
    await p.getByLabel("Password").fill(user.password);
    await p.getByRole("button", { name: "Log in" }).click();
    const code = p.getByLabel("Two-factor code");
    await code.waitFor();
    expect(new URL(p.url()).pathname).toBe("/login/");
    expect((await p.context().cookies()).some((c) => c.name === COOKIE)).toBe(false);

    await code.fill(totpAt(secret, enabledStep - 10));
    await p.getByRole("button", { name: "Log in" }).click();
    await p.getByText("wrong or already used two-factor code").waitFor();
    expect((await p.context().cookies()).some((c) => c.name === COOKIE)).toBe(false);

    // The enable spent `enabledStep`; the next step's code is within the ±1 window for the next 30 s or more.
    await code.fill(totpAt(secret, enabledStep + 1));
    await p.getByRole("button", { name: "Log in" }).click();
    await p.getByRole("navigation", { name: "Main" }).waitFor({ timeout: 15_000 });
    await p.getByRole("navigation", { name: "Main" }).getByText(user.email).waitFor();
    await p.getByRole("heading", { level: 1, name: "Fleet" }).waitFor();
    expect((await sessionCookie(p)).httpOnly).toBe(true);
    p.assertNoPageErrors({ ignoreConsole: EXPECTED_REFUSALS });
  });

  it("first run: with no user, /login/ offers setup and /setup/ with the setup token creates the admin and logs in", async () => {
    fresh = await startServer();
    expect(fresh.setupToken).toMatch(/^cps_/);
    const p = await page();
    await p.goto(`${fresh.url}/login/`);
    const offer = p.getByRole("link", { name: "Set up the first admin" });
    await offer.waitFor();
    await offer.click();
    await p.waitForURL((u) => u.pathname === "/setup/");
    await p.getByRole("heading", { name: "Set up CodePiper Fleet" }).waitFor();

    const admin = { email: "first-admin@example.com", password: "first-admin-password" };
    await p.getByLabel("Setup token").fill(fresh.setupToken!);
    await p.getByLabel("Email").fill(admin.email);
    await p.getByLabel(/^Password/).fill(admin.password);
    await p.getByLabel("Repeat the password").fill(admin.password);
    await p.getByRole("button", { name: "Create admin and log in" }).click();
    await p.getByRole("navigation", { name: "Main" }).waitFor({ timeout: 15_000 });
    await p.getByRole("heading", { level: 1, name: "Fleet" }).waitFor();
    expect(pathOf(p)).toBe("/");
    await p.getByRole("navigation", { name: "Main" }).getByText(admin.email).waitFor();
    const cookie = await sessionCookie(p);
    expect(await whoamiWithCookie(fresh.url, cookie.value)).toEqual({ status: 200, email: admin.email });

    // Setup is closed now: the API says so, and the login page (once it has asked) offers no setup.
    const pending = (await (await fetch(`${fresh.url}/trpc/auth.setupPending`)).json()) as { result: { data: { pending: boolean } } };
    expect(pending.result.data.pending).toBe(false);
    const again = await page();
    const asked = again.waitForResponse((r) => r.url().includes("auth.setupPending"));
    await again.goto(`${fresh.url}/login/`);
    expect((await asked).ok()).toBe(true);
    await again.getByRole("button", { name: "Log in" }).waitFor();
    expect(await again.getByRole("link", { name: "Set up the first admin" }).count()).toBe(0);
    p.assertNoPageErrors();
    again.assertNoPageErrors();
  });
});
