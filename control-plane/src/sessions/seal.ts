import { createCipheriv, createHash, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes } from "node:crypto";

/**
 * Seals a small secret (a session's environment: env sets + explicit variables) to one host as a
 * compact **JWE** (RFC 7516/7518): `alg: ECDH-ES` with an ephemeral X25519 key (RFC 8037) against
 * the host's X25519 public key, Concat KDF, `enc: A256GCM`. The control plane stores and streams
 * only this; the private key never leaves the host, which opens it in memory
 * (agent/src/sessions/unseal.ts). A protected header `cp-sid` binds the blob to its session, so it
 * cannot be replayed into another one. Standard JWE libraries decrypt it (tested with jose).
 */
export const SEAL_ENC = "A256GCM";

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

function lengthPrefixed(data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

/** RFC 7518 §4.6.2 Concat KDF for ECDH-ES in direct key agreement mode (one SHA-256 round: 256 bits). */
export function concatKdf(z: Buffer, enc: string, keyBits = 256): Buffer {
  const round = Buffer.from([0, 0, 0, 1]);
  const suppPubInfo = Buffer.alloc(4);
  suppPubInfo.writeUInt32BE(keyBits);
  const otherInfo = Buffer.concat([lengthPrefixed(Buffer.from(enc)), lengthPrefixed(Buffer.alloc(0)), lengthPrefixed(Buffer.alloc(0)), suppPubInfo]);
  return createHash("sha256").update(round).update(z).update(otherInfo).digest().subarray(0, keyBits / 8);
}

export function seal(hostPublicKeyPem: string, plaintext: string, sessionId: string): string {
  const hostKey = createPublicKey(hostPublicKeyPem);
  const eph = generateKeyPairSync("x25519");
  const jwk = eph.publicKey.export({ format: "jwk" });
  const header = { alg: "ECDH-ES", enc: SEAL_ENC, epk: { kty: "OKP", crv: "X25519", x: jwk.x }, cty: "application/json", "cp-sid": sessionId };
  const protectedHeader = b64url(JSON.stringify(header));
  const cek = concatKdf(diffieHellman({ privateKey: eph.privateKey, publicKey: hostKey }), SEAL_ENC);
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", cek, iv);
  cipher.setAAD(Buffer.from(protectedHeader, "ascii"));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  // Direct key agreement: the JWE Encrypted Key part is empty.
  return [protectedHeader, "", b64url(iv), b64url(ciphertext), b64url(cipher.getAuthTag())].join(".");
}
