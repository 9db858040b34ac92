// Runs every benchmark of tests/bench one after the other and writes tests/bench/results/summary.md
// (figure, target, measured median, pass/fail) from their results/<name>.json.
//
//   npx tsc -b && pnpm run bench:run                       # = node --import tsx tests/bench/run.ts
//   node --import tsx tests/bench/run.ts --only hosts,agent-idle
//   node --import tsx tests/bench/run.ts --quick            # lighter ingest runs
//
// Benchmarks are run on demand, never by the test command. Each runs in its own process, through
// `bash -c 'ulimit -n <hard limit>; exec node …'` (the hosts benchmark holds ~4 descriptors per
// simulated host), with a 5-minute deadline. They only use loopback. Expect ~15 minutes in all.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { BENCH_DIR, REPO_ROOT, RESULTS_DIR, fmt, machineInfo, type ResultFile } from "./lib.js";

const BENCHES = ["ingest", "hosts", "agent-idle", "agent-sessions", "hooks", "policy", "keystroke", "transcript", "dashboard", "usage"] as const;
const DEADLINE_MS = 5 * 60_000 + 30_000;

const onlyArg = process.argv.indexOf("--only");
const only = onlyArg > 0 ? process.argv[onlyArg + 1]!.split(",") : null;
const passThrough = process.argv.includes("--quick") ? ["--quick"] : [];

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs one benchmark; resolves with its exit code (null when it had to be killed). */
function runOne(name: string): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  const node = [process.execPath, "--import", "tsx", join(BENCH_DIR, `${name}.ts`), ...(name === "ingest" ? passThrough : [])].map(shellQuote).join(" ");
  const child = spawn("bash", ["-c", `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${node}`], { cwd: REPO_ROOT, stdio: "inherit", detached: true });
  const timer = setTimeout(() => {
    console.error(`${name}: over ${DEADLINE_MS / 1000} s, killing it`);
    // The benchmark's own process group (detached): the node process and the servers it started.
    if (child.pid) process.kill(-child.pid, "SIGKILL");
  }, DEADLINE_MS);
  return new Promise((resolve) => {
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, ms: Date.now() - started });
    });
  });
}

function cell(s: string): string {
  return s.replace(/\|/g, "\\|");
}

async function main(): Promise<void> {
  const runStarted = new Date();
  mkdirSync(RESULTS_DIR, { recursive: true });
  const outcomes: { name: string; code: number | null; ms: number; result: ResultFile | null }[] = [];
  for (const name of BENCHES) {
    if (only && !only.includes(name)) continue;
    console.log(`\n######## ${name}`);
    const { code, ms } = await runOne(name);
    const file = join(RESULTS_DIR, `${name}.json`);
    let result: ResultFile | null = null;
    if (existsSync(file)) {
      const parsed = JSON.parse(readFileSync(file, "utf8")) as ResultFile;
      // Only this run's result: a stale file from an earlier run does not count.
      if (Date.parse(parsed.startedAt) >= runStarted.getTime()) result = parsed;
    }
    outcomes.push({ name, code, ms, result });
  }

  const m = machineInfo();
  const lines: string[] = [
    "# CodePiper Fleet — benchmark summary",
    "",
    `Run ${runStarted.toISOString()} on ${m.cpuModel}, ${m.cores} cores, ${m.totalMemGiB} GiB, node ${m.node}, ${m.platform} (kernel ${m.kernel}).`,
    "Targets from DESIGN.md §7. Medians over several runs or samples (see each note); raw data in results/<name>.json.",
    "These machines are shared and noisy: each result file records the load average and how busy the CPUs were during its run.",
    "",
    "| benchmark | figure | target | measured (median) | result |",
    "|---|---|---|---|---|",
  ];
  for (const o of outcomes) {
    if (!o.result) {
      lines.push(`| ${o.name} | (no result: exit ${o.code ?? "killed"} after ${fmt(o.ms / 1000)} s) | | | FAIL |`);
      continue;
    }
    for (const f of o.result.figures) {
      const measured = `${fmt(f.measured, Number.isInteger(f.measured) ? 0 : f.measured < 100 ? 2 : 1)} ${f.unit}`;
      const verdict = f.pass === null ? "info" : f.pass ? "pass" : "**FAIL**";
      lines.push(`| ${o.name} | ${cell(f.figure)}${f.note ? `<br><sub>${cell(f.note)}</sub>` : ""} | ${cell(f.target)} | ${cell(measured)} | ${verdict} |`);
    }
  }
  lines.push("", "| benchmark | duration | load average at start → end | CPUs busy during the run |", "|---|---|---|---|");
  for (const o of outcomes) {
    const env = (o.result?.details.environment ?? {}) as { loadAvgAtStart?: number[]; loadAvgAtEnd?: number[]; machineCpuBusyPercentDuringRun?: number | null };
    lines.push(`| ${o.name} | ${fmt(o.ms / 1000)} s | ${env.loadAvgAtStart?.join(" / ") ?? "?"} → ${env.loadAvgAtEnd?.join(" / ") ?? "?"} | ${env.machineCpuBusyPercentDuringRun ?? "?"} % |`);
  }
  lines.push("");
  const summary = join(RESULTS_DIR, "summary.md");
  writeFileSync(summary, lines.join("\n"));
  console.log(`\n${lines.join("\n")}\nwrote ${summary}`);
  const failed = outcomes.some((o) => !o.result || o.code !== 0 || o.result.figures.some((f) => f.pass === false));
  process.exitCode = failed ? 1 : 0;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
