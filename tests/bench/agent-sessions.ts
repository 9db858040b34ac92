// Benchmark: the agent's footprint with 10 live, idle sessions (DESIGN.md §7: agent RSS ≤ 80 MB,
// CPU ≈ 0 when nothing happens — here "nothing" means sessions that sit at their prompt).
//
// Run alone (from the repo root, after `npx tsc -b`):
//   node --import tsx tests/bench/agent-sessions.ts                  # 10 sessions, 3 windows of 20 s
//   node --import tsx tests/bench/agent-sessions.ts --sessions 5 --windows 1
// Writes tests/bench/results/agent-sessions.json.
//
// Like agent-idle.ts (VmRSS sampled every second, utime+stime at both ends of each window), with a
// control plane, an `agent run` process and N fake-provider sessions started through the CLI and
// left idle at their prompt (their hook server, transcript tailers, pane monitor all live; nobody
// watches a terminal). The agent process itself is reported separately from the processes it runs
// for the sessions: the tmux server and each session's provider process tree.
import { readdirSync, readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { waitFor } from "../src/support/index.js";
import { MiB, budget, cpuSeconds, fmt, median, pool, printFigures, round, rssBytes, writeResult, type Figure, runBench, numberArg } from "./lib.js";
import { startSessionBench } from "./session-lib.js";

const SESSIONS = numberArg("--sessions", 10);
const WINDOWS = numberArg("--windows", 3);
const WINDOW_MS = 20_000;
const RSS_TARGET = 80 * 1e6;
const CPU_TARGET_PERCENT = 0.5;

/** pid → ppid for every process (to find a pane's descendants). */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      table.set(Number(name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone
    }
  }
  return table;
}

function withDescendants(roots: number[]): number[] {
  const table = processTable();
  const out = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of table) {
      if (!out.has(pid) && out.has(ppid)) {
        out.add(pid);
        grew = true;
      }
    }
  }
  return [...out];
}

const sum = (pids: number[], f: (pid: number) => number) =>
  pids.reduce((acc, pid) => {
    try {
      return acc + f(pid);
    } catch {
      return acc;
    }
  }, 0);

