import { createPublicKey, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { decodeJwt, errors as joseErrors, jwtVerify } from "jose";
import {
  AppError,
  LINK_TOKEN_MAX_TTL_SECONDS,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  linkClaimsSchema,
} from "@codepiper/core";
import type { Identity } from "../identity.js";
import type { Services } from "../services.js";

export const PROTOCOL_HEADER = "x-codepiper-protocol";

/**
 * Authenticates an agent's WebSocket upgrade (DESIGN.md §2): the per-connection EdDSA JWT must be
 * signed by the host's registered key, addressed to this control plane, at most 60 s long, not
 * expired, and its jti never seen before. Runs before the upgrade so that a refused agent gets a
 * real 401/403 with a code, not a bare close that tRPC's client would retry forever.
 */
export async function authenticateLink(services: Services, req: IncomingMessage): Promise<Extract<Identity, { kind: "host" }>> {
  const protocol = Number(req.headers[PROTOCOL_HEADER] ?? PROTOCOL_VERSION);
  if (!Number.isInteger(protocol) || protocol < MIN_PROTOCOL_VERSION) {
    throw new AppError(
      "CODEPIPER_PROTOCOL_TOO_OLD",
      `agent speaks link protocol ${String(req.headers[PROTOCOL_HEADER])}; this control plane needs ${MIN_PROTOCOL_VERSION}–${PROTOCOL_VERSION}: upgrade the agent`,
    );
  }
  // MISSING means no bearer credential at all; a bearer value that is not a signed compact JWS
  // (an API token, garbage, an unsigned alg=none token) was presented, so it is INVALID.
  const bearer = /^Bearer +(\S+)$/i.exec((req.headers.authorization ?? "").trim());
  if (!bearer) throw new AppError("CODEPIPER_LINK_TOKEN_MISSING", "the link upgrade needs Authorization: Bearer <host JWT>");
  const jwt = bearer[1]!;
  if (jwt.length > 4096 || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(jwt)) {
    throw new AppError("CODEPIPER_LINK_TOKEN_INVALID", "the link token is not a signed JWT");
  }

  let unverified: ReturnType<typeof decodeJwt>;
  try {
    unverified = decodeJwt(jwt);
  } catch {
    throw new AppError("CODEPIPER_LINK_TOKEN_INVALID", "the link token is not a JWT");
  }
  const hostId = typeof unverified.sub === "string" ? unverified.sub : "";
  if (!/^[0-9a-f-]{36}$/i.test(hostId)) throw new AppError("CODEPIPER_LINK_TOKEN_INVALID", "the link token has no host id");

  const host = await services.db.host.findUnique({ where: { id: hostId } });
  if (!host) throw new AppError("CODEPIPER_HOST_UNKNOWN", "this host is not enrolled here (deleted, or enrolled with another control plane)");
  if (host.revokedAt) throw new AppError("CODEPIPER_HOST_REVOKED", `host ${host.name} was revoked at ${host.revokedAt.toISOString()}`);

  let claims;
  try {
    const key = createPublicKey(host.signingPublicKey);
    const verified = await jwtVerify(jwt, key, { algorithms: ["EdDSA"], audience: services.audience, clockTolerance: 5, maxTokenAge: `${LINK_TOKEN_MAX_TTL_SECONDS + 5}s` });
    claims = linkClaimsSchema.parse(verified.payload);
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new AppError("CODEPIPER_LINK_TOKEN_EXPIRED", "the link token has expired (is the host's clock right?)");
    if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === "aud") {
      throw new AppError("CODEPIPER_LINK_TOKEN_AUDIENCE", "the link token is addressed to another control plane: re-join this host");
    }
    // JWTExpired (a subclass, handled above) covers "iat too far in the past". What is left for
    // iat is a missing claim or one in the future: neither is an expiry.
    if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === "iat") {
      throw new AppError(
        "CODEPIPER_LINK_TOKEN_INVALID",
        err.reason === "missing" ? "the link token has no iat claim" : "the link token was issued in the future (is the host's clock right?)",
      );
    }
    throw new AppError("CODEPIPER_LINK_TOKEN_INVALID", "the link token's signature or claims are invalid", { cause: err });
  }
  if (claims.exp - claims.iat > LINK_TOKEN_MAX_TTL_SECONDS) {
    throw new AppError("CODEPIPER_LINK_TOKEN_INVALID", `the link token lives longer than ${LINK_TOKEN_MAX_TTL_SECONDS} s`);
  }

  // Single use: the primary key on jti makes a replay fail even across replicas.
  try {
    await services.db.linkJti.create({ data: { jti: claims.jti, hostId, expiresAt: new Date((claims.exp + 10) * 1000) } });
  } catch {
    throw new AppError("CODEPIPER_LINK_TOKEN_REPLAYED", "this link token was already used (replay)");
  }
  return { kind: "host", hostId, hostName: host.name, connectionId: randomUUID() };
}

/** Forget jtis whose tokens can no longer be presented. */
export async function pruneLinkJtis(services: Services): Promise<number> {
  const { count } = await services.db.linkJti.deleteMany({ where: { expiresAt: { lt: new Date() } } });
  return count;
}
