import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Bearer secrets (API tokens, join tokens, setup tokens) are random, prefixed by kind so a leaked
 * one is recognisable, and stored only as sha256: they are high-entropy, so a slow hash buys
 * nothing (passwords use argon2id instead).
 */
export type SecretKind = "api" | "join" | "setup";
const PREFIX: Record<SecretKind, string> = { api: "cpa_", join: "cpj_", setup: "cps_" };

export function newSecret(kind: SecretKind): string {
  return PREFIX[kind] + randomBytes(32).toString("base64url");
}

export function secretKindOf(secret: string): SecretKind | null {
  for (const [kind, prefix] of Object.entries(PREFIX)) if (secret.startsWith(prefix)) return kind as SecretKind;
  return null;
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
