import { createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, createCipheriv } from "node:crypto";

/**
 * Seals a small secret (a session's explicit env variables) to one host, so the control plane
 * stores and streams only ciphertext that the host alone can open (DESIGN.md §2: the X25519 key
 * "for receiving secrets"; the private half never leaves the host).
 *
 * Scheme "cp1" (ECDH-ES, like JWE's ECDH-ES with direct key agreement): an ephemeral X25519 key
 * pair; shared secret with the host's public key; HKDF-SHA256(secret, salt = ephemeral public key
 * DER, info = "codepiper-seal-v1" + aad) → 32-byte AES-256-GCM key; 12-byte random IV.
 * Text form: `cp1.<ephemeral SPKI DER>.<iv>.<ciphertext>.<tag>`, each part base64url.
 * The agent's side is agent/src/sessions/unseal.ts; a test round-trips the two.
 */
export const SEAL_INFO = "codepiper-seal-v1";

export function seal(hostPublicKeyPem: string, plaintext: string, aad: string): string {
  const hostKey = createPublicKey(hostPublicKeyPem);
  const eph = generateKeyPairSync("x25519");
  const secret = diffieHellman({ privateKey: eph.privateKey, publicKey: hostKey });
  const ephDer = eph.publicKey.export({ type: "spki", format: "der" });
  const key = Buffer.from(hkdfSync("sha256", secret, ephDer, Buffer.from(SEAL_INFO + aad), 32));
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return ["cp1", ephDer, iv, ct, cipher.getAuthTag()].map((p) => (typeof p === "string" ? p : p.toString("base64url"))).join(".");
}
