import type { ProviderId } from "@codepiper/core";

/**
 * One adapter per provider CLI (DESIGN.md §3 "Providers"), chosen by an exhaustive switch in
 * providers/index.ts. An adapter is pure planning: it says what to write and what to run; the
 * session manager does the I/O (files, tmux, hooks), so adapters are unit-testable without a CLI.
 */

/** How the provider reports to the agent. Reported per provider in `hello` (host facts). */
export type HookChannel =
  /** Claude Code `"type": "http"` hooks POSTed to the agent's loopback listener. */
  | "hooks:http"
  /** `codepiper hook-forward` command hooks over the agent's Unix socket. */
  | "hooks:command"
  /** Codex `notify` program (turn completion). */
  | "notify"
  /** The provider's own JSONL transcript / rollout, tailed. */
  | "transcript";

/** Where the agent listens for hooks; the same for every session of one agent. */
export interface HookEndpoints {
  /** http://127.0.0.1:<port> — Claude Code HTTP hooks POST to `${httpBase}/hooks/<sessionId>/<Event>`. */
  httpBase: string;
  /** The agent's Unix socket (0600) that `hook-forward` connects to. */
  socketPath: string;
  /** argv prefix that runs hook-forward with no TypeScript loader: [process.execPath, "<abs>/hook-forward.cjs"]. */
  hookForward: readonly string[];
  /** Name of the environment variable holding the per-session hook token (set in the session env, never in argv). */
  tokenEnv: string;
}

export interface LaunchContext {
  sessionId: string;
  /** Absolute working directory (already validated). */
  cwd: string;
  /** Absolute path of the provider binary on this host. */
  binary: string;
  /** A private 0700 directory for this session's files (settings overlay…), inside the agent state dir. */
  sessionDir: string;
  hooks: HookEndpoints;
  /** Model requested at start (alias or full id), if any. */
  model: string | null;
  /** Bypass permission prompts (recorded as such). */
  dangerous: boolean;
  /** Extra provider arguments given after `--` on `codepiper start`. */
  extraArgs: readonly string[];
  /** For a resume: the provider's own session/thread id (Claude: the session id; Codex: the thread id). */
  resumeId: string | null;
  /** The environment the session will run with (read-only: adapters may read e.g. CODEX_HOME/HOME). */
  env: Readonly<Record<string, string>>;
}

export interface LaunchPlan {
  /** argv; never a shell string, never contains a secret. */
  argv: string[];
  /** Files to write before launch (0600), e.g. the settings overlay. Absolute paths inside sessionDir. */
  files: { path: string; content: string }[];
  /** Variables added to the session environment (e.g. CODEPIPER_SESSION_ID). Not secret-bearing except the hook token, which the manager adds itself. */
  env: Record<string, string>;
}

/** One step of typing into the pane (the manager executes them in order, waiting for readiness before the first). */
export type InputStep =
  /** Types `text`; `submit` presses Enter and makes sure it was not swallowed (re-pressing if the text still sits in the composer). */
  | { text: string; submit?: boolean }
  | { keys: string[] }
  /** A dialog that may or may not appear (e.g. Claude's "Switch model?"): press `keys` if the pane shows `text` within `withinMs`. */
  | { ifPaneShows: string; keys: string[]; withinMs: number };

export interface ProviderAdapter {
  readonly id: ProviderId;
  /** Command name looked up on PATH (`claude`, `codex`); CODEPIPER_<ID>_BIN overrides. */
  readonly binaryName: string;
  readonly channels: readonly HookChannel[];
  /** Plans a new session. */
  launch(ctx: LaunchContext): LaunchPlan;
  /** Plans resuming a stopped session (`claude --resume <id>`, `codex resume <id>`). */
  resume(ctx: LaunchContext & { resumeId: string }): LaunchPlan;
  /**
   * The transcript/rollout path when it can be computed without a hook (fallback only: the path a
   * hook payload or notify carries is the truth). `startedAt` bounds a directory scan (Codex).
   */
  locateTranscript(ctx: { sessionId: string; cwd: string; env: Readonly<Record<string, string>>; providerSessionId: string | null; startedAt: Date }): string | null;
  /** Keystrokes that switch the model inside the running TUI. */
  switchModel(model: string): InputStep[];
  /** True when the pane (plain text, as capture-pane prints it) shows the TUI ready to accept a prompt. */
  isReady(pane: string): boolean;
  /**
   * True when the pane still shows `text` sitting unsubmitted in the composer (so a swallowed Enter
   * should be pressed again). Conservative: false when unsure.
   */
  hasUnsubmittedInput(pane: string, text: string): boolean;
  /**
   * The hook output that makes the provider allow or deny a tool call, in its exact schema for that
   * hook event, or null when the provider cannot be told that (then printing nothing lets the
   * provider proceed with its own logic, e.g. Codex 0.169 rejects `permissionDecision: "allow"`).
   */
  decisionOutput(event: "PreToolUse" | "PermissionRequest", decision: "allow" | "deny", reason: string): Record<string, unknown> | null;
}
