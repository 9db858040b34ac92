import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { LaunchContext, LaunchPlan, ProviderAdapter } from "./types.js";
import { composerHolds } from "./pane.js";
import { shellJoin } from "./shell.js";

/**
 * Codex CLI adapter (DESIGN.md §3), facts observed with 0.169.0 in tmux:
 * - Native hooks (feature "hooks", stable, on by default) can be given per invocation with
 *   `-c 'hooks.<Event>=[{matcher="*",hooks=[{type="command",command="…"}]}]'`: nothing is written
 *   to the user's CODEX_HOME. Hooks from config need trust: without `--dangerously-bypass-hook-trust`
 *   the TUI opens a blocking "Hooks need review" dialog; with it, a startup warning only.
 * - Payloads carry session_id (= thread id), transcript_path (the rollout), turn_id, cwd, model.
 *   SessionStart runs when the first prompt is submitted (not at TUI start); source "startup"|"resume".
 * - exec_command calls reach hooks as tool_name "Bash", tool_input {command}. PreToolUse honours only
 *   `permissionDecision: "deny"` (with a non-empty reason); "allow" is reported as "Hook failed:
 *   unsupported permissionDecision:allow" and the call runs anyway, so hook-forward prints NOTHING
 *   to allow.
 * - `notify` set with `-c` works; the JSON payload is the last argv element. It also fires for the
 *   title-generation side thread (another thread-id, input "Generate a concise, single-line task
 *   title…"), often BEFORE the real turn's notify: never learn the thread id from the first notify.
 * - `codex resume <thread> --no-daemon` continues the SAME rollout file.
 * - `/model <slug>` with an argument switches ("Model changed to <slug> … for this session only")
 *   but only for slugs in the model catalog; anything else is "Model '<x>' is unavailable".
 *   `-m <any>` at launch is passed to the provider as is.
 */

export const CODEX_HOOK_EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest", "PostToolUse", "Stop", "SessionEnd"] as const;
const TOOL_EVENTS: ReadonlySet<string> = new Set(["PreToolUse", "PermissionRequest", "PostToolUse"]);

/** Composer placeholder: present only when the composer is empty and the TUI takes input. */
export const CODEX_READY_MARKER = "Ask Codex to do anything";
const COMPOSER_GLYPH = "›";

/** A TOML basic string. JSON escapes are valid TOML escapes; DEL must be escaped too in TOML. */
export function tomlString(s: string): string {
  return JSON.stringify(s).replace(/\u007f/g, "\\u007F");
}

function forwardArgv(ctx: Pick<LaunchContext, "hooks" | "sessionId">, tail: string[]): string[] {
  return [...ctx.hooks.hookForward, "--socket", ctx.hooks.socketPath, "--session", ctx.sessionId, ...tail];
}

/** `-c` overrides registering hook-forward for every CODEX_HOOK_EVENTS event, plus `notify`. */
export function codexConfigOverrides(ctx: Pick<LaunchContext, "hooks" | "sessionId">): string[] {
  const out: string[] = [];
  const notify = forwardArgv(ctx, ["--notify"]);
  out.push("-c", `notify=[${notify.map(tomlString).join(",")}]`);
  for (const event of CODEX_HOOK_EVENTS) {
    const command = shellJoin(forwardArgv(ctx, ["--event", event]));
    const matcher = TOOL_EVENTS.has(event) ? `matcher=${tomlString("*")},` : "";
    out.push("-c", `hooks.${event}=[{${matcher}hooks=[{type="command",command=${tomlString(command)}}]}]`);
  }
  return out;
}

function commonFlags(ctx: LaunchContext): string[] {
  // --no-daemon: the shared app-server would not inherit the session environment and outlives tmux.
  // --dangerously-bypass-hook-trust: trusts only the hooks given here, for this invocation, without
  // persisting trust into the user's CODEX_HOME.
  const argv = ["--no-daemon", "--dangerously-bypass-hook-trust"];
  if (ctx.model) argv.push("-m", ctx.model);
  if (ctx.dangerous) argv.push("--dangerously-bypass-approvals-and-sandbox");
  argv.push(...codexConfigOverrides(ctx), ...ctx.extraArgs);
  return argv;
}

function plan(ctx: LaunchContext, head: string[]): LaunchPlan {
  return { argv: [ctx.binary, ...head, ...commonFlags(ctx)], files: [], env: { CODEPIPER_SESSION_ID: ctx.sessionId } };
}

const pad = (n: number): string => String(n).padStart(2, "0");

/**
 * Finds `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<ts>-<thread>.jsonl`. The day directory is the
 * local date of the thread's start; days from `startedAt - 1` to now (+1) are scanned, so a clock
 * or timezone edge and a resume on a later day are still found. Null without a thread id.
 */
export function locateCodexRollout(ctx: { env: Readonly<Record<string, string>>; providerSessionId: string | null; startedAt: Date }, now = new Date()): string | null {
  const thread = ctx.providerSessionId;
  if (!thread) return null;
  const home = ctx.env.CODEX_HOME ?? (ctx.env.HOME ? join(ctx.env.HOME, ".codex") : null);
  if (!home) return null;
  const sessions = join(home, "sessions");
  const dayMs = 86_400_000;
  const from = ctx.startedAt.getTime() - dayMs;
  const to = Math.max(now.getTime(), ctx.startedAt.getTime()) + dayMs;
  const seen = new Set<string>();
  for (let t = to; t >= from - dayMs + 1; t -= dayMs) {
    const d = new Date(t);
    const dir = join(sessions, String(d.getFullYear()), pad(d.getMonth() + 1), pad(d.getDate()));
    if (seen.has(dir)) continue;
    seen.add(dir);
    if (!existsSync(dir)) continue;
    const hit = readdirSync(dir).find((f) => f.startsWith("rollout-") && f.endsWith(`${thread}.jsonl`));
    if (hit) return join(dir, hit);
  }
  return null;
}

export const codexAdapter: ProviderAdapter = {
  id: "codex",
  binaryName: "codex",
  channels: ["hooks:command", "notify", "transcript"],
  launch: (ctx) => plan(ctx, []),
  resume: (ctx) => plan(ctx, ["resume", ctx.resumeId]),
  locateTranscript: (ctx) => locateCodexRollout(ctx),
  switchModel: (model) => [{ text: `/model ${model}`, submit: true }],
  isReady: (pane) => pane.includes(CODEX_READY_MARKER),
  hasUnsubmittedInput: (pane, text) => composerHolds(pane, COMPOSER_GLYPH, text),
  // Codex 0.169: PreToolUse honours permissionDecision "deny" (with a non-empty reason) and
  // REJECTS "allow" ("unsupported permissionDecision:allow", and runs the command anyway): allowing
  // is printing nothing. PermissionRequest takes decision.behavior like Claude's.
  decisionOutput: (event, decision, reason) => {
    if (event === "PermissionRequest") return { hookSpecificOutput: { hookEventName: "PermissionRequest", decision: decision === "allow" ? { behavior: "allow" } : { behavior: "deny", message: reason } } };
    if (decision === "allow") return null;
    return { hookSpecificOutput: { hookEventName: "PreToolUse", permissionDecision: "deny", permissionDecisionReason: reason || "denied by policy" } };
  },
};
