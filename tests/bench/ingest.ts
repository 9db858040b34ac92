// Benchmark: event ingest into the control plane (DESIGN.md §7: ≥ 20,000 events/s on SQLite and PostgreSQL).
//
// Run alone (from the repo root, after `npx tsc -b`):
//   node --import tsx tests/bench/ingest.ts            # SQLite and PostgreSQL
//   node --import tsx tests/bench/ingest.ts --sqlite   # only SQLite (--pg: only PostgreSQL)
//   node --import tsx tests/bench/ingest.ts --quick    # fewer/lighter runs
// Writes tests/bench/results/ingest.json. Needs PostgreSQL's binaries (initdb, pg_ctl) for --pg.
//
// Two measurements per database:
//  (a) ingest path alone: an in-process control plane (startControlPlane) and direct calls of
//      ingestEvents(services, hostId, batch), sequentially from one host (batches of 500 and 1000)
//      and from 4 hosts at once (batches of 500). Batches are built before the clock starts.
//  (b) end to end through the real link: `codepiper server` as a process, K real `codepiper agent run`
//      processes whose outboxes were pre-filled with `codepiper agent emit --count N`; the clock runs
//      from spawning the agents until every host's ackedSeq (hosts.list) reaches its last seq. Also
//      reported: the rate counted from the moment the link is up (the first nonzero ack of a host
//      is an upper bound for its link-up), which leaves out node start-up and the hello.
// PostgreSQL here is the throwaway test server (fsync=off, synchronous_commit=off: see
// tests/src/support/postgres.ts); SQLite is the control plane's own setting (WAL, synchronous=NORMAL).
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { eventBatchSchema, type OutboxEvent } from "@codepiper/core";
import { startControlPlane } from "@codepiper/control-plane";
import { ingestEvents } from "@codepiper/control-plane/events/ingest";
import { ADMIN, Fleet, expectOk, startAgentProcess, startPostgres, tempDir, waitFor, type Proc, type StartedPostgres } from "../src/support/index.js";
import { adminApi, budget, calibrationMs, countEventRows, fmt, median, printFigures, writeResult, type Api, type Figure } from "./lib.js";

const TARGET = 20_000;
const args = new Set(process.argv.slice(2));
const quick = args.has("--quick");
const providers: ("sqlite" | "postgresql")[] = args.has("--sqlite") ? ["sqlite"] : args.has("--pg") ? ["postgresql"] : ["sqlite", "postgresql"];

const RUNS = quick ? 3 : 5;
const EVENTS_PER_RUN = quick ? 20_000 : 40_000;
const E2E_RUNS = 3;
const E2E_SHAPES = quick ? [{ agents: 1, perAgent: 30_000 }] : [{ agents: 1, perAgent: 80_000 }, { agents: 4, perAgent: 20_000 }];

const SESSION = randomUUID();
/** A hook-like event: ~300 bytes of JSON payload. */
function makeEvent(seq: number, at: string): OutboxEvent {
  return {
    seq,
    type: "hook.pre_tool_use",
    sessionId: SESSION,
    at,
    payload: { tool: "Bash", input: { command: `ls -la /work/project/src/module-${seq % 97}`, description: "List the module's files" }, cwd: "/work/project", i: seq, note: "x".repeat(120) },
  };
}

function makeBatches(total: number, batchSize: number): { events: OutboxEvent[] }[] {
  const at = new Date().toISOString();
  const batches: { events: OutboxEvent[] }[] = [];
  for (let seq = 1; seq <= total; seq += batchSize) {
    const events: OutboxEvent[] = [];
    for (let s = seq; s < seq + batchSize && s <= total; s++) events.push(makeEvent(s, at));
    batches.push({ events });
  }
  return batches;
}

interface Direct {
  label: string;
  batchSize: number;
  hosts: number;
  runs: number[];
  median: number;
}

