import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { AppError, LINK_TOKEN_MAX_TTL_SECONDS } from "@codepiper/core";
import { writeFileAtomic, type StatePaths } from "./state.js";

/** The host's key pairs. Private keys never leave the host (DESIGN.md §2). */
export interface HostKeys {
  signing: KeyObject;
  encryption: KeyObject;
}

export function generateHostKeys(): HostKeys {
  return {
    signing: generateKeyPairSync("ed25519").privateKey,
    encryption: generateKeyPairSync("x25519").privateKey,
  };
}

export function publicPem(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ type: "spki", format: "pem" }).toString();
}

export function saveHostKeys(paths: StatePaths, keys: HostKeys): void {
  writeFileAtomic(paths.signingKey, keys.signing.export({ type: "pkcs8", format: "pem" }).toString(), 0o600);
  writeFileAtomic(paths.encryptionKey, keys.encryption.export({ type: "pkcs8", format: "pem" }).toString(), 0o600);
}

export function loadHostKeys(paths: StatePaths): HostKeys {
  try {
    return { signing: createPrivateKey(readFileSync(paths.signingKey)), encryption: createPrivateKey(readFileSync(paths.encryptionKey)) };
  } catch (err) {
    throw new AppError("CODEPIPER_AGENT_NOT_ENROLLED", `cannot read the host keys in ${paths.keysDir}: re-join this host`, { cause: err });
  }
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

/**
 * Signs a fresh link JWT (EdDSA) for one connection. Synchronous on purpose: it runs inside the
 * WebSocket constructor that tRPC's client calls on every (re)connect.
 */
export function signLinkToken(opts: { key: KeyObject; hostId: string; audience: string; ttlSeconds?: number; now?: number }): string {
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  const ttl = Math.min(opts.ttlSeconds ?? LINK_TOKEN_MAX_TTL_SECONDS, LINK_TOKEN_MAX_TTL_SECONDS);
  const header = b64url(JSON.stringify({ alg: "EdDSA", typ: "JWT" }));
  const payload = b64url(JSON.stringify({ sub: opts.hostId, aud: opts.audience, iat, exp: iat + ttl, jti: randomBytes(18).toString("base64url") }));
  const signature = sign(null, Buffer.from(`${header}.${payload}`), opts.key);
  return `${header}.${payload}.${b64url(signature)}`;
}
