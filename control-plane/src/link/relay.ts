import { randomUUID } from "node:crypto";
import { AppError, EPHEMERAL_TYPES, LIMITS, isErrorCode, terminalFrameSchema, type EphemeralType, type TerminalFrame } from "@codepiper/core";
import { topics, type Bus } from "../bus/bus.js";
import type { Db } from "../db/index.js";
import type { Logger } from "../log.js";
import type { EphemeralHub } from "./ephemeral.js";

/**
 * Ephemeral traffic between replicas (DESIGN.md §5). A host's link lives on one replica; a caller
 * on another one (keystrokes, resize, pre-flight, terminal snapshots) reaches it through the bus:
 *
 *   B publishes the request on `relay:requests`; the replica that holds the host's link (A) acks
 *   at once on `relay:replies:<B>`, runs it on its link, and publishes the answer there too. No ack
 *   within ACK_TIMEOUT_MS means no replica holds the link: HOST_OFFLINE, as on one node.
 *
 *   Terminal frames pushed to A for a session watched from B are published on
 *   `relay:terminal:<session>`; B's TerminalHub feeds them to its watchers.
 *
 * Requests are broadcast rather than addressed to the holder: no table has to say who holds which
 * link (a stale record would misroute), and the replicas that do not hold the host drop them on
 * receipt. Unlike bus hints these messages carry data, so they are chunked (base64, well under the
 * NOTIFY payload limit) and bounded; a lost chunk costs the caller a timeout, never a wrong answer.
 */
const CHUNK_CHARS = 6000;
/** Largest request, answer or frame carried between replicas (what one link message may hold). */
const MAX_RELAY_BYTES = LIMITS.linkMessageBytes;
const ACK_TIMEOUT_MS = 5000;
/** Partial messages kept while their other chunks arrive. */
const MAX_ASSEMBLIES = 256;
const ASSEMBLY_TTL_MS = 60_000;
/**
 * A replica watching a terminal through the relay says so this often; the holder forgets a
 * replica silent for three periods (it died without unwatching) and then stops the host's stream.
 */
const WATCH_RENEW_MS = 10_000;
/** Forwarded requests waiting for an answer, like EphemeralHub's per-host queue bound. */
const MAX_PENDING = 1000;

interface Part {
  id: string;
  /** The host the message is about: a replica that does not hold it skips the chunks unread. */
  h: string;
  i: number;
  n: number;
  d: string;
}
/** `renew`: "replica `from` still watches session `id` of host `h`" (see WATCH_RENEW_MS). */
type Wire = Part | { id: string; ack: true } | { id: string; h: string; renew: true; from: string };

interface RelayRequest {
  from: string;
  hostId: string;
  type: EphemeralType;
  payload: unknown;
  timeoutMs: number;
}
type RelayAnswer = { ok: true; result: unknown } | { ok: false; code: string; message: string };
/** On a terminal topic: a frame, or "the host relinked on the holder: watch again". */
type RelayFrame = { frame: TerminalFrame } | { relinked: true };

function encode(id: string, hostId: string, value: unknown): string[] {
  const data = Buffer.from(JSON.stringify(value)).toString("base64");
  if (data.length > (MAX_RELAY_BYTES * 4) / 3 + 4) throw new AppError("CODEPIPER_PAYLOAD_TOO_LARGE", `too large to relay between control-plane replicas (over ${MAX_RELAY_BYTES} bytes)`);
  const n = Math.max(1, Math.ceil(data.length / CHUNK_CHARS));
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(JSON.stringify({ id, h: hostId, i, n, d: data.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS) } satisfies Part));
  return parts;
}

function parseWire(message: string): Wire | null {
  if (!message.startsWith("{")) return null; // a bus wake-up after a reconnect (pg-bus.ts): no data
  try {
    const wire = JSON.parse(message) as Wire;
    return typeof wire.id === "string" ? wire : null;
  } catch {
    return null;
  }
}

