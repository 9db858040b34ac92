// The link is authenticated at the HTTP upgrade (DESIGN.md §2): every refusal must be a real HTTP
// status with the x-codepiper-error code, and no WebSocket may be opened. These tests speak raw
// `ws` to a real control plane process, with a real enrolled host's keys.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { signLinkToken } from "@codepiper/agent";
import { CLOSE_CODES } from "@codepiper/core";
import { Fleet, expectOk } from "../support/index.js";
import {
  attemptUpgrade,
  craftJwt,
  ed25519Signer,
  hmacSigner,
  linkClaims,
  noSignature,
  RawPeer,
  readHostCredentials,
  readMetrics,
  trpcHttp,
  validLinkJwt,
  wsUrl,
  type HostCredentials,
} from "./raw.js";

describe("link authentication at the upgrade", () => {
  let fleet: Fleet;
  let host: HostCredentials;
  let other: HostCredentials;
  let linkUrl: string;

  beforeAll(async () => {
    fleet = await Fleet.start();
    linkUrl = wsUrl(fleet.url, "/link");
    host = readHostCredentials((await fleet.join("auth-a")).stateDir);
    other = readHostCredentials((await fleet.join("auth-b")).stateDir);
  });
  afterAll(async () => {
    await fleet?.close();
  });

  /** Asserts the upgrade is refused with `status` + `code`, and that the server opened no link. */
  async function expectRefused(headers: Record<string, string>, status: number, code: string): Promise<string> {
    const before = await readMetrics(fleet.url);
    const outcome = await attemptUpgrade(linkUrl, headers);
    if (outcome.opened) {
      outcome.ws.terminate();
      throw new Error(`expected ${status} ${code}, but the WebSocket opened`);
    }
    expect({ status: outcome.status, header: outcome.code, body: outcome.body?.error?.code }).toEqual({ status, header: code, body: code });
    const after = await readMetrics(fleet.url);
    expect(after.codepiper_refused_upgrades_total).toBe(before.codepiper_refused_upgrades_total! + 1);
    expect(after.codepiper_link_connections).toBe(before.codepiper_link_connections);
    return outcome.body?.error?.message ?? "";
  }

  const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

  /** Closes an accepted link and waits until the server has let go of it too. */
  async function closeLink(peer: RawPeer): Promise<void> {
    await peer.close();
    await expect.poll(async () => (await readMetrics(fleet.url)).codepiper_link_connections).toBe(0);
  }

  it("accepts a valid token from the agent's own signer (the control case)", async () => {
    const outcome = await attemptUpgrade(linkUrl, bearer(signLinkToken({ key: host.key, hostId: host.hostId, audience: host.audience })));
    expect(outcome.opened).toBe(true);
    if (!outcome.opened) return;
    const peer = new RawPeer(outcome.ws);
    const answer = await peer.call("mutation", "link.heartbeat", { load: { loadAvg1: 0, memFreeBytes: 1, memTotalBytes: 2, agentRssBytes: 1, outboxPending: 0 } });
    expect(answer.result?.data).toEqual({ ok: true });
    await closeLink(peer);
  });

  it("refuses a missing Authorization header with 401 CODEPIPER_LINK_TOKEN_MISSING", async () => {
    await expectRefused({}, 401, "CODEPIPER_LINK_TOKEN_MISSING");
    await expectRefused({ authorization: "" }, 401, "CODEPIPER_LINK_TOKEN_MISSING");
    await expectRefused({ authorization: "Basic dXNlcjpwYXNzd29yZA==" }, 401, "CODEPIPER_LINK_TOKEN_MISSING");
  });

  it("refuses a bearer value that is not a JWT with 401 CODEPIPER_LINK_TOKEN_INVALID", async () => {
    for (const junk of ["not-a-jwt", "a.b.c", "e30.e30.e30", `${"x".repeat(20)}.${"y".repeat(20)}`, "a.b.c.d.e"]) {
      await expectRefused(bearer(junk), 401, "CODEPIPER_LINK_TOKEN_INVALID");
    }
  });

  it("refuses a token signed by another Ed25519 key, or by one host for another, with 401 CODEPIPER_LINK_TOKEN_INVALID", async () => {
    const stranger = generateKeyPairSync("ed25519").privateKey;
    await expectRefused(bearer(craftJwt({ alg: "EdDSA", typ: "JWT" }, linkClaims(host), ed25519Signer(stranger))), 401, "CODEPIPER_LINK_TOKEN_INVALID");
    // Host B's key is real and registered, but not for host A's id.
    await expectRefused(bearer(craftJwt({ alg: "EdDSA", typ: "JWT" }, linkClaims(host), ed25519Signer(other.key))), 401, "CODEPIPER_LINK_TOKEN_INVALID");
    // A valid token with one byte of its claims changed.
    const [h, , s] = validLinkJwt(host).split(".");
    const tampered = Buffer.from(JSON.stringify({ ...linkClaims(host), exp: Math.floor(Date.now() / 1000) + 30 })).toString("base64url");
    await expectRefused(bearer(`${h}.${tampered}.${s}`), 401, "CODEPIPER_LINK_TOKEN_INVALID");
  });

  it("refuses alg none and HS256 (with the host's public key as the HMAC secret)", async () => {
    const claims = linkClaims(host);
    await expectRefused(bearer(craftJwt({ alg: "none", typ: "JWT" }, claims, noSignature)), 401, "CODEPIPER_LINK_TOKEN_INVALID");
    await expectRefused(bearer(`${craftJwt({ alg: "none", typ: "JWT" }, claims, noSignature)}AA`), 401, "CODEPIPER_LINK_TOKEN_INVALID");
    await expectRefused(bearer(craftJwt({ alg: "HS256", typ: "JWT" }, claims, hmacSigner(host.publicPem))), 401, "CODEPIPER_LINK_TOKEN_INVALID");
    // The right signature under a header that lies about the algorithm.
    await expectRefused(bearer(craftJwt({ alg: "HS256", typ: "JWT" }, claims, ed25519Signer(host.key))), 401, "CODEPIPER_LINK_TOKEN_INVALID");
  });

  it("refuses an expired token with 401 CODEPIPER_LINK_TOKEN_EXPIRED", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(bearer(validLinkJwt(host, { iat: now - 600, exp: now - 570 })), 401, "CODEPIPER_LINK_TOKEN_EXPIRED");
    // exp still ahead, but issued long ago: too old all the same.
    await expectRefused(bearer(validLinkJwt(host, { iat: now - 3600, exp: now + 20 })), 401, "CODEPIPER_LINK_TOKEN_EXPIRED");
  });

  it("refuses a token living longer than 60 s, or with iat missing or in the future, with 401 CODEPIPER_LINK_TOKEN_INVALID", async () => {
    const now = Math.floor(Date.now() / 1000);
    const tooLong = await expectRefused(bearer(validLinkJwt(host, { iat: now, exp: now + 3600 })), 401, "CODEPIPER_LINK_TOKEN_INVALID");
    expect(tooLong).toMatch(/60 s/);
    await expectRefused(bearer(validLinkJwt(host, { iat: now, exp: now + 61 })), 401, "CODEPIPER_LINK_TOKEN_INVALID");
    await expectRefused(bearer(validLinkJwt(host, { iat: undefined, exp: now + 30 })), 401, "CODEPIPER_LINK_TOKEN_INVALID");
    await expectRefused(bearer(validLinkJwt(host, { exp: undefined })), 401, "CODEPIPER_LINK_TOKEN_INVALID");
    await expectRefused(bearer(validLinkJwt(host, { jti: undefined })), 401, "CODEPIPER_LINK_TOKEN_INVALID");
    const future = await expectRefused(bearer(validLinkJwt(host, { iat: now + 3600, exp: now + 3630 })), 401, "CODEPIPER_LINK_TOKEN_INVALID");
    expect(future).toMatch(/clock/);
    // Exactly 60 s is the limit the agent itself uses: accepted.
    const ok = await attemptUpgrade(linkUrl, bearer(validLinkJwt(host, { iat: now, exp: now + 60 })));
    expect(ok.opened).toBe(true);
    if (ok.opened) await closeLink(new RawPeer(ok.ws));
  });

  it("refuses a token for another control plane with 401 CODEPIPER_LINK_TOKEN_AUDIENCE", async () => {
    await expectRefused(bearer(validLinkJwt(host, { aud: "codepiper:control-plane:someone-else" })), 401, "CODEPIPER_LINK_TOKEN_AUDIENCE");
    await expectRefused(bearer(validLinkJwt(host, { aud: undefined })), 401, "CODEPIPER_LINK_TOKEN_AUDIENCE");
  });

  it("accepts a token once and refuses its replay with 401 CODEPIPER_LINK_TOKEN_REPLAYED", async () => {
    const jwt = validLinkJwt(host);
    const first = await attemptUpgrade(linkUrl, bearer(jwt));
    expect(first.opened).toBe(true);
    if (!first.opened) return;
    const peer = new RawPeer(first.ws);
    // Replayed while the first link is up, and again after it closed.
    await expectRefused(bearer(jwt), 401, "CODEPIPER_LINK_TOKEN_REPLAYED").catch(async (err: unknown) => {
      await peer.close();
      throw err;
    });
    expect(peer.open).toBe(true);
    await closeLink(peer);
    await expectRefused(bearer(jwt), 401, "CODEPIPER_LINK_TOKEN_REPLAYED");
  });

  it("refuses an unknown host id with 401 CODEPIPER_HOST_UNKNOWN", async () => {
    await expectRefused(bearer(validLinkJwt(host, { sub: randomUUID() })), 401, "CODEPIPER_HOST_UNKNOWN");
  });

  it("refuses a revoked host with 403 CODEPIPER_HOST_REVOKED", async () => {
    const revoked = readHostCredentials((await fleet.join("auth-revoked")).stateDir);
    // Linked before the revocation: its live socket is closed at once with the revoked close code.
    const live = await attemptUpgrade(linkUrl, bearer(validLinkJwt(revoked)));
    expect(live.opened).toBe(true);
    if (!live.opened) return;
    const peer = new RawPeer(live.ws);
    expectOk(await fleet.cli(["hosts", "revoke", "auth-revoked"]));
    expect((await peer.closed).code).toBe(CLOSE_CODES.revoked);
    await expect.poll(async () => (await readMetrics(fleet.url)).codepiper_link_connections).toBe(0);
    await expectRefused(bearer(validLinkJwt(revoked)), 403, "CODEPIPER_HOST_REVOKED");
  });

  it("refuses an agent speaking a protocol older than supported with 412 CODEPIPER_PROTOCOL_TOO_OLD", async () => {
    const message = await expectRefused({ ...bearer(validLinkJwt(host)), "x-codepiper-protocol": "0" }, 412, "CODEPIPER_PROTOCOL_TOO_OLD");
    expect(message).toMatch(/upgrade/);
    await expectRefused({ ...bearer(validLinkJwt(host)), "x-codepiper-protocol": "banana" }, 412, "CODEPIPER_PROTOCOL_TOO_OLD");
  });

  it("refuses a user API token on /link, and a host JWT on /trpc (WebSocket and HTTP)", async () => {
    const apiToken = (JSON.parse(readFileSync(join(fleet.configDir, "credentials.json"), "utf8")) as { token: string }).token;
    // The API token itself is good: it works where it belongs.
    expect((await trpcHttp(fleet.url, "auth.whoami", { type: "query", token: apiToken })).status).toBe(200);
    await expectRefused(bearer(apiToken), 401, "CODEPIPER_LINK_TOKEN_INVALID");

    const jwt = validLinkJwt(host);
    const onTrpc = await attemptUpgrade(wsUrl(fleet.url, "/trpc"), bearer(jwt));
    if (onTrpc.opened) onTrpc.ws.terminate();
    expect(onTrpc).toMatchObject({ opened: false, status: 401, code: "CODEPIPER_UNAUTHENTICATED" });
    const overHttp = await trpcHttp(fleet.url, "hosts.list", { type: "query", token: jwt });
    expect(overHttp.status).toBe(401);
    expect(overHttp.body.error.data).toMatchObject({ code: "UNAUTHORIZED", appCode: "CODEPIPER_UNAUTHENTICATED" });
    // The JWT above was never accepted anywhere, so it is still unused: it still opens a link.
    const stillFresh = await attemptUpgrade(linkUrl, bearer(jwt));
    expect(stillFresh.opened).toBe(true);
    if (stillFresh.opened) await closeLink(new RawPeer(stillFresh.ws));
  });

  it("kept serving throughout", async () => {
    expect(fleet.server.proc.running).toBe(true);
    expect((await fetch(`${fleet.url}/healthz`)).status).toBe(200);
  });
});
