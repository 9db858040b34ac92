// Benchmark: hook decision latency (DESIGN.md §7: PreToolUse/PermissionRequest decision from local
// policy, Claude Code HTTP hook p50 ≤ 5 ms, p99 ≤ 20 ms; through hook-forward, process start to
// exit, p50 ≤ node start-up + 15 ms).
//
// Run alone (from the repo root, after `npx tsc -b`):
//   node --import tsx tests/bench/hooks.ts                  # N=2000 HTTP, N=100 hook-forward
//   node --import tsx tests/bench/hooks.ts --http 500 --forward 30
// Writes tests/bench/results/hooks.json.
//
// The handler is the REAL one: a control plane, an `agent run` process with a fake-provider
// session, and requests sent to that agent's hook URL (from the session's settings overlay) with
// the session's own token (CODEPIPER_HOOK_TOKEN as the agent gave it to the provider). Each request
// goes through the agent's SessionManager.onHook: outbox append (SQLite), state bookkeeping,
// shipping to the control plane. The payload is a real-size PreToolUse payload (reference capture).
//
//  (a) HTTP: sequential POSTs on one keep-alive connection, request written → response fully read.
//      Also, for comparison, the same against an in-process startHookServer with a trivial handler
//      (transport only; client and server share this process's event loop).
//  (b) hook-forward: `node cli/dist/hook-forward.cjs --socket <agent>/hooks.sock --session … --event
//      PreToolUse`, payload on stdin, spawn → exit. Interleaved with a bare `node -e 0` (baseline).
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { startHookServer } from "@codepiper/agent/hooks/server";
import { createAgentLogger } from "@codepiper/agent/log";
import { tempDir } from "../src/support/tmp.js";
import { budget, fmt, percentile, printFigures, REPO_ROOT, round, writeResult, type Figure, runBench, numberArg } from "./lib.js";
import { preToolUsePayload, startSessionBench, timeProcess } from "./session-lib.js";

const N_HTTP = numberArg("--http", 2000);
const N_FORWARD = numberArg("--forward", 100);
const WARMUP = 50;
const HOOK_FORWARD = join(REPO_ROOT, "cli", "dist", "hook-forward.cjs");

interface Stats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

function stats(samples: number[]): Stats {
  return {
    n: samples.length,
    p50: round(percentile(samples, 50), 3),
    p90: round(percentile(samples, 90), 3),
    p99: round(percentile(samples, 99), 3),
    max: round(Math.max(...samples), 3),
    mean: round(samples.reduce((a, b) => a + b, 0) / samples.length, 3),
  };
}

/** Sequential POSTs on one keep-alive socket; returns per-request latencies in ms. */
async function postLoop(url: string, token: string, body: string, n: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const u = new URL(url);
  const one = () =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      const req = http.request(
        { host: u.hostname, port: u.port, path: u.pathname, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: `Bearer ${token}` } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const ms = performance.now() - started;
            if (res.statusCode !== 200) reject(new Error(`hook answered ${res.statusCode}: ${Buffer.concat(chunks).toString()}`));
            else resolve(ms);
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  try {
    for (let i = 0; i < WARMUP; i++) await one();
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await one());
    return out;
  } finally {
    agent.destroy();
  }
}


