import { isFinalState, sessionStateEventSchema, type OutboxEvent } from "@codepiper/core";
import { z } from "zod";
import { rawExec, dateTimeForRawSql, type DbHandle, type DbTx } from "../db/index.js";
import type { Logger } from "../log.js";

/**
 * Read models derived from a host's events, applied inside the ingest transaction to exactly the
 * events that transaction stores for the first time (seq above the host's acked seq), so each one
 * is applied once: session status from `session.state`, token usage from `transcript.usage`.
 */
/** `policy.decision` events (agent/src/sessions/policy.ts) → PolicyDecision rows for `codepiper audit`. */
const decisionPayloadSchema = z.object({
  tool: z.string().max(200),
  args: z.string().max(4096),
  decision: z.enum(["allow", "deny", "ask"]),
  outcome: z.enum(["allowed", "denied", "prompted"]),
  decider: z.string().max(300),
  policyId: z.string().max(100).nullable(),
  policyName: z.string().max(200).nullable(),
  ruleIndex: z.number().int().nullable(),
  approvalId: z.string().max(100).nullable(),
  hookEvent: z.string().max(100).nullable(),
});

const usagePayloadSchema = z.object({
  messageId: z.string().min(1).max(300),
  model: z.string().max(200),
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cacheReadTokens: z.number().int().nonnegative(),
  cacheCreationTokens: z.number().int().nonnegative(),
});

/**
 * Events naming a session must name one of this host's sessions: a host can never write into
 * another host's session (they would be shown there, and could move its state). Returns the ids
 * that are this host's; the caller stores the others without a session id.
 */
export async function ownedSessionIds(tx: DbTx, hostId: string, events: readonly OutboxEvent[]): Promise<Set<string>> {
  const ids = [...new Set(events.map((e) => e.sessionId).filter((id): id is string => id !== null))];
  if (ids.length === 0) return new Set();
  const rows = await tx.session.findMany({ where: { id: { in: ids }, hostId }, select: { id: true } });
  return new Set(rows.map((r) => r.id));
}

export async function projectSessionEvents(db: DbHandle, tx: DbTx, hostId: string, events: readonly OutboxEvent[], log: Logger): Promise<void> {
  const usage: unknown[][] = [];
  for (const e of events) {
    if (!e.sessionId) continue;
    if (e.type === "session.state") {
      const parsed = sessionStateEventSchema.safeParse(e.payload);
      if (!parsed.success) {
        log.warn({ hostId, sessionId: e.sessionId, seq: e.seq }, "ignoring malformed session.state event");
        continue;
      }
      const s = parsed.data;
      const final = isFinalState(s.state);
      await tx.session.updateMany({
        where: { id: e.sessionId, hostId, stateSeq: { lt: BigInt(e.seq) } },
        data: {
          status: s.state,
          stateSeq: BigInt(e.seq),
          ...(s.exitCode !== undefined ? { exitCode: s.exitCode } : {}),
          ...(s.error !== undefined ? { error: s.error } : {}),
          ...(s.providerSessionId ? { providerSessionId: s.providerSessionId } : {}),
          ...(s.transcriptPath ? { transcriptPath: s.transcriptPath } : {}),
          ...(s.model ? { model: s.model } : {}),
          endedAt: final ? new Date(e.at) : null,
        },
      });
    } else if (e.type === "policy.decision") {
      const parsed = decisionPayloadSchema.safeParse(e.payload);
      if (!parsed.success) {
        log.warn({ hostId, sessionId: e.sessionId, seq: e.seq }, "ignoring malformed policy.decision event");
        continue;
      }
      const d = parsed.data;
      await tx.policyDecision.create({
        data: { hostId, sessionId: e.sessionId, at: new Date(e.at), tool: d.tool, argsSummary: d.args, decision: d.decision, outcome: d.outcome, decider: d.decider, policyId: d.policyId, policyName: d.policyName, ruleIndex: d.ruleIndex, approvalId: d.approvalId, hookEvent: d.hookEvent },
      });
    } else if (e.type === "transcript.usage") {
      const parsed = usagePayloadSchema.safeParse(e.payload);
      if (!parsed.success) continue;
      const u = parsed.data;
      usage.push([hostId, e.sessionId, u.messageId, u.model, u.inputTokens, u.outputTokens, u.cacheReadTokens, u.cacheCreationTokens, dateTimeForRawSql(db.provider, new Date(e.at))]);
    }
  }
  const at = db.provider === "postgresql" ? "CAST(? AS timestamp(3))" : "?";
  for (const row of usage) {
    await rawExec(
      db,
      `INSERT INTO "Usage" ("hostId", "sessionId", "messageId", "model", "inputTokens", "outputTokens", "cacheReadTokens", "cacheCreationTokens", "at") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ${at}) ON CONFLICT ("sessionId", "messageId") DO NOTHING`,
      row as (string | number)[],
      tx,
    );
  }
}
