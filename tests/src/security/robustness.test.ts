// Bad input on an authenticated link must be refused without hurting anyone else: garbage frames,
// binary frames, malformed JSON-RPC, oversized messages and schema-invalid event batches sent as
// host A over a raw WebSocket. Meanwhile host B (a real agent) keeps answering pings, /healthz stays
// 200, and none of the bad events is stored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Fleet, expectOk, type FleetHost } from "../support/index.js";
import { attemptUpgrade, openRawLink, RawPeer, readHostCredentials, trpcHttp, wsUrl, type HostCredentials, type RpcMessage } from "./raw.js";

const LOAD = { loadAvg1: 0, memFreeBytes: 1, memTotalBytes: 2, agentRssBytes: 1, outboxPending: 0 };
const MiB = 1024 * 1024;

/** Watches /healthz in the background for the whole suite: every probe must answer 200. */
class HealthWatch {
  probes = 0;
  failures: string[] = [];
  private stopped = false;
  private loop: Promise<void>;

  constructor(url: string) {
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
          if (res.status !== 200) this.failures.push(`status ${res.status}`);
          await res.arrayBuffer();
        } catch (err) {
          this.failures.push(String(err));
        }
        this.probes++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

describe("robustness against bad input on the link and on HTTP", () => {
  let fleet: Fleet;
  let a: HostCredentials;
  let b: FleetHost;
  let health: HealthWatch;
  let ackedBefore: number;

  beforeAll(async () => {
    fleet = await Fleet.start();
    const hostA = await fleet.run("robust-a");
    b = await fleet.run("robust-b");
    // Host A's identity is used by the raw peer below. One host holds one link, so A's own agent
    // stops first (otherwise the two would keep replacing each other's link).
    await hostA.agent!.stop();
    await fleet.waitStatus("robust-a", "offline");
    a = readHostCredentials(hostA.stateDir);
    ackedBefore = (await fleet.hostList()).find((h) => h.name === "robust-a")!.ackedSeq;
    health = new HealthWatch(fleet.url);
  });
  afterAll(async () => {
    await health?.stop();
    await fleet?.close();
  });

  async function expectBStillServed(): Promise<void> {
    const ping = expectOk(await fleet.cli(["hosts", "ping", "robust-b", "--json", "--timeout", "10s"])).json<{ status: string }>();
    expect(ping.status).toBe("succeeded");
    expect(fleet.server.proc.running).toBe(true);
  }

  /** The link still does real work after the abuse: a heartbeat round-trips. */
  async function expectLinkWorks(peer: RawPeer): Promise<void> {
    const answer = await peer.call("mutation", "link.heartbeat", { load: LOAD });
    expect(answer.result?.data).toEqual({ ok: true });
  }

  /** Sends one raw frame and returns the error answer it provoked (by id, or id null for unparseable frames). */
  async function errorFor(peer: RawPeer, frame: string | Buffer, binary = false, id: number | null = null): Promise<RpcMessage> {
    const since = peer.received.length;
    await peer.sendRaw(frame, binary);
    const answer = await peer.next((m) => m.id === id, 5000, since);
    expect(answer.error, JSON.stringify(answer)).toBeDefined();
    expect(answer.result).toBeUndefined();
    return answer;
  }

  it("garbage text frames get a parse error and the link keeps working", async () => {
    const peer = await openRawLink(fleet.url, a);
    try {
      for (const frame of ["hello", "{", "null", "42", '"string"', "\u0000\u0001\u0002", "{}".repeat(10_000), "\ud800"]) {
        const answer = await errorFor(peer, frame);
        expect(answer.error!.data?.code).toBe("PARSE_ERROR");
      }
      expect(peer.open).toBe(true);
      await expectLinkWorks(peer);
    } finally {
      await peer.close();
    }
    await expectBStillServed();
  });

  it("binary frames are refused, even when they carry a valid call", async () => {
    const peer = await openRawLink(fleet.url, a);
    try {
      const call = JSON.stringify({ id: 7, jsonrpc: "2.0", method: "mutation", params: { path: "link.heartbeat", input: { load: LOAD } } });
      expect((await errorFor(peer, Buffer.from(call), true)).error!.data?.code).toBe("PARSE_ERROR");
      expect((await errorFor(peer, Buffer.from([0xff, 0x00, 0xfe, 0x80, 0x7f]), true)).error!.data?.code).toBe("PARSE_ERROR");
      expect(peer.received.some((m) => m.id === 7)).toBe(false);
      await expectLinkWorks(peer);
    } finally {
      await peer.close();
    }
    await expectBStillServed();
  });

  it("invalid JSON-RPC is answered with an error, never run", async () => {
    const peer = await openRawLink(fleet.url, a);
    try {
      await errorFor(peer, JSON.stringify({ id: 1, method: "nope", params: { path: "link.heartbeat", input: { load: LOAD } } }));
      await errorFor(peer, JSON.stringify({ id: 2, method: "mutation" }));
      await errorFor(peer, JSON.stringify({ id: 3, method: "mutation", params: "link.heartbeat" }));
      await errorFor(peer, JSON.stringify({ method: "mutation", params: { path: "link.heartbeat", input: { load: LOAD } } }));
      const missing = await errorFor(peer, JSON.stringify({ id: 4, method: "mutation", params: { path: "link.doesNotExist", input: {} } }), false, 4);
      expect(missing.error!.data?.code).toBe("NOT_FOUND");
      const wrongType = await errorFor(peer, JSON.stringify({ id: 5, method: "query", params: { path: "link.pushEvents", input: { events: [] } } }), false, 5);
      expect(wrongType.error!.data?.code).not.toBe("INTERNAL_SERVER_ERROR");
      await errorFor(peer, JSON.stringify({ id: 6, method: "subscription", params: { path: "link.heartbeat", input: { load: LOAD } } }), false, 6);
      const badInput = await errorFor(peer, JSON.stringify({ id: 8, method: "mutation", params: { path: "link.heartbeat", input: { load: { loadAvg1: "high" } } } }), false, 8);
      expect(badInput.error!.data).toMatchObject({ code: "BAD_REQUEST", appCode: "CODEPIPER_BAD_INPUT" });
      expect(badInput.error!.message).toMatch(/^invalid input: load\./);
      await expectLinkWorks(peer);
    } finally {
      await peer.close();
    }
    await expectBStillServed();
  });

  it("a message over 4 MiB closes that socket with 1009; the host can link again", async () => {
    const peer = await openRawLink(fleet.url, a);
    const big = JSON.stringify({ id: 9, method: "mutation", params: { path: "link.heartbeat", input: { load: LOAD, pad: "x".repeat(4 * MiB) } } });
    expect(big.length).toBeGreaterThan(4 * MiB);
    await peer.sendRaw(big).catch(() => undefined);
    const closed = await peer.closed;
    expect(closed.code).toBe(1009);
    expect(peer.received.some((m) => m.id === 9)).toBe(false);

    const again = await openRawLink(fleet.url, a);
    try {
      await expectLinkWorks(again);
    } finally {
      await again.close();
    }
    await expectBStillServed();
  });

  it("a user WebSocket message over 1 MiB closes that socket with 1009", async () => {
    const token = (JSON.parse(readFileSync(join(fleet.configDir, "credentials.json"), "utf8")) as { token: string }).token;
    const outcome = await attemptUpgrade(wsUrl(fleet.url, "/trpc"), { authorization: `Bearer ${token}` });
    expect(outcome.opened).toBe(true);
    if (!outcome.opened) return;
    const peer = new RawPeer(outcome.ws);
    const whoami = await peer.call("query", "auth.whoami");
    expect(whoami.result?.data).toMatchObject({ role: "admin" });
    await peer.sendRaw(JSON.stringify({ id: 99, method: "query", params: { path: "auth.whoami", input: "y".repeat(MiB + 10) } })).catch(() => undefined);
    expect((await peer.closed).code).toBe(1009);
    await expectBStillServed();
  });

  describe("schema-invalid event batches", () => {
    let peer: RawPeer;
    beforeAll(async () => {
      peer = await openRawLink(fleet.url, a);
    });
    afterAll(async () => {
      await peer?.close();
    });

    const at = () => new Date().toISOString();
    const event = (seq: number, overrides: Record<string, unknown> = {}) => ({ seq, type: "evil.event", sessionId: null, at: at(), payload: { seq }, ...overrides });
    const base = () => ackedBefore + 1;

    const cases: [string, () => unknown, RegExp][] = [
      ["seq 0", () => ({ events: [event(0)] }), /events\.0\.seq/],
      ["a negative seq", () => ({ events: [event(-5)] }), /events\.0\.seq/],
      ["a fractional seq", () => ({ events: [event(base() + 0.5)] }), /events\.0\.seq/],
      ["a seq beyond 2^53", () => ({ events: [event(2 ** 60)] }), /events\.0\.seq/],
      ["a repeated seq", () => ({ events: [event(base()), event(base())] }), /increasing/],
      ["decreasing seqs", () => ({ events: [event(base() + 1), event(base())] }), /increasing/],
      ["1001 events", () => ({ events: Array.from({ length: 1001 }, (_, i) => event(base() + i)) }), /events/],
      ["no events", () => ({ events: [] }), /events/],
      ["a payload over 64 KiB", () => ({ events: [event(base(), { payload: { blob: "z".repeat(64 * 1024) } })] }), /limit is 65536/],
      ["an event type that is not a dotted lower-case name", () => ({ events: [event(base(), { type: "Evil Event!" })] }), /events\.0\.type/],
      ["an empty event type", () => ({ events: [event(base(), { type: "" })] }), /events\.0\.type/],
      ["a 101-character event type", () => ({ events: [event(base(), { type: `evil.${"a".repeat(96)}` })] }), /events\.0\.type/],
      ["a session id that is not a uuid", () => ({ events: [event(base(), { sessionId: "../../etc/passwd" })] }), /events\.0\.sessionId/],
      ["a timestamp that is not ISO 8601", () => ({ events: [event(base(), { at: "yesterday" })] }), /events\.0\.at/],
      ["a seq given as a string", () => ({ events: [event(base(), { seq: String(base()) })] }), /events\.0\.seq/],
      ["no input at all", () => undefined, /input/],
      ["one valid event behind an invalid one", () => ({ events: [event(base()), event(base() + 1, { type: "BAD" })] }), /events\.1\.type/],
    ];

    it.each(cases)("refuses %s with BAD_REQUEST / CODEPIPER_BAD_INPUT", async (_name, input, message) => {
      const answer = await peer.call("mutation", "link.pushEvents", input());
      expect(answer.result, JSON.stringify(answer.result)).toBeUndefined();
      expect(answer.error!.data).toMatchObject({ code: "BAD_REQUEST", appCode: "CODEPIPER_BAD_INPUT" });
      expect(answer.error!.message).toMatch(message);
      expect(peer.open).toBe(true);
    });

    it("stored none of them, while the control plane kept serving", async () => {
      const events = expectOk(await fleet.cli(["events", "--host", "robust-a", "--json"])).json<{ type: string }[]>();
      expect(events).toEqual([]);
      expect((await fleet.hostList()).find((h) => h.name === "robust-a")!.ackedSeq).toBe(ackedBefore);
      await expectBStillServed();
    });

    it("while a valid batch on the same socket is stored (the control case)", async () => {
      const sessionId = randomUUID();
      const answer = await peer.call("mutation", "link.pushEvents", { events: [event(base(), { type: "robust.valid", sessionId })] });
      expect(answer.result?.data).toEqual({ ackedSeq: base(), inserted: 1 });
      const events = expectOk(await fleet.cli(["events", "--host", "robust-a", "--json"])).json<{ type: string; sessionId: string | null; payload: { foreignSessionId?: string } }[]>();
      // Stored, but a host may only write into its own sessions: an unknown session id is kept in
      // the payload for the record, not as the event's session (tests/src/sessions covers the rule).
      expect(events.map((e) => [e.type, e.sessionId, e.payload.foreignSessionId])).toEqual([["robust.valid", null, sessionId]]);
    });
  });

  it("an oversized HTTP body to /trpc gets 413, not a crash (with and without Content-Length)", async () => {
    const sized = await fetch(`${fleet.url}/trpc/auth.login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "a@example.com", password: "p".repeat(2 * MiB) }),
    });
    expect(sized.status).toBe(413);
    expect(((await sized.json()) as { error: { data: { code: string; appCode: string } } }).error.data).toMatchObject({
      code: "PAYLOAD_TOO_LARGE",
      appCode: "CODEPIPER_PAYLOAD_TOO_LARGE",
    });

    // Chunked, no Content-Length, 16 MiB: the server must answer (or cut us off) without buffering it all.
    const status = await new Promise<number | string>((resolve) => {
      const req = request(`${fleet.url}/trpc/auth.login`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", (err) => resolve((err as NodeJS.ErrnoException).code ?? String(err)));
      const chunk = Buffer.alloc(64 * 1024, "a");
      let sent = 0;
      const pump = () => {
        while (sent < 16 * MiB) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    });
    expect([413, "ECONNRESET", "EPIPE"]).toContain(status);
    expect((await trpcHttp(fleet.url, "hosts.list", { type: "query" })).status).toBe(401);
    await expectBStillServed();
  });

  it("malformed HTTP bodies get 4xx, not 500", async () => {
    for (const body of ["{", "null", "[1,2,3]", '{"email":5}']) {
      const res = await fetch(`${fleet.url}/trpc/auth.login`, { method: "POST", headers: { "content-type": "application/json" }, body });
      expect(res.status, `${body}: ${await res.clone().text()}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      await res.arrayBuffer();
    }
  });

  it("kept /healthz at 200 throughout, and host B online", async () => {
    await health.stop();
    expect(health.probes).toBeGreaterThan(10);
    expect(health.failures).toEqual([]);
    expect(b.agent!.running).toBe(true);
    expect((await fleet.hostList()).find((h) => h.name === "robust-b")!.status).toBe("online");
    expect(fleet.server.proc.stderr).not.toMatch(/"level":(50|60)/);
  });
});
