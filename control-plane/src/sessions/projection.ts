import { isFinalState, sessionStateEventSchema, type OutboxEvent } from "@codepiper/core";
import { z } from "zod";
import { dateTimeForRawSql, toProviderPlaceholders, type DbHandle, type DbTx, type RawParam } from "../db/index.js";
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
  const usage: UsageRow[] = [];
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
      usage.push({ hostId, sessionId: e.sessionId, ...u, at: dateTimeForRawSql(db.provider, new Date(e.at)) });
    }
  }
  await insertUsageIgnoringDuplicates(db, tx, usage);
}

/** One Usage row; `at` already in the provider's raw-SQL DateTime form (dateTimeForRawSql). */
interface UsageRow extends z.infer<typeof usagePayloadSchema> {
  hostId: string;
  sessionId: string;
  at: string;
}

const USAGE_COLUMNS = ["hostId", "sessionId", "messageId", "model", "inputTokens", "outputTokens", "cacheReadTokens", "cacheCreationTokens", "at"] as const;
/** SQLite's SQLITE_MAX_VARIABLE_NUMBER (32766 since 3.32): rows per multi-row VALUES statement. */
const SQLITE_USAGE_ROWS_PER_STATEMENT = Math.floor(32766 / USAGE_COLUMNS.length);

/**
 * Stores a batch's usage in one statement (SQLite: one per 3,640 rows), `ON CONFLICT ("sessionId",
 * "messageId") DO NOTHING`: a message re-reported (a replayed batch, a tailer re-reading its
 * transcript after a restart) is counted once. One INSERT per row made usage-heavy batches ingest
 * at a third of the event rate (tests/bench/usage.ts). Prisma's createMany cannot do this on both
 * providers: `skipDuplicates` is not supported on SQLite. Same shapes as insertEventsIgnoringDuplicates.
 */
async function insertUsageIgnoringDuplicates(db: DbHandle, tx: DbTx, rows: readonly UsageRow[]): Promise<void> {
  // The first report of a message wins, as it did row by row: duplicates inside the batch are
  // dropped here, so the statement never depends on the order PostgreSQL inserts unnest's rows in.
  const seen = new Set<string>();
  const unique = rows.filter((r) => {
    const key = `${r.sessionId}\u0000${r.messageId}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (unique.length === 0) return;
  const columns = USAGE_COLUMNS.map((c) => `"${c}"`).join(", ");
  const conflict = `ON CONFLICT ("sessionId", "messageId") DO NOTHING`;
  if (db.provider === "postgresql") {
    // One array parameter per column (9 parameters whatever the batch size), as the events insert does.
    const cols = USAGE_COLUMNS.map((c) => unique.map((r) => r[c]));
    await tx.$executeRawUnsafe(
      `INSERT INTO "Usage" (${columns}) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::int[], $8::int[], $9::timestamp(3)[]) ${conflict}`,
      ...cols,
    );
    return;
  }
  for (let start = 0; start < unique.length; start += SQLITE_USAGE_ROWS_PER_STATEMENT) {
    const chunk = unique.slice(start, start + SQLITE_USAGE_ROWS_PER_STATEMENT);
    const params: RawParam[] = chunk.flatMap((r) => USAGE_COLUMNS.map((c) => r[c]));
    const tuple = `(${USAGE_COLUMNS.map(() => "?").join(", ")})`;
    const sql = `INSERT INTO "Usage" (${columns}) VALUES ${chunk.map(() => tuple).join(", ")} ${conflict}`;
    await tx.$executeRawUnsafe(toProviderPlaceholders(db.provider, sql, params.length), ...params);
  }
}
