import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

/**
 * Real-browser support for the dashboard tests: Debian's chromium driven by playwright-core (which
 * downloads nothing). The flags keep Chromium from phoning home: on a closed network its background
 * connections would be refused and slow everything down.
 */
export const CHROMIUM = process.env.CODEPIPER_CHROMIUM ?? "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** test-artifacts/ at the repository root (gitignored). */
export const ARTIFACTS_DIR = fileURLToPath(new URL("../../../test-artifacts", import.meta.url));

/** The dashboard build the control plane serves (`cd web && npx next build`). */
export const WEB_OUT_DIR = fileURLToPath(new URL("../../../web/out", import.meta.url));


/**
 * One headless browser per test file (close it in afterAll). Each newPage gets a fresh context.
 * Fails at once, saying so, when web/out is not built (the control plane would serve no dashboard).
 */
export async function openBrowser(): Promise<Browser> {
  if (!existsSync(join(WEB_OUT_DIR, "index.html"))) {
    throw new Error(`the dashboard is not built (${WEB_OUT_DIR} has no index.html): run \`cd web && npx next build\` first`);
  }
  // chromium.launch uses a fresh temporary profile (user-data-dir) every time.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export interface TestPage extends Page {
  /** `console.error` messages (and failed resource loads, which Chromium logs as errors). */
  readonly consoleErrorLog: string[];
  /** Uncaught exceptions and unhandled rejections in the page. */
  readonly uncaughtErrors: string[];
  /**
   * Fails if the page threw, or logged a console error not matched by `ignoreConsole` (e.g. the "Failed to load resource … 401" an
   * expected refusal logs).
   */
  assertNoPageErrors(opts?: { ignoreConsole?: RegExp[] }): void;
}

/** A page in its own browser context (own cookies), recording console errors and page errors. */
export async function newPage(browser: Browser, opts: { viewport?: { width: number; height: number } } = {}): Promise<TestPage> {
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 800 } });
  const page = (await context.newPage()) as TestPage;
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(`${msg.text()}${msg.location().url ? ` (${msg.location().url})` : ""}`);
  });
  page.on("pageerror", (err) => pageErrors.push(err.stack ?? err.message));
  Object.defineProperties(page, {
    consoleErrorLog: { value: consoleErrors },
    uncaughtErrors: { value: pageErrors },
    assertNoPageErrors: {
      value: (check: { ignoreConsole?: RegExp[] } = {}) => {
        const unexpected = consoleErrors.filter((m) => !(check.ignoreConsole ?? []).some((re) => re.test(m)));
        if (pageErrors.length || unexpected.length) {
          throw new Error(`the page reported errors:\n${[...pageErrors.map((e) => `uncaught: ${e}`), ...unexpected.map((e) => `console: ${e}`)].join("\n")}`);
        }
      },
    },
  });
  return page;
}

/** Saves a full-page PNG to test-artifacts/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = join(ARTIFACTS_DIR, "screenshots");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Logs in through the login form and waits for the logged-in shell (the "Main" navigation). */
export async function loginViaUi(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  const here = page.url();
  // Stay on a login page the app redirected to (it carries ?next=…); otherwise open it.
  if (!(here.startsWith(baseUrl) && new URL(here).pathname.startsWith("/login"))) {
    await page.goto(new URL("/login/", baseUrl).toString());
  }
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor({ timeout: 15_000 });
}
