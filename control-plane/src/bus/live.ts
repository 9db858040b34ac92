import type { Bus } from "./bus.js";

export interface LiveQueryOptions {
  /** Topics whose messages mean "re-query now". */
  prompt: readonly string[];
  /** Topics whose messages mean "re-query, but at most once per `throttleMs`" (heartbeats). */
  throttled?: readonly string[];
  throttleMs?: number;
  signal?: AbortSignal;
  /** Clock (tests); defaults to performance.now. */
  now?: () => number;
}

/**
 * A snapshot subscription: yields `query()` at once, then again after changes on the bus.
 *
 * Bursts are coalesced: listeners stay subscribed across passes and only set a dirty flag, so
 * every message that arrives while a query runs causes exactly one more pass after it (never
 * zero — a hint is never lost between two `bus.next` calls — and never one per message).
 * Messages are hints, not data (bus.ts), so coalescing them loses nothing. A pass whose result
 * equals the last one yielded is not sent again.
 *
 * Values are plain snapshots, not `tracked()`: a client that reconnects gets the whole current
 * state on subscribe, so there is nothing to resume from a `lastEventId`.
 */
export async function* liveQuery<T>(bus: Bus, opts: LiveQueryOptions, query: () => Promise<T>): AsyncGenerator<T, void, undefined> {
  const { signal } = opts;
  const now = opts.now ?? (() => performance.now());
  const throttleMs = opts.throttleMs ?? 1000;
  let dirty = true; // the first pass
  let throttledDirty = false;
  let wake: (() => void) | null = null;
  const poke = () => {
    dirty = true;
    wake?.();
  };
  const pokeThrottled = () => {
    throttledDirty = true;
    wake?.();
  };
  const unsubscribe = [...opts.prompt.map((t) => bus.subscribe(t, poke)), ...(opts.throttled ?? []).map((t) => bus.subscribe(t, pokeThrottled))];
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort);
  let lastPassAt = -Infinity;
  let last: string | null = null;
  try {
    while (!signal?.aborted) {
      const throttledDue = throttledDirty && now() - lastPassAt >= throttleMs;
      if (!dirty && !throttledDue) {
        // Sleep until a prompt change, an abort, or (if a throttled change is pending) its due time.
        const waitMs = throttledDirty ? Math.max(0, lastPassAt + throttleMs - now()) : null;
        await new Promise<void>((resolve) => {
          const timer = waitMs === null ? undefined : setTimeout(resolve, waitMs);
          wake = () => {
            if (timer) clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
        continue;
      }
      dirty = false;
      throttledDirty = false;
      lastPassAt = now();
      const value = await query();
      const encoded = JSON.stringify(value);
      if (encoded === last) continue;
      last = encoded;
      yield value;
    }
  } finally {
    for (const off of unsubscribe) off();
    signal?.removeEventListener("abort", onAbort);
  }
}
