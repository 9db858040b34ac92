import { AppError } from "@codepiper/core";
import type { InputStep, ProviderAdapter } from "../providers/types.js";
import type { TmuxDriver } from "../tmux/driver.js";

/**
 * Typing into a provider's TUI so that the provider really receives it. Observed with the real
 * CLIs (tests/src/providers/real-cli.test.ts): a TUI that is still drawing its first screen loses
 * keystrokes, and Claude Code sometimes ignores an Enter that follows the text too closely. So:
 * wait for the ready marker when the session is new, type, wait until the text is on screen, press
 * Enter, and press it once more only if the text still sits unsubmitted in the composer.
 *
 * These waits poll the pane with deadlines: the pane is the only place this state is visible.
 */
const POLL_MS = 60;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await delay(POLL_MS);
  }
}

export interface TypingTarget {
  driver: TmuxDriver;
  tmuxName: string;
  adapter: ProviderAdapter;
  /** How many prompts the provider has reported (UserPromptSubmit hooks) so far; grows when this one arrives. */
  submissions: () => number;
}

/** Waits (bounded) until the TUI shows it accepts input. */
export async function waitReady(t: TypingTarget, timeoutMs: number): Promise<void> {
  const ready = await until(async () => t.adapter.isReady(await t.driver.capture(t.tmuxName)), timeoutMs);
  if (!ready) throw new AppError("CODEPIPER_TIMEOUT", `the ${t.adapter.id} TUI did not become ready for input within ${Math.round(timeoutMs / 1000)} s`);
}

/** Types `text`; with `enter`, submits it and makes sure the submission was not swallowed. */
export async function typeText(t: TypingTarget, text: string, enter: boolean): Promise<{ enterRetries: number; submitted: boolean }> {
  const before = t.submissions();
  const submitted = (): boolean => t.submissions() > before;
  await t.driver.sendText(t.tmuxName, text);
  if (!enter) return { enterRetries: 0, submitted: false };
  // The composer may show a long paste collapsed, so "on screen" is checked on a short probe only.
  const probe = text.trim().split("\n").pop()?.slice(-24) ?? "";
  if (probe.length > 0) await until(async () => (await t.driver.capture(t.tmuxName)).includes(probe) || submitted(), 3000);
  await t.driver.sendKeys(t.tmuxName, ["enter"]);
  let retries = 0;
  for (;;) {
    const done = await until(async () => submitted() || !t.adapter.hasUnsubmittedInput(await t.driver.capture(t.tmuxName), text), 2500);
    if (done || retries >= 2) return { enterRetries: retries, submitted: done };
    retries++;
    await t.driver.sendKeys(t.tmuxName, ["enter"]);
  }
}

/** Runs input steps (e.g. a model switch) in order. */
export async function runSteps(t: TypingTarget, steps: readonly InputStep[]): Promise<void> {
  for (const step of steps) {
    if ("text" in step) {
      const typed = await typeText(t, step.text, step.submit ?? false);
      if (step.submit && !typed.submitted) throw new AppError("CODEPIPER_CONFLICT", `the ${t.adapter.id} TUI did not accept ${JSON.stringify(step.text.slice(0, 60))}: it is still in its input box`);
    }
    else if ("ifPaneShows" in step) {
      if (await until(async () => (await t.driver.capture(t.tmuxName)).includes(step.ifPaneShows), step.withinMs)) await t.driver.sendKeys(t.tmuxName, step.keys);
    } else await t.driver.sendKeys(t.tmuxName, step.keys);
  }
}
