import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rate-limit.js";

describe("login rate limiter", () => {
  it("locks a key out after maxFailures within the window, and forgets it on success", () => {
    let now = 1_000_000;
    const limiter = new RateLimiter({ maxFailures: 3, windowMs: 60_000, lockoutMs: 30_000, now: () => now });
    limiter.fail("a");
    limiter.fail("a");
    expect(limiter.retryAfter("a")).toBe(0);
    limiter.fail("a");
    expect(limiter.retryAfter("a")).toBe(30_000);
    now += 10_000;
    expect(limiter.retryAfter("a")).toBe(20_000);
    now += 20_000;
    expect(limiter.retryAfter("a")).toBe(0);
    limiter.succeed("a");
    limiter.fail("a");
    expect(limiter.retryAfter("a")).toBe(0);
  });

  it("starts a new window after windowMs", () => {
    let now = 0;
    const limiter = new RateLimiter({ maxFailures: 2, windowMs: 1000, lockoutMs: 5000, now: () => now });
    limiter.fail("k");
    now += 2000;
    limiter.fail("k");
    expect(limiter.retryAfter("k")).toBe(0);
  });

  it("remembers a bounded number of keys", () => {
    const limiter = new RateLimiter({ maxFailures: 1, windowMs: 1000, lockoutMs: 1000, maxKeys: 10 });
    for (let i = 0; i < 100; i++) limiter.fail(`k${i}`);
    expect(limiter.retryAfter("k0")).toBe(0);
    expect(limiter.retryAfter("k99")).toBeGreaterThan(0);
  });
});
