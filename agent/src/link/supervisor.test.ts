import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommandAck, CommandEnvelope, EventBatch, HelloOutput, HostFacts, IngestResult, OutboxEvent } from "@codepiper/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CommandExecutor, pingOnlyHandlers } from "../commands/executor.js";
import { createAgentLogger } from "../log.js";
import { Outbox } from "../outbox.js";
import type { ControlPlaneLink, LinkConnectOptions } from "./client.js";
import type { LinkRefusal } from "./socket.js";
import { LinkSupervisor, type LinkExit } from "./supervisor.js";

const log = createAgentLogger({ level: "silent" });
const FACTS: HostFacts = {
  agentVersion: "0.1.0",
  protocolVersion: 1,
  os: { platform: "linux", release: "test", arch: "x64", hostname: "fake" },
  tmuxVersion: null,
  providers: [],
  capabilities: ["events", "commands"],
};

/** An error shaped like a tRPC client error answered by the control plane. */
function answered(appCode: string, message: string): Error {
  return Object.assign(new Error(message), { data: { appCode } });
}

/**
 * An in-memory control plane behind the supervisor's `connect` seam. It stores events the way the
 * real ingest does (idempotent on seq, answering the highest contiguous seq it holds), records
 * acknowledgements, streams commands, and can refuse, drop or lose answers on demand.
 */
class FakeControlPlane {
  ackedSeq = 0;
  readonly stored = new Map<number, OutboxEvent>();
  readonly batches: number[][] = [];
  readonly acks: CommandAck[] = [];
  readonly links: FakeLink[] = [];
  readonly helloAcked: number[] = [];
  /** The next connection attempts are refused with these (one per attempt). */
  refusals: LinkRefusal[] = [];
  /** The next hello calls fail with these (one per call). */
  helloErrors: Error[] = [];
  /** Called on every push before it is answered; may throw to make the push fail. */
  onPush: ((batch: EventBatch, link: FakeLink) => void) | null = null;
  /** Command ids the fake does not know (ackCommand answers NOT_FOUND). */
  unknownCommands = new Set<string>();
  signs = 0;

  readonly connect = (opts: LinkConnectOptions): ControlPlaneLink => {
    opts.sign(); // the real socket signs a fresh JWT for every connection
    this.signs++;
    const link = new FakeLink(this, opts);
    this.links.push(link);
    const refusal = this.refusals.shift();
    setImmediate(() => {
      if (refusal) {
        opts.onRefused(refusal);
        opts.onClose(undefined);
      } else {
        opts.onOpen();
      }
    });
    return link;
  };

  ingest(batch: EventBatch): IngestResult {
    let inserted = 0;
    for (const e of batch.events) {
      if (e.seq > this.ackedSeq && !this.stored.has(e.seq)) {
        this.stored.set(e.seq, e);
        inserted++;
      }
    }
    while (this.stored.has(this.ackedSeq + 1)) this.ackedSeq++;
    return { ackedSeq: this.ackedSeq, inserted };
  }

  get current(): FakeLink {
    return this.links[this.links.length - 1]!;
  }
}

class FakeLink implements ControlPlaneLink {
  closed = false;
  private subscriber: ((c: CommandEnvelope) => void) | null = null;

  constructor(
    private readonly cp: FakeControlPlane,
    private readonly opts: LinkConnectOptions,
  ) {}

  private alive(): void {
    if (this.closed) throw new Error("WebSocket closed");
  }

  async hello(): Promise<HelloOutput> {
    this.alive();
    const err = this.cp.helloErrors.shift();
    if (err) throw err;
    this.cp.helloAcked.push(this.cp.ackedSeq);
    return { hostId: "h", name: "fake", ackedSeq: this.cp.ackedSeq, serverTime: new Date().toISOString(), heartbeatMs: 60_000 };
  }

  async heartbeat(): Promise<void> {
    this.alive();
  }

  async pushEvents(batch: EventBatch): Promise<IngestResult> {
    this.alive();
    this.cp.batches.push(batch.events.map((e) => e.seq));
    this.cp.onPush?.(batch, this);
    return this.cp.ingest(batch);
  }

  async ackCommand(ack: CommandAck): Promise<void> {
    this.alive();
    if (this.cp.unknownCommands.has(ack.id)) throw answered("CODEPIPER_NOT_FOUND", `no command ${ack.id} for this host`);
    this.cp.acks.push(ack);
  }

  commands(onCommand: (c: CommandEnvelope) => void): () => void {
    this.subscriber = onCommand;
    return () => (this.subscriber = null);
  }

  // The ephemeral stream is exercised end to end in tests/src/sessions; here it stays silent.
  ephemeral(): () => void {
    return () => undefined;
  }

