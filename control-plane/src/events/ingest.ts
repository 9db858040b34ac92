import type { EventBatch, IngestResult } from "@codepiper/core";
import { topics } from "../bus/bus.js";
import { insertEventsIgnoringDuplicates } from "../db/index.js";
import { metrics } from "../metrics.js";
import type { Services } from "../services.js";

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
    const fresh = batch.events.filter((e) => BigInt(e.seq) > acked);
    if (fresh.length === 0) return { ackedSeq: acked, inserted: 0, gap: null as null | [bigint, bigint] };
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
    await tx.host.updateMany({ where: { id: hostId, ackedSeq: { lt: last } }, data: { ackedSeq: last, lastSeenAt: new Date() } });
    return { ackedSeq: last > acked ? last : acked, inserted, gap };
  });
  if (result.gap) log.warn({ hostId, missingFrom: String(result.gap[0]), missingTo: String(result.gap[1]) }, "host outbox has a gap: events lost on the host side");
  if (result.inserted > 0) {
    metrics.eventsIngested += result.inserted;
    services.bus.publish(topics.events, hostId);
  }
  return { ackedSeq: Number(result.ackedSeq), inserted: result.inserted };
}