async function main(): Promise<void> {
  budget(90_000 + WINDOWS * (WINDOW_MS + 5_000), "agent-sessions");
  const startedAt = new Date();
  const baseline = spawn(process.execPath, ["-e", "setInterval(() => {}, 30000)"], { stdio: "ignore" });
  const bench = await startSessionBench("sessions-host");
  try {
    const agent = bench.fp.host.agent!;
    const pid = agent.child.pid!;
    const rssBefore = rssBytes(pid);
    const t0 = performance.now();
    const sessions = await pool(Array.from({ length: SESSIONS }, (_, k) => k), 4, () => bench.start());
    console.log(`${SESSIONS} sessions idle in ${fmt((performance.now() - t0) / 1000, 1)} s; agent RSS before them ${fmt(rssBefore / MiB, 1)} MiB`);
    const panePids = await Promise.all(sessions.map((s) => bench.panePid(s)));
    const tmuxPid = Number((await bench.tmux(["display-message", "-p", "#{pid}"])).trim());
    const providerPids = withDescendants(panePids);
    await new Promise((r) => setTimeout(r, 3_000)); // settle after the starts

    const windows: { agentRssMiB: number; agentRssMaxMiB: number; agentCpuPercent: number; providersRssMiB: number; providersCpuPercent: number; tmuxRssMiB: number; tmuxCpuPercent: number; baselineRssMiB: number; baselineCpuPercent: number }[] = [];
    for (let w = 0; w < WINDOWS; w++) {
      const start = performance.now();
      const cpu0 = cpuSeconds(pid);
      const prov0 = sum(providerPids, cpuSeconds);
      const tmux0 = cpuSeconds(tmuxPid);
      const base0 = cpuSeconds(baseline.pid!);
      const rss: number[] = [];
      const provRss: number[] = [];
      const tmuxRss: number[] = [];
      const baseRss: number[] = [];
      while (performance.now() - start < WINDOW_MS) {
        rss.push(rssBytes(pid));
        provRss.push(sum(providerPids, rssBytes));
        tmuxRss.push(rssBytes(tmuxPid));
        baseRss.push(rssBytes(baseline.pid!));
        await new Promise((r) => setTimeout(r, 1000));
      }
      const seconds = (performance.now() - start) / 1000;
      if (!agent.running) throw new Error(`the agent exited during the window:\n${agent.stderr}`);
      const win = {
        agentRssMiB: round(median(rss) / MiB),
        agentRssMaxMiB: round(Math.max(...rss) / MiB),
        agentCpuPercent: round((100 * (cpuSeconds(pid) - cpu0)) / seconds, 3),
        providersRssMiB: round(median(provRss) / MiB),
        providersCpuPercent: round((100 * (sum(providerPids, cpuSeconds) - prov0)) / seconds, 3),
        tmuxRssMiB: round(median(tmuxRss) / MiB),
        tmuxCpuPercent: round((100 * (cpuSeconds(tmuxPid) - tmux0)) / seconds, 3),
        baselineRssMiB: round(median(baseRss) / MiB),
        baselineCpuPercent: round((100 * (cpuSeconds(baseline.pid!) - base0)) / seconds, 3),
      };
      windows.push(win);
      console.log(`  window ${w + 1}: agent ${win.agentRssMiB} MiB (max ${win.agentRssMaxMiB}), ${win.agentCpuPercent} % CPU; providers (${providerPids.length} processes) ${win.providersRssMiB} MiB, ${win.providersCpuPercent} %; tmux server ${win.tmuxRssMiB} MiB, ${win.tmuxCpuPercent} %; bare node ${win.baselineRssMiB} MiB`);
    }
    await waitFor(async () => (await bench.fleet.hostList()).find((h) => h.name === "sessions-host")?.status === "online", { what: "agent still online" });
    const idle = (await bench.api.api.sessions.list.query({})).filter((s) => s.status === "idle").length;
    if (idle !== SESSIONS) throw new Error(`${idle} of ${SESSIONS} sessions idle at the end`);

    const m = (k: keyof (typeof windows)[number]) => median(windows.map((w) => w[k]));
    const figures: Figure[] = [
      { figure: `agent RSS with ${SESSIONS} live idle sessions (agent process only)`, target: "≤ 80 MB (76.3 MiB)", measured: m("agentRssMiB"), unit: "MiB", pass: m("agentRssMiB") * MiB <= RSS_TARGET, note: `median of ${WINDOWS} × ${WINDOW_MS / 1000} s windows; before the sessions ${fmt(rssBefore / MiB, 1)} MiB; bare node ${m("baselineRssMiB")} MiB. Not counted: the providers' processes ${m("providersRssMiB")} MiB (${providerPids.length} processes), the tmux server ${m("tmuxRssMiB")} MiB` },
      { figure: `agent CPU with ${SESSIONS} live idle sessions`, target: `≈ 0 (≤ ${CPU_TARGET_PERCENT} % of one core)`, measured: m("agentCpuPercent"), unit: "% of one core", pass: m("agentCpuPercent") <= CPU_TARGET_PERCENT, note: `median of ${WINDOWS} windows; providers ${m("providersCpuPercent")} %, tmux server ${m("tmuxCpuPercent")} %, bare node ${m("baselineCpuPercent")} %` },
    ];
    printFigures(`agent footprint with ${SESSIONS} idle sessions`, figures);
    const file = writeResult("agent-sessions", startedAt, figures, { sessions: SESSIONS, windowMs: WINDOW_MS, agentRssBeforeSessionsMiB: round(rssBefore / MiB), providerProcesses: providerPids.length, windows });
    console.log(`\nwrote ${file}`);
  } finally {
    baseline.kill("SIGKILL");
    await bench.close();
  }
}

runBench(main);
