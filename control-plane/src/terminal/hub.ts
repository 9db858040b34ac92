import { terminalSnapshotSchema, type TerminalFrame, type TerminalSnapshot } from "@codepiper/core";
import type { EphemeralHub } from "../link/ephemeral.js";
import type { Logger } from "../log.js";

/**
 * Fan-out of live terminals to watchers (CLI `attach`/`tail -f`, the dashboard). A host streams a
 * session only while someone watches it: the first watcher sends `terminal.watch`, the last one to
 * leave sends `terminal.unwatch`.
 *
 * Every watcher starts from a snapshot taken for it (output with seq ≤ snapshot.seq is inside the
 * snapshot; later output follows). Each watcher's queue is bounded: a watcher that falls behind is
 * not allowed to grow memory; its queue is dropped, it receives `resync`, and a fresh snapshot is
 * fetched for it. The same happens to everyone when the host reports an overflow or relinks.
 */
interface Watcher {
  queue: TerminalFrame[];
  bytes: number;
  /** Output frames held until this watcher's snapshot arrives (then filtered by seq). */
  held: TerminalFrame[] | null;
  wake: (() => void) | null;
  ended: boolean;
}

interface Watched {
  hostId: string;
  watchers: Set<Watcher>;
  /** Replicas: frames relayed from the replica holding the host's link (unsubscribe). */
  relayed: (() => void) | null;
}

/** Replicas (link/relay.ts): terminals of hosts linked to another replica. */
export interface TerminalRelay {
  subscribeFrames(hostId: string, sessionId: string, onFrame: (frame: TerminalFrame) => void, onRelinked: () => void): () => void;
  watchedRemotely(sessionId: string): boolean;
  relayFrame(hostId: string, sessionId: string, frame: TerminalFrame): void;
}

const MAX_WATCHER_BYTES = 8 * 1024 * 1024;

function frameBytes(frame: TerminalFrame): number {
  return frame.kind === "output" || frame.kind === "snapshot" ? frame.data.length + 64 : 64;
}

export class TerminalHub {
  private readonly sessions = new Map<string, Watched>();
  private relay: TerminalRelay | null = null;

  constructor(
    private readonly ephemeral: EphemeralHub,
    private readonly log: Logger,
  ) {
    ephemeral.onAttach((hostId) => this.relinked(hostId));
  }

  setRelay(relay: TerminalRelay): void {
    this.relay = relay;
  }

  watching(sessionId: string): number {
    return this.sessions.get(sessionId)?.watchers.size ?? 0;
  }

  /** Yields frames for one watcher until `signal` aborts or the session ends. */
  async *watch(hostId: string, sessionId: string, signal: AbortSignal | undefined): AsyncGenerator<TerminalFrame> {
    let watched = this.sessions.get(sessionId);
    const first = !watched;
    if (!watched) {
      watched = { hostId, watchers: new Set(), relayed: null };
      this.sessions.set(sessionId, watched);
      // Linked to another replica: its frames come over the bus (subscribed before the snapshot is asked for).
      if (this.relay && !this.ephemeral.isAttached(hostId)) {
        watched.relayed = this.relay.subscribeFrames(hostId, sessionId, (frame) => this.push(hostId, sessionId, frame), () => this.relinked(hostId));
      }
    }
    const watcher: Watcher = { queue: [], bytes: 0, held: [], wake: null, ended: false };
    watched.watchers.add(watcher);
    const onAbort = () => watcher.wake?.();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await this.fetchSnapshot(hostId, sessionId, watcher, first ? "terminal.watch" : "terminal.snapshot");
      while (!signal?.aborted) {
        const frame = watcher.queue.shift();
        if (frame) {
          watcher.bytes -= frameBytes(frame);
          yield frame;
          if (frame.kind === "ended") return;
          continue;
        }
        if (watcher.ended) return;
        await new Promise<void>((resolve) => (watcher.wake = resolve));
        watcher.wake = null;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      watched.watchers.delete(watcher);
      if (watched.watchers.size === 0 && this.sessions.get(sessionId) === watched) {
        this.sessions.delete(sessionId);
        watched.relayed?.();
        // Another replica's watchers still need the host to stream (link/relay.ts).
        if (!this.relay?.watchedRemotely(sessionId)) this.ephemeral.notify(hostId, "terminal.unwatch", { sessionId });
      }
    }
  }

