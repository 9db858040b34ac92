import { randomUUID } from "node:crypto";
import type { Db } from "../db/index.js";
import { ROLES, roleAtLeast, type Identity, type Role } from "../identity.js";
import { hashSecret, newSecret, secretKindOf } from "../secrets.js";

/** Issues an API token; the secret is returned once and only its hash is stored. */
export async function issueApiToken(
  db: Db,
  input: { userId: string; name: string; role: Role; expiresAt: Date | null },
): Promise<{ id: string; token: string; expiresAt: Date | null }> {
  const token = newSecret("api");
  const id = randomUUID();
  await db.apiToken.create({
    data: { id, userId: input.userId, name: input.name, role: input.role, tokenHash: hashSecret(token), expiresAt: input.expiresAt },
  });
  return { id, token, expiresAt: input.expiresAt };
}

/**
 * Resolves a bearer token to a user identity, or null. Expired, revoked, malformed tokens and
 * tokens of disabled users all resolve to null: the caller answers UNAUTHORIZED without saying
 * which, so a stolen hash prefix or an old token teaches an attacker nothing.
 */
export async function authenticateApiToken(db: Db, token: string): Promise<Extract<Identity, { kind: "user" }> | null> {
  if (secretKindOf(token) !== "api" || token.length > 200) return null;
  const row = await db.apiToken.findUnique({ where: { tokenHash: hashSecret(token) }, include: { user: true } });
  if (!row || row.revokedAt || row.user.disabledAt) return null;
  if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) return null;
  const userRole = row.user.role as Role;
  const tokenRole = row.role as Role;
  if (!ROLES.includes(userRole) || !ROLES.includes(tokenRole)) return null;
  // Last use, for `codepiper tokens list`: written at most once a minute per token (not on every call).
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    void db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } }).catch(() => undefined);
  }
  // A token never grants more than its owner has now (the owner may have been demoted).
  const role = roleAtLeast(userRole, tokenRole) ? tokenRole : userRole;
  return { kind: "user", userId: row.userId, email: row.user.email, role, tokenId: row.id };
}
