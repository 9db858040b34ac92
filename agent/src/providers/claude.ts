import { join } from "node:path";
import type { HookEndpoints, LaunchContext, LaunchPlan, ProviderAdapter } from "./types.js";
import { composerHolds } from "./pane.js";
import { shellJoin } from "./shell.js";

/**
 * Claude Code adapter (DESIGN.md §3), facts observed with 2.1.197 in tmux:
 * - `--session-id <uuid>` fixes the session id; `--resume <id>` continues the SAME id and appends
 *   to the SAME transcript file.
 * - HTTP hooks are POSTed for PreToolUse, PermissionRequest, Stop (and the other tool/turn events);
 *   an HTTP SessionStart hook is NOT called, so SessionStart is a command hook running hook-forward.
 * - Ready marker: "? for shortcuts" under the composer; it disappears while the composer holds text.
 * - `/model <alias>` typed in the TUI switches the model for the next request, but once the
 *   conversation has messages Claude first asks "Switch model? … ❯ 1. Yes, switch to …" (Enter
 *   confirms), and it SAVES the model to the user's ~/.claude/settings.json ("saved as your default
 *   for new sessions") — a side effect on the user's own settings the manager should know about.
 */

/** Events POSTed over HTTP. SessionStart is deliberately absent (not delivered over HTTP). */
export const CLAUDE_HTTP_EVENTS = ["PreToolUse", "PermissionRequest", "PostToolUse", "Stop", "SubagentStop", "Notification", "UserPromptSubmit", "SessionEnd"] as const;

/** PermissionRequest waits for a human decision relayed by the control plane; the rest are quick. */
export const CLAUDE_PERMISSION_TIMEOUT_S = 600;
export const CLAUDE_HOOK_TIMEOUT_S = 30;

export const CLAUDE_READY_MARKER = "? for shortcuts";
const COMPOSER_GLYPH = "❯";

/** Longest project-dir name Claude Code writes before cutting and appending a hash (observed: 200). */
const MAX_PROJECT_DIR = 200;

interface HttpHook {
  type: "http";
  url: string;
  timeout: number;
  headers: Record<string, string>;
  allowedEnvVars: string[];
}
interface CommandHook {
  type: "command";
  command: string;
  timeout: number;
}
interface MatcherGroup {
  matcher?: string;
  hooks: (HttpHook | CommandHook)[];
}
export interface ClaudeOverlay {
  hooks: Record<string, MatcherGroup[]>;
}

/** Events whose matcher is a tool name; "*" matches every tool. The others take no matcher. */
const TOOL_EVENTS: ReadonlySet<string> = new Set(["PreToolUse", "PermissionRequest", "PostToolUse"]);

function httpHook(hooks: HookEndpoints, sessionId: string, event: string): HttpHook {
  return {
    type: "http",
    url: `${hooks.httpBase}/hooks/${encodeURIComponent(sessionId)}/${event}`,
    // PreToolUse and PermissionRequest may wait for a human (an `ask` rule): long timeouts.
    timeout: event === "PermissionRequest" || event === "PreToolUse" ? CLAUDE_PERMISSION_TIMEOUT_S : CLAUDE_HOOK_TIMEOUT_S,
    // Claude Code substitutes $VAR only for variables listed in allowedEnvVars: the token stays in
    // the session environment and never lands in the overlay file.
    headers: { Authorization: `Bearer $${hooks.tokenEnv}` },
    allowedEnvVars: [hooks.tokenEnv],
  };
}

