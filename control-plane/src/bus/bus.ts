import { EventEmitter } from "node:events";

/**
 * Fan-out of "something changed" notifications between parts of the control plane. Messages are
 * hints, never data: subscribers re-read the database, so a lost hint costs latency, not
 * correctness. This in-process bus is the single-node case; replicas on one PostgreSQL use the
 * same interface over LISTEN/NOTIFY (DESIGN.md §5).
 */
export interface Bus {
  publish(topic: string, message?: string): void;
  subscribe(topic: string, listener: (message: string) => void): () => void;
  /** Resolves on the next message on `topic`, or when `signal` aborts (then with null). */
  next(topic: string, signal?: AbortSignal, timeoutMs?: number): Promise<string | null>;
}

export const topics = {
  commandsFor: (hostId: string) => `commands:${hostId}`,
  commandDone: (commandId: bigint | string) => `command-done:${String(commandId)}`,
  events: "events",
  hostRevoked: (hostId: string) => `host-revoked:${hostId}`,
  /** A host was added, linked, unlinked or revoked (message: its id). */
  hosts: "hosts",
  /**
   * A heartbeat brought a host's load and lastSeenAt (message: JSON `{ hostId, load }`, so replicas
   * that do not hold the link can show the load too). Frequent: subscribers throttle it.
   */
  hostLoad: "hosts:load",
  /** Something about sessions changed (state, usage, a new one). Message: the host's id. */
  sessions: "sessions",
  /**
   * One session's row or usage changed (state, model, name, worktree, usage). Published next to
   * `sessions` wherever a session changes, so `sessions.watch` re-reads only its own session.
   */
  sessionChanged: (sessionId: string) => `session:${sessionId}`,
  /** The policy version changed (message: the new version). */
  policies: "policies",
  /** An approval was requested or decided (message: its id). */
  approvals: "approvals",
  approvalDone: (id: string) => `approval-done:${id}`,
  /** Replicas only (link/relay.ts): ephemeral requests for hosts linked to another replica (chunked data, not hints). */
  relayRequests: "relay:requests",
  /** Replicas only: acks and answers to one replica's relayed requests. */
  relayReplies: (replicaId: string) => `relay:replies:${replicaId}`,
  /** Replicas only: terminal frames of a session watched from a replica its host is not linked to. */
  relayTerminal: (sessionId: string) => `relay:terminal:${sessionId}`,
} as const;

export class InProcessBus implements Bus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per open subscription: thousands of hosts are normal, not a leak.
    this.emitter.setMaxListeners(0);
  }

  publish(topic: string, message = ""): void {
    this.emitter.emit(topic, message);
  }

  subscribe(topic: string, listener: (message: string) => void): () => void {
    this.emitter.on(topic, listener);
    return () => this.emitter.off(topic, listener);
  }

  next(topic: string, signal?: AbortSignal, timeoutMs?: number): Promise<string | null> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve(null);
      let timer: NodeJS.Timeout | undefined;
      const done = (value: string | null) => {
        this.emitter.off(topic, onMessage);
        signal?.removeEventListener("abort", onAbort);
        if (timer) clearTimeout(timer);
        resolve(value);
      };
      const onMessage = (message: string) => done(message);
      const onAbort = () => done(null);
      this.emitter.on(topic, onMessage);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(() => done(null), timeoutMs);
    });
  }
}
