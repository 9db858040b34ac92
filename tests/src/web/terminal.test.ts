/**
 * The session page's live terminal (xterm.js, DOM renderer) in a real browser, against a real
 * control plane, a real agent and the scripted fake provider (tests/fixtures/fake-provider/claude):
 * a 1 MiB burst reaches the page without freezing it, the tmux pane follows the browser's size,
 * the stream comes back by itself after the control plane is killed and restarted (same document,
 * no reload), and a 3000-character paste arrives whole in the pane.
 *
 * Page scripts are strings (the tests compile without the DOM lib). `page.evaluate` goes through
 * CDP, so it works under the dashboard's CSP; `page.waitForFunction(string)` would need eval, so
 * waiting is done with expect.poll over the rendered text instead.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, expectOk, Fleet } from "../support/index.js";
import { loginViaUi, newPage, openBrowser, screenshot, type TestPage } from "../support/browser.js";
import { runFakeProviderHost, sessionLogs, startSession, waitSessionStatus, type FakeProviderHost } from "../support/sessions.js";

const run = promisify(execFile);

/** A main-thread task longer than this during a 1 MiB burst means the page froze (a guard, not a benchmark). */
const LONGEST_TASK_BOUND_MS = 2000;

describe("the session page's live terminal in a real browser", () => {
  let fleet: Fleet;
  let browser: Browser;
  let fp: FakeProviderHost;
  let page: TestPage;
  let sessionId = "";
  const frames: Record<string, number> = {};
  let outputBytes = 0;

  const rows = () => page.locator(".xterm-rows");
  /** The text xterm renders (its DOM renderer keeps one element per visible row). */
  const waitTerminal = (needle: string, timeout = 30_000) =>
    expect.poll(() => rows().innerText(), { timeout, message: `terminal shows ${needle}` }).toContain(needle);
  const tmux = async (args: string[]) => (await run("tmux", ["-S", join(fp.host.stateDir, "tmux.sock"), ...args])).stdout;
  const target = () => `=codepiper-${sessionId}:`;
  const paneSize = async () => (await tmux(["display-message", "-p", "-t", target(), "#{pane_width}x#{pane_height}"])).trim();
  /** The pane with wrapped lines joined, including its scrollback. */
  const paneJoined = () => tmux(["capture-pane", "-p", "-J", "-S", "-500", "-t", target()]);
  /** The visible size of xterm: its row elements, and its columns from the width of one cell. */
  const xtermSize = () =>
    page.evaluate<string>(`(() => {
      const rows = document.querySelector('[data-testid="terminal"] .xterm-rows');
      const screen = document.querySelector('[data-testid="terminal"] .xterm-screen');
      const measure = document.querySelector('[data-testid="terminal"] .xterm-char-measure-element');
      const cell = measure ? measure.getBoundingClientRect().width / Math.max(1, (measure.textContent || "").length) : 0;
      const cols = cell > 0 ? Math.round(screen.getBoundingClientRect().width / cell) : 0;
      return cols + "x" + rows.children.length;
    })()`);

  beforeAll(async () => {
    [fleet, browser] = await Promise.all([Fleet.start(), openBrowser()]);
    fp = await runFakeProviderHost(fleet, "term-host");
    const s = await startSession(fleet, fp.startArgs());
    sessionId = s.id;
    await waitSessionStatus(fleet, sessionId, "idle");
    page = await newPage(browser, { viewport: { width: 1280, height: 800 } });
    // What the page received on sessions.terminal (for the burst test's report).
    page.on("websocket", (ws) =>
      ws.on("framereceived", (f) => {
        const text = String(f.payload);
        const kind = /"kind":"(snapshot|output|resync|ended)"/.exec(text)?.[1];
        if (!kind) return;
        frames[kind] = (frames[kind] ?? 0) + 1;
        if (kind === "output") outputBytes += Buffer.from(/"data":"([^"]*)"/.exec(text)?.[1] ?? "", "base64").length;
      }),
    );
    await loginViaUi(page, fleet.url, ADMIN.email, ADMIN.password);
    await page.goto(new URL(`/session/?id=${sessionId}`, fleet.url).toString());
    await page.getByTestId("terminal").waitFor();
    // (expect.poll only works inside a test: plain locator waits here.)
    await page.getByTestId("terminal-status").filter({ hasText: /^Live$/ }).waitFor({ timeout: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
  });

  // The snapshot is the pane's rows at the pane's size, and the page's own size differs: drawn at
  // the wrong size the rows scrolled off and a program that does not repaint on SIGWINCH (this fake
  // provider, a shell) stayed blank. The page now draws it at the pane's size, resizes the pane to
  // its own and takes a fresh snapshot.
  it("on opening, the terminal shows the pane's current screen", async () => {
    await waitTerminal("? for shortcuts", 5_000);
  }, 20_000);

  it("a 1 MiB burst reaches the page without freezing it, and typing still echoes afterwards", async () => {
    const supported = await page.evaluate<boolean>(`(() => {
      if (!PerformanceObserver.supportedEntryTypes.includes("longtask")) return false;
      window.__longTasks = [];
      new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); }).observe({ type: "longtask" });
      return true;
    })()`);
    expect(supported, "Chromium reports long tasks").toBe(true);

    const framesBefore = { ...frames };
    const bytesBefore = outputBytes;
    const started = Date.now();
    expectOk(await fleet.cli(["send", sessionId, "BURST 1048576"]));
    await waitTerminal("BURST DONE", 90_000);
    const elapsed = Date.now() - started;
    await waitTerminal("? for shortcuts");
    const longTasks = await page.evaluate<number[]>("window.__longTasks");
    const longest = Math.max(0, ...longTasks);
    const got = Object.fromEntries(Object.entries(frames).map(([k, n]) => [k, n - (framesBefore[k] ?? 0)]));
    console.log(`1 MiB burst rendered in ${elapsed} ms; ${longTasks.length} long tasks, the longest ${Math.round(longest)} ms; frames ${JSON.stringify(got)}, ${outputBytes - bytesBefore} output bytes`);
    expect(longest, `longest main-thread task during the burst (${longTasks.length} long tasks)`).toBeLessThan(LONGEST_TASK_BOUND_MS);
    await screenshot(page, "terminal-after-burst");

    await page.getByTestId("terminal").click();
    await page.keyboard.type("x");
    await waitTerminal("x", 10_000);
    await page.keyboard.type("yzzy-after-burst");
    await waitTerminal("xyzzy-after-burst", 10_000);
    await page.keyboard.press("Enter");
    await waitTerminal("fake reply to: xyzzy-after-burst");
    expect(await page.getByTestId("terminal-status").innerText()).toBe("Live");
    page.assertNoPageErrors();
  }, 150_000);

  it("the tmux pane follows the browser's size", async () => {
    await expect.poll(xtermSize, { message: "xterm fitted to its box" }).toMatch(/^[1-9]\d*x[1-9]\d*$/);
    const big = await xtermSize();
    await expect.poll(paneSize, { timeout: 10_000, message: "pane at xterm's size (1280×800)" }).toBe(big);

    await page.setViewportSize({ width: 800, height: 560 });
    await expect.poll(xtermSize, { timeout: 10_000, message: "xterm refitted" }).not.toBe(big);
    const small = await xtermSize();
    const [bigCols, bigRows] = big.split("x").map(Number) as [number, number];
    const [smallCols, smallRows] = small.split("x").map(Number) as [number, number];
    expect(smallCols).toBeLessThan(bigCols);
    expect(smallRows).toBeLessThanOrEqual(bigRows);
    await expect.poll(paneSize, { timeout: 10_000, message: `pane follows xterm to ${small}` }).toBe(small);
    expect((await sessionLogs(fleet, sessionId, "terminal")).some((e) => e.type === "terminal.resize" && e.payload.cols === smallCols && e.payload.rows === smallRows)).toBe(true);

    // Still usable at the new size.
    await page.getByTestId("terminal").click();
    await page.keyboard.type("after resize");
    await page.keyboard.press("Enter");
    await waitTerminal("fake reply to: after resize");
    await screenshot(page, "terminal-800x560");
    page.assertNoPageErrors();
  }, 60_000);

  it("a 3000-character paste arrives whole in the pane", async () => {
    // Distinct segments, so that a lost, duplicated or reordered piece shows.
    const text = Array.from({ length: 600 }, (_, i) => `<${i.toString(36).padStart(3, "0")}>`).join("");
    expect(text).toHaveLength(3000);
    await page.getByTestId("terminal").click();
    await page.keyboard.insertText(text);
    await expect.poll(async () => (await paneJoined()).includes(text), { timeout: 20_000, message: "the pasted line in the pane" }).toBe(true);
    await page.keyboard.press("Enter");
    await expect.poll(async () => (await paneJoined()).includes(`fake reply to: ${text}`), { timeout: 20_000, message: "the provider got the whole line" }).toBe(true);
    page.assertNoPageErrors();
  }, 60_000);

  it("after the control plane is killed and restarted, the terminal resumes by itself, without a reload", async () => {
    await page.evaluate("window.__codepiperMark = true");
    await fleet.server.proc.kill(); // SIGKILL: the WebSocket just drops
    await expect.poll(() => page.getByTestId("terminal-status").innerText(), { timeout: 15_000, message: "the page notices" }).not.toBe("Live");
    await fleet.restartServer();
    await fleet.waitStatus("term-host", "online", 60_000);
    await expect.poll(() => page.getByTestId("terminal-status").innerText(), { timeout: 60_000, message: "the stream is live again" }).toBe("Live");

    // Output produced after the restart reaches the page: typed in the page…
    await page.getByTestId("terminal").click();
    await page.keyboard.type("typed after restart");
    await waitTerminal("typed after restart", 30_000);
    await page.keyboard.press("Enter");
    await waitTerminal("fake reply to: typed after restart");
    // …and sent from elsewhere.
    expectOk(await fleet.cli(["send", sessionId, "sent after restart"]));
    await waitTerminal("fake reply to: sent after restart");
    expect(await page.evaluate<boolean>("window.__codepiperMark === true"), "same document (no reload)").toBe(true);
    await screenshot(page, "terminal-after-restart");
    // The dropped connection makes Chromium log failed requests / WebSocket errors while the server is down.
    page.assertNoPageErrors({ ignoreConsole: [/WebSocket/i, /Failed to load resource/i, /ERR_CONNECTION_REFUSED/i] });
  }, 150_000);
});
