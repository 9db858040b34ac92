import { generateKeyPairSync } from "node:crypto";
import { compactDecrypt } from "jose";
import { describe, expect, it } from "vitest";
import { seal } from "./seal.js";

describe("seal: a standard compact JWE (ECDH-ES + X25519, A256GCM)", () => {
  it("is decrypted by an independent JWE implementation (jose) with the host's private key", async () => {
    const host = generateKeyPairSync("x25519");
    const jwe = seal(host.publicKey.export({ type: "spki", format: "pem" }).toString(), '{"K":"v"}', "sid-1");
    const { plaintext, protectedHeader } = await compactDecrypt(jwe, host.privateKey);
    expect(Buffer.from(plaintext).toString()).toBe('{"K":"v"}');
    expect(protectedHeader).toMatchObject({ alg: "ECDH-ES", enc: "A256GCM", "cp-sid": "sid-1" });
  });
});
