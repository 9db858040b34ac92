import { z } from "zod";
import { boundedJson } from "../json.js";
import { LIMITS } from "../limits.js";

/** Event types are dotted lower-case names: `host.started`, `session.state`, `test.burst`. */
export const eventTypeSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/, "dotted lower-case name, e.g. host.started");

/** One event as it sits in an agent's outbox and crosses the link. */
export const outboxEventSchema = z.object({
  seq: z.number().int().positive(),
  type: eventTypeSchema,
  sessionId: z.string().uuid().nullable(),
  at: z.string().datetime({ offset: true }),
  payload: boundedJson(LIMITS.eventPayloadBytes),
});
export type OutboxEvent = z.infer<typeof outboxEventSchema>;

export const eventBatchSchema = z.object({
  events: z
    .array(outboxEventSchema)
    .min(1)
    .max(LIMITS.eventBatchSize)
    .superRefine((events, ctx) => {
      for (let i = 1; i < events.length; i++) {
        if (events[i]!.seq <= events[i - 1]!.seq) {
          ctx.addIssue({ code: "custom", message: "events must be in strictly increasing seq order", path: [i, "seq"] });
          return;
        }
      }
    }),
});
export type EventBatch = z.infer<typeof eventBatchSchema>;

export const ingestResultSchema = z.object({
  /** Highest contiguous seq the control plane holds for this host: the agent prunes up to it. */
  ackedSeq: z.number().int().nonnegative(),
  inserted: z.number().int().nonnegative(),
});
export type IngestResult = z.infer<typeof ingestResultSchema>;

/** An event as users read it back (`codepiper events --json`). */
export const eventViewSchema = z.object({
  id: z.number(),
  hostId: z.string(),
  hostName: z.string(),
  seq: z.number(),
  sessionId: z.string().nullable(),
  type: z.string(),
  at: z.string(),
  receivedAt: z.string(),
  payload: z.unknown(),
});
export type EventView = z.infer<typeof eventViewSchema>;
