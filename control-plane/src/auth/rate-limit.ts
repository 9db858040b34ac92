/**
 * Fixed-window failure counter with lockout, keyed by whatever the caller chooses (email, address).
 * Bounded: at most `maxKeys` keys are remembered; the oldest are forgotten first.
 */
export class RateLimiter {
  private readonly failures = new Map<string, { count: number; windowStart: number; lockedUntil: number }>();

  constructor(
    private readonly opts: { maxFailures: number; windowMs: number; lockoutMs: number; maxKeys?: number; now?: () => number },
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Milliseconds until `key` may try again, or 0. */
  retryAfter(key: string): number {
    const entry = this.failures.get(key);
    if (!entry) return 0;
    return Math.max(0, entry.lockedUntil - this.now());
  }

  fail(key: string): void {
    const now = this.now();
    let entry = this.failures.get(key);
    if (!entry || now - entry.windowStart > this.opts.windowMs) {
      entry = { count: 0, windowStart: now, lockedUntil: 0 };
    }
    entry.count += 1;
    if (entry.count >= this.opts.maxFailures) entry.lockedUntil = now + this.opts.lockoutMs;
    this.failures.delete(key);
    this.failures.set(key, entry);
    const max = this.opts.maxKeys ?? 100_000;
    while (this.failures.size > max) this.failures.delete(this.failures.keys().next().value as string);
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }
}
