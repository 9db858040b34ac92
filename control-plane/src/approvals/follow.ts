import { topics } from "../bus/bus.js";
import type { Services } from "../services.js";
import { toApprovalView, type ApprovalView } from "./service.js";

/** The inbox sent on connect: the newest pending requests. */
export const FOLLOW_INITIAL_LIMIT = 200;
/** Most approvals read by one query; more changed ids wait for the next pass. */
export const FOLLOW_READ_CHUNK = 500;
/** Last statuses remembered (oldest forgotten first): bounds a follower's memory on a busy fleet. */
const SEEN_LIMIT = 10_000;

/** The newest `take` approvals matching `where`, oldest first (the order a follower sends them in). */
async function read(services: Services, where: { id?: { in: string[] }; status?: string }, take: number): Promise<ApprovalView[]> {
  const rows = (await services.db.approval.findMany({ where, orderBy: { createdAt: "desc" }, take })).reverse();
  if (rows.length === 0) return [];
  const hosts = new Map((await services.db.host.findMany({ where: { id: { in: [...new Set(rows.map((r) => r.hostId))] } }, select: { id: true, name: true } })).map((h) => [h.id, h.name]));
  return rows.map((r) => toApprovalView(r, hosts.get(r.hostId) ?? r.hostId));
}

/**
 * What `approvals.follow` sends: the pending requests now, then each request and decision as it
 * happens, each (id, status) once.
 *
 * Every publish on topics.approvals carries the approval's id (approvals/service.ts: request,
 * decide, withdraw, expire — the link router's paths go through those). So a wake-up reads only
 * the rows named since the last read — not the newest 200 and a diff, which cost a 200-row read
 * per change per follower. Ids are collected by a listener that stays subscribed for the whole
 * subscription (bus.next between reads would drop ids published while a read runs); the ids that
 * arrive while a read is in flight are coalesced and read together in the next pass. A message
 * without an id (none today) is still honoured the old way: one read of the newest 200 approvals.
 */
export async function* followApprovals(services: Services, signal?: AbortSignal): AsyncGenerator<ApprovalView, void, undefined> {
  const changed = new Set<string>();
  let rescan = false;
  let wake: (() => void) | null = null;
  const rouse = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  const unsubscribe = services.bus.subscribe(topics.approvals, (id) => {
    if (id.length > 0 && id.length <= 100) changed.add(id);
    else rescan = true;
    rouse();
  });
  signal?.addEventListener("abort", rouse);
  // Last status sent per approval (insertion order = least recently changed first).
  const seen = new Map<string, string>();
  const fresh = (view: ApprovalView): boolean => {
    if (seen.get(view.id) === view.status) return false;
    seen.delete(view.id);
    seen.set(view.id, view.status);
    if (seen.size > SEEN_LIMIT) seen.delete(seen.keys().next().value!);
    return true;
  };
  try {
    // Subscribed first, read second: a change racing with this read is in `changed` already.
    for (const view of (await read(services, { status: "pending" }, FOLLOW_INITIAL_LIMIT))) if (fresh(view)) yield view;
    while (!signal?.aborted) {
      if (changed.size === 0 && !rescan) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      let views: ApprovalView[];
      if (rescan) {
        rescan = false;
        views = await read(services, {}, FOLLOW_INITIAL_LIMIT);
      } else {
        // Taken out of the set before the read: an id published during the read goes back in, for the next pass.
        const ids: string[] = [];
        for (const id of changed) {
          ids.push(id);
          changed.delete(id);
          if (ids.length === FOLLOW_READ_CHUNK) break;
        }
        views = await read(services, { id: { in: ids } }, ids.length);
      }
      for (const view of views) if (fresh(view)) yield view;
    }
  } finally {
    unsubscribe();
    signal?.removeEventListener("abort", rouse);
  }
}
