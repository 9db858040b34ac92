import { describe, expect, it } from "vitest";
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff.js";

const ceilingOf = (attempt: number, o: BackoffOptions) => Math.min(o.capMs, o.baseMs * 2 ** attempt);

describe("backoffDelay (capped exponential, equal jitter)", () => {
  it("stays within [ceiling/2, ceiling] for every attempt, with the default and a custom schedule", () => {
    for (const opts of [DEFAULT_BACKOFF, { baseMs: 100, capMs: 3_000 }, { baseMs: 1, capMs: 5 }]) {
      for (let attempt = 0; attempt < 40; attempt++) {
        const ceiling = ceilingOf(attempt, opts);
        for (let k = 0; k < 50; k++) {
          const d = backoffDelay(attempt, opts);
          expect(d).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
          expect(d).toBeLessThanOrEqual(Math.ceil(ceiling));
        }
        // The two ends of the random range map to the two ends of the window.
        expect(backoffDelay(attempt, { ...opts, random: () => 0 })).toBe(Math.round(ceiling / 2));
        expect(backoffDelay(attempt, { ...opts, random: () => 0.999_999 })).toBe(Math.round(ceiling / 2 + 0.999_999 * (ceiling / 2)));
      }
    }
  });

  it("grows exponentially from the base and is capped", () => {
    const top = (attempt: number) => backoffDelay(attempt, { baseMs: 250, capMs: 8_000, random: () => 1 });
    expect([0, 1, 2, 3, 4, 5].map(top)).toEqual([250, 500, 1_000, 2_000, 4_000, 8_000]);
    expect(top(6)).toBe(8_000);
    // Huge attempt counts (a host offline for days) neither overflow nor exceed the cap.
    for (const attempt of [31, 100, 1_000, 1e9]) {
      const d = backoffDelay(attempt);
      expect(Number.isFinite(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(DEFAULT_BACKOFF.capMs / 2);
      expect(d).toBeLessThanOrEqual(DEFAULT_BACKOFF.capMs);
    }
  });

  it("is jittered: a fleet restarting together does not redial in lockstep", () => {
    for (const attempt of [0, 3, 10]) {
      const ceiling = ceilingOf(attempt, DEFAULT_BACKOFF);
      const delays = Array.from({ length: 1_000 }, () => backoffDelay(attempt));
      const distinct = new Set(delays).size;
      expect(distinct).toBeGreaterThan(Math.min(100, ceiling / 4));
      // Spread over the window, not bunched at one end.
      const min = Math.min(...delays);
      const max = Math.max(...delays);
      expect(min).toBeLessThan(ceiling * 0.6);
      expect(max).toBeGreaterThan(ceiling * 0.9);
      const firstHalf = delays.filter((d) => d < ceiling * 0.75).length;
      expect(firstHalf).toBeGreaterThan(300);
      expect(firstHalf).toBeLessThan(700);
    }
  });
});