/** (a) ingestEvents called directly on an in-process control plane. */
async function benchDirect(provider: "sqlite" | "postgresql", databaseUrl: string | undefined): Promise<Direct[]> {
  const dataDir = tempDir("codepiper-bench-ingest-");
  const cp = await startControlPlane({ dataDir, listen: "127.0.0.1:0", databaseUrl: databaseUrl ?? `file:${join(dataDir, "cp.db")}`, logLevel: "warn" });
  const out: Direct[] = [];
  try {
    const newHost = async () => {
      const id = randomUUID();
      await cp.services.db.host.create({ data: { id, name: `bench-${id.slice(0, 8)}`, signingPublicKey: "-", encryptionPublicKey: "-", factsJson: "{}" } });
      return id;
    };
    const shapes = [
      { batchSize: 500, hosts: 1 },
      { batchSize: 1000, hosts: 1 },
      { batchSize: 500, hosts: 4 },
    ];
    // Warm-up: JIT, statement caches, the table's first pages.
    const warm = await newHost();
    for (const batch of makeBatches(5_000, 500)) await ingestEvents(cp.services, warm, batch);

    for (const shape of shapes) {
      const rates: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const perHost = Math.floor(EVENTS_PER_RUN / shape.hosts);
        const hostIds = await Promise.all(Array.from({ length: shape.hosts }, newHost));
        const batches = makeBatches(perHost, shape.batchSize);
        const started = performance.now();
        await Promise.all(
          hostIds.map(async (hostId) => {
            for (const batch of batches) {
              const r = await ingestEvents(cp.services, hostId, batch);
              if (r.inserted !== batch.events.length) throw new Error(`inserted ${r.inserted} of ${batch.events.length}`);
            }
          }),
        );
        const seconds = (performance.now() - started) / 1000;
        rates.push((perHost * shape.hosts) / seconds);
      }
      const label = `${provider} ingestEvents, batch ${shape.batchSize}, ${shape.hosts} host${shape.hosts > 1 ? "s concurrently" : ""}`;
      out.push({ label, ...shape, runs: rates.map((r) => Math.round(r)), median: Math.round(median(rates)) });
      console.log(`  ${label}: ${rates.map((r) => fmt(r)).join(", ")} events/s`);
    }
    // Idempotency still holds at speed: re-sending the last run's first batch inserts nothing.
    const check = await newHost();
    const first = makeBatches(1000, 500);
    for (const b of first) await ingestEvents(cp.services, check, b);
    const again = await ingestEvents(cp.services, check, first[0]!);
    if (again.inserted !== 0 || again.ackedSeq !== 1000) throw new Error(`re-sent batch was not ignored: ${JSON.stringify(again)}`);
  } finally {
    await cp.close();
  }
  return out;
}

/** Cost of validating batches with the link's zod schema (what the server does before ingestEvents). */
function benchValidation(): number {
  const batches = makeBatches(EVENTS_PER_RUN, 500);
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    for (const b of batches) eventBatchSchema.parse(b);
    rates.push(EVENTS_PER_RUN / ((performance.now() - started) / 1000));
  }
  return Math.round(median(rates));
}

interface E2e {
  label: string;
  agents: number;
  perAgent: number;
  fromStart: number[];
  fromLinkUp: number[];
  startupMs: number[];
  medianFromStart: number;
  medianFromLinkUp: number;
}

/** (b) K real agent processes shipping pre-filled outboxes into a real `codepiper server`. */
async function benchEndToEnd(provider: "sqlite" | "postgresql", databaseUrl: string | undefined): Promise<E2e[]> {
  const fleet = await Fleet.start({ databaseUrl });
  const out: E2e[] = [];
  try {
    const admin: Api = await adminApi(fleet.url, ADMIN);
    let shapeNo = 0;
    for (const shape of E2E_SHAPES) {
      shapeNo++;
      const names = Array.from({ length: shape.agents }, (_, i) => `e2e-${shapeNo}-${i}`);
      for (const name of names) await fleet.join(name);
      const fromStart: number[] = [];
      const fromLinkUp: number[] = [];
      const startupMs: number[] = [];
      for (let run = 0; run < E2E_RUNS; run++) {
        // Pre-fill every outbox while no agent runs (big transactions: the fill is not what we measure).
        const lastSeq = new Map<string, number>();
        await Promise.all(
          names.map(async (name) => {
            const host = fleet.hosts.get(name)!;
            const res = expectOk(await fleet.cli(["agent", "emit", "--state-dir", host.stateDir, "--type", "hook.pre_tool_use", "--count", String(shape.perAgent), "--batch", "5000", "--payload", JSON.stringify({ tool: "Bash", input: { command: "ls -la /work/project/src", description: "List the module's files" }, cwd: "/work/project", note: "x".repeat(120) }), "--json"], { timeoutMs: 120_000 }));
            lastSeq.set(host.hostId, res.json<{ lastSeq: number }>().lastSeq);
          }),
        );
        const before = new Map((await admin.hosts.list.query()).map((h) => [h.id, h.ackedSeq]));
        const firstAck = new Map<string, number>();
        const t0 = performance.now();
        const agents: Proc[] = names.map((name) => {
          const host = fleet.hosts.get(name)!;
          host.agent = startAgentProcess(host.stateDir);
          return host.agent;
        });
        await waitFor(
          async () => {
            const now = performance.now();
            const list = await admin.hosts.list.query();
            let done = 0;
            for (const h of list) {
              if (!lastSeq.has(h.id)) continue;
              if (h.ackedSeq > before.get(h.id)! && !firstAck.has(h.id)) firstAck.set(h.id, now);
              if (h.ackedSeq >= lastSeq.get(h.id)!) done++;
            }
            for (const a of agents) if (!a.running) throw new Error(`an agent exited: ${a.stderr}`);
            return done === lastSeq.size;
          },
          { what: "every outbox acknowledged", timeoutMs: 120_000, intervalMs: 50 },
        );
        const seconds = (performance.now() - t0) / 1000;
        const linkUp = Math.min(...firstAck.values());
        const total = shape.agents * shape.perAgent;
        fromStart.push(total / seconds);
        fromLinkUp.push(total / ((performance.now() - linkUp) / 1000));
        startupMs.push(linkUp - t0);
        await Promise.all(agents.map((a) => a.stop()));
      }
      const label = `${provider} end to end, ${shape.agents} agent${shape.agents > 1 ? "s" : ""} × ${fmt(shape.perAgent)} events`;
      const row: E2e = {
        label,
        ...shape,
        fromStart: fromStart.map(Math.round),
        fromLinkUp: fromLinkUp.map(Math.round),
        startupMs: startupMs.map(Math.round),
        medianFromStart: Math.round(median(fromStart)),
        medianFromLinkUp: Math.round(median(fromLinkUp)),
      };
      out.push(row);
      console.log(`  ${label}: from agent start ${row.fromStart.map((r) => fmt(r)).join(", ")} events/s; from link-up ${row.fromLinkUp.map((r) => fmt(r)).join(", ")} events/s (start-up ${row.startupMs.join(", ")} ms)`);
    }
    // Nothing lost, nothing counted twice: the table holds exactly one row per emitted event.
    const rows = await countEventRows(fleet.server.dataDir, databaseUrl);
    for (const host of fleet.hosts.values()) {
      const expected = (await admin.hosts.list.query()).find((h) => h.id === host.hostId)!.ackedSeq;
      if (rows.get(host.hostId) !== expected) throw new Error(`host ${host.name}: ${rows.get(host.hostId)} event rows, acked ${expected}`);
    }
  } finally {
    await fleet.close();
  }
  return out;
}

