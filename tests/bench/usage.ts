// Benchmark: ingest of usage-heavy batches (every event a `transcript.usage`, so every event also
// writes a Usage row in the ingest transaction: control-plane/src/sessions/projection.ts).
//
// Run alone (from the repo root, after `npx tsc -b`):
//   node --import tsx tests/bench/usage.ts            # SQLite and PostgreSQL
//   node --import tsx tests/bench/usage.ts --sqlite   # only SQLite (--pg: only PostgreSQL)
// Writes tests/bench/results/usage.json. Needs PostgreSQL's binaries (initdb, pg_ctl) for --pg.
//
// ingestEvents(services, hostId, batch) is called directly on an in-process control plane, from one
// host into one of its sessions, batches of 500 built before the clock starts. Afterwards a replayed
// batch (its seqs forgotten by resetting the host's ackedSeq) must add no Usage row: the dedup on
// (sessionId, messageId) holds at speed.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { OutboxEvent } from "@codepiper/core";
import { startControlPlane } from "@codepiper/control-plane";
import { ingestEvents } from "@codepiper/control-plane/events/ingest";
import { startPostgres, tempDir, type StartedPostgres } from "../src/support/index.js";
import { budget, fmt, median, printFigures, runBench, writeResult, type Figure } from "./lib.js";

const args = new Set(process.argv.slice(2));
const providers: ("sqlite" | "postgresql")[] = args.has("--sqlite") ? ["sqlite"] : args.has("--pg") ? ["postgresql"] : ["sqlite", "postgresql"];
const RUNS = 5;
const EVENTS_PER_RUN = 20_000;
const BATCH = 500;

function makeBatches(sessionId: string, total: number): { events: OutboxEvent[] }[] {
  const at = new Date().toISOString();
  const batches: { events: OutboxEvent[] }[] = [];
  for (let seq = 1; seq <= total; seq += BATCH) {
    const events: OutboxEvent[] = [];
    for (let s = seq; s < seq + BATCH && s <= total; s++) {
      events.push({ seq: s, type: "transcript.usage", sessionId, at, payload: { messageId: `msg_${sessionId.slice(0, 8)}_${s}`, model: "claude-sonnet-4-5-20250929", inputTokens: 1200 + (s % 50), outputTokens: 300, cacheReadTokens: 20_000, cacheCreationTokens: 0 } });
    }
    batches.push({ events });
  }
  return batches;
}

async function bench(provider: "sqlite" | "postgresql", databaseUrl: string | undefined): Promise<{ runs: number[]; median: number }> {
  const dataDir = tempDir("codepiper-bench-usage-");
  const cp = await startControlPlane({ dataDir, listen: "127.0.0.1:0", databaseUrl: databaseUrl ?? `file:${join(dataDir, "cp.db")}`, logLevel: "warn" });
  try {
    const db = cp.services.db;
    const newSession = async () => {
      const hostId = randomUUID();
      const sessionId = randomUUID();
      await db.host.create({ data: { id: hostId, name: `bench-${hostId.slice(0, 8)}`, signingPublicKey: "-", encryptionPublicKey: "-", factsJson: "{}" } });
      await db.session.create({ data: { id: sessionId, hostId, provider: "claude-code", status: "running", cwd: "/w", billing: "api" } });
      return { hostId, sessionId };
    };
    const warm = await newSession();
    for (const b of makeBatches(warm.sessionId, 5_000)) await ingestEvents(cp.services, warm.hostId, b);

    const rates: number[] = [];
    let last = warm;
    for (let run = 0; run < RUNS; run++) {
      const s = await newSession();
      const batches = makeBatches(s.sessionId, EVENTS_PER_RUN);
      const started = performance.now();
      for (const b of batches) await ingestEvents(cp.services, s.hostId, b);
      rates.push(EVENTS_PER_RUN / ((performance.now() - started) / 1000));
      const rows = await db.usage.count({ where: { sessionId: s.sessionId } });
      if (rows !== EVENTS_PER_RUN) throw new Error(`${rows} usage rows for ${EVENTS_PER_RUN} events`);
      last = s;
    }
    // Replay: forget the host's ack and its events, so the first batch is stored and projected
    // again; its usage must not be counted twice.
    await db.host.update({ where: { id: last.hostId }, data: { ackedSeq: 0n } });
    await db.event.deleteMany({ where: { hostId: last.hostId } });
    await ingestEvents(cp.services, last.hostId, makeBatches(last.sessionId, BATCH)[0]!);
    const after = await db.usage.count({ where: { sessionId: last.sessionId } });
    if (after !== EVENTS_PER_RUN) throw new Error(`replayed batch changed the usage rows: ${after}`);
    console.log(`  ${provider}: ${rates.map((r) => fmt(r)).join(", ")} usage events/s`);
    return { runs: rates.map(Math.round), median: Math.round(median(rates)) };
  } finally {
    await cp.close();
  }
}

async function main(): Promise<void> {
  budget(290_000, "usage");
  const startedAt = new Date();
  const figures: Figure[] = [];
  const details: Record<string, unknown> = { runs: RUNS, eventsPerRun: EVENTS_PER_RUN, batch: BATCH };
  for (const provider of providers) {
    let pgServer: StartedPostgres | null = null;
    try {
      if (provider === "postgresql") pgServer = await startPostgres({ database: "bench" });
      const r = await bench(provider, pgServer?.url);
      details[provider] = r;
      figures.push({ figure: `${provider} ingestEvents, batch ${BATCH} of transcript.usage events`, target: "—", measured: r.median, unit: "events/s", pass: null, note: `median of ${RUNS} runs × ${fmt(EVENTS_PER_RUN)} events` });
    } finally {
      await pgServer?.stop();
    }
  }
  printFigures("usage-heavy ingest", figures);
  console.log(`\nwrote ${writeResult("usage", startedAt, figures, details)}`);
}

runBench(main);
