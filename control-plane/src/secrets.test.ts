import { describe, expect, it } from "vitest";
import { hashSecret, newSecret, safeEqual, secretKindOf } from "./secrets.js";

describe("bearer secrets", () => {
  it("are unique, prefixed by kind and at least 256 bits", () => {
    const a = newSecret("api");
    const b = newSecret("api");
    expect(a).not.toBe(b);
    expect(secretKindOf(a)).toBe("api");
    expect(secretKindOf(newSecret("join"))).toBe("join");
    expect(secretKindOf("nope")).toBeNull();
    expect(Buffer.from(a.slice(4), "base64url").length).toBe(32);
  });

  it("are stored as a hash that does not reveal them", () => {
    const s = newSecret("setup");
    expect(hashSecret(s)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSecret(s)).not.toContain(s.slice(4, 12));
    expect(safeEqual(hashSecret(s), hashSecret(s))).toBe(true);
    expect(safeEqual(hashSecret(s), hashSecret(`${s}x`))).toBe(false);
  });
});