  /** Frames pushed by a host (`link.terminal`). Frames for sessions of another host are ignored. */
  push(hostId: string, sessionId: string, frame: TerminalFrame): void {
    if (this.relay && this.ephemeral.isAttached(hostId)) this.relay.relayFrame(hostId, sessionId, frame);
    const watched = this.sessions.get(sessionId);
    if (!watched || watched.hostId !== hostId) return;
    for (const watcher of watched.watchers) {
      switch (frame.kind) {
        case "output":
          if (watcher.held) watcher.held.push(frame);
          else this.enqueue(hostId, sessionId, watcher, frame);
          break;
        case "snapshot":
          // The host resynced everyone (its own buffer overflowed): this snapshot supersedes all.
          watcher.queue = [];
          watcher.bytes = 0;
          watcher.held = null;
          this.enqueue(hostId, sessionId, watcher, frame);
          break;
        case "resync":
          watcher.queue = [];
          watcher.bytes = 0;
          watcher.held = [];
          this.enqueue(hostId, sessionId, watcher, frame);
          break;
        case "ended":
          this.enqueue(hostId, sessionId, watcher, frame);
          watcher.ended = true;
          break;
      }
    }
  }

  private enqueue(hostId: string, sessionId: string, watcher: Watcher, frame: TerminalFrame): void {
    const size = frameBytes(frame);
    if (watcher.bytes + size > MAX_WATCHER_BYTES && frame.kind === "output") {
      // This watcher is too slow: drop what it has not read, tell it, and fetch it a new snapshot.
      watcher.queue = [{ kind: "resync", reason: "watcher fell behind" }];
      watcher.bytes = 64;
      watcher.held = [];
      watcher.wake?.();
      void this.fetchSnapshot(hostId, sessionId, watcher, "terminal.snapshot");
      return;
    }
    watcher.queue.push(frame);
    watcher.bytes += size;
    watcher.wake?.();
  }

  private async fetchSnapshot(hostId: string, sessionId: string, watcher: Watcher, type: "terminal.watch" | "terminal.snapshot"): Promise<void> {
    watcher.held ??= [];
    let snapshot: TerminalSnapshot;
    try {
      snapshot = terminalSnapshotSchema.parse(await this.ephemeral.request(hostId, type, { sessionId }));
    } catch (err) {
      // Offline or gone: end this watcher with the reason (the CLI/dashboard shows it and retries).
      const reason = err instanceof Error ? err.message : "snapshot failed";
      watcher.queue.push({ kind: "ended", reason });
      watcher.ended = true;
      watcher.wake?.();
      return;
    }
    const held = watcher.held ?? [];
    watcher.held = null;
    watcher.queue.push(snapshot);
    watcher.bytes += frameBytes(snapshot);
    for (const frame of held) {
      if (frame.kind === "output" && frame.seq <= snapshot.seq) continue;
      this.enqueue(hostId, sessionId, watcher, frame);
    }
    watcher.wake?.();
  }

  /** A host linked again: its watch state is gone; re-watch every watched session there. */
  private relinked(hostId: string): void {
    for (const [sessionId, watched] of this.sessions) {
      if (watched.hostId !== hostId) continue;
      let firstDone = false;
      for (const watcher of watched.watchers) {
        watcher.queue = [{ kind: "resync", reason: "the host relinked" }];
        watcher.bytes = 64;
        watcher.held = [];
        watcher.wake?.();
        // The first re-watch restarts streaming on the host; the rest take plain snapshots.
        void this.fetchSnapshot(hostId, sessionId, watcher, firstDone ? "terminal.snapshot" : "terminal.watch");
        firstDone = true;
      }
      this.log.debug({ hostId, sessionId }, "re-watching after relink");
    }
  }
}
