import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { seal } from "@codepiper/control-plane/sessions/seal";
import { unseal } from "@codepiper/agent/sessions/unseal";

describe("sealed env, a compact JWE (control plane seal → agent unseal)", () => {
  const host = generateKeyPairSync("x25519");
  const pem = host.publicKey.export({ type: "spki", format: "pem" }).toString();

  it("round-trips, and the ciphertext does not contain the value", () => {
    const sealed = seal(pem, JSON.stringify({ TOKEN: "canary-value-123" }), "session-1");
    expect(sealed).not.toContain("canary");
    expect(JSON.parse(unseal(host.privateKey, sealed, "session-1"))).toEqual({ TOKEN: "canary-value-123" });
  });

  it("refuses another host's key, another session (aad), and tampering, without echoing anything", () => {
    const sealed = seal(pem, "secret-value", "session-1");
    const other = generateKeyPairSync("x25519").privateKey;
    expect(() => unseal(other, sealed, "session-1")).toThrow(/cannot be opened/);
    expect(() => unseal(host.privateKey, sealed, "session-2")).toThrow(/another session/);
    const parts = sealed.split(".");
    parts[3] = Buffer.from("x".repeat(12)).toString("base64url");
    expect(() => unseal(host.privateKey, parts.join("."), "session-1")).toThrow(/cannot be opened/);
    expect(() => unseal(host.privateKey, "garbage", "session-1")).toThrow(/not a compact JWE/);
    // The session binding is integrity-protected: editing the header breaks the tag.
    const header = JSON.parse(Buffer.from(sealed.split(".")[0]!, "base64url").toString()) as Record<string, unknown>;
    const forged = [Buffer.from(JSON.stringify({ ...header, "cp-sid": "session-2" })).toString("base64url"), ...sealed.split(".").slice(1)].join(".");
    expect(() => unseal(host.privateKey, forged, "session-2")).toThrow(/cannot be opened/);
  });
});
