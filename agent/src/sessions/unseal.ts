import { createDecipheriv, createHash, createPublicKey, diffieHellman, type KeyObject } from "node:crypto";
import { z } from "zod";
import { AppError } from "@codepiper/core";

/**
 * Opens what the control plane sealed to this host (control-plane/src/sessions/seal.ts): a
 * compact JWE, `alg: ECDH-ES` (X25519 ephemeral key), `enc: A256GCM`, with a protected `cp-sid`
 * header that must name this session. The plaintext only ever lives in memory.
 */
const headerSchema = z.object({
  alg: z.literal("ECDH-ES"),
  enc: z.literal("A256GCM"),
  epk: z.object({ kty: z.literal("OKP"), crv: z.literal("X25519"), x: z.string().max(100) }),
  "cp-sid": z.string(),
});

function lengthPrefixed(data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

/** RFC 7518 §4.6.2 Concat KDF (direct key agreement, 256-bit key). */
function concatKdf(z: Buffer, enc: string): Buffer {
  const suppPubInfo = Buffer.alloc(4);
  suppPubInfo.writeUInt32BE(256);
  const otherInfo = Buffer.concat([lengthPrefixed(Buffer.from(enc)), lengthPrefixed(Buffer.alloc(0)), lengthPrefixed(Buffer.alloc(0)), suppPubInfo]);
  return createHash("sha256").update(Buffer.from([0, 0, 0, 1])).update(z).update(otherInfo).digest();
}

export function unseal(privateKey: KeyObject, sealed: string, sessionId: string): string {
  const parts = sealed.split(".");
  if (parts.length !== 5 || parts[1] !== "") throw new AppError("CODEPIPER_BAD_INPUT", "sealed value: not a compact JWE with direct key agreement");
  const [protectedHeader, , iv, ciphertext, tag] = parts as [string, string, string, string, string];
  let header: z.infer<typeof headerSchema>;
  try {
    header = headerSchema.parse(JSON.parse(Buffer.from(protectedHeader, "base64url").toString("utf8")));
  } catch (err) {
    throw new AppError("CODEPIPER_BAD_INPUT", "sealed value: unsupported JWE header (expected ECDH-ES with X25519 and A256GCM)", { cause: err });
  }
  // Never echo any part of the value; the likely causes are a blob for another host or session.
  if (header["cp-sid"] !== sessionId) throw new AppError("CODEPIPER_BAD_INPUT", "sealed value belongs to another session");
  try {
    const epk = createPublicKey({ key: { kty: "OKP", crv: "X25519", x: header.epk.x }, format: "jwk" });
    const cek = concatKdf(diffieHellman({ privateKey, publicKey: epk }), header.enc);
    const decipher = createDecipheriv("aes-256-gcm", cek, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(protectedHeader, "ascii"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
  } catch (err) {
    throw new AppError("CODEPIPER_BAD_INPUT", "sealed value cannot be opened with this host's key (sealed for another host, or tampered with)", { cause: err });
  }
}
