import type { EventSource, EventView } from "@codepiper/core";
import { call, type ApiHandle } from "../client.js";
import type { Output } from "../output.js";

/** An event as it arrives over tRPC (a JSON `payload` may be absent). */
export type EventLine = Omit<EventView, "payload"> & { payload?: unknown };

export interface EventQuery {
  host?: string;
  type?: string;
  sessionId?: string;
  source?: EventSource;
}

/**
 * `codepiper events` and `codepiper logs`: one page (a JSON array with --json), or with `follow`
 * the live tail (NDJSON with --json). Like `tail -f`, following without `since` starts from now.
 */
export async function printEvents(
  h: ApiHandle,
  out: Output,
  query: EventQuery,
  opts: { since: number | undefined; limit: number; follow: boolean; render: (e: EventLine) => string; what: string },
): Promise<void> {
  if (!opts.follow) {
    const page = await call(h, (api) => api.events.list.query({ ...query, since: opts.since, limit: opts.limit }));
    out.result(page.events, () => page.events.map(opts.render).join("\n") || "(no events)");
    return;
  }
  // Fail fast on a bad filter or token before holding a subscription open.
  await call(h, (api) => api.events.list.query({ ...query, since: opts.since, limit: 1 }));
  const from = opts.since ?? (await call(h, (api) => api.events.head.query())).lastId;
  process.stderr.write(`following ${opts.what} after id ${from} (Ctrl-C to stop)\n`);
  await followUntilInterrupted((done) =>
    h.api.events.follow.subscribe({ ...query, since: from }, { onData: (tracked) => out.line(tracked.data, () => opts.render(tracked.data)), ...done }),
  );
}

/**
 * Holds a subscription open until it completes, fails, or the user presses Ctrl-C (SIGINT) or the
 * process is asked to stop (SIGTERM): the shape every `--follow` command shares.
 */
export function followUntilInterrupted(subscribe: (done: { onError: (err: unknown) => void; onComplete: () => void }) => { unsubscribe(): void }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const sub = subscribe({ onError: reject, onComplete: resolve });
    const stop = () => {
      sub.unsubscribe();
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
