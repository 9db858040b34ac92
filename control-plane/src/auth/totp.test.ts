import { describe, expect, it } from "vitest";
import { base32Decode, base32Encode, hashRecoveryCode, hotp, newRecoveryCodes, otpauthUri, totp, verifyTotp } from "./totp.js";

// RFC 6238 Appendix B: the seeds are ASCII "1234567890" repeated to the hash's block size.
const SEED_SHA1 = Buffer.from("12345678901234567890");
const SEED_SHA256 = Buffer.from("12345678901234567890123456789012");
const SEED_SHA512 = Buffer.from("1234567890123456789012345678901234567890123456789012345678901234");
const VECTORS: [number, string, string, string][] = [
  [59, "94287082", "46119246", "90693936"],
  [1111111109, "07081804", "68084774", "25091201"],
  [1111111111, "14050471", "67062674", "99943326"],
  [1234567890, "89005924", "91819424", "93441116"],
  [2000000000, "69279037", "90698825", "38618901"],
  [20000000000, "65353130", "77737706", "47863826"],
];

describe("totp (RFC 6238)", () => {
  it.each(VECTORS)("matches the RFC test vectors at T=%i", (t, sha1, sha256, sha512) => {
    expect(totp(SEED_SHA1, t * 1000, 8, "sha1")).toBe(sha1);
    expect(totp(SEED_SHA256, t * 1000, 8, "sha256")).toBe(sha256);
    expect(totp(SEED_SHA512, t * 1000, 8, "sha512")).toBe(sha512);
    // The 6-digit code apps show is the same value mod 10^6.
    expect(totp(SEED_SHA1, t * 1000)).toBe(sha1.slice(2));
  });

  it("matches RFC 4226 HOTP vectors", () => {
    expect([0, 1, 2, 9].map((c) => hotp(SEED_SHA1, c))).toEqual(["755224", "287082", "359152", "520489"]);
  });

  it("accepts ±1 step and refuses reuse of a spent step", () => {
    const now = 1_700_000_000_000;
    const step = Math.floor(now / 30_000);
    expect(verifyTotp(SEED_SHA1, totp(SEED_SHA1, now), { nowMs: now })).toBe(step);
    expect(verifyTotp(SEED_SHA1, totp(SEED_SHA1, now - 30_000), { nowMs: now })).toBe(step - 1);
    expect(verifyTotp(SEED_SHA1, totp(SEED_SHA1, now + 30_000), { nowMs: now })).toBe(step + 1);
    expect(verifyTotp(SEED_SHA1, totp(SEED_SHA1, now - 60_000), { nowMs: now })).toBeNull();
    expect(verifyTotp(SEED_SHA1, totp(SEED_SHA1, now), { nowMs: now, lastStep: step })).toBeNull();
    expect(verifyTotp(SEED_SHA1, totp(SEED_SHA1, now + 30_000), { nowMs: now, lastStep: step })).toBe(step + 1);
    expect(verifyTotp(SEED_SHA1, "12345", { nowMs: now })).toBeNull();
    expect(verifyTotp(SEED_SHA1, "abcdef", { nowMs: now })).toBeNull();
  });

  it("round-trips base32 and builds an otpauth URI", () => {
    expect(base32Encode(Buffer.from("foobar"))).toBe("MZXW6YTBOI");
    expect(base32Decode("MZXW6YTBOI").toString()).toBe("foobar");
    expect(base32Decode(base32Encode(SEED_SHA1))).toEqual(SEED_SHA1);
    expect(otpauthUri("MZXW6YTBOI", "a@b.c")).toBe("otpauth://totp/CodePiper%3Aa%40b.c?secret=MZXW6YTBOI&issuer=CodePiper&algorithm=SHA1&digits=6&period=30");
  });

  it("makes distinct recovery codes, hashed case- and dash-insensitively", () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);
    expect(hashRecoveryCode(codes[0]!.toUpperCase().replace("-", ""))).toBe(hashRecoveryCode(codes[0]!));
  });
});