async function main(): Promise<void> {
  budget(290_000, "ingest");
  const startedAt = new Date();
  const figures: Figure[] = [];
  const details: Record<string, unknown> = { runsPerFigure: RUNS, eventsPerRun: EVENTS_PER_RUN, e2eRuns: E2E_RUNS, e2eShapes: E2E_SHAPES, payloadBytes: JSON.stringify(makeEvent(1, new Date().toISOString()).payload).length };

  details.calibrationMsAtStart = calibrationMs();
  console.log("validation (eventBatchSchema.parse)");
  const validation = benchValidation();
  console.log(`  ${fmt(validation)} events/s`);
  details.validationEventsPerSecond = validation;

  for (const provider of providers) {
    let pgServer: StartedPostgres | null = null;
    try {
      if (provider === "postgresql") pgServer = await startPostgres({ database: "bench" });
      const url = pgServer?.url;
      console.log(`${provider}: ingest path alone`);
      const direct = await benchDirect(provider, url);
      // The end-to-end run needs a fresh database (the control plane's own data).
      if (pgServer) {
        await pgServer.stop();
        pgServer = await startPostgres({ database: "bench" });
      }
      console.log(`${provider}: end to end through the link`);
      const e2e = await benchEndToEnd(provider, pgServer?.url);
      details[provider] = { direct, e2e };
      for (const d of direct) figures.push({ figure: `ingest ${d.label}`, target: `≥ ${fmt(TARGET)} events/s`, measured: d.median, unit: "events/s", pass: d.median >= TARGET, note: `median of ${d.runs.length} runs × ${fmt(EVENTS_PER_RUN)} events` });
      for (const e of e2e) {
        figures.push({ figure: `ingest ${e.label}, from agent start`, target: `≥ ${fmt(TARGET)} events/s`, measured: e.medianFromStart, unit: "events/s", pass: e.medianFromStart >= TARGET, note: `median of ${e.fromStart.length} runs; includes agent start-up ≈ ${fmt(median(e.startupMs))} ms` });
        figures.push({ figure: `ingest ${e.label}, from link-up`, target: `≥ ${fmt(TARGET)} events/s`, measured: e.medianFromLinkUp, unit: "events/s", pass: e.medianFromLinkUp >= TARGET, note: `median of ${e.fromLinkUp.length} runs` });
      }
    } finally {
      await pgServer?.stop();
    }
  }
  figures.push({ figure: "batch validation (eventBatchSchema.parse), for reference", target: "—", measured: validation, unit: "events/s", pass: null });

  details.calibrationMsAtEnd = calibrationMs();
  printFigures("event ingest", figures);
  const file = writeResult("ingest", startedAt, figures, details);
  console.log(`\nwrote ${file}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
