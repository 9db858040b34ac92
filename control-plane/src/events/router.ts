import { tracked } from "@trpc/server";
import { z } from "zod";
import { AppError, EVENT_SOURCES, LIMITS, eventSourceSchema, eventViewSchema, type EventSource, type EventView } from "@codepiper/core";
import { topics } from "../bus/bus.js";
import type { Services } from "../services.js";
import { router, viewerProcedure } from "../trpc.js";

const filterSchema = z.object({
  host: z.string().max(100).optional(),
  sessionId: z.string().uuid().optional(),
  type: z.string().max(100).optional(),
  /** hook | transcript | terminal | state: a family of event types (`codepiper logs --source`). */
  source: eventSourceSchema.optional(),
  /** Only events with id greater than this. */
  since: z.number().int().nonnegative().optional(),
});

async function resolveHostId(services: Services, host: string | undefined): Promise<string | undefined> {
  if (!host) return undefined;
  const row = await services.db.host.findFirst({ where: { OR: [{ name: host }, { id: host }] }, select: { id: true } });
  if (!row) throw new AppError("CODEPIPER_NOT_FOUND", `no host named ${host}`);
  return row.id;
}

interface EventFilter {
  hostId?: string;
  sessionId?: string;
  type?: string;
  source?: EventSource;
}

async function readEvents(services: Services, filter: EventFilter, since: bigint, limit: number): Promise<EventView[]> {
  const type = filter.type !== undefined || filter.source !== undefined ? { ...(filter.type !== undefined ? { equals: filter.type } : {}), ...(filter.source ? { startsWith: EVENT_SOURCES[filter.source] } : {}) } : undefined;
  const rows = await services.db.event.findMany({
    where: { id: { gt: since }, hostId: filter.hostId, sessionId: filter.sessionId, type },
    orderBy: { id: "asc" },
    take: limit,
    include: { host: { select: { name: true } } },
  });
  return rows.map((r) => ({
    id: Number(r.id),
    hostId: r.hostId,
    hostName: r.host.name,
    seq: Number(r.seq),
    sessionId: r.sessionId,
    type: r.type,
    at: r.at.toISOString(),
    receivedAt: r.receivedAt.toISOString(),
    payload: JSON.parse(r.payloadJson) as unknown,
  }));
}

export const eventsRouter = router({
  list: viewerProcedure
    .input(filterSchema.extend({ limit: z.number().int().min(1).max(LIMITS.pageMax).default(1000) }))
    .output(z.object({ events: z.array(eventViewSchema), next: z.number().nullable() }))
    .query(async ({ ctx, input }) => {
      const hostId = await resolveHostId(ctx.services, input.host);
      const events = await readEvents(ctx.services, { hostId, sessionId: input.sessionId, type: input.type, source: input.source }, BigInt(input.since ?? 0), input.limit);
      return { events, next: events.length === input.limit ? events[events.length - 1]!.id : null };
    }),

  /** Live tail: every matching event after `since` (or after `lastEventId` on reconnect), then new ones as they arrive. */
  /** The id of the newest event: a follower that wants only new events starts after it. */
  head: viewerProcedure.output(z.object({ lastId: z.number() })).query(async ({ ctx }) => {
    const last = await ctx.services.db.event.findFirst({ orderBy: { id: "desc" }, select: { id: true } });
    return { lastId: Number(last?.id ?? 0n) };
  }),

  follow: viewerProcedure.input(filterSchema.extend({ lastEventId: z.string().regex(/^\d+$/).nullish() })).subscription(async function* ({ ctx, input, signal }) {
    const services = ctx.services;
    const hostId = await resolveHostId(services, input.host);
    let cursor = BigInt(input.lastEventId ?? input.since ?? 0);
    while (!signal?.aborted) {
      const stop = new AbortController();
      const woken = services.bus.next(topics.events, signal ? AbortSignal.any([signal, stop.signal]) : stop.signal);
      const events = await readEvents(services, { hostId, sessionId: input.sessionId, type: input.type, source: input.source }, cursor, 500);
      for (const event of events) {
        cursor = BigInt(event.id);
        yield tracked(String(event.id), event);
      }
      if (events.length === 500) {
        stop.abort();
        continue;
      }
      await woken;
    }
  }),
});
