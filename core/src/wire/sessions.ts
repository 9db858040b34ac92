import { z } from "zod";
import { providerIdSchema } from "./host.js";

/**
 * Sessions (DESIGN.md §3, issue 3): what crosses the link and the user API about agent sessions.
 *
 * Lifecycle, driven by hooks and tmux, never by guessing from the screen:
 *   starting → running ⇄ needs_permission | needs_input | idle → stopped | crashed
 * `stopped` = the provider exited 0 or was stopped on request; `crashed` = it exited non-zero, its
 * tmux server died under it, or it never started (then `error` says why).
 */
export const SESSION_STATES = ["starting", "running", "needs_permission", "needs_input", "idle", "stopped", "crashed"] as const;
export const sessionStateSchema = z.enum(SESSION_STATES);
export type SessionState = z.infer<typeof sessionStateSchema>;
export const FINAL_STATES: readonly SessionState[] = ["stopped", "crashed"];
export function isFinalState(state: SessionState): boolean {
  return FINAL_STATES.includes(state);
}

export const BILLING_MODES = ["subscription", "api"] as const;
export const billingSchema = z.enum(BILLING_MODES);
export type Billing = z.infer<typeof billingSchema>;

export const SESSION_LIMITS = {
  /** `codepiper send` text (and one paste). */
  textBytes: 1024 * 1024,
  keysPerCall: 200,
  nameMax: 100,
  extraArgs: 64,
  extraArgBytes: 4096,
  pathMax: 4096,
} as const;

/** Session names: what a person types instead of an id. */
export const sessionNameSchema = z
  .string()
  .min(1)
  .max(SESSION_LIMITS.nameMax)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "use letters, digits, '.', '_' and '-', starting with a letter or digit");

/** An absolute path, no NUL, bounded. Whether it exists is the host's business. */
export const absolutePathSchema = z
  .string()
  .min(1)
  .max(SESSION_LIMITS.pathMax)
  .refine((p) => p.startsWith("/"), "must be an absolute path (start with /)")
  .refine((p) => !p.includes("\0"), "must not contain a NUL byte");

/**
 * Git branch names we accept for `--worktree --create-branch`: a strict subset of
 * git-check-ref-format (no leading '-', no '..', no spaces or control characters, no `~^:?*[\`,
 * no '@{', no trailing '.' / '/' / '.lock', no '//' ), so no value can be read as an option or
 * escape the worktrees directory.
 */
export const branchNameSchema = z
  .string()
  .min(1)
  .max(200)
  .superRefine((b, ctx) => {
    const bad = (message: string) => ctx.addIssue({ code: "custom", message: `invalid branch name ${JSON.stringify(b.slice(0, 60))}: ${message}` });
    if (b.startsWith("-")) return bad("must not start with '-'");
    if (b.includes("..")) return bad("must not contain '..'");
    // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
    if (/[\s~^:?*[\\\x00-\x1f\x7f]/.test(b)) return bad("must not contain spaces, control characters or any of ~ ^ : ? * [ \\");
    if (b.includes("@{") || b === "@") return bad("must not contain '@{' or be '@'");
    if (b.startsWith("/") || b.endsWith("/") || b.includes("//")) return bad("must not start or end with '/' or contain '//'");
    if (b.endsWith(".") || b.endsWith(".lock") || b.split("/").some((part) => part.startsWith("."))) return bad("no component may start with '.' or end with '.lock', and it must not end with '.'");
  });

const envNameSchema = z.string().max(256).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "not a valid environment variable name");

export const worktreeSpecSchema = z.object({ branch: branchNameSchema });

/** What a user asks for (`codepiper start`), validated by the control plane. */
export const sessionStartInputSchema = z.object({
  /** Optional with a workspace (it gives the provider, host and directory; explicit fields win). */
  provider: providerIdSchema.optional(),
  host: z.string().trim().min(1).max(100).optional(),
  cwd: absolutePathSchema.optional(),
  workspace: z.string().trim().min(1).max(100).optional(),
  /** Env sets (names or ids), in order: a later one overrides an earlier one; `env` overrides them all. */
  envSets: z.array(z.string().trim().min(1).max(100)).max(20).default([]),
  name: sessionNameSchema.optional(),
  billing: billingSchema.default("subscription"),
  dangerous: z.boolean().default(false),
  /** Explicit variables. Values are treated as secrets: sealed to the host, never stored in clear. */
  env: z.record(envNameSchema, z.string().max(64 * 1024)).default({}),
  worktree: worktreeSpecSchema.optional(),
  model: z.string().min(1).max(200).regex(/^[A-Za-z0-9._:[\]-]+$/, "letters, digits and . _ : - [ ]").optional(),
  args: z.array(z.string().max(SESSION_LIMITS.extraArgBytes)).max(SESSION_LIMITS.extraArgs).default([]),
  /** Policy sets (names or ids) applied in addition to the default set. */
  policySets: z.array(z.string().trim().min(1).max(100)).max(20).default([]),
  cols: z.number().int().min(20).max(1000).default(200),
  rows: z.number().int().min(5).max(1000).default(50),
  validateOnly: z.boolean().default(false),
});
export type SessionStartInput = z.infer<typeof sessionStartInputSchema>;

