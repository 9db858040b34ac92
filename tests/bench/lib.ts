// Shared helpers for the benchmarks in tests/bench (DESIGN.md §7). Not a benchmark itself.
//
// Every benchmark prints a human summary and writes tests/bench/results/<name>.json with this shape:
//   { name, machine: {...}, startedAt, durationMs, figures: Figure[], details: {...} }
// tests/bench/run.ts collects the `figures` of every result into results/summary.md.
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Sqlite from "better-sqlite3";
import pg from "pg";
import { createTRPCClient, httpLink, type TRPCClient } from "@trpc/client";
import type { AppRouter } from "@codepiper/control-plane";

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIR = join(BENCH_DIR, "results");
export const REPO_ROOT = join(BENCH_DIR, "..", "..");

/** A numeric command-line flag (`--n 100`), or its default when absent; a value that is not a positive number stops the bench. */
export function numberArg(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} needs a positive number, not ${JSON.stringify(process.argv[i + 1] ?? "")}`);
  return value;
}

/** One line of the summary table. `pass` is null when the figure has no target (informational). */
export interface Figure {
  figure: string;
  target: string;
  measured: number;
  unit: string;
  pass: boolean | null;
  /** Free-form note printed in the summary (e.g. "median of 5 runs"). */
  note?: string;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  availableParallelism: number;
  totalMemGiB: number;
  node: string;
  platform: string;
  kernel: string;
  date: string;
  fdLimit: string | null;
  /** 1/5/15-minute load averages: other work on this machine skews every figure. */
  loadAvg: number[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  let fdLimit: string | null = null;
  try {
    fdLimit = /Max open files\s+(\S+)\s+(\S+)/.exec(readFileSync("/proc/self/limits", "utf8"))?.slice(1).join("/") ?? null;
  } catch {
    fdLimit = null;
  }
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    totalMemGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    date: new Date().toISOString(),
    fdLimit,
    loadAvg: os.loadavg().map((l) => round(l, 2)),
  };
}

const loadAtStart = os.loadavg().map((l) => round(l, 2));
const cpuAtStart = systemCpu();

/** Busy and total jiffies of all CPUs (/proc/stat), to tell how busy the machine was during a run. */
function systemCpu(): { busy: number; total: number } {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (line[3] ?? 0) + (line[4] ?? 0);
    const total = line.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/**
 * A fixed CPU workload (JSON round trips and hashing), timed: a yardstick to compare runs on this
 * noisy, shared machine. Lower is faster; the same machine idle does it in a stable time.
 */
export function calibrationMs(): number {
  const sample = { tool: "Bash", input: { command: "ls -la /work/project/src", description: "List files" }, cwd: "/work/project", note: "x".repeat(120) };
  const times: number[] = [];
  for (let run = 0; run < 5; run++) {
    const started = performance.now();
    let acc = 0;
    for (let i = 0; i < 20_000; i++) acc += (JSON.parse(JSON.stringify({ ...sample, i })) as { i: number }).i;
    if (acc < 0) throw new Error("unreachable");
    times.push(performance.now() - started);
  }
  return round(median(times), 1);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank]!;
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export interface ResultFile {
  name: string;
  machine: MachineInfo;
  startedAt: string;
  durationMs: number;
  figures: Figure[];
  details: Record<string, unknown>;
}

export function writeResult(name: string, startedAt: Date, figures: Figure[], details: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  const cpuNow = systemCpu();
  const machineCpuBusy = cpuNow.total > cpuAtStart.total ? round((100 * (cpuNow.busy - cpuAtStart.busy)) / (cpuNow.total - cpuAtStart.total), 1) : null;
  const result: ResultFile = {
    name,
    machine: machineInfo(),
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    figures,
    details: { ...details, environment: { loadAvgAtStart: loadAtStart, loadAvgAtEnd: os.loadavg().map((l) => round(l, 2)), machineCpuBusyPercentDuringRun: machineCpuBusy } },
  };
  writeFileSync(file, `${JSON.stringify(result, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v), 2)}\n`);
  return file;
}

export function printFigures(title: string, figures: readonly Figure[]): void {
  const m = machineInfo();
  console.log(`\n== ${title} — ${m.cpuModel}, ${m.cores} cores, node ${m.node}, ${m.date}, load ${loadAtStart.join("/")} → ${m.loadAvg.join("/")}`);
  for (const f of figures) {
    const verdict = f.pass === null ? "info" : f.pass ? "PASS" : "FAIL";
    console.log(`  [${verdict}] ${f.figure}: ${fmt(f.measured, Number.isInteger(f.measured) ? 0 : f.measured < 100 ? 2 : 1)} ${f.unit} (target ${f.target})${f.note ? ` — ${f.note}` : ""}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// /proc sampling (Linux).

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) is 100 on every Linux we run on

/** Resident set size of a process, in bytes (VmRSS from /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

/** Peak resident set size (VmHWM), in bytes. */
export function hwmBytes(pid: number): number {
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return kb ? Number(kb) * 1024 : NaN;
}

/** utime + stime of a process, in seconds (/proc/<pid>/stat fields 14 and 15). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may contain spaces; fields after the closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

export const MiB = 2 ** 20;

// ---------------------------------------------------------------------------------------------------------
// tRPC access to a control plane, as the admin or anonymously (hosts.join is public).

export type Api = TRPCClient<AppRouter>;

export function api(url: string, token: string | null = null): Api {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: new URL("/trpc", url).toString(), headers: token ? { authorization: `Bearer ${token}` } : undefined })],
  });
}

/** Logs the Fleet's admin in through auth.login and returns an admin client. */
export async function adminApi(url: string, creds: { email: string; password: string }): Promise<Api> {
  const { token } = await api(url).auth.login.mutate({ email: creds.email, password: creds.password, tokenName: "bench" });
  return api(url, token);
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/** Fails loudly if a benchmark overruns its budget (each must stay under 5 minutes). */
export function budget(ms: number, name: string): NodeJS.Timeout {
  const timer = setTimeout(() => {
    console.error(`${name}: over its ${ms / 1000} s budget, giving up`);
    process.exit(3);
  }, ms);
  timer.unref();
  return timer;
}

/** Event rows per host, read straight from the control plane's database. */
export async function countEventRows(dataDir: string, databaseUrl: string | undefined): Promise<Map<string, number>> {
  const sql = 'SELECT "hostId" AS host, count(*) AS n FROM "Event" GROUP BY "hostId"';
  if (databaseUrl) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      return new Map((await client.query<{ host: string; n: string }>(sql)).rows.map((r) => [r.host, Number(r.n)]));
    } finally {
      await client.end();
    }
  }
  const db = new Sqlite(join(dataDir, "control-plane.db"), { readonly: true });
  try {
    return new Map((db.prepare(sql).all() as { host: string; n: number }[]).map((r) => [r.host, r.n]));
  } finally {
    db.close();
  }
}


/** Runs a benchmark's main and exits with its outcome (benches hold sockets and timers open). */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