/** Bounded reassembly of chunked messages. */
class Assembler {
  private readonly open = new Map<string, { parts: string[]; got: number; at: number }>();

  add(part: Part): unknown {
    if (part.n === 1) return JSON.parse(Buffer.from(part.d, "base64").toString()) as unknown;
    if (part.n > Math.ceil(((MAX_RELAY_BYTES * 4) / 3 + 4) / CHUNK_CHARS) || part.i < 0 || part.i >= part.n) return undefined;
    let entry = this.open.get(part.id);
    if (!entry) {
      this.prune();
      entry = { parts: new Array<string>(part.n), got: 0, at: Date.now() };
      this.open.set(part.id, entry);
    }
    if (entry.parts[part.i] === undefined) {
      entry.parts[part.i] = part.d;
      entry.got++;
    }
    if (entry.got < part.n) return undefined;
    this.open.delete(part.id);
    return JSON.parse(Buffer.from(entry.parts.join(""), "base64").toString()) as unknown;
  }

  private prune(): void {
    const cutoff = Date.now() - ASSEMBLY_TTL_MS;
    for (const [id, entry] of this.open) if (entry.at < cutoff) this.open.delete(id);
    while (this.open.size >= MAX_ASSEMBLIES) this.open.delete(this.open.keys().next().value!);
  }
}

interface Forwarded {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  timeoutMs: number;
  type: string;
}

export class ReplicaRelay {
  private readonly pending = new Map<string, Forwarded>();
  private readonly requests = new Assembler();
  private readonly replies = new Assembler();
  private readonly frames = new Assembler();
  /** Holder side: sessions streamed for watchers on other replicas → (host, replica → last renewal). */
  private readonly remoteWatches = new Map<string, { hostId: string; replicas: Map<string, number> }>();
  /** Caller side: sessions watched here through the relay → their host. */
  private readonly watchedHere = new Map<string, string>();
  private readonly unsubscribe: (() => void)[];
  private readonly renewTimer: NodeJS.Timeout;

  constructor(
    private readonly bus: Bus,
    private readonly hub: EphemeralHub,
    private readonly db: Db,
    /** This replica's id (PgBus.origin). */
    readonly replicaId: string,
    private readonly log: Logger,
    /** How long a forwarded request waits for some replica to say it holds the link (tests shorten it). */
    private readonly ackTimeoutMs = ACK_TIMEOUT_MS,
  ) {
    this.unsubscribe = [
      bus.subscribe(topics.relayRequests, (m) => this.onRequest(m)),
      bus.subscribe(topics.relayReplies(replicaId), (m) => this.onReply(m)),
      hub.onAttach((hostId) => this.relinked(hostId)),
    ];
    this.renewTimer = setInterval(() => this.renewWatches(), WATCH_RENEW_MS);
    this.renewTimer.unref();
  }

