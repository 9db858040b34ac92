import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Fleet, startPostgres, type StartedPostgres } from "../support/index.js";
import { BURST_COUNT, burstAcrossControlPlaneKill } from "./scenarios.js";

/**
 * The control-plane kill against a real PostgreSQL: the dead process's open transaction is rolled
 * back by the server, the batch is re-sent after the agent redials, and ON CONFLICT on
 * (hostId, seq) plus the ack written in the same transaction keep every event exactly once.
 */
describe("chaos: SIGKILL the control plane mid-burst (PostgreSQL)", () => {
  let postgres: StartedPostgres | null = null;
  let fleet: Fleet | null = null;
  beforeAll(async () => {
    postgres = await startPostgres();
    fleet = await Fleet.start({ databaseUrl: postgres.url });
  });
  afterAll(async () => {
    await fleet?.close();
    await postgres?.stop();
  });

  it("a burst shipped across a kill -9 of the control plane arrives exactly once", async () => {
    await burstAcrossControlPlaneKill(fleet!, "burst-pg");

    // The rows really are in PostgreSQL (not in an embedded SQLite file by mistake).
    const client = new pg.Client({ connectionString: postgres!.url });
    await client.connect();
    try {
      const res = await client.query<{ n: string; seqs: string }>(
        `SELECT count(*)::text AS n, count(DISTINCT e.seq)::text AS seqs FROM "Event" e JOIN "Host" h ON h.id = e."hostId" WHERE h.name = $1 AND e.type = 'test.burst'`,
        ["burst-pg"],
      );
      expect(res.rows[0]).toEqual({ n: String(BURST_COUNT), seqs: String(BURST_COUNT) });
    } finally {
      await client.end();
    }
  });
});
