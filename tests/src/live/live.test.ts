/**
 * The dashboard's live subscriptions over the real user WebSocket: hosts.live and sessions.live
 * send the whole list at once, then a new list after a change (a host going offline, a session
 * starting), with no polling by the client.
 */
import { createTRPCClient, createWSClient, wsLink } from "@trpc/client";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppRouter } from "@codepiper/control-plane";
import { ADMIN, expectOk, Fleet, waitFor } from "../support/index.js";
import { runFakeProviderHost, startSession, type FakeProviderHost } from "../support/sessions.js";
import { trpcHttp, wsUrl } from "../security/raw.js";

/** Every value a subscription sent, in order, and how it ended. */
interface Received<T> {
  values: T[];
  error: unknown;
  stop(): void;
}

describe("live subscriptions", () => {
  let fleet: Fleet;
  let provider: FakeProviderHost;
  let ws: ReturnType<typeof createWSClient>;
  let api: ReturnType<typeof createTRPCClient<AppRouter>>;

  function collect<T>(subscribe: (handlers: { onData(v: T): void; onError(e: unknown): void }) => { unsubscribe(): void }): Received<T> {
    const out: Received<T> = { values: [], error: null, stop: () => undefined };
    const sub = subscribe({ onData: (v) => out.values.push(v), onError: (e) => (out.error = e) });
    out.stop = () => sub.unsubscribe();
    return out;
  }

  beforeAll(async () => {
    fleet = await Fleet.start();
    const login = await trpcHttp(fleet.url, "auth.login", { type: "mutation", input: { ...ADMIN, tokenName: "live" } });
    const token = (login.body as { result: { data: { token: string } } }).result.data.token;
    class AuthedWebSocket extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        super(address, protocols, { headers: { authorization: `Bearer ${token}` } });
        this.on("error", () => undefined);
      }
    }
    ws = createWSClient({ url: wsUrl(fleet.url, "/trpc"), WebSocket: AuthedWebSocket as unknown as typeof globalThis.WebSocket });
    api = createTRPCClient<AppRouter>({ links: [wsLink({ client: ws })] });
    provider = await runFakeProviderHost(fleet, "live-h1");
  }, 120_000);
  afterAll(async () => {
    await ws?.close();
    await fleet?.close();
  });

  it("hosts.live: the list at once, then a new list when a host goes offline", async () => {
    const got = collect<Awaited<ReturnType<typeof api.hosts.list.query>>>((h) => api.hosts.live.subscribe(undefined, h));
    try {
      const first = await waitFor(() => got.values[0], { what: "the first hosts.live value" });
      expect(first).toEqual(await api.hosts.list.query());
      expect(first.find((h) => h.name === "live-h1")).toMatchObject({ status: "online", sessions: 0 });

      await provider.host.agent!.kill();
      const offline = await waitFor(() => got.values.find((list) => list.find((h) => h.name === "live-h1")?.status === "offline"), { what: "live-h1 offline on hosts.live" });
      expect(offline.find((h) => h.name === "live-h1")).toMatchObject({ online: false, load: null });
      expect(got.error).toBeNull();
    } finally {
      got.stop();
    }
  });

  it("sessions.live: the list at once, then a new list after a session starts", async () => {
    await fleet.run("live-h1"); // back online after the previous test
    const got = collect<Awaited<ReturnType<typeof api.sessions.list.query>>>((h) => api.sessions.live.subscribe({ host: "live-h1" }, h));
    const hosts = collect<Awaited<ReturnType<typeof api.hosts.list.query>>>((h) => api.hosts.live.subscribe(undefined, h));
    try {
      const first = await waitFor(() => got.values[0], { what: "the first sessions.live value" });
      expect(first).toEqual([]);

      const s = await startSession(fleet, [...provider.startArgs(), "--name", "live-1"]);
      const withIt = await waitFor(() => got.values.find((list) => list.some((v) => v.id === s.id)), { what: "the new session on sessions.live" });
      expect(withIt.find((v) => v.id === s.id)).toMatchObject({ name: "live-1", hostName: "live-h1" });
      // The host view counts the sessions that have not ended.
      await waitFor(() => hosts.values.some((list) => list.find((h) => h.name === "live-h1")?.sessions === 1), { what: "sessions: 1 on hosts.live" });

      expectOk(await fleet.cli(["kill", s.id]));
      await waitFor(() => got.values.some((list) => list.some((v) => v.id === s.id && (v.status === "stopped" || v.status === "crashed"))), { what: "the session's end on sessions.live" });
      await waitFor(() => hosts.values.at(-1)?.find((h) => h.name === "live-h1")?.sessions === 0, { what: "sessions: 0 on hosts.live" });
      expect(got.error).toBeNull();
    } finally {
      got.stop();
      hosts.stop();
    }
  });

  it("codepiper analytics: --json is the summary; a bad --range exits non-zero", async () => {
    const json = expectOk(await fleet.cli(["analytics", "--range", "today", "--json"])).json<{ range: string; bucket: string; series: unknown[]; totals: { sessions: number } }>();
    expect(json).toMatchObject({ range: "today", bucket: "hour" });
    expect(json.series.length).toBeGreaterThanOrEqual(1);
    expect(json.totals.sessions).toBeGreaterThanOrEqual(1); // live-1, started above
    expect(expectOk(await fleet.cli(["analytics"])).stdout).toContain("Estimated cost");
    expect((await fleet.cli(["analytics", "--range", "1y"])).code).not.toBe(0);
  });
});
