import { afterEach, describe, expect, it, vi } from "vitest";
import { waitFor } from "../../../tests/src/support/wait.js";
import type { TerminalFrame } from "@codepiper/core";
import { InProcessBus } from "../bus/bus.js";
import type { Db } from "../db/index.js";
import { createLogger } from "../log.js";
import { TerminalHub } from "../terminal/hub.js";
import { EphemeralHub } from "./ephemeral.js";
import { ReplicaRelay } from "./relay.js";

const SESSION = "7f0c1b6e-2a57-4c3e-9d1e-0b7e2f3a4c5d";
const log = createLogger({ level: "silent" });
/** The shared `online` flag, as the relay reads it. */
const onlineDb = (online: boolean) => ({ host: { findUnique: () => Promise.resolve({ online, revokedAt: null }) } }) as unknown as Db;

/** One replica: its hubs and relay, on a bus shared with the others (one process stands in for LISTEN/NOTIFY). */
function replica(bus: InProcessBus, id: string) {
  const ephemeral = new EphemeralHub();
  const terminals = new TerminalHub(ephemeral, log);
  const relay = new ReplicaRelay(bus, ephemeral, onlineDb(true), id, log, 300);
  relay.localWatchers = (sessionId) => terminals.watching(sessionId);
  ephemeral.setRemote(relay);
  terminals.setRelay(relay);
  return { ephemeral, terminals, relay };
}

/** A host linked to `hub`, answering each request with `answer`. */
function linkHost(hub: EphemeralHub, hostId: string, answer: (type: string, payload: unknown) => { ok: boolean; result?: unknown }) {
  const controller = new AbortController();
  const seen: string[] = [];
  void (async () => {
    for await (const req of hub.attach(hostId, "c1", controller.signal)) {
      seen.push(req.type);
      const a = answer(req.type, req.payload);
      hub.reply(hostId, "c1", { id: req.id, ok: a.ok, ...(a.ok ? { result: a.result } : { error: { code: "CODEPIPER_SESSION_ENDED", message: "that session ended" } }) });
    }
  })();
  return { seen, stop: () => controller.abort() };
}

describe("ReplicaRelay", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs a request on the replica that holds the link, chunking a large answer", async () => {
    const bus = new InProcessBus();
    const a = replica(bus, "A");
    const b = replica(bus, "B");
    const pane = "x".repeat(200_000) + "é✓";
    const host = linkHost(a.ephemeral, "h", () => ({ ok: true, result: { text: pane } }));
    await expect(b.ephemeral.isReachable("h")).resolves.toBe(true);
    await expect(b.ephemeral.request("h", "terminal.capture", { sessionId: SESSION, lines: 0 })).resolves.toEqual({ text: pane });
    expect(host.seen).toEqual(["terminal.capture"]);
    host.stop();
  });

  it("carries the host's domain error back with its code", async () => {
    const bus = new InProcessBus();
    const a = replica(bus, "A");
    const b = replica(bus, "B");
    const host = linkHost(a.ephemeral, "h", () => ({ ok: false }));
    await expect(b.ephemeral.request("h", "input.keys", { sessionId: SESSION, keys: ["Enter"] })).rejects.toMatchObject({ code: "CODEPIPER_SESSION_ENDED" });
    host.stop();
  });

  it("answers HOST_OFFLINE when no replica holds the link", async () => {
    const bus = new InProcessBus();
    replica(bus, "A");
    const b = replica(bus, "B");
    await expect(b.ephemeral.request("h", "terminal.capture", { sessionId: SESSION, lines: 0 })).rejects.toMatchObject({ code: "CODEPIPER_HOST_OFFLINE" });
  });

  it("streams terminal frames to a watcher on another replica; the host keeps streaming while anyone watches", async () => {
    const bus = new InProcessBus();
    const a = replica(bus, "A");
    const b = replica(bus, "B");
    const snapshot: TerminalFrame = { kind: "snapshot", seq: 1, data: "c25hcA==", cols: 80, rows: 24, cursorX: 0, cursorY: 0, alternateScreen: false };
    const host = linkHost(a.ephemeral, "h", (type) => ({ ok: true, result: type === "terminal.unwatch" ? null : snapshot }));
    const controller = new AbortController();
    const frames = b.terminals.watch("h", SESSION, controller.signal);
    await expect(frames.next()).resolves.toMatchObject({ value: { kind: "snapshot", seq: 1 } });
    a.terminals.push("h", SESSION, { kind: "output", seq: 2, data: "aGk=" });
    await expect(frames.next()).resolves.toMatchObject({ value: { kind: "output", seq: 2, data: "aGk=" } });
    expect(a.relay.watchedRemotely(SESSION)).toBe(true);
    controller.abort();
    await frames.return(undefined);
    await waitFor(() => host.seen.includes("terminal.unwatch"), { what: "terminal.unwatch on the host", intervalMs: 5 });
    expect(a.relay.watchedRemotely(SESSION)).toBe(false);
    host.stop();
  });

  it("forgets a watching replica that stopped renewing (it died), and stops the host's stream", async () => {
    vi.useFakeTimers();
    const bus = new InProcessBus();
    const a = replica(bus, "A");
    const b = replica(bus, "B");
    const snapshot: TerminalFrame = { kind: "snapshot", seq: 1, data: "", cols: 80, rows: 24, cursorX: 0, cursorY: 0, alternateScreen: false };
    const host = linkHost(a.ephemeral, "h", (type) => ({ ok: true, result: type === "terminal.unwatch" ? null : snapshot }));
    const frames = b.terminals.watch("h", SESSION, new AbortController().signal);
    await expect(frames.next()).resolves.toMatchObject({ value: { kind: "snapshot" } });
    // Alive: B's renewals keep A streaming.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(a.relay.watchedRemotely(SESSION)).toBe(true);
    // B dies without unwatching: after three silent periods A stops the host's stream.
    b.relay.close();
    await vi.advanceTimersByTimeAsync(40_000);
    expect(a.relay.watchedRemotely(SESSION)).toBe(false);
    expect(host.seen).toContain("terminal.unwatch");
    host.stop();
  });
});
