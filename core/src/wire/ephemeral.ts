import { z } from "zod";
import { ERROR_CODES } from "../errors.js";
import { providerIdSchema } from "./host.js";
import { absolutePathSchema, branchNameSchema, SESSION_LIMITS } from "./sessions.js";

/**
 * The ephemeral stream (DESIGN.md §2): keystrokes, terminal watch/unwatch/snapshot, resize and
 * pre-flight checks. Best effort and never stored: a request to a host that is not linked fails at
 * once (HOST_OFFLINE), and a lost answer times out. The control plane pushes requests on the
 * `link.ephemeral` subscription; the agent answers each through `link.reply`, and pushes terminal
 * output through `link.terminal`.
 */
const sessionId = z.string().uuid();

export const ephemeralSpecs = {
  /** `codepiper start --validate` and the checks before a real start. */
  "session.validate": z.object({
    provider: providerIdSchema,
    cwd: absolutePathSchema,
    worktree: z.object({ branch: branchNameSchema }).nullable(),
    /**
     * true: answer every check with its own verdict (`ok: false` when one failed). false (what a
     * real start and older control planes send): fail with the first problem's error instead.
     */
    all: z.boolean().optional(),
  }),
  /** Types text literally; `enter` presses Enter after it (and makes sure the provider got it). */
  "input.text": z.object({ sessionId, text: z.string().max(SESSION_LIMITS.textBytes), enter: z.boolean() }),
  /** Named keys (`ctrl+c enter escape up …`), validated by the agent's key table. */
  "input.keys": z.object({ sessionId, keys: z.array(z.string().max(40)).min(1).max(SESSION_LIMITS.keysPerCall) }),
  /** Raw bytes from an attached terminal (base64), sent as-is. */
  "input.raw": z.object({ sessionId, data: z.string().max(Math.ceil((64 * 1024 * 4) / 3) + 4) }),
  "terminal.resize": z.object({ sessionId, cols: z.number().int().min(2).max(1000), rows: z.number().int().min(2).max(1000) }),
  /** Start streaming (idempotent); answers with a snapshot and then pushes output frames. */
  "terminal.watch": z.object({ sessionId }),
  "terminal.unwatch": z.object({ sessionId }),
  /** A fresh snapshot for a new watcher or after an overflow; output after it continues with seq > snapshot.seq. */
  "terminal.snapshot": z.object({ sessionId }),
  /** Policies changed on the control plane: fetch the bundle if you hold an older version. */
  "policy.changed": z.object({ version: z.number().int().nonnegative() }),
  /** Plain screen + scrollback text (`codepiper tail`, no escapes). */
  "terminal.capture": z.object({ sessionId, lines: z.number().int().min(0).max(100_000) }),
} as const;

export type EphemeralType = keyof typeof ephemeralSpecs;
export const EPHEMERAL_TYPES = Object.keys(ephemeralSpecs) as EphemeralType[];
export type EphemeralPayload<K extends EphemeralType> = z.infer<(typeof ephemeralSpecs)[K]>;

export const ephemeralRequestSchema = z.object({
  id: z.string().max(64),
  type: z.string().max(100),
  payload: z.unknown(),
});
export type EphemeralRequest = z.infer<typeof ephemeralRequestSchema>;

export const ephemeralReplySchema = z.object({
  id: z.string().max(64),
  ok: z.boolean(),
  result: z.unknown().optional(),
  error: z.object({ code: z.string().max(100), message: z.string().max(4000) }).optional(),
});
export type EphemeralReply = z.infer<typeof ephemeralReplySchema>;

/** A screen snapshot: everything a fresh terminal needs to show what tmux shows. */
export const terminalSnapshotSchema = z.object({
  kind: z.literal("snapshot"),
  /** Output with seq ≤ this is already in `data`. */
  seq: z.number().int().nonnegative(),
  /** Screen + scrollback with escape sequences, as written to a terminal (base64 of UTF-8 bytes). */
  data: z.string(),
  cols: z.number().int(),
  rows: z.number().int(),
  cursorX: z.number().int(),
  cursorY: z.number().int(),
  alternateScreen: z.boolean(),
});
export type TerminalSnapshot = z.infer<typeof terminalSnapshotSchema>;

export const terminalOutputSchema = z.object({ kind: z.literal("output"), seq: z.number().int().positive(), data: z.string() });
/** The stream broke (overflow somewhere, the watch restarted): discard what you have and wait for the next snapshot. */
export const terminalResyncSchema = z.object({ kind: z.literal("resync"), reason: z.string().max(200) });
/** The session's pane ended: no more output. */
export const terminalEndedSchema = z.object({ kind: z.literal("ended"), reason: z.string().max(200) });

export const terminalFrameSchema = z.discriminatedUnion("kind", [terminalSnapshotSchema, terminalOutputSchema, terminalResyncSchema, terminalEndedSchema]);
export type TerminalFrame = z.infer<typeof terminalFrameSchema>;

/** Agent → control plane: frames of watched sessions, batched. */
export const terminalPushSchema = z.object({
  frames: z
    .array(z.object({ sessionId, frame: terminalFrameSchema }))
    .min(1)
    .max(1000),
});
export type TerminalPush = z.infer<typeof terminalPushSchema>;

/**
 * The checks of `codepiper start --validate`, in the order a real start runs them (and fails on the
 * first problem): `workspace` only when one is named; `directory` and `worktree` run on the host.
 */
export const VALIDATE_CHECK_IDS = ["workspace", "host", "provider", "name", "directory", "worktree", "policySets", "envSets"] as const;
export type ValidateCheckId = (typeof VALIDATE_CHECK_IDS)[number];

/** One check and its own verdict. */
export const validateCheckSchema = z.object({
  id: z.enum(VALIDATE_CHECK_IDS),
  ok: z.boolean(),
  /** What was found (ok) or what is wrong and how to fix it (failed). */
  detail: z.string().max(4000),
  /** A failed check: the error a real start fails with here (the CLI's exit code follows from it). */
  code: z.enum(ERROR_CODES).nullable().default(null),
  /** Not run because an earlier check it needs failed (e.g. the worktree when the directory is missing); `ok` is false. */
  skipped: z.boolean().default(false),
});
export type ValidateCheck = z.infer<typeof validateCheckSchema>;

/**
 * What `session.validate` (and `sessions.start({ validateOnly: true })`) answers: every check with
 * its own verdict, nothing created. `ok` is true when every check passed. `cwd`, `provider` and
 * `git` are what the host found (null when that check failed or did not run).
 */
export const validateResultSchema = z.object({
  ok: z.boolean(),
  checks: z.array(validateCheckSchema).default([]),
  cwd: z.string().nullable(),
  provider: z.object({ id: providerIdSchema, path: z.string(), version: z.string().nullable() }).nullable(),
  git: z.object({ root: z.string(), branchExists: z.boolean() }).nullable(),
});
export type ValidateResult = z.infer<typeof validateResultSchema>;