/** The durable `session.start` command payload (control plane → agent). */
export const sessionStartCommandSchema = z.object({
  sessionId: z.string().uuid(),
  provider: providerIdSchema,
  cwd: absolutePathSchema,
  name: sessionNameSchema.nullable(),
  billing: billingSchema,
  dangerous: z.boolean(),
  /** Explicit variables sealed to the host's X25519 key (compact JWE), or null. */
  sealedEnv: z.string().max(512 * 1024).nullable(),
  worktree: worktreeSpecSchema.nullable(),
  model: z.string().max(200).nullable(),
  args: z.array(z.string().max(SESSION_LIMITS.extraArgBytes)).max(SESSION_LIMITS.extraArgs),
  /** Policy sets the session's decisions use (ids). */
  policySetIds: z.array(z.string().max(100)).max(21).default([]),
  cols: z.number().int().min(20).max(1000),
  rows: z.number().int().min(5).max(1000),
});
export type SessionStartCommand = z.infer<typeof sessionStartCommandSchema>;

export const sessionRefCommandSchema = z.object({ sessionId: z.string().uuid() });
export const sessionResumeCommandSchema = sessionStartCommandSchema.pick({ sealedEnv: true }).extend({ sessionId: z.string().uuid() });
export const sessionModelCommandSchema = z.object({ sessionId: z.string().uuid(), model: z.string().min(1).max(200) });

/** What the agent answers to `session.start` / `session.resume`. */
export const sessionStartedSchema = z.object({
  sessionId: z.string().uuid(),
  tmuxSession: z.string(),
  cwd: z.string(),
  pid: z.number().int().nullable(),
  worktree: z.object({ path: z.string(), branch: z.string() }).nullable(),
});
export type SessionStarted = z.infer<typeof sessionStartedSchema>;

/** Payload of `session.state` events: the only events that move a session's state. */
export const sessionStateEventSchema = z.object({
  state: sessionStateSchema,
  /** Why it changed: the hook or observation (`hook:Stop`, `tmux:exited`, `command:stop`…). */
  reason: z.string().max(200),
  exitCode: z.number().int().nullable().optional(),
  error: z.string().max(2000).nullable().optional(),
  /** Provider-side facts learnt on the way (Codex thread id, transcript path, model). */
  providerSessionId: z.string().max(200).nullable().optional(),
  transcriptPath: z.string().max(SESSION_LIMITS.pathMax).nullable().optional(),
  model: z.string().max(200).nullable().optional(),
});
export type SessionStateEvent = z.infer<typeof sessionStateEventSchema>;

export const usageTotalsSchema = z.object({
  inputTokens: z.number(),
  outputTokens: z.number(),
  cacheReadTokens: z.number(),
  cacheCreationTokens: z.number(),
  responses: z.number(),
});
export type UsageTotals = z.infer<typeof usageTotalsSchema>;

/** A session as users see it (`codepiper sessions --json`). */
export const sessionViewSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  hostId: z.string(),
  hostName: z.string(),
  provider: providerIdSchema,
  status: sessionStateSchema,
  cwd: z.string(),
  billing: billingSchema,
  dangerous: z.boolean(),
  model: z.string().nullable(),
  envNames: z.array(z.string()),
  policySets: z.array(z.string()),
  worktree: z.object({ path: z.string().nullable(), branch: z.string() }).nullable(),
  tmuxSession: z.string(),
  providerSessionId: z.string().nullable(),
  transcriptPath: z.string().nullable(),
  exitCode: z.number().nullable(),
  error: z.string().nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  endedAt: z.string().nullable(),
  usage: usageTotalsSchema,
});
export type SessionView = z.infer<typeof sessionViewSchema>;

export function tmuxSessionName(sessionId: string): string {
  return `codepiper-${sessionId}`;
}

/** `codepiper logs --source …`: which event types belong to which source. */
export const EVENT_SOURCES = { hook: "hook.", transcript: "transcript.", terminal: "terminal.", state: "session." } as const;
export type EventSource = keyof typeof EVENT_SOURCES;
export const eventSourceSchema = z.enum(Object.keys(EVENT_SOURCES) as [EventSource, ...EventSource[]]);
