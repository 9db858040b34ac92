/**
 * The dashboard's live subscriptions over the real user WebSocket: hosts.live and sessions.live
 * send the whole list at once, then a new list after a change (a host going offline, a session
 * starting); sessions.watch sends one session's view at once and after each change to it;
 * policies.live sends policies and sets after each policy change. No polling by the client.
 */
import { createTRPCClient, createWSClient, TRPCClientError, wsLink } from "@trpc/client";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppRouter } from "@codepiper/control-plane";
import { ADMIN, expectOk, Fleet, waitFor } from "../support/index.js";
import { runFakeProviderHost, startSession, waitPane, waitSessionStatus, type FakeProviderHost } from "../support/sessions.js";
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

  it("sessions.watch: the session at once, again after its own changes (model switch, end), not after another session's", async () => {
    type View = Awaited<ReturnType<typeof api.sessions.get.query>>;
    const a = await startSession(fleet, [...provider.startArgs(), "--name", "watch-a"]);
    const b = await startSession(fleet, [...provider.startArgs(), "--name", "watch-b"]);
    await waitSessionStatus(fleet, a.id, "idle");
    await waitSessionStatus(fleet, b.id, "idle");
    const gotA = collect<View>((h) => api.sessions.watch.subscribe({ session: a.id }, h));
    const gotB = collect<View>((h) => api.sessions.watch.subscribe({ session: "watch-b" }, h)); // by name, like sessions.get
    try {
      const first = await waitFor(() => gotA.values[0], { what: "the first sessions.watch value" });
      expect(first).toEqual(await api.sessions.get.query({ session: a.id }));
      expect(first).toMatchObject({ id: a.id, name: "watch-a", status: "idle" });
      await waitFor(() => gotB.values[0], { what: "the first sessions.watch value of watch-b" });
      const before = gotA.values.length;

      // Another session changes (a prompt: running, idle again, usage; then a new name): b's
      // watcher sees it, a's sends nothing.
      expectOk(await fleet.cli(["send", b.id, "hello"]));
      await waitFor(() => gotB.values.find((v) => v.usage.responses >= 1 && v.status === "idle"), { what: "watch-b's reply on its watcher" });
      expectOk(await fleet.cli(["rename", b.id, "watch-b2"]));
      await waitFor(() => gotB.values.find((v) => v.name === "watch-b2"), { what: "watch-b's new name on its watcher" });
      // A fence instead of a wait: a's own rename is published after b's changes, and the bus is
      // FIFO, so a stray value for a caused by b would arrive before the renamed one.
      expectOk(await fleet.cli(["rename", a.id, "watch-a2"]));
      await waitFor(() => gotA.values.find((v) => v.name === "watch-a2"), { what: "watch-a's new name on its watcher" });
      expect(gotA.values.slice(before).map((v) => v.name)).toEqual(["watch-a2"]);

      // Its own model switch: the fake provider handles /model, the new model reaches the watcher.
      const switched = expectOk(await fleet.cli(["model", a.id, "fake-next", "--json"], { timeoutMs: 60_000 })).json<{ model: string; changed: boolean }>();
      expect(switched).toMatchObject({ model: "fake-next", changed: true });
      await waitPane(fleet, a.id, "Set model to fake-next");
      const withModel = await waitFor(() => gotA.values.find((v) => v.model === "fake-next"), { what: "the new model on sessions.watch" });
      expect(withModel.id).toBe(a.id);
      expect((await api.sessions.get.query({ session: a.id })).model).toBe("fake-next");

      // Its end.
      expectOk(await fleet.cli(["kill", a.id]));
      await waitFor(() => gotA.values.find((v) => v.status === "stopped" || v.status === "crashed"), { what: "watch-a's end on sessions.watch" });
      expect(gotA.values.every((v) => v.id === a.id)).toBe(true);
      expect(gotB.values.every((v) => v.id === b.id && v.model !== "fake-next" && v.status !== "stopped" && v.status !== "crashed")).toBe(true);
      expect(gotA.error).toBeNull();
      expect(gotB.error).toBeNull();
    } finally {
      gotA.stop();
      gotB.stop();
      await fleet.cli(["kill", b.id]);
    }
  });

  it("analytics.live: the summary at once, then again when a session's usage changes", { timeout: 60_000 }, async () => {
    type Summary = Awaited<ReturnType<typeof api.analytics.summary.query>>;
    const s = await startSession(fleet, [...provider.startArgs(), "--name", "live-usage"]);
    await waitSessionStatus(fleet, s.id, "idle");
    const got = collect<Summary>((h) => api.analytics.live.subscribe({ range: "today" }, h));
    try {
      const first = await waitFor(() => got.values[0], { what: "the first analytics.live value" });
      expect(first).toMatchObject({ range: "today", bucket: "hour" });
      expectOk(await fleet.cli(["send", s.id, "count my tokens"]));
      const after = await waitFor(() => got.values.find((v) => v.totals.outputTokens > first.totals.outputTokens), { what: "more output tokens on analytics.live", timeoutMs: 30_000 });
      expect(after.totals.inputTokens).toBeGreaterThan(first.totals.inputTokens);
      expect(got.error).toBeNull();
    } finally {
      got.stop();
      await fleet.cli(["kill", s.id]);
    }
  });

  it("sessions.watch: an unknown session is NOT_FOUND, before any value", async () => {
    const got = collect<unknown>((h) => api.sessions.watch.subscribe({ session: "no-such-session" }, h));
    try {
      const error = await waitFor(() => got.error ?? undefined, { what: "the sessions.watch error" });
      expect(error).toBeInstanceOf(TRPCClientError);
      expect((error as TRPCClientError<AppRouter>).data).toMatchObject({ code: "NOT_FOUND", appCode: "CODEPIPER_NOT_FOUND" });
      expect(got.values).toEqual([]);
    } finally {
      got.stop();
    }
  });

  it("policies.live: policies and sets at once, then again after codepiper policy create and policy-set changes", async () => {
    type View = { defaultAction: string; version: number; policies: { name: string; sets: string[] }[]; sets: { name: string; isDefault: boolean; policies: string[] }[] };
    const got = collect<View>((h) => api.policies.live.subscribe(undefined, h));
    try {
      const first = await waitFor(() => got.values[0], { what: "the first policies.live value" });
      expect(first).toEqual({ ...(await api.policies.list.query()), sets: await api.policySets.list.query() });

      expectOk(await fleet.cli(["policy", "create", "--name", "live-deny", "--priority", "7", "--rules", JSON.stringify([{ action: "deny", tool: "Bash", args: { command: "*live-denied*" } }])]));
      const created = await waitFor(() => got.values.find((v) => v.policies.some((p) => p.name === "live-deny")), { what: "the new policy on policies.live" });
      expect(created.version).toBeGreaterThan(first.version);

      // Set changes that bundles do not need (a rename, the default set) are still shown live.
      expectOk(await fleet.cli(["policy-set", "create", "--name", "live-set", "--policy", "live-deny"]));
      await waitFor(() => got.values.find((v) => v.sets.some((s) => s.name === "live-set" && s.policies.includes("live-deny"))), { what: "the new set on policies.live" });
      expectOk(await fleet.cli(["policy-set", "default", "live-set"]));
      await waitFor(() => got.values.find((v) => v.sets.some((s) => s.name === "live-set" && s.isDefault)), { what: "the default set on policies.live" });
      expectOk(await fleet.cli(["policy-set", "update", "live-set", "--name", "live-set2"]));
      await waitFor(() => got.values.find((v) => v.sets.some((s) => s.name === "live-set2")), { what: "the renamed set on policies.live" });
      expect(got.error).toBeNull();
    } finally {
      got.stop();
      await fleet.cli(["policy-set", "default", "--none"]);
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
