import { AppError, type EventBatch, type IngestResult } from "@codepiper/core";
import { topics } from "../bus/bus.js";
import { insertEventsIgnoringDuplicates } from "../db/index.js";
import { metrics } from "../metrics.js";
import type { Services } from "../services.js";
import { ownedSessionIds, projectSessionEvents } from "../sessions/projection.js";

/**
 * Idempotent ingest of one outbox batch (DESIGN.md §2). Events at or below the host's acked seq
 * are dropped before touching the table; the rest are inserted with ON CONFLICT DO NOTHING on
 * (hostId, seq), so a batch re-sent after a lost answer or a crash is never counted twice. The
 * new acked seq is written in the same transaction as the rows it covers.
 *
 * Gaps: seqs come from the agent's AUTOINCREMENT outbox, so a gap means events the agent no longer
 * has (its state dir was restored or wiped). Waiting for them would block the host forever, so the
 * ack moves past the gap and the gap is logged loudly.
 */
export async function ingestEvents(services: Services, hostId: string, batch: EventBatch): Promise<IngestResult> {
  const { db, database, log } = services;
  const result = await db.$transaction(async (tx) => {
    const host = await tx.host.findUniqueOrThrow({ where: { id: hostId }, select: { ackedSeq: true } });
    const acked = host.ackedSeq;
    let fresh = batch.events.filter((e) => BigInt(e.seq) > acked);
    if (fresh.length === 0) return { ackedSeq: acked, inserted: 0, gap: null as null | [bigint, bigint], foreign: 0, sessionIds: [] as string[] };
    // A host writes only into its own sessions: a foreign or unknown session id is dropped from the
    // event (the event itself is kept, so nothing the host sent is lost) and logged.
    const owned = await ownedSessionIds(tx, hostId, fresh);
    const foreign = fresh.filter((e) => e.sessionId !== null && !owned.has(e.sessionId)).length;
    if (foreign > 0) fresh = fresh.map((e) => (e.sessionId !== null && !owned.has(e.sessionId) ? { ...e, sessionId: null, payload: { foreignSessionId: e.sessionId, payload: e.payload } } : e));
    const inserted = await insertEventsIgnoringDuplicates(
      database,
      fresh.map((e) => ({
        hostId,
        seq: BigInt(e.seq),
        sessionId: e.sessionId,
        type: e.type,
        payloadJson: JSON.stringify(e.payload ?? null),
        at: new Date(e.at),
      })),
      tx,
    );
    const first = BigInt(fresh[0]!.seq);
    const gap: null | [bigint, bigint] = first > acked + 1n ? [acked + 1n, first - 1n] : null;
    const last = BigInt(fresh[fresh.length - 1]!.seq);
    // Compare-and-set on the acked seq: if a concurrent push (a replaced link's last batch) moved it
    // meanwhile, this transaction must not project the same events a second time.
    const moved = await tx.host.updateMany({ where: { id: hostId, ackedSeq: acked }, data: { ackedSeq: last, lastSeenAt: new Date() } });
    if (moved.count !== 1) throw new AppError("CODEPIPER_CONFLICT", "a concurrent batch from this host was ingested; retry");
    await projectSessionEvents(database, tx, hostId, fresh, log);
    // Every session these events name may have changed (state, model, usage): its watchers re-read.
    const sessionIds = [...new Set(fresh.map((e) => e.sessionId).filter((id): id is string => id !== null))];
    return { ackedSeq: last, inserted, gap, foreign, sessionIds };
  });
  if (result.foreign > 0) log.warn({ hostId, count: result.foreign }, "host sent events for sessions that are not its own; stored without the session id");
  if (result.gap) log.warn({ hostId, missingFrom: String(result.gap[0]), missingTo: String(result.gap[1]) }, "host outbox has a gap: events lost on the host side");
  if (result.inserted > 0) {
    metrics.eventsIngested += result.inserted;
    services.bus.publish(topics.events, hostId);
    services.bus.publish(topics.sessions, hostId);
    for (const id of result.sessionIds) services.bus.publish(topics.sessionChanged(id), hostId);
  }
  return { ackedSeq: Number(result.ackedSeq), inserted: result.inserted };
}
