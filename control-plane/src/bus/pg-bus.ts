import { randomUUID } from "node:crypto";
import pg from "pg";
import type { Logger } from "../log.js";
import { InProcessBus, type Bus } from "./bus.js";

/** The one channel every replica LISTENs on. */
export const BUS_CHANNEL = "codepiper_bus";
/**
 * PostgreSQL refuses NOTIFY payloads of 8000 bytes or more (default build). Hints are tiny (a topic
 * and an id); the replica relay chunks its data well under this (link/relay.ts).
 */
export const MAX_NOTIFY_BYTES = 7900;
/** Publishes on their way to PostgreSQL; beyond this a hint is dropped (loudly), not queued. */
const MAX_IN_FLIGHT = 10_000;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

interface Envelope {
  /** The publishing replica: a replica skips its own messages (it delivered them in-process). */
  o: string;
  t: string;
  m: string;
}

/**
 * The bus across replicas on one PostgreSQL (DESIGN.md §5): LISTEN/NOTIFY, not a broker of our own.
 *
 * publish() delivers in-process at once (local latency stays local) and NOTIFYs the other replicas
 * through one publishing connection (in order); one dedicated client per replica LISTENs. If that client drops, it is
 * re-opened with backoff, and every topic with a subscriber then gets a synthetic empty message:
 * hints may have been missed meanwhile, and subscribers re-read the database on any message
 * (bus.ts), so a wake-up is all a missed hint is worth.
 */
export class PgBus implements Bus {
  /** This process's replica id: random per start. */
  readonly origin = randomUUID();
  private readonly local = new InProcessBus();
  private readonly pool: pg.Pool;
  /** Active subscriptions (subscribe + pending next) per topic: who to wake after a reconnect. */
  private readonly active = new Map<string, number>();
  private listener: pg.Client | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private backoffMs = RECONNECT_MIN_MS;
  private inFlight = 0;
  private closed = false;

  private constructor(
    private readonly url: string,
    private readonly log: Logger,
  ) {
    // ONE connection, so NOTIFYs leave in publish order (a pool of several could reorder them, and
    // relayed terminal frames and chunked answers rely on per-replica FIFO); pg-pool queues the rest.
    this.pool = new pg.Pool({ connectionString: url, max: 1 });
    // An idle pooled client's error (server restart) must not crash the process; the pool replaces it.
    this.pool.on("error", (err) => log.warn({ err }, "bus: PostgreSQL pool error"));
  }

  /** Opens the bus; resolves once this replica is LISTENing (fails fast if PostgreSQL is unreachable). */
  static async open(url: string, log: Logger): Promise<PgBus> {
    const bus = new PgBus(url, log.child({ subsystem: "bus" }));
    await bus.listen();
    return bus;
  }

  publish(topic: string, message = ""): void {
    this.local.publish(topic, message);
    if (this.closed) return;
    const payload = JSON.stringify({ o: this.origin, t: topic, m: message } satisfies Envelope);
    if (Buffer.byteLength(payload) > MAX_NOTIFY_BYTES) {
      // A programming error, not a load condition: hints are ids. Delivered locally only.
      this.log.error({ topic, bytes: Buffer.byteLength(payload) }, `bus: message over ${MAX_NOTIFY_BYTES} bytes not sent to other replicas (publish ids, not data)`);
      return;
    }
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.log.warn({ topic }, "bus: too many NOTIFYs in flight; hint dropped (subscribers catch up on the next one)");
      return;
    }
    this.inFlight++;
    this.pool
      .query("SELECT pg_notify($1, $2)", [BUS_CHANNEL, payload])
      .catch((err: unknown) => this.log.warn({ err, topic }, "bus: NOTIFY failed; other replicas miss this hint"))
      .finally(() => this.inFlight--);
  }

  subscribe(topic: string, listener: (message: string) => void): () => void {
    const off = this.local.subscribe(topic, listener);
    this.hold(topic);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      off();
      this.release(topic);
    };
  }

  async next(topic: string, signal?: AbortSignal, timeoutMs?: number): Promise<string | null> {
    this.hold(topic);
    try {
      return await this.local.next(topic, signal, timeoutMs);
    } finally {
      this.release(topic);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const listener = this.listener;
    this.listener = null;
    await Promise.allSettled([listener?.end(), this.pool.end()]);
  }

  private hold(topic: string): void {
    this.active.set(topic, (this.active.get(topic) ?? 0) + 1);
  }

  private release(topic: string): void {
    const n = (this.active.get(topic) ?? 1) - 1;
    if (n <= 0) this.active.delete(topic);
    else this.active.set(topic, n);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    // Every socket needs an error handler: a PostgreSQL restart would otherwise crash the replica.
    client.on("error", (err) => {
      this.log.warn({ err }, "bus: LISTEN connection failed; reconnecting");
      this.dropped(client);
    });
    client.on("end", () => this.dropped(client));
    client.on("notification", (n) => {
      if (n.channel !== BUS_CHANNEL || !n.payload) return;
      let envelope: Envelope;
      try {
        envelope = JSON.parse(n.payload) as Envelope;
      } catch {
        return; // someone else's NOTIFY on our channel: not ours to interpret
      }
      if (envelope.o === this.origin || typeof envelope.t !== "string") return;
      this.local.publish(envelope.t, typeof envelope.m === "string" ? envelope.m : "");
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${BUS_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
  }

  private dropped(client: pg.Client): void {
    if (this.listener !== client) return;
    this.listener = null;
    client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.listen()
        .then(() => {
          if (this.closed) return;
          this.backoffMs = RECONNECT_MIN_MS;
          this.log.info("bus: LISTEN connection restored; waking every subscriber");
          // Hints published by other replicas while we were deaf are lost: wake everyone to re-read.
          for (const topic of [...this.active.keys()]) this.local.publish(topic, "");
        })
        .catch((err: unknown) => {
          this.log.warn({ err, retryInMs: this.backoffMs }, "bus: LISTEN reconnect failed");
          this.scheduleReconnect();
        });
    }, delay);
    this.reconnectTimer.unref();
  }
}
