import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { ADMIN, expectOk, Fleet, runCli, spawnCli, tempDir } from "../support/index.js";
import { loginViaUi, newPage, openBrowser, screenshot, type TestPage } from "../support/browser.js";

/** The fleet overview and host enrollment in a real browser, against real control plane and agent processes. */

/** Marks the current document; `stillSameDocument` is false after any reload or navigation. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate("window.__codepiperMark = true");
}
async function stillSameDocument(page: Page): Promise<boolean> {
  return page.evaluate<boolean>("window.__codepiperMark === true");
}


const statusCell = (page: Page, host: string) => page.locator(`tr[data-host="${host}"] .status`);

/** Waits (polling the DOM, no sleeps) until `host`'s row shows `status`. */
async function waitRowStatus(page: Page, host: string, status: "online" | "offline", timeout = 30_000): Promise<void> {
  await page.locator(`tr[data-host="${host}"] .status`, { hasText: new RegExp(`^${status}$`) }).waitFor({ timeout });
}

describe("fleet overview and enrollment in a real browser", () => {
  let fleet: Fleet;
  let browser: Browser;

  async function loggedIn(viewport?: { width: number; height: number }): Promise<TestPage> {
    const page = await newPage(browser, { viewport });
    await loginViaUi(page, fleet.url, ADMIN.email, ADMIN.password);
    await page.getByRole("heading", { level: 1, name: "Fleet" }).waitFor();
    return page;
  }

  beforeAll(async () => {
    [fleet, browser] = await Promise.all([Fleet.start(), openBrowser()]);
    await Promise.all([fleet.run("alpha"), fleet.run("beta")]);
  });
  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
  });

  it("lists every host as online", async () => {
    const page = await loggedIn();
    await waitRowStatus(page, "alpha", "online", 15_000);
    await waitRowStatus(page, "beta", "online", 15_000);
    expect(await page.locator("tbody tr[data-host]").count()).toBe(2);
    expect(await page.getByTestId("hosts-online").textContent()).toBe("2 / 2");
    expect(await page.locator('tr[data-host="alpha"] td').first().textContent()).toContain("alpha");
    // Load arrives with the first heartbeat, right after the link is up (not a whole interval later).
    const load = page.locator('tr[data-host="alpha"] td.num').nth(1);
    await expect.poll(() => load.innerText(), { timeout: 10_000 }).toMatch(/^\d+\.\d{2}$/);
    await screenshot(page, "fleet-1280x800");
    page.assertNoPageErrors();
  });

  it("a killed agent's row turns offline live, and online again when it restarts, without a reload", async () => {
    const page = await loggedIn();
    await waitRowStatus(page, "alpha", "online", 15_000);
    await markDocument(page);

    await fleet.hosts.get("alpha")!.agent!.kill(); // SIGKILL: no goodbye, the link just drops
    await waitRowStatus(page, "alpha", "offline");
    expect(await statusCell(page, "beta").textContent()).toBe("online");
    await page.getByTestId("hosts-online").filter({ hasText: "1 / 2" }).waitFor({ timeout: 10_000 });
    // "Last seen" keeps counting while nothing else changes (a local clock, not a refetch).
    const lastSeen = page.locator('tr[data-host="alpha"] time');
    const seenAt = await lastSeen.innerText();
    await expect.poll(() => lastSeen.innerText(), { timeout: 40_000 }).not.toBe(seenAt);

    await fleet.run("alpha", { waitOnline: false });
    await waitRowStatus(page, "alpha", "online");
    await page.getByTestId("hosts-online").filter({ hasText: "2 / 2" }).waitFor({ timeout: 10_000 });
    expect(await stillSameDocument(page)).toBe(true);
    page.assertNoPageErrors();
  });

  it("enrolling: the page's commands, run for real, bring the host in and the page shows it arriving, without a reload", async () => {
    const page = await loggedIn();
    await page.getByRole("link", { name: "Enroll a host" }).click();
    await page.getByRole("heading", { level: 1, name: "Enroll a host" }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/hosts/enroll/");
    await page.getByLabel("Host name").fill("gamma");
    await page.getByRole("button", { name: "Create join token" }).click();
    const commands = page.getByTestId("enroll-commands");
    await commands.waitFor();
    await markDocument(page);
    await screenshot(page, "enroll-1280x800");

    const lines = (await commands.textContent())!.trim().split("\n");
    expect(lines).toHaveLength(2);
    const join1 = /^codepiper agent join (\S+) --token (cpj_\S+) --name gamma --state-dir (\S+)$/.exec(lines[0]!);
    expect(join1, lines[0]).not.toBeNull();
    expect(join1![1]).toBe(fleet.url);
    const pageStateDir = join1![3]!;
    expect(lines[1]).toBe(`codepiper agent run --state-dir ${pageStateDir}`);

    // Run them as printed, with a temp dir as the state dir (the page's default is a system path).
    const stateDir = join(tempDir("codepiper-enroll-"), "state");
    const argv = (line: string) => line.split(" ").slice(1).map((a) => (a === pageStateDir ? stateDir : a));
    expectOk(await runCli(argv(lines[0]!)));
    const agent = spawnCli(argv(lines[1]!), "agent:gamma");
    const hostId = (await fleet.hostList()).find((h) => h.name === "gamma")?.id as string;
    fleet.hosts.set("gamma", { name: "gamma", stateDir, hostId, agent, env: {} }); // fleet.close() stops it

    const arrived = page.getByTestId("host-arrived");
    await arrived.filter({ hasText: "gamma" }).waitFor({ timeout: 20_000 });
    await arrived.filter({ hasText: "gamma" }).locator(".status", { hasText: /^online$/ }).waitFor({ timeout: 20_000 });
    expect(await arrived.count()).toBe(1);
    expect(await stillSameDocument(page)).toBe(true);
    await fleet.waitStatus("gamma", "online");
    // The token worked once: joining another host with it now fails.
    const reused = await runCli(argv(lines[0]!).map((a) => (a === stateDir ? join(stateDir, "..", "again") : a === "gamma" ? "delta" : a)));
    expect(reused.code).not.toBe(0);
    expect(reused.stderr).toMatch(/token/i);
    page.assertNoPageErrors();
  });

  it("at phone width (390×844) the login and fleet pages do not overflow horizontally", async () => {
    const page = await newPage(browser, { viewport: { width: 390, height: 844 } });
    const width = () => page.evaluate<{ scrollWidth: number; innerWidth: number }>("({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })");
    await page.goto(`${fleet.url}/login/`);
    await page.getByRole("button", { name: "Log in" }).waitFor();
    const login = await width();
    expect(login.scrollWidth).toBeLessThanOrEqual(login.innerWidth);
    await loginViaUi(page, fleet.url, ADMIN.email, ADMIN.password);
    await page.getByRole("heading", { level: 1, name: "Fleet" }).waitFor();
    await waitRowStatus(page, "alpha", "online", 15_000);
    const { scrollWidth, innerWidth } = await width();
    expect(innerWidth).toBe(390);
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    await screenshot(page, "fleet-390x844");
    page.assertNoPageErrors();
  });

  it("keyboard: Tab from the top focuses 'Skip to content', then the navigation's links, with a visible focus ring", async () => {
    const page = await loggedIn();
    // (Page scripts are strings: the tests compile without the DOM lib.)
    const focused = () =>
      page.evaluate<{ tag: string; text: string; inNav: boolean; outlineStyle: string; outlineWidth: string } | null>(`(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        const style = getComputedStyle(el);
        return { tag: el.tagName, text: (el.textContent ?? "").trim(), inNav: Boolean(el.closest('nav[aria-label="Main"]')), outlineStyle: style.outlineStyle, outlineWidth: style.outlineWidth };
      })()`);
    expect(await focused()).toBeNull();

    await page.keyboard.press("Tab");
    const skip = await focused();
    expect(skip).toMatchObject({ tag: "A", text: "Skip to content" });
    expect(skip!.outlineStyle).not.toBe("none");
    const skipBox = await page.getByRole("link", { name: "Skip to content" }).boundingBox();
    expect(skipBox && skipBox.x >= 0 && skipBox.y >= 0, "the focused skip link is on screen").toBe(true);

    const navLinks: string[] = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press("Tab");
      const el = await focused();
      expect(el, `Tab #${i + 2}`).toMatchObject({ tag: "A", inNav: true });
      expect(el!.outlineStyle, `focus ring on ${el!.text}`).not.toBe("none");
      expect(el!.outlineWidth).not.toBe("0px");
      navLinks.push(el!.text);
    }
    expect(navLinks).toContain("Fleet");
    page.assertNoPageErrors();
  });
});