async function main(): Promise<void> {
  budget(150_000, "hooks");
  const startedAt = new Date();
  const details: Record<string, unknown> = { nHttp: N_HTTP, nForward: N_FORWARD, warmup: WARMUP };

  // (a0) transport only: an in-process hook server with a trivial handler.
  const dir = tempDir("codepiper-bench-hooks-");
  const trivialSession = "0f8fad5b-d9cb-469f-a165-70867728950e";
  const trivial = await startHookServer({
    socketPath: join(dir, "hooks.sock"),
    authorize: () => true,
    handle: async () => ({ body: null }),
    log: createAgentLogger({ level: "silent" }),
  });
  const trivialBody = JSON.stringify(preToolUsePayload(trivialSession, "/home/dev/.claude/projects/-home-dev-work/x.jsonl", "/home/dev/work"));
  let trivialStats: Stats;
  try {
    trivialStats = stats(await postLoop(`${trivial.httpBase}/hooks/${trivialSession}/PreToolUse`, "t", trivialBody, N_HTTP));
  } finally {
    await trivial.close();
  }
  console.log(`trivial handler (in-process): p50 ${trivialStats.p50} ms, p99 ${trivialStats.p99} ms`);
  details.httpTrivialInProcess = trivialStats;

  // The real agent.
  const bench = await startSessionBench("hooks-host");
  try {
    const s = await bench.start();
    const token = await bench.hookToken(s);
    const settings = JSON.parse(readFileSync(join(bench.stateDir, "sessions", s.id, "settings.json"), "utf8")) as { hooks: Record<string, { hooks: { type: string; url?: string }[] }[]> };
    const preUrl = settings.hooks.PreToolUse?.[0]?.hooks[0]?.url;
    if (!preUrl) throw new Error("no PreToolUse HTTP hook in the session's settings");
    const transcript = s.view.transcriptPath ?? "/nonexistent.jsonl";
    const body = JSON.stringify(preToolUsePayload(s.id, transcript, bench.fp.cwd));
    details.payloadBytes = Buffer.byteLength(body);
    console.log(`session ${s.id} idle; hook URL ${preUrl}; payload ${Buffer.byteLength(body)} bytes`);

    // (a) HTTP, real handler.
    const httpSamples = await postLoop(preUrl, token, body, N_HTTP);
    const httpStats = stats(httpSamples);
    details.httpRealAgent = httpStats;
    console.log(`HTTP PreToolUse, real agent: p50 ${httpStats.p50} ms, p99 ${httpStats.p99} ms (max ${httpStats.max})`);

    // PermissionRequest (informational): same path, a state change (waiting) per request is not
    // made here because every request is the same event; see details.
    const permUrl = preUrl.replace(/\/PreToolUse$/, "/PermissionRequest");
    const permBody = JSON.stringify({ ...JSON.parse(body), hook_event_name: "PermissionRequest", permission_suggestions: [{ type: "addDirectories", directories: [bench.fp.cwd], destination: "session" }, { type: "setMode", mode: "acceptEdits", destination: "session" }] });
    const permStats = stats(await postLoop(permUrl, token, permBody, 500));
    details.httpRealAgentPermissionRequest = permStats;
    console.log(`HTTP PermissionRequest, real agent: p50 ${permStats.p50} ms, p99 ${permStats.p99} ms`);

    // (b) hook-forward vs bare node, interleaved.
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, CODEPIPER_HOOK_TOKEN: token };
    const fwdArgs = [HOOK_FORWARD, "--socket", join(bench.stateDir, "hooks.sock"), "--session", s.id, "--event", "PreToolUse"];
    // A second baseline: node loading an empty ES module (hook-forward is CommonJS since this bench showed the ESM
    // loader alone costs a few ms over `-e`).
    const emptyMjs = join(dir, "empty.mjs");
    writeFileSync(emptyMjs, "");
    for (let i = 0; i < 5; i++) {
      await timeProcess(fwdArgs, body, env);
      await timeProcess(["-e", "0"], "", env);
      await timeProcess([emptyMjs], "", env);
    }
    const fwd: number[] = [];
    const bare: number[] = [];
    const bareEsm: number[] = [];
    for (let i = 0; i < N_FORWARD; i++) {
      const r = await timeProcess(fwdArgs, body, env);
      if (r.stdout !== "") throw new Error(`hook-forward printed ${JSON.stringify(r.stdout)}`);
      fwd.push(r.ms);
      bare.push((await timeProcess(["-e", "0"], "", env)).ms);
      bareEsm.push((await timeProcess([emptyMjs], "", env)).ms);
    }
    const fwdStats = stats(fwd);
    const bareStats = stats(bare);
    const bareEsmStats = stats(bareEsm);
    details.hookForward = fwdStats;
    details.bareNode = bareStats;
    details.bareNodeEmptyEsm = bareEsmStats;
    const overhead = round(fwdStats.p50 - bareStats.p50, 2);
    console.log(`hook-forward: p50 ${fwdStats.p50} ms, p99 ${fwdStats.p99} ms; bare node -e 0: p50 ${bareStats.p50} ms, p99 ${bareStats.p99} ms; node empty.mjs: p50 ${bareEsmStats.p50} ms; overhead p50 ${overhead} ms`);

    if (!bench.fp.host.agent?.running) throw new Error(`the agent exited during the run:\n${bench.fp.host.agent?.stderr}`);

    const figures: Figure[] = [
      { figure: "PreToolUse decision, HTTP hook, real agent handler — p50", target: "≤ 5 ms", measured: httpStats.p50, unit: "ms", pass: httpStats.p50 <= 5, note: `N=${N_HTTP} sequential on one keep-alive connection, ${details.payloadBytes} B payload; trivial in-process handler: p50 ${trivialStats.p50} ms` },
      { figure: "PreToolUse decision, HTTP hook, real agent handler — p99", target: "≤ 20 ms", measured: httpStats.p99, unit: "ms", pass: httpStats.p99 <= 20, note: `max ${fmt(httpStats.max, 1)} ms; trivial in-process handler: p99 ${trivialStats.p99} ms; PermissionRequest (N=500): p50 ${permStats.p50} / p99 ${permStats.p99} ms` },
      { figure: "PreToolUse through hook-forward (spawn → exit) — p50", target: `≤ node start-up + 15 ms (${fmt(bareStats.p50 + 15, 1)} ms)`, measured: fwdStats.p50, unit: "ms", pass: fwdStats.p50 <= bareStats.p50 + 15, note: `N=${N_FORWARD}, interleaved with bare \`node -e 0\`: p50 ${bareStats.p50} ms (p99 ${bareStats.p99}); overhead ${overhead} ms; \`node empty.mjs\`: p50 ${bareEsmStats.p50} ms; hook-forward p99 ${fwdStats.p99} ms` },
    ];
    printFigures("hook decision latency", figures);
    const file = writeResult("hooks", startedAt, figures, details);
    console.log(`\nwrote ${file}`);
  } finally {
    await bench.close();
  }
}

runBench(main);