  async reply(): Promise<void> {
    this.alive();
  }

  async pushTerminal(): Promise<void> {
    this.alive();
  }

  async policyBundle(): Promise<{ changed: false; version: number }> {
    this.alive();
    return { changed: false, version: 0 };
  }

  requestApproval(): Promise<never> {
    return Promise.reject(new Error("approvals are not part of the link tests"));
  }

  awaitApproval(): Promise<never> {
    return Promise.reject(new Error("approvals are not part of the link tests"));
  }

  async withdrawApproval(): Promise<void> {
    this.alive();
  }

  /** The control plane streams a command on this link. */
  send(command: CommandEnvelope): void {
    if (!this.subscriber) throw new Error("the agent has not subscribed to commands");
    this.subscriber(command);
  }

  get subscribed(): boolean {
    return this.subscriber !== null;
  }

  /** The connection is lost (control plane restart, network): a transient close. */
  drop(code = 1006): void {
    this.closed = true;
    this.opts.onClose(code);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

describe("LinkSupervisor (against an in-memory control plane)", () => {
  let dir: string;
  let outbox: Outbox;
  let cp: FakeControlPlane;
  let controller: AbortController;
  let running: Promise<LinkExit> | null;
  let supervisor: LinkSupervisor;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "codepiper-sup-"));
    outbox = new Outbox(join(dir, "outbox.db"));
    cp = new FakeControlPlane();
    controller = new AbortController();
    running = null;
    supervisor = new LinkSupervisor({
      controlPlaneUrl: "http://127.0.0.1:1",
      sign: () => "jwt",
      facts: async () => FACTS,
      outbox,
      executor: new CommandExecutor(outbox, log, pingOnlyHandlers()),
      log,
      connect: cp.connect,
      backoff: { baseMs: 1, capMs: 5 },
      batchSize: 100,
      pollMs: 10,
    });
  });
  afterEach(async () => {
    controller.abort();
    await running;
    outbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = () => (running = supervisor.run(controller.signal));
  const append = (n: number, from = 0) => outbox.append(Array.from({ length: n }, (_, k) => ({ type: "test.unit", payload: { i: from + k } })));
  const storedIndexes = () => [...cp.stored.values()].sort((a, b) => a.seq - b.seq).map((e) => (e.payload as { i: number }).i);

  it("ships the outbox in order, in bounded batches, and prunes only what was acknowledged", async () => {
    append(250);
    // Nothing is pruned before the control plane has answered for it.
    const prunedTooEarly: number[] = [];
    cp.onPush = (batch) => {
      const first = batch.events[0]!.seq;
      if (outbox.readAfter(first - 1, 1)[0]?.seq !== first) prunedTooEarly.push(first);
    };
    void start();
    await vi.waitFor(() => expect(cp.ackedSeq).toBe(250), { timeout: 5_000 });
    expect(cp.batches.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(prunedTooEarly).toEqual([]);
    expect(cp.batches.flat()).toEqual(Array.from({ length: 250 }, (_, k) => k + 1));
    await vi.waitFor(() => expect(outbox.pending()).toBe(0));

    // Appended later (by another process: found by polling; by this one: notifyAppended).
    append(30, 250);
    supervisor.notifyAppended();
    await vi.waitFor(() => expect(cp.ackedSeq).toBe(280));
    expect(storedIndexes()).toEqual(Array.from({ length: 280 }, (_, k) => k));
    await vi.waitFor(() => expect(outbox.pending()).toBe(0));
    expect(supervisor.online).toBe(true);

    controller.abort();
    expect(await running).toEqual({ kind: "stopped" });
    expect(cp.current.closed).toBe(true);
    expect(supervisor.online).toBe(false);
  });

  it("resumes after what the control plane already holds (hello's ackedSeq), pruning it locally", async () => {
    append(50);
    cp.ingest({ events: outbox.readAfter(0, 20) }); // stored earlier; the answer never reached us
    void start();
    await vi.waitFor(() => expect(cp.ackedSeq).toBe(50));
    expect(cp.batches.flat()).toEqual(Array.from({ length: 30 }, (_, k) => k + 21));
    expect(storedIndexes()).toEqual(Array.from({ length: 50 }, (_, k) => k));
  });

  it("a permanent refusal (host revoked) ends run() with kind permanent, without redialing", async () => {
    append(5);
    cp.refusals = [{ status: 403, code: "CODEPIPER_HOST_REVOKED", message: "host h was revoked" }];
    const exit = await start();
    expect(exit).toEqual({ kind: "permanent", code: "CODEPIPER_HOST_REVOKED", message: "host h was revoked" });
    expect(cp.links).toHaveLength(1);
    expect(cp.batches).toEqual([]);
    expect(outbox.pending()).toBe(5); // nothing lost: a re-enrolled host could still ship them
  });

  it("a permanent error answered to hello (protocol too old) also ends run()", async () => {
    cp.helloErrors = [answered("CODEPIPER_PROTOCOL_TOO_OLD", "upgrade the agent")];
    expect(await start()).toEqual({ kind: "permanent", code: "CODEPIPER_PROTOCOL_TOO_OLD", message: "upgrade the agent" });
    expect(cp.links).toHaveLength(1);
  });

  it("transient refusals and closes lead to redials with a fresh token, and shipping carries on", async () => {
    cp.refusals = [
      { status: 503, code: null, message: "control plane starting" },
      { status: 401, code: "CODEPIPER_LINK_TOKEN_EXPIRED", message: "clock skew" },
    ];
    append(120);
    void start();
    await vi.waitFor(() => expect(cp.ackedSeq).toBe(120));
    expect(cp.links).toHaveLength(3);
    expect(cp.signs).toBe(3);

    // The connection drops; events appended meanwhile are shipped on the next link.
    const first = cp.current;
    first.drop(1006);
    append(40, 120);
    await vi.waitFor(() => expect(cp.links.length).toBeGreaterThanOrEqual(4));
    await vi.waitFor(() => expect(cp.ackedSeq).toBe(160));
    expect(first.closed).toBe(true);
    expect(cp.signs).toBe(cp.links.length);
    expect(storedIndexes()).toEqual(Array.from({ length: 160 }, (_, k) => k));
    expect(supervisor.online).toBe(true);
  });

  it("a push whose answer is lost is not counted twice after the redial", async () => {
    append(100);
    let dropped = false;
    cp.onPush = (batch, link) => {
      if (dropped) return;
      dropped = true;
      cp.ingest(batch); // the control plane stores the batch ...
      link.drop(1006); // ... and the connection dies before the answer
      throw new Error("WebSocket closed");
    };
    void start();
    await vi.waitFor(() => expect(cp.ackedSeq).toBe(100));
    expect(cp.links.length).toBeGreaterThanOrEqual(2);
    expect(cp.helloAcked.at(-1)).toBe(100);
    expect(cp.batches).toEqual([Array.from({ length: 100 }, (_, k) => k + 1)]); // never re-sent: hello said it was held
    await vi.waitFor(() => expect(outbox.pending()).toBe(0));
  });

  it("executes streamed commands once and acknowledges them; after a redial it re-sends outcomes the control plane may not have", async () => {
    void start();
    await vi.waitFor(() => expect(cp.current.subscribed).toBe(true));
    const expiresAt = new Date(Date.now() + 60_000).toISOString();
    cp.current.send({ id: "1", type: "ping", payload: { sentAt: 1 }, expiresAt });
    await vi.waitFor(() => expect(cp.acks.map((a) => a.id)).toEqual(["1"]));
    expect(cp.acks[0]).toMatchObject({ id: "1", ok: true, result: { pong: true } });
    await vi.waitFor(() => expect(outbox.getCommand("1")?.acked).toBe(true));

    // Outcomes journaled but never confirmed (the agent died around the acknowledgement), one of
    // them for a command the control plane no longer has.
    outbox.startCommand("2", "ping");
    outbox.finishCommand("2", { ok: true, result: { pong: true, earlier: true } });
    outbox.startCommand("3", "ping"); // died mid-run
    outbox.startCommand("4", "ping");
    outbox.finishCommand("4", { ok: true });
    cp.unknownCommands.add("4");
    const before = cp.links.length;
    cp.current.drop();
    await vi.waitFor(() => expect(cp.links.length).toBeGreaterThan(before));
    await vi.waitFor(() => expect(cp.acks.map((a) => a.id)).toEqual(["1", "2", "3"]));
    expect(cp.acks[1]).toEqual({ id: "2", ok: true, result: { pong: true, earlier: true } });
    expect(cp.acks[2]).toMatchObject({ id: "3", ok: false, error: { message: expect.stringMatching(/^interrupted/) } });
    await vi.waitFor(() => expect(outbox.unackedCommandIds()).toEqual([]));

    // A redelivered command that already ran is answered from the journal, not run again.
    await vi.waitFor(() => expect(cp.current.subscribed).toBe(true));
    cp.current.send({ id: "1", type: "ping", payload: { sentAt: 1 }, expiresAt });
    await vi.waitFor(() => expect(cp.acks).toHaveLength(4));
    expect(cp.acks[3]).toEqual(cp.acks[0]);
    expect(supervisor.online).toBe(true);
  });
});