/** The `--settings` overlay: HTTP hooks for CLAUDE_HTTP_EVENTS, a hook-forward command for SessionStart. */
export function claudeOverlay(ctx: Pick<LaunchContext, "sessionId" | "hooks">): ClaudeOverlay {
  const out: Record<string, MatcherGroup[]> = {};
  const command = shellJoin([...ctx.hooks.hookForward, "--socket", ctx.hooks.socketPath, "--session", ctx.sessionId, "--event", "SessionStart"]);
  out.SessionStart = [{ hooks: [{ type: "command", command, timeout: CLAUDE_HOOK_TIMEOUT_S }] }];
  for (const event of CLAUDE_HTTP_EVENTS) {
    const group: MatcherGroup = { hooks: [httpHook(ctx.hooks, ctx.sessionId, event)] };
    out[event] = [TOOL_EVENTS.has(event) ? { matcher: "*", ...group } : group];
  }
  return { hooks: out };
}

/** Java-style 32-bit string hash in base 36: what Claude Code appends to over-long project dirs. */
function simpleHash(s: string): string {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = ((h << 5) - h + s.charCodeAt(i)) | 0;
  return Math.abs(h).toString(36);
}

/**
 * `~/.claude/projects/<dir>`: every non-alphanumeric char → "-"; when that exceeds 200 chars it
 * is cut to 200 and "-<hash of the original cwd>" is appended (observed with a 272-char cwd:
 * "…-averyverylongd-foz3f").
 */
export function claudeProjectDirName(cwd: string): string {
  const name = cwd.replace(/[^a-zA-Z0-9]/g, "-");
  return name.length <= MAX_PROJECT_DIR ? name : `${name.slice(0, MAX_PROJECT_DIR)}-${simpleHash(cwd)}`;
}

function plan(ctx: LaunchContext, head: string[]): LaunchPlan {
  const settings = join(ctx.sessionDir, "settings.json");
  const argv = [ctx.binary, ...head, "--settings", settings];
  if (ctx.model) argv.push("--model", ctx.model);
  if (ctx.dangerous) argv.push("--dangerously-skip-permissions");
  argv.push(...ctx.extraArgs);
  return {
    argv,
    files: [{ path: settings, content: `${JSON.stringify(claudeOverlay(ctx), null, 2)}\n` }],
    env: { CODEPIPER_SESSION_ID: ctx.sessionId },
  };
}

export const claudeAdapter: ProviderAdapter = {
  id: "claude-code",
  binaryName: "claude",
  channels: ["hooks:http", "hooks:command", "transcript"],
  launch: (ctx) => plan(ctx, ["--session-id", ctx.sessionId]),
  resume: (ctx) => plan(ctx, ["--resume", ctx.resumeId]),
  locateTranscript(ctx) {
    const home = ctx.env.HOME;
    if (!home) return null;
    return join(home, ".claude", "projects", claudeProjectDirName(ctx.cwd), `${ctx.providerSessionId ?? ctx.sessionId}.jsonl`);
  },
  // With a conversation in progress Claude asks to confirm the switch; the manager answers that
  // dialog when the pane shows it (CLAUDE_MODEL_CONFIRM), so the plan itself is just the command.
  switchModel: (model) => [{ text: `/model ${model}`, submit: true }, { ifPaneShows: CLAUDE_MODEL_CONFIRM, keys: ["Enter"], withinMs: 2500 }],
  isReady: (pane) => pane.includes(CLAUDE_READY_MARKER),
  hasUnsubmittedInput: (pane, text) => composerHolds(pane, COMPOSER_GLYPH, text),
  // Schemas observed with 2.1.197 (shared/reference): PreToolUse takes permissionDecision;
  // PermissionRequest takes decision.behavior (+ message on deny).
  decisionOutput: (event, decision, reason) =>
    event === "PreToolUse"
      ? { hookSpecificOutput: { hookEventName: "PreToolUse", permissionDecision: decision, permissionDecisionReason: reason } }
      : { hookSpecificOutput: { hookEventName: "PermissionRequest", decision: decision === "allow" ? { behavior: "allow" } : { behavior: "deny", message: reason } } },
};

/** Pane text of the "Switch model?" confirmation that `/model` shows once the conversation has messages; Enter picks "1. Yes". */
export const CLAUDE_MODEL_CONFIRM = "Switch model?";
