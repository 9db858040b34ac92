import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Constant-time token comparison that is also safe for different lengths: timingSafeEqual throws
 * on unequal lengths (and an early length check would leak the length), so both sides are hashed
 * to a fixed 32 bytes first. Use it in `authorize`.
 */
export function tokensEqual(expected: string, given: string): boolean {
  const a = createHash("sha256").update(expected, "utf8").digest();
  const b = createHash("sha256").update(given, "utf8").digest();
  return timingSafeEqual(a, b) && expected.length === given.length;
}
