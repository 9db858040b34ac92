// Benchmark: the idle footprint of a real agent (DESIGN.md §7: RSS ≤ 80 MB, CPU ≈ 0 when nothing happens).
//
// Run alone (from the repo root, after `npx tsc -b`):
//   node --import tsx tests/bench/agent-idle.ts               # 3 windows of 30 s
//   node --import tsx tests/bench/agent-idle.ts --windows 1   # one window
// Writes tests/bench/results/agent-idle.json.
//
// A `codepiper server` process, one host enrolled with `codepiper agent join`, and `codepiper agent run`
// as a process, linked and idle (keepalive pings, a heartbeat every 30 s, the outbox poll). Over each
// 30 s window we sample the agent's VmRSS every second and take its CPU time (utime + stime from
// /proc/<pid>/stat) at both ends. A bare `node` process idling on a timer is measured alongside as
// the baseline (these machines are noisy and shared: compare with it).
import { spawn } from "node:child_process";
import { Fleet, waitFor } from "../src/support/index.js";
import { MiB, budget, cpuSeconds, fmt, median, printFigures, round, rssBytes, writeResult, type Figure, numberArg } from "./lib.js";

const WINDOW_MS = 30_000;
const WINDOWS = numberArg("--windows", 3);
const RSS_TARGET = 80 * 1e6; // "80 MB"
const CPU_TARGET_PERCENT = 0.5; // "≈ 0": under half a percent of one core

interface Window {
  rssMedianMiB: number;
  rssMaxMiB: number;
  cpuPercent: number;
  baselineRssMiB: number;
  baselineCpuPercent: number;
}

async function main(): Promise<void> {
  budget(60_000 + WINDOWS * (WINDOW_MS + 5_000), "agent-idle");
  const startedAt = new Date();
  const fleet = await Fleet.start();
  // The baseline: node itself, idle on a timer.
  const baseline = spawn(process.execPath, ["-e", "setInterval(() => {}, 30000)"], { stdio: "ignore" });
  try {
    await fleet.run("idle-host");
    const agent = fleet.hosts.get("idle-host")!.agent!;
    const pid = agent.child.pid!;
    const basePid = baseline.pid!;
    console.log(`agent ${pid} online; measuring ${WINDOWS} × ${WINDOW_MS / 1000} s`);

    const windows: Window[] = [];
    for (let w = 0; w < WINDOWS; w++) {
      const start = performance.now();
      const cpu0 = cpuSeconds(pid);
      const base0 = cpuSeconds(basePid);
      const rss: number[] = [];
      const baseRss: number[] = [];
      while (performance.now() - start < WINDOW_MS) {
        rss.push(rssBytes(pid));
        baseRss.push(rssBytes(basePid));
        await new Promise((r) => setTimeout(r, 1000)); // sampling period of the measurement window
      }
      const seconds = (performance.now() - start) / 1000;
      if (!agent.running) throw new Error(`the agent exited during the window:\n${agent.stderr}`);
      const win: Window = {
        rssMedianMiB: round(median(rss) / MiB),
        rssMaxMiB: round(Math.max(...rss) / MiB),
        cpuPercent: round((100 * (cpuSeconds(pid) - cpu0)) / seconds, 3),
        baselineRssMiB: round(median(baseRss) / MiB),
        baselineCpuPercent: round((100 * (cpuSeconds(basePid) - base0)) / seconds, 3),
      };
      windows.push(win);
      console.log(`  window ${w + 1}: RSS ${win.rssMedianMiB} MiB (max ${win.rssMaxMiB}), CPU ${win.cpuPercent} %; bare node ${win.baselineRssMiB} MiB, ${win.baselineCpuPercent} %`);
    }
    // Still linked at the end (an idle agent that silently dropped its link would look cheap).
    await waitFor(async () => (await fleet.hostList()).find((h) => h.name === "idle-host")?.status === "online", { what: "agent still online" });

    const rssMed = median(windows.map((w) => w.rssMedianMiB));
    const cpuMed = median(windows.map((w) => w.cpuPercent));
    const baseRssMed = median(windows.map((w) => w.baselineRssMiB));
    const figures: Figure[] = [
      { figure: "agent idle RSS (VmRSS)", target: "≤ 80 MB (76.3 MiB)", measured: rssMed, unit: "MiB", pass: rssMed * MiB <= RSS_TARGET, note: `median of ${WINDOWS} × ${WINDOW_MS / 1000} s windows (1 s samples); bare node: ${fmt(baseRssMed, 1)} MiB, ratio ${round(rssMed / baseRssMed, 2)}×` },
      { figure: "agent idle CPU", target: `≈ 0 (≤ ${CPU_TARGET_PERCENT} % of one core)`, measured: cpuMed, unit: "% of one core", pass: cpuMed <= CPU_TARGET_PERCENT, note: `median of ${WINDOWS} windows; utime+stime over the window (10 ms ticks); bare node: ${median(windows.map((w) => w.baselineCpuPercent))} %` },
    ];
    printFigures("agent idle footprint", figures);
    const file = writeResult("agent-idle", startedAt, figures, { windowMs: WINDOW_MS, windows });
    console.log(`\nwrote ${file}`);
  } finally {
    baseline.kill("SIGKILL");
    await fleet.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
