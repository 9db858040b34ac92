/**
 * The dashboard's main flows in a real browser (Debian chromium + playwright-core) against a real
 * control plane, a real agent and the REAL Claude Code talking to the fake model server:
 * an env set created in the browser (its values never come back to the browser), a session
 * started from the create form with that env set, typing into the live terminal and seeing the
 * model's reply, an `ask` rule raising an approval answered in the inbox (and the tool call then
 * running), a policy created and tried in the rule tester, and the usage in analytics.
 * Screenshots of every page go to test-artifacts/screenshots.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, Fleet, waitFor } from "../support/index.js";
import { loginViaUi, newPage, openBrowser, screenshot, type TestPage } from "../support/browser.js";
import { providerBinariesInstalled } from "../support/provider-env.js";
import { runProviderHost, waitSessionStatus, type ProviderHost } from "../support/sessions.js";

const bins = providerBinariesInstalled();
const CLAUDE_VARS = ["ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "DISABLE_AUTOUPDATER", "DISABLE_TELEMETRY", "DISABLE_ERROR_REPORTING", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"];

describe.skipIf(!bins.claude)("dashboard flows with the real Claude Code", () => {
  let fleet: Fleet;
  let browser: Browser;
  let ph: ProviderHost;
  let page: TestPage;
  let sessionId = "";
  /** Every tRPC response body the browser received: no env value may ever be in one. */
  const bodies: string[] = [];
  const canary = `canary-${randomBytes(12).toString("hex")}`;

  const goto = async (path: string, heading: string) => {
    await page.goto(new URL(path, fleet.url).toString());
    await page.getByRole("heading", { level: 1, name: heading, exact: true }).waitFor();
  };
  /** The text xterm renders (its DOM renderer keeps one element per row). */
  const waitTerminal = (needle: string, timeout = 60_000) =>
    expect.poll(() => page.locator(".xterm-rows").innerText(), { timeout, message: `terminal shows ${needle}` }).toContain(needle);

  beforeAll(async () => {
    [fleet, browser] = await Promise.all([Fleet.start({ serverEnv: { CODEPIPER_APPROVAL_TIMEOUT: "5m" } }), openBrowser()]);
    ph = await runProviderHost(fleet, "web-host");
    page = await newPage(browser);
    page.on("response", (res: Response) => {
      if (new URL(res.url()).pathname.startsWith("/trpc")) void res.text().then((t) => bodies.push(t), () => undefined);
    });
    await loginViaUi(page, fleet.url, ADMIN.email, ADMIN.password);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
    await ph?.fake.close();
  });

  it("creates an env set whose values are never shown or sent back", async () => {
    await goto("/env-sets/", "Env sets");
    const dotenv = [...CLAUDE_VARS.map((k) => `${k}=${ph.claude.env[k]}`), `WEB_CANARY=${canary}`].join("\n");
    await page.getByLabel("Name", { exact: true }).fill("claude-fake");
    await page.getByRole("button", { name: "Import from dotenv" }).click();
    await page.getByLabel("Dotenv", { exact: true }).fill(dotenv);
    await page.getByRole("button", { name: "Import variables" }).click();
    await page.getByRole("button", { name: "Create env set" }).click();
    const row = page.getByRole("table", { name: "Env sets" }).getByRole("row").filter({ hasText: "claude-fake" });
    await row.waitFor();
    await expect.poll(() => row.innerText()).toContain("WEB_CANARY");
    await screenshot(page, "env-sets");
    await page.reload();
    await row.waitFor();
    const html = await page.content();
    expect(html).not.toContain(canary);
    expect(html).not.toContain(ph.claude.env.ANTHROPIC_API_KEY!);
    expect(html).toContain(`****${canary.slice(-4)}`);
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of bodies) expect(body).not.toContain(canary);
  });

  it("creates an ask policy and tries it in the rule tester", async () => {
    await goto("/policies/", "Policies");
    await page.getByRole("button", { name: "New policy", exact: true }).click();
    const form = page.getByRole("form", { name: "New policy" });
    await form.getByLabel("Name", { exact: true }).fill("ask-touch");
    await form.getByLabel("Priority", { exact: true }).fill("10");
    await form.getByLabel("Rules", { exact: true }).fill(JSON.stringify([{ action: "ask", tool: "Bash", args: { command: "touch *asked-web*" }, reason: "touching needs a human" }]));
    await form.getByRole("button", { name: "Create policy" }).click();
    await page.getByRole("table", { name: "Policies" }).getByRole("row").filter({ hasText: "ask-touch" }).waitFor();

    const tester = page.getByRole("form", { name: "Rule tester" });
    await tester.getByLabel("Tool", { exact: true }).fill("Bash");
    await tester.getByLabel("Arguments (JSON)", { exact: true }).fill(JSON.stringify({ command: "touch /tmp/asked-web-1" }));
    await tester.getByRole("button", { name: "Test" }).click();
    await expect.poll(() => page.getByTestId("rule-test-decision").innerText()).toMatch(/ask/i);
    expect(await page.getByRole("region", { name: "Decision" }).innerText()).toContain("ask-touch");

    await tester.getByLabel("Arguments (JSON)", { exact: true }).fill(JSON.stringify({ command: "ls" }));
    await tester.getByRole("button", { name: "Test" }).click();
    await expect.poll(() => page.getByRole("region", { name: "Decision" }).innerText()).toMatch(/No rule matched/);
    await screenshot(page, "policies");
  });

  it("starts a Claude Code session from the form with the env set", async () => {
    await goto("/sessions/new/", "New session");
    await page.getByLabel("Host", { exact: true }).selectOption({ label: "web-host" });
    await page.getByLabel("Provider", { exact: true }).selectOption("claude-code");
    await page.getByLabel("Directory", { exact: true }).fill(ph.claude.cwd);
    await page.getByLabel("Billing", { exact: true }).selectOption("api");
    await page.getByRole("checkbox", { name: "claude-fake" }).check();
    await page.getByRole("button", { name: "Validate" }).click();
    await page.getByTestId("validation-result").waitFor();
    expect(await page.getByTestId("validation-result").innerText()).not.toContain("problem");
    await screenshot(page, "session-new");
    await page.getByRole("button", { name: "Start session" }).click();
    await page.waitForURL(/\/session\/\?id=/, { timeout: 90_000 });
    sessionId = new URL(page.url()).searchParams.get("id")!;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    await waitSessionStatus(fleet, sessionId, "idle", 90_000);
    await expect.poll(() => page.getByTestId("session-status").innerText(), { timeout: 30_000 }).toContain("idle");
  }, 150_000);

  it("types into the live terminal and sees the model's reply", async () => {
    await page.getByTestId("terminal").waitFor();
    await waitTerminal("? for shortcuts");
    await page.getByTestId("terminal").click();
    await page.keyboard.type("hello from the browser");
    await waitTerminal("hello from the browser");
    await page.keyboard.press("Enter");
    await waitTerminal("fake reply to: hello from the browser");
    await screenshot(page, "session");
  }, 120_000);

  it("answers an approval raised by the ask rule; the tool call then runs", async () => {
    const made = join(ph.claude.cwd, "asked-web-2.txt");
    await page.getByTestId("terminal").click();
    await page.keyboard.type(`RUNTOOL RUNCMD[touch ${made}]`);
    await waitTerminal("asked-web-2.txt");
    await page.keyboard.press("Enter");
    // The badge in the navigation shows the pending request on every page.
    await expect.poll(() => page.getByTestId("approvals-badge").innerText(), { timeout: 60_000 }).toBe("1");
    await page.getByRole("link", { name: /Approvals/ }).click();
    await page.getByRole("heading", { level: 1, name: "Approvals", exact: true }).waitFor();
    const card = page.getByRole("article", { name: "Approval request: Bash on web-host" });
    await card.waitFor();
    expect(await card.innerText()).toContain("asked-web-2.txt");
    expect(await card.innerText()).toContain("ask-touch");
    await screenshot(page, "approvals");
    await card.getByLabel("Reason", { exact: true }).fill("fine from the browser");
    await card.getByRole("button", { name: "Allow" }).click();
    await waitFor(() => existsSync(made), { what: "the approved command ran", timeoutMs: 60_000 });
    await card.waitFor({ state: "detached" });
    await expect.poll(() => page.getByTestId("approvals-badge").count()).toBe(0);
    const decided = page.getByRole("table", { name: "Recent decisions" });
    await expect.poll(() => decided.innerText()).toContain("fine from the browser");
  }, 120_000);

  it("shows the session's policy decision, transcript and usage", async () => {
    await goto(`/session/?id=${sessionId}`, sessionId.slice(0, 8));
    await page.getByRole("tab", { name: "Policy decisions" }).click();
    const decisions = page.getByRole("table", { name: "Policy decisions" });
    await expect.poll(() => decisions.innerText(), { timeout: 30_000 }).toContain("asked-web-2");
    expect(await decisions.innerText()).toMatch(/human/);
    await page.getByRole("tab", { name: "Transcript" }).click();
    await expect.poll(() => page.getByRole("tabpanel").innerText(), { timeout: 30_000 }).toContain("fake reply to: hello from the browser");

    await goto("/analytics/", "Analytics");
    await page.getByRole("radio", { name: "Today" }).click();
    const models = page.getByRole("table", { name: "Tokens by model" });
    await models.waitFor({ timeout: 30_000 });
    const usageRows = await models.locator("tbody tr").count();
    expect(usageRows).toBeGreaterThan(0);
    const totals = await page.getByTestId("analytics-totals").innerText();
    expect(totals).toMatch(/Sessions started\s*1/);
    expect(totals).not.toMatch(/Input tokens\s*0\b/);
    await screenshot(page, "analytics");
  }, 90_000);

  it("every page renders without errors, at desktop and phone width", async () => {
    const pages: [string, string][] = [
      ["/", "Fleet"],
      ["/sessions/", "Sessions"],
      [`/session/?id=${sessionId}`, sessionId.slice(0, 8)],
      ["/approvals/", "Approvals"],
      ["/policies/", "Policies"],
      ["/env-sets/", "Env sets"],
      ["/workspaces/", "Workspaces"],
      ["/users/", "Users & tokens"],
      ["/audit/", "Audit log"],
      ["/analytics/", "Analytics"],
    ];
    const phone = await newPage(browser, { viewport: { width: 390, height: 844 } });
    await loginViaUi(phone, fleet.url, ADMIN.email, ADMIN.password);
    for (const [path, heading] of pages) {
      for (const [p, size] of [[page, "1280x800"], [phone, "390x844"]] as const) {
        await p.goto(new URL(path, fleet.url).toString());
        await p.getByRole("heading", { level: 1, name: heading, exact: true }).waitFor();
        const name = path === "/" ? "fleet" : path.replace(/^\/|\/$/g, "").replace(/[/?=]/g, "-").replace(/-id-.*/, "");
        await screenshot(p, `page-${name}-${size}`);
        if (size === "390x844" && !path.startsWith("/session/")) {
          const overflow = await p.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
          expect(overflow, `${path} scrolls sideways at phone width`).toBeLessThanOrEqual(0);
        }
      }
    }
    page.assertNoPageErrors();
    phone.assertNoPageErrors();
    for (const body of bodies) expect(body).not.toContain(canary);
  }, 120_000);
});