  close(): void {
    clearInterval(this.renewTimer);
    for (const off of this.unsubscribe) off();
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new AppError("CODEPIPER_UNREACHABLE", "the control plane is shutting down"));
      this.pending.delete(id);
    }
  }

  /** Whether a host not linked here is linked to another replica (the shared `online` flag). */
  async linkedElsewhere(hostId: string): Promise<boolean> {
    const row = await this.db.host.findUnique({ where: { id: hostId }, select: { online: true, revokedAt: true } });
    return !!row && row.online && !row.revokedAt;
  }

  /** Caller side: runs an ephemeral request on whichever replica holds the host's link. */
  forward(hostId: string, type: EphemeralType, payload: unknown, timeoutMs: number): Promise<unknown> {
    if (this.pending.size >= MAX_PENDING) return Promise.reject(new AppError("CODEPIPER_RATE_LIMITED", "too many requests waiting on other replicas; slow down"));
    const id = randomUUID();
    const parts = encode(id, hostId, { from: this.replicaId, hostId, type, payload, timeoutMs } satisfies RelayRequest);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new AppError("CODEPIPER_HOST_OFFLINE", "the host is offline: no control-plane replica holds its link"));
      }, this.ackTimeoutMs);
      this.pending.set(id, { resolve, reject, timer, timeoutMs, type });
      for (const part of parts) this.bus.publish(topics.relayRequests, part);
    });
  }

  /** Caller side: terminal frames of `sessionId` relayed from the holder, while watched here. */
  subscribeFrames(hostId: string, sessionId: string, onFrame: (frame: TerminalFrame) => void, onRelinked: () => void): () => void {
    this.watchedHere.set(sessionId, hostId);
    const off = this.bus.subscribe(topics.relayTerminal(sessionId), (message) => {
      const wire = parseWire(message);
      if (!wire || !("d" in wire) || wire.h !== hostId) return;
      const value = this.safeAdd(this.frames, wire) as RelayFrame | undefined;
      if (!value) return;
      if ("relinked" in value) return onRelinked();
      const frame = terminalFrameSchema.safeParse(value.frame);
      if (frame.success) onFrame(frame.data);
    });
    return () => {
      off();
      if (this.watchedHere.get(sessionId) === hostId) this.watchedHere.delete(sessionId);
    };
  }

  /** Holder side: whether a session is streamed for another replica (the host keeps streaming it). */
  watchedRemotely(sessionId: string): boolean {
    return (this.remoteWatches.get(sessionId)?.replicas.size ?? 0) > 0;
  }

  /** Holder side: a frame the host pushed here; relayed if another replica watches the session. */
  relayFrame(hostId: string, sessionId: string, frame: TerminalFrame): void {
    const watch = this.remoteWatches.get(sessionId);
    if (!watch || watch.hostId !== hostId) return;
    if (frame.kind === "ended") this.remoteWatches.delete(sessionId);
    try {
      for (const part of encode(randomUUID(), hostId, { frame } satisfies RelayFrame)) this.bus.publish(topics.relayTerminal(sessionId), part);
    } catch (err) {
      // Oversized frame: the remote watchers resync instead of silently missing output.
      this.log.warn({ err, sessionId }, "terminal frame too large to relay; remote watchers resync");
      for (const part of encode(randomUUID(), hostId, { relinked: true } satisfies RelayFrame)) this.bus.publish(topics.relayTerminal(sessionId), part);
    }
  }

  private safeAdd(assembler: Assembler, part: Part): unknown {
    try {
      return assembler.add(part);
    } catch {
      return undefined; // a corrupt chunk: the caller times out
    }
  }

  private onRequest(message: string): void {
    const wire = parseWire(message);
    if (!wire || "ack" in wire || !this.hub.isAttached(wire.h)) return;
    if ("renew" in wire) {
      const watch = this.remoteWatches.get(wire.id);
      if (watch?.hostId === wire.h && watch.replicas.has(wire.from)) watch.replicas.set(wire.from, Date.now());
      return;
    }
    const request = this.safeAdd(this.requests, wire) as RelayRequest | undefined;
    if (!request || request.hostId !== wire.h || !EPHEMERAL_TYPES.includes(request.type)) return;
    this.bus.publish(topics.relayReplies(request.from), JSON.stringify({ id: wire.id, ack: true } satisfies Wire));
    this.execute(request)
      .then((result): RelayAnswer => ({ ok: true, result }))
      .catch((err: unknown): RelayAnswer => {
        const code = err instanceof AppError ? err.code : "CODEPIPER_INTERNAL";
        return { ok: false, code, message: err instanceof Error ? err.message : "the host could not do it" };
      })
      .then((answer) => this.answer(request, wire.id, answer))
      .catch((err: unknown) => this.log.warn({ err, type: request.type }, "could not relay an answer"));
  }

  private async execute(request: RelayRequest): Promise<unknown> {
    const payload = request.payload as { sessionId?: string };
    const sessionId = typeof payload?.sessionId === "string" ? payload.sessionId : null;
    switch (request.type) {
      case "terminal.watch":
      case "terminal.snapshot":
        if (sessionId) {
          const watch = this.remoteWatches.get(sessionId) ?? { hostId: request.hostId, replicas: new Map<string, number>() };
          watch.replicas.set(request.from, Date.now());
          this.remoteWatches.set(sessionId, watch);
        }
        break;
      case "terminal.unwatch":
        if (sessionId) {
          const watch = this.remoteWatches.get(sessionId);
          watch?.replicas.delete(request.from);
          if (watch && watch.replicas.size === 0) this.remoteWatches.delete(sessionId);
          // Someone else (here or on a third replica) still watches: the host keeps streaming.
          if (this.watchedRemotely(sessionId) || this.localWatchers(sessionId) > 0) return null;
        }
        break;
      default:
        break;
    }
    return this.hub.request(request.hostId, request.type, request.payload as never, request.timeoutMs);
  }

  /** Set by the TerminalHub: how many watchers this replica has on a session. */
  localWatchers: (sessionId: string) => number = () => 0;

  private answer(request: RelayRequest, id: string, answer: RelayAnswer): void {
    let parts: string[];
    try {
      parts = encode(id, request.hostId, answer);
    } catch (err) {
      parts = encode(id, request.hostId, { ok: false, code: "CODEPIPER_PAYLOAD_TOO_LARGE", message: err instanceof Error ? err.message : "too large" } satisfies RelayAnswer);
    }
    for (const part of parts) this.bus.publish(topics.relayReplies(request.from), part);
  }

  private onReply(message: string): void {
    const wire = parseWire(message);
    if (!wire) return;
    const pending = this.pending.get(wire.id);
    if (!pending) return;
    if ("ack" in wire) {
      // The holder has it: now the request's own deadline applies (plus the trip back).
      clearTimeout(pending.timer);
      pending.timer = setTimeout(() => {
        this.pending.delete(wire.id);
        pending.reject(new AppError("CODEPIPER_TIMEOUT", `the host did not answer ${pending.type} within ${pending.timeoutMs} ms`));
      }, pending.timeoutMs + this.ackTimeoutMs);
      return;
    }
    if (!("d" in wire)) return;
    const answer = this.safeAdd(this.replies, wire) as RelayAnswer | undefined;
    if (!answer) return;
    this.pending.delete(wire.id);
    clearTimeout(pending.timer);
    if (answer.ok) pending.resolve(answer.result);
    else pending.reject(new AppError(isErrorCode(answer.code) ? answer.code : "CODEPIPER_INTERNAL", answer.message));
  }

  /** Both sides, every WATCH_RENEW_MS: say what this replica watches; forget silent watchers. */
  private renewWatches(): void {
    for (const [sessionId, hostId] of this.watchedHere) {
      this.bus.publish(topics.relayRequests, JSON.stringify({ id: sessionId, h: hostId, renew: true, from: this.replicaId } satisfies Wire));
    }
    const silentSince = Date.now() - 3 * WATCH_RENEW_MS;
    for (const [sessionId, watch] of this.remoteWatches) {
      for (const [replica, at] of watch.replicas) if (at < silentSince) watch.replicas.delete(replica);
      if (watch.replicas.size > 0) continue;
      this.remoteWatches.delete(sessionId);
      if (this.localWatchers(sessionId) === 0) this.hub.notify(watch.hostId, "terminal.unwatch", { sessionId });
    }
  }

  /** Holder side: the host relinked here and lost its watch state; remote watchers watch again. */
  private relinked(hostId: string): void {
    for (const [sessionId, watch] of this.remoteWatches) {
      if (watch.hostId !== hostId) continue;
      this.remoteWatches.delete(sessionId);
      for (const part of encode(randomUUID(), hostId, { relinked: true } satisfies RelayFrame)) this.bus.publish(topics.relayTerminal(sessionId), part);
    }
  }
}
