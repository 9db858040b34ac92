import { createDecipheriv, createPublicKey, diffieHellman, hkdfSync, type KeyObject } from "node:crypto";
import { AppError } from "@codepiper/core";

/**
 * Opens what the control plane sealed to this host (control-plane/src/sessions/seal.ts, scheme
 * "cp1": X25519 ECDH-ES + HKDF-SHA256 + AES-256-GCM). The plaintext only ever lives in memory.
 * `aad` binds a sealed value to its purpose (the session id), so a blob cannot be replayed into
 * another session.
 */
const SEAL_INFO = "codepiper-seal-v1";

export function unseal(privateKey: KeyObject, sealed: string, aad: string): string {
  const parts = sealed.split(".");
  if (parts.length !== 5 || parts[0] !== "cp1") throw new AppError("CODEPIPER_BAD_INPUT", "sealed value: unknown format");
  const [ephDer, iv, ct, tag] = parts.slice(1).map((p) => Buffer.from(p, "base64url")) as [Buffer, Buffer, Buffer, Buffer];
  try {
    const ephKey = createPublicKey({ key: ephDer, format: "der", type: "spki" });
    const secret = diffieHellman({ privateKey, publicKey: ephKey });
    const key = Buffer.from(hkdfSync("sha256", secret, ephDer, Buffer.from(SEAL_INFO + aad), 32));
    const decipher = createDecipheriv("aes-256-gcm", key, iv);
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ct), decipher.final()]).toString("utf8");
  } catch (err) {
    // Never echo any part of the value; the likely cause is a blob sealed to another host's key.
    throw new AppError("CODEPIPER_BAD_INPUT", "sealed value cannot be opened with this host's key (sealed for another host, or tampered with)", { cause: err });
  }
}
