import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Db } from "../db/index.js";
import { ROLES, type Identity, type Role } from "../identity.js";
import { hashSecret } from "../secrets.js";

/**
 * Dashboard sessions: a random cookie value (`cp_session`), stored only as sha256 in WebSession.
 * A session ends at the first of: 7 days after login (absolute, `expiresAt`), 12 hours without a
 * request (idle, measured from `lastUsedAt`), logout/revocation, or the user being disabled.
 */
export const COOKIE_NAME = "cp_session";
export const WEB_SESSION_MAX_MS = 7 * 86_400_000;
export const WEB_SESSION_IDLE_MS = 12 * 3_600_000;
/** lastUsedAt is written at most this often per session (not on every request). */
const TOUCH_EVERY_MS = 60_000;
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

export async function createWebSession(db: Db, userId: string, source: string | null): Promise<{ id: string; value: string; expiresAt: Date }> {
  const value = randomBytes(32).toString("base64url");
  const id = randomUUID();
  const now = new Date();
  const expiresAt = new Date(now.getTime() + WEB_SESSION_MAX_MS);
  await db.webSession.create({ data: { id, userId, tokenHash: hashSecret(value), expiresAt, lastUsedAt: now, source } });
  return { id, value, expiresAt };
}

/** The `cp_session` value of a request, or null. Malformed values are returned as "" (→ 401). */
export function sessionCookieOf(req: IncomingMessage): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== COOKIE_NAME) continue;
    const value = part.slice(eq + 1).trim();
    return COOKIE_VALUE.test(value) ? value : "";
  }
  return null;
}

/** Resolves a cookie value to a user identity, or null (unknown, tampered, expired, idle, revoked, disabled). */
export async function authenticateWebSession(db: Db, value: string): Promise<Extract<Identity, { kind: "user" }> | null> {
  if (!COOKIE_VALUE.test(value)) return null;
  const row = await db.webSession.findUnique({ where: { tokenHash: hashSecret(value) }, include: { user: true } });
  if (!row || row.revokedAt || row.user.disabledAt) return null;
  const now = Date.now();
  if (row.expiresAt.getTime() <= now) return null;
  const lastUsed = (row.lastUsedAt ?? row.createdAt).getTime();
  if (now - lastUsed > WEB_SESSION_IDLE_MS) return null;
  const role = row.user.role as Role;
  if (!ROLES.includes(role)) return null;
  if (now - lastUsed > TOUCH_EVERY_MS) await db.webSession.update({ where: { id: row.id }, data: { lastUsedAt: new Date(now) } });
  return { kind: "user", userId: row.userId, email: row.user.email, role, tokenId: null, webSessionId: row.id };
}

/** `Set-Cookie` for a new session; `Secure` when the request came over https (directly or via a proxy). */
export function sessionCookie(value: string, secure: boolean): string {
  return `${COOKIE_NAME}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(WEB_SESSION_MAX_MS / 1000)}${secure ? "; Secure" : ""}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${COOKIE_NAME}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${secure ? "; Secure" : ""}`;
}
