import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../../tests/src/support/wait.js";
import pg from "pg";
import { startPostgres, type StartedPostgres } from "../../../tests/src/support/postgres.js";
import { createLogger } from "../log.js";
import { BUS_CHANNEL, PgBus } from "./pg-bus.js";

const log = createLogger({ level: "silent" });

describe("PgBus (LISTEN/NOTIFY between replicas)", () => {
  let server: StartedPostgres;
  let a: PgBus;
  let b: PgBus;
  beforeAll(async () => {
    server = await startPostgres();
    a = await PgBus.open(server.url, log);
    b = await PgBus.open(server.url, log);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await server?.stop();
  });

  it("delivers locally at once and to the other replica once (its own NOTIFY is skipped)", async () => {
    const onA: string[] = [];
    const offA = a.subscribe("t1", (m) => onA.push(m));
    const atB = b.next("t1", undefined, 10_000);
    a.publish("t1", "host-1");
    expect(onA).toEqual(["host-1"]); // synchronous, before any round trip
    await expect(atB).resolves.toBe("host-1");
    // A later message from B reaches A; A's own earlier NOTIFY never came back as a duplicate.
    const next = a.next("t1", undefined, 10_000);
    b.publish("t1", "host-2");
    await expect(next).resolves.toBe("host-2");
    expect(onA).toEqual(["host-1", "host-2"]);
    offA();
  });

  it("keeps the publish order across replicas (relayed terminal frames depend on it)", async () => {
    const atB: string[] = [];
    const off = b.subscribe("ordered", (m) => atB.push(m));
    const sent = Array.from({ length: 300 }, (_, i) => String(i));
    for (const m of sent) a.publish("ordered", m); // back to back: all in flight at once
    await waitFor(() => atB.length >= sent.length, { what: "300 messages on B", intervalMs: 5 });
    expect(atB).toEqual(sent);
    off();
  });

  it("refuses to NOTIFY a message over the payload limit (delivered locally only)", async () => {
    const local: string[] = [];
    const off = a.subscribe("big", (m) => local.push(m.slice(0, 3)));
    const remote = b.next("big", undefined, 500);
    a.publish("big", "x".repeat(9000));
    expect(local).toEqual(["xxx"]);
    await expect(remote).resolves.toBeNull();
    off();
  });

  it("reconnects a dropped LISTEN connection and wakes every subscribed topic", async () => {
    const woken: string[] = [];
    const off = b.subscribe("commands:h1", (m) => woken.push(m));
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      // Kill B's listening backend (the one LISTENing on our channel other than A's).
      const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()`, [`LISTEN ${BUS_CHANNEL}`]);
      expect(killed.rowCount).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    // Both replicas lost their listener: each wakes its subscribers with an empty hint once back.
    await waitFor(() => woken.includes(""), { what: "the wake-up after the listener reconnects", intervalMs: 5 });
    // And NOTIFY flows again after the reconnect.
    const next = b.next("after", undefined, 10_000);
    a.publish("after", "ok");
    await expect(next).resolves.toBe("ok");
    off();
  });
});
