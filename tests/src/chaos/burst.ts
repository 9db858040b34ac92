import { readFileSync } from "node:fs";
import Database from "better-sqlite3";
import pg from "pg";
import { join } from "node:path";
import type { Fleet } from "../support/fleet.js";
import { expectOk } from "../support/fleet.js";
import { spawnCli, type Proc } from "../support/processes.js";
import { waitFor } from "../support/wait.js";

/**
 * Shared pieces of the chaos suites: a burst of synthetic events appended to an agent's outbox by
 * a separate `codepiper agent emit` process while the agent ships them, a fast observer of what the
 * control plane holds, and the read-back that proves nothing was lost or counted twice.
 */

export const BURST_TYPE = "test.burst";

/** What `codepiper agent emit --json` prints when it is done. */
export interface EmitResult {
  appended: number;
  firstSeq: number;
  lastSeq: number;
}

export interface BurstEvent {
  id: number;
  seq: number;
  hostName: string;
  type: string;
  payload: { i: number };
}

/**
 * A direct, read-only view of the control plane over its HTTP API, with the CLI's stored token.
 * Spawning `codepiper hosts --json` costs ~0.3 s of Node start-up per poll; deciding *when* to kill
 * a process mid-burst needs a finer clock than that, so the tight polling loops use this, and the
 * assertions use the real CLI.
 */
export class ControlPlaneView {
  constructor(private readonly fleet: Fleet) {}

  private token(): string {
    return (JSON.parse(readFileSync(join(this.fleet.configDir, "credentials.json"), "utf8")) as { token: string }).token;
  }

  async query<T>(path: string, input?: unknown): Promise<T> {
    const url = new URL(`/trpc/${path}`, this.fleet.url);
    if (input !== undefined) url.searchParams.set("input", JSON.stringify(input));
    const res = await fetch(url, { headers: { authorization: `Bearer ${this.token()}` }, signal: AbortSignal.timeout(5_000) });
    const body = (await res.json()) as { result?: { data: T }; error?: unknown };
    if (!res.ok || !body.result) throw new Error(`${path} answered HTTP ${res.status}: ${JSON.stringify(body.error ?? body)}`);
    return body.result.data;
  }

  async host(name: string): Promise<{ name: string; status: string; ackedSeq: number; connectedAt: string | null }> {
    return this.query("hosts.get", { host: name });
  }
}

/** Starts `codepiper agent emit` as its own process, appending `count` events in transactions of `batch`. */
export function startBurst(stateDir: string, opts: { count: number; batch: number }): Proc {
  return spawnCli(
    ["agent", "emit", "--state-dir", stateDir, "--count", String(opts.count), "--batch", String(opts.batch), "--type", BURST_TYPE, "--json"],
    `emit:${stateDir}`,
  );
}

/** Waits for the emit process to finish and returns what it reports (fails if it did not exit 0). */
export async function burstResult(emit: Proc, timeoutMs = 60_000): Promise<EmitResult> {
  const exit = await Promise.race([
    emit.exited,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`agent emit did not finish in ${timeoutMs} ms`)), timeoutMs).unref()),
  ]);
  if (exit.code !== 0) throw new Error(`agent emit exited ${exit.code} (${exit.signal})\nstdout: ${emit.stdout}\nstderr: ${emit.stderr}`);
  return JSON.parse(emit.stdout) as EmitResult;
}

/**
 * Polls the control plane until it holds some of the host's events, then returns that count.
 * The caller kills something right after: this is the "first observed progress" trigger.
 */
export async function firstProgress(view: ControlPlaneView, host: string, timeoutMs = 30_000): Promise<number> {
  return waitFor(async () => (await view.host(host)).ackedSeq, { what: `${host}: first events stored by the control plane`, timeoutMs, intervalMs: 5 });
}

/** Waits (with the real CLI) until the control plane has acknowledged `count` events of the host. */
export async function waitAcked(fleet: Fleet, host: string, count: number, timeoutMs = 45_000): Promise<void> {
  let last = -1;
  await waitFor(
    async () => {
      last = (await fleet.hostList()).find((h) => h.name === host)?.ackedSeq ?? -1;
      return last >= count;
    },
    { what: `${host} acked ${count}`, timeoutMs, intervalMs: 100 },
  );
  if (last !== count) throw new Error(`${host} acked ${last}, more than the ${count} events that were emitted`);
}

/**
 * Reads the burst back with the real CLI: every `test.burst` event of the host (one page of
 * `count`), plus a second page after the last id, which must be empty. (A `--limit` equal to the
 * expected count alone would hide an extra, duplicated event.)
 */
export async function readBurst(fleet: Fleet, host: string, count: number): Promise<{ events: BurstEvent[]; beyond: BurstEvent[] }> {
  const events = expectOk(await fleet.cli(["events", "--host", host, "--type", BURST_TYPE, "--limit", String(count), "--json"], { timeoutMs: 60_000 })).json<BurstEvent[]>();
  const lastId = events.length > 0 ? events[events.length - 1]!.id : 0;
  const beyond = expectOk(await fleet.cli(["events", "--host", host, "--type", BURST_TYPE, "--since", String(lastId), "--limit", "100", "--json"])).json<BurstEvent[]>();
  return { events, beyond };
}

/** Indexes that are missing from, or repeated in, a burst read back (empty arrays when it is exact). */
export function burstDefects(events: readonly BurstEvent[], count: number): { missing: number[]; repeated: number[]; repeatedSeqs: number[]; outOfRange: number[] } {
  const seen = new Map<number, number>();
  const seqs = new Map<number, number>();
  const outOfRange: number[] = [];
  for (const e of events) {
    const i = e.payload.i;
    if (!Number.isInteger(i) || i < 0 || i >= count) outOfRange.push(i);
    seen.set(i, (seen.get(i) ?? 0) + 1);
    seqs.set(e.seq, (seqs.get(e.seq) ?? 0) + 1);
  }
  const missing: number[] = [];
  for (let i = 0; i < count; i++) if (!seen.has(i)) missing.push(i);
  return {
    missing: missing.slice(0, 20),
    repeated: [...seen].filter(([, n]) => n > 1).map(([i]) => i).slice(0, 20),
    repeatedSeqs: [...seqs].filter(([, n]) => n > 1).map(([s]) => s).slice(0, 20),
    outOfRange: outOfRange.slice(0, 20),
  };
}

/**
 * The host's acknowledged seq as stored in the control plane's database, read directly. Used
 * while the control plane is down (just SIGKILLed), to prove the kill landed mid-burst: this is
 * what the dead process had committed, not what an observer last happened to see.
 */
export async function ackedSeqInDatabase(fleet: Fleet, host: string): Promise<number> {
  const url = fleet.server.databaseUrl;
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const res = await client.query<{ ackedSeq: string }>('SELECT "ackedSeq"::text AS "ackedSeq" FROM "Host" WHERE name = $1', [host]);
      if (res.rows.length !== 1) throw new Error(`no host ${host} in ${url}`);
      return Number(res.rows[0]!.ackedSeq);
    } finally {
      await client.end();
    }
  }
  const db = new Database(join(fleet.server.dataDir, "control-plane.db"), { fileMustExist: true });
  try {
    const row = db.prepare('SELECT CAST("ackedSeq" AS TEXT) AS ackedSeq FROM "Host" WHERE name = ?').get(host) as { ackedSeq: string } | undefined;
    if (!row) throw new Error(`no host ${host} in ${fleet.server.dataDir}`);
    return Number(row.ackedSeq);
  } finally {
    db.close();
  }
}
