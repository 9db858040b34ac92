import { AppError } from "@codepiper/core";
import type { Services } from "../services.js";

/** Shortest prefix we match on: fewer characters would match half the fleet. */
const MIN_PREFIX = 4;
const SHOWN_CANDIDATES = 10;

/**
 * Finds a session from what a person typed: a full id, a unique id prefix (≥ 4 characters), or a
 * session name. An ambiguous prefix is an error that lists the candidates; "not found" names what
 * was looked for. Callers always get the host row with it (commands are routed to it).
 */
export async function resolveSession(services: Services, ref: string) {
  const include = { host: { select: { id: true, name: true, revokedAt: true, online: true, encryptionPublicKey: true } } } as const;
  const needle = ref.trim().toLowerCase();
  const exact = await services.db.session.findUnique({ where: { id: needle }, include });
  if (exact) return exact;
  if (/^[0-9a-f-]+$/.test(needle) && needle.length >= MIN_PREFIX) {
    const matches = await services.db.session.findMany({ where: { id: { startsWith: needle } }, include, take: SHOWN_CANDIDATES + 1, orderBy: { createdAt: "desc" } });
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      const list = matches.slice(0, SHOWN_CANDIDATES).map((m) => `${m.id}${m.name ? ` (${m.name})` : ""} on ${m.host.name}`);
      const more = matches.length > SHOWN_CANDIDATES ? ", …" : "";
      throw new AppError("CODEPIPER_AMBIGUOUS", `session prefix ${JSON.stringify(ref)} matches several sessions: ${list.join(", ")}${more}; type more characters`);
    }
  }
  const named = await services.db.session.findMany({ where: { name: ref.trim() }, include, take: SHOWN_CANDIDATES + 1, orderBy: { createdAt: "desc" } });
  if (named.length === 1) return named[0]!;
  if (named.length > 1) {
    throw new AppError("CODEPIPER_AMBIGUOUS", `several sessions are named ${JSON.stringify(ref)} (on different hosts): ${named.map((m) => `${m.id} on ${m.host.name}`).join(", ")}; use an id`);
  }
  if (needle.length < MIN_PREFIX && /^[0-9a-f-]+$/.test(needle)) throw new AppError("CODEPIPER_BAD_INPUT", `session id prefix ${JSON.stringify(ref)} is too short: give at least ${MIN_PREFIX} characters`);
  throw new AppError("CODEPIPER_NOT_FOUND", `no session ${JSON.stringify(ref.slice(0, 100))}`);
}

export type ResolvedSession = Awaited<ReturnType<typeof resolveSession>>;
