import { z } from "zod";
import { boundedJson } from "../json.js";
import { LIMITS } from "../limits.js";
import { sessionModelCommandSchema, sessionRefCommandSchema, sessionResumeCommandSchema, sessionStartCommandSchema } from "./sessions.js";

/**
 * Durable commands: persisted by the control plane, streamed to the host with tracked ids,
 * executed at most once, acknowledged with a result. Each type has its payload schema here so both
 * ends validate the same thing; the agent switches over `type` exhaustively.
 */
export const commandSpecs = {
  ping: z.object({ sentAt: z.number() }),
  "session.start": sessionStartCommandSchema,
  /** Graceful: asks the provider to exit (its own quit), then ends the tmux session if it lingers. */
  "session.stop": sessionRefCommandSchema,
  /** Immediate: kills the tmux session (and removes its worktree). */
  "session.kill": sessionRefCommandSchema,
  "session.resume": sessionResumeCommandSchema,
  "session.model": sessionModelCommandSchema,
} as const;

export type CommandType = keyof typeof commandSpecs;
export const COMMAND_TYPES = Object.keys(commandSpecs) as CommandType[];
export const commandTypeSchema = z.enum(COMMAND_TYPES as [CommandType, ...CommandType[]]);

export const COMMAND_STATUSES = ["pending", "delivered", "succeeded", "failed", "expired"] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

/** A command as it travels to the agent. `id` is the decimal form of the durable cursor. */
export const commandEnvelopeSchema = z.object({
  id: z.string().regex(/^\d{1,19}$/),
  type: z.string().max(100),
  payload: boundedJson(LIMITS.commandPayloadBytes),
  expiresAt: z.string(),
});
export type CommandEnvelope = z.infer<typeof commandEnvelopeSchema>;

export const commandAckSchema = z.object({
  id: z.string().regex(/^\d{1,19}$/),
  ok: z.boolean(),
  result: boundedJson(LIMITS.commandPayloadBytes).optional(),
  error: z.object({ code: z.string().max(100), message: z.string().max(4000) }).optional(),
});
export type CommandAck = z.infer<typeof commandAckSchema>;

export const commandViewSchema = z.object({
  id: z.string(),
  hostId: z.string(),
  type: z.string(),
  status: z.enum(COMMAND_STATUSES),
  createdAt: z.string(),
  expiresAt: z.string(),
  deliveredAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  result: z.unknown().nullable(),
  error: z.string().nullable(),
});
export type CommandView = z.infer<typeof commandViewSchema>;
