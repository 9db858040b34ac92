import { randomUUID } from "node:crypto";
import { AppError, isErrorCode, type EphemeralPayload, type EphemeralReply, type EphemeralRequest, type EphemeralType } from "@codepiper/core";

/**
 * The control plane's end of the ephemeral stream (DESIGN.md §2): keystrokes, terminal
 * watch/snapshot, resize and pre-flight checks, pushed to a host over its `link.ephemeral`
 * subscription and answered through `link.reply`. Nothing here touches the database: a host that
 * is not linked answers HOST_OFFLINE at once, and a lost answer times out.
 *
 * One channel per host, owned by the connection that attached it; a newer link replaces it, and
 * requests in flight on the old one fail (the caller may retry; keystrokes are not replayed behind
 * a person's back).
 */
interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

interface Channel {
  connectionId: string;
  queue: EphemeralRequest[];
  wake: (() => void) | null;
  pending: Map<string, Pending>;
}

/** Requests queued for one host before it drains them; beyond this, callers are refused. */
const MAX_QUEUED = 1000;

/** How requests reach hosts linked to another replica (link/relay.ts); absent on a single node. */
export interface RemoteLinks {
  linkedElsewhere(hostId: string): Promise<boolean>;
  forward(hostId: string, type: EphemeralType, payload: unknown, timeoutMs: number): Promise<unknown>;
}

export class EphemeralHub {
  private readonly channels = new Map<string, Channel>();
  private readonly attachListeners = new Set<(hostId: string) => void>();
  private remote: RemoteLinks | null = null;

  /** Replicas: requests for hosts not linked here go through `remote`. */
  setRemote(remote: RemoteLinks): void {
    this.remote = remote;
  }

  /** Whether `request` can reach the host now: linked here, or (replicas) linked to another replica. */
  async isReachable(hostId: string): Promise<boolean> {
    if (this.channels.has(hostId)) return true;
    return this.remote ? this.remote.linkedElsewhere(hostId) : false;
  }

  /** Hosts whose ephemeral stream is attached to this control plane now. */
  attachedHosts(): string[] {
    return [...this.channels.keys()];
  }

  isAttached(hostId: string): boolean {
    return this.channels.has(hostId);
  }

  /** Called whenever a host (re)attaches its ephemeral stream: watchers re-watch. */
  onAttach(listener: (hostId: string) => void): () => void {
    this.attachListeners.add(listener);
    return () => this.attachListeners.delete(listener);
  }

  /** The host side: yields requests until `signal` aborts or a newer link takes over. */
  async *attach(hostId: string, connectionId: string, signal: AbortSignal | undefined): AsyncGenerator<EphemeralRequest> {
    const previous = this.channels.get(hostId);
    if (previous) this.fail(previous, "the host's link was replaced");
    const channel: Channel = { connectionId, queue: [], wake: null, pending: new Map() };
    this.channels.set(hostId, channel);
    const onAbort = () => channel.wake?.();
    signal?.addEventListener("abort", onAbort, { once: true });
    for (const listener of this.attachListeners) listener(hostId);
    try {
      while (!signal?.aborted && this.channels.get(hostId) === channel) {
        const next = channel.queue.shift();
        if (next) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => (channel.wake = resolve));
        channel.wake = null;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (this.channels.get(hostId) === channel) {
        this.channels.delete(hostId);
        this.fail(channel, "the host's link dropped");
      }
    }
  }

  /** Sends a request to a host and waits for its answer. */
  request<K extends EphemeralType>(hostId: string, type: K, payload: EphemeralPayload<K>, timeoutMs = 15_000): Promise<unknown> {
    const channel = this.channels.get(hostId);
    if (!channel && this.remote) return this.remote.forward(hostId, type, payload, timeoutMs);
    if (!channel) return Promise.reject(new AppError("CODEPIPER_HOST_OFFLINE", "the host is offline: its agent is not linked to the control plane"));
    if (channel.queue.length >= MAX_QUEUED) return Promise.reject(new AppError("CODEPIPER_RATE_LIMITED", "too many requests queued for this host; slow down"));
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        channel.pending.delete(id);
        reject(new AppError("CODEPIPER_TIMEOUT", `the host did not answer ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      channel.pending.set(id, { resolve, reject, timer });
      channel.queue.push({ id, type, payload });
      channel.wake?.();
    });
  }

  /** Fire and forget (unwatch): an offline host has nothing to stop anyway. */
  notify<K extends EphemeralType>(hostId: string, type: K, payload: EphemeralPayload<K>): void {
    this.request(hostId, type, payload).catch(() => undefined);
  }

  /** The host's answer (`link.reply`); answers from a replaced connection or for unknown ids are ignored. */
  reply(hostId: string, connectionId: string, reply: EphemeralReply): boolean {
    const channel = this.channels.get(hostId);
    if (!channel || channel.connectionId !== connectionId) return false;
    const pending = channel.pending.get(reply.id);
    if (!pending) return false;
    channel.pending.delete(reply.id);
    clearTimeout(pending.timer);
    if (reply.ok) pending.resolve(reply.result);
    else {
      const code = isErrorCode(reply.error?.code) ? reply.error.code : "CODEPIPER_INTERNAL";
      pending.reject(new AppError(code, reply.error?.message ?? "the host could not do it"));
    }
    return true;
  }

  private fail(channel: Channel, why: string): void {
    for (const [id, pending] of channel.pending) {
      clearTimeout(pending.timer);
      pending.reject(new AppError("CODEPIPER_HOST_OFFLINE", `${why} before it answered`));
      channel.pending.delete(id);
    }
    channel.queue.length = 0;
    channel.wake?.();
  }
}
