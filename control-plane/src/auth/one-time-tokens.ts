import { randomUUID } from "node:crypto";
import { AppError } from "@codepiper/core";
import type { Db } from "../db/index.js";
import { hashSecret, newSecret, secretKindOf } from "../secrets.js";

export type OneTimeKind = "setup" | "join";

export async function createOneTimeToken(
  db: Db,
  input: { kind: OneTimeKind; ttlMs: number; createdById: string | null },
): Promise<{ id: string; token: string; expiresAt: Date }> {
  const token = newSecret(input.kind);
  const id = randomUUID();
  const expiresAt = new Date(Date.now() + input.ttlMs);
  await db.oneTimeToken.create({ data: { id, kind: input.kind, tokenHash: hashSecret(token), createdById: input.createdById, expiresAt } });
  return { id, token, expiresAt };
}

/**
 * Burns a one-time token atomically: the conditional update makes two concurrent uses impossible
 * (exactly one sees count = 1). Each failure has its own code so the CLI can say what happened.
 */
export async function consumeOneTimeToken(db: Db, kind: OneTimeKind, token: string, usedBy: string): Promise<void> {
  const invalid = kind === "join" ? "CODEPIPER_JOIN_TOKEN_INVALID" : "CODEPIPER_UNAUTHENTICATED";
  if (secretKindOf(token) !== kind) throw new AppError(invalid, `this is not a ${kind} token`);
  const tokenHash = hashSecret(token);
  const row = await db.oneTimeToken.findUnique({ where: { tokenHash } });
  if (!row || row.kind !== kind) throw new AppError(invalid, `unknown ${kind} token`);
  if (row.usedAt) {
    throw new AppError(kind === "join" ? "CODEPIPER_JOIN_TOKEN_USED" : "CODEPIPER_UNAUTHENTICATED", `this ${kind} token was already used`);
  }
  if (row.expiresAt.getTime() <= Date.now()) {
    throw new AppError(kind === "join" ? "CODEPIPER_JOIN_TOKEN_EXPIRED" : "CODEPIPER_UNAUTHENTICATED", `this ${kind} token expired at ${row.expiresAt.toISOString()}`);
  }
  const burnt = await db.oneTimeToken.updateMany({ where: { id: row.id, usedAt: null }, data: { usedAt: new Date(), usedBy } });
  if (burnt.count !== 1) {
    throw new AppError(kind === "join" ? "CODEPIPER_JOIN_TOKEN_USED" : "CODEPIPER_UNAUTHENTICATED", `this ${kind} token was already used`);
  }
}
