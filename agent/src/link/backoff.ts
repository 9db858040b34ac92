/**
 * Capped exponential backoff with "equal jitter": half the delay is fixed, half random. After a
 * control-plane restart a fleet must not reconnect in lockstep, yet no host may wait longer than
 * the cap (which bounds the "all hosts back within 10 s" budget, DESIGN.md §7).
 */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 250, capMs: 5_000 };

export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  const ceiling = Math.min(opts.capMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  const random = opts.random ?? Math.random;
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
