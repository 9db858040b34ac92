// Benchmark: policy decision latency with 1, 100 and 1,000 rules (DESIGN.md §7: PreToolUse decision
// from local policy, Claude Code HTTP hook p50 ≤ 5 ms, p99 ≤ 20 ms; through hook-forward, process
// start to exit, p50 ≤ node start-up + 15 ms).
//
// Run alone (from the repo root, after `npx tsc -b`; about a minute):
//   node --import tsx tests/bench/policy.ts                            # N=20000 engine, 1000 HTTP, 60 hook-forward per size
//   node --import tsx tests/bench/policy.ts --engine 5000 --http 300 --forward 20
// Writes tests/bench/results/policy.json.
//
// Every size is a worst case: ONE policy of N rules where only the LAST rule matches the benchmark's
// PreToolUse payload (Bash `touch allowed-by-hook.txt`), so every rule before it is checked. The
// N-1 misses all name tool `Bash` (which matches) and a contains-glob on the command
// (`*danger-<i>-*`, which has to scan the whole command and fails); the last rule is
// `{ action: "deny", tool: "Bash", args: { command: "touch *" } }` with a per-size reason.
//
//  (a) engine alone: compilePolicies(...).evaluate(request), each call timed (hrtime), N per size.
//  (b) HTTP hook, real agent: a control plane, `agent run`, a fake-provider session (session-lib),
//      the policy created through the API (policies.create; the previous size's policy deleted
//      first), then the PreToolUse hook POSTed until its answer is this size's deny (the agent has
//      the new bundle), then N sequential POSTs on one keep-alive connection, every answer checked.
//      Also, as a baseline in the same run, the same with no policy at all (no decision).
//  (c) hook-forward: `node cli/dist/hook-forward.cjs --socket <agent>/hooks.sock --session …
//      --event PreToolUse`, payload on stdin, spawn → exit, stdout must be the deny JSON.
//      Interleaved with a bare `node -e 0` (baseline).
import { readFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { compilePolicies, type EnginePolicy, type PolicyRequest, type PolicyRule } from "@codepiper/core";
import { budget, fmt, percentile, printFigures, REPO_ROOT, round, writeResult, type Figure, runBench, numberArg } from "./lib.js";
import { preToolUsePayload, startSessionBench, timeProcess } from "./session-lib.js";

const SIZES = [1, 100, 1000] as const;
const N_ENGINE = numberArg("--engine", 20_000);
const N_HTTP = numberArg("--http", 1000);
const N_FORWARD = numberArg("--forward", 60);
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

function stats(samples: number[], digits = 3): Stats {
  return {
    n: samples.length,
    p50: round(percentile(samples, 50), digits),
    p90: round(percentile(samples, 90), digits),
    p99: round(percentile(samples, 99), digits),
    max: round(Math.max(...samples), digits),
    mean: round(samples.reduce((a, b) => a + b, 0) / samples.length, digits),
  };
}

const reasonFor = (size: number) => `bench-policy-${size}-rules`;

/** N rules, only the last of which matches the benchmark payload. */
function rulesFor(size: number): PolicyRule[] {
  const rules: PolicyRule[] = [];
  for (let i = 0; i < size - 1; i++) rules.push({ action: "deny", tool: "Bash", args: { command: `*danger-${i}-*` } });
  rules.push({ action: "deny", tool: "Bash", args: { command: "touch *" }, reason: reasonFor(size) });
  return rules;
}

// ---------------------------------------------------------------------------------------------------------
// (a) engine alone

function engineBench(size: number, request: PolicyRequest): { stats: Stats; compileMs: number } {
  const policy: EnginePolicy = { id: `bench-${size}`, name: `bench-${size}`, priority: 0, enabled: true, scope: { kind: "global" }, rules: rulesFor(size) };
  const compileStarted = performance.now();
  const evaluator = compilePolicies([policy], "ask");
  const compileMs = performance.now() - compileStarted;
  const check = evaluator.evaluate(request);
  if (check.action !== "deny" || check.ruleIndex !== size - 1) throw new Error(`engine: ${size} rules decided ${JSON.stringify(check)}, expected deny by rule ${size - 1}`);
  for (let i = 0; i < Math.min(2000, N_ENGINE); i++) evaluator.evaluate(request);
  const samples = new Array<number>(N_ENGINE);
  for (let i = 0; i < N_ENGINE; i++) {
    const t0 = process.hrtime.bigint();
    const d = evaluator.evaluate(request);
    const t1 = process.hrtime.bigint();
    if (d.ruleIndex !== size - 1) throw new Error("engine: wrong decision");
    samples[i] = Number(t1 - t0) / 1000; // µs
  }
  return { stats: stats(samples, 2), compileMs: round(compileMs, 2) };
}

// ---------------------------------------------------------------------------------------------------------
// (b) HTTP

type Poster = { one(): Promise<{ ms: number; body: string }>; close(): void };

/** Sequential POSTs of `body` on one keep-alive socket. */
function poster(url: string, token: string, body: string): Poster {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const u = new URL(url);
  return {
    one: () =>
      new Promise((resolve, reject) => {
        const started = performance.now();
        const req = http.request(
          { host: u.hostname, port: u.port, path: u.pathname, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: `Bearer ${token}` } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
              const ms = performance.now() - started;
              const text = Buffer.concat(chunks).toString();
              if (res.statusCode !== 200) reject(new Error(`hook answered ${res.statusCode}: ${text}`));
              else resolve({ ms, body: text });
            });
          },
        );
        req.on("error", reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

/** True when a hook answer (HTTP body or hook-forward stdout) is this size's deny. */
function isDeny(text: string, size: number): boolean {
  if (!text) return false;
  try {
    const out = JSON.parse(text) as { hookSpecificOutput?: { permissionDecision?: string; permissionDecisionReason?: string } };
    return out.hookSpecificOutput?.permissionDecision === "deny" && (out.hookSpecificOutput.permissionDecisionReason ?? "").includes(reasonFor(size));
  } catch {
    return false;
  }
}

async function httpLoop(p: Poster, n: number, expect: (body: string) => boolean): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await p.one();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await p.one();
    if (!expect(r.body)) throw new Error(`unexpected hook answer: ${r.body.slice(0, 300)}`);
    out.push(r.ms);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// (c) hook-forward


async function main(): Promise<void> {
  budget(170_000, "policy");
  const startedAt = new Date();
  const details: Record<string, unknown> = { sizes: SIZES, nEngine: N_ENGINE, nHttp: N_HTTP, nForward: N_FORWARD, warmup: WARMUP, ruleShape: { misses: "{ action: deny, tool: Bash, args: { command: '*danger-<i>-*' } }", last: "{ action: deny, tool: Bash, args: { command: 'touch *' } }" } };
  const figures: Figure[] = [];

  // (a)
  const sessionId = "0f8fad5b-d9cb-469f-a165-70867728950e";
  const payload = preToolUsePayload(sessionId, "/home/dev/.claude/projects/-home-dev-work/x.jsonl", "/home/dev/work");
  const engineRequest: PolicyRequest = { tool: "Bash", args: payload.tool_input as Record<string, unknown>, cwd: "/home/dev/work", sessionId, setIds: [] };
  const engine: Record<number, { stats: Stats; compileMs: number }> = {};
  for (const size of SIZES) {
    engine[size] = engineBench(size, engineRequest);
    console.log(`engine, ${size} rules: p50 ${engine[size].stats.p50} µs, p99 ${engine[size].stats.p99} µs (compile ${engine[size].compileMs} ms)`);
  }
  details.engineMicroseconds = engine;

  // (b) + (c)
  const bench = await startSessionBench("policy-host");
  try {
    const s = await bench.start();
    const token = await bench.hookToken(s);
    const settings = JSON.parse(readFileSync(join(bench.stateDir, "sessions", s.id, "settings.json"), "utf8")) as { hooks: Record<string, { hooks: { type: string; url?: string }[] }[]> };
    const preUrl = settings.hooks.PreToolUse?.[0]?.hooks[0]?.url;
    if (!preUrl) throw new Error("no PreToolUse HTTP hook in the session's settings");
    const body = JSON.stringify(preToolUsePayload(s.id, s.view.transcriptPath ?? "/nonexistent.jsonl", bench.fp.cwd));
    details.payloadBytes = Buffer.byteLength(body);
    console.log(`session ${s.id} idle; hook URL ${preUrl}; payload ${Buffer.byteLength(body)} bytes`);

    const api = bench.api.api;
    const existing = await api.policies.list.query();
    if (existing.policies.length > 0) throw new Error(`expected no policies in a fresh fleet, found ${existing.policies.map((p) => p.name).join(", ")}`);

    const p = poster(preUrl, token, body);
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, CODEPIPER_HOOK_TOKEN: token };
    const fwdArgs = [HOOK_FORWARD, "--socket", join(bench.stateDir, "hooks.sock"), "--session", s.id, "--event", "PreToolUse"];
    try {
      // Baseline: no policy, PreToolUse is not decided (empty answer).
      const none = stats(await httpLoop(p, N_HTTP, (b) => b === "" || b === "{}" || b === "null"));
      details.httpNoPolicy = none;
      console.log(`HTTP, no policy (no decision): p50 ${none.p50} ms, p99 ${none.p99} ms`);
      for (let i = 0; i < 5; i++) {
        await timeProcess(fwdArgs, body, env);
        await timeProcess(["-e", "0"], "", env);
      }

      const perSize: Record<number, Record<string, unknown>> = {};
      let previous: string | null = null;
      for (const size of SIZES) {
        if (previous) await api.policies.delete.mutate({ policy: previous });
        const changed = performance.now();
        const created = await api.policies.create.mutate({ name: `bench-${size}-rules`, priority: 0, rules: rulesFor(size) });
        previous = created.id;
        const createMs = performance.now() - changed;
        // Wait until the agent decides with this size's policy.
        let polls = 0;
        for (;;) {
          polls++;
          if (isDeny((await p.one()).body, size)) break;
          if (performance.now() - changed > 30_000) throw new Error(`the agent did not pick up the ${size}-rule policy within 30 s`);
          await new Promise((r) => setTimeout(r, 5));
        }
        const propagationMs = round(performance.now() - changed, 1);

        const httpStats = stats(await httpLoop(p, N_HTTP, (b) => isDeny(b, size)));
        console.log(`HTTP, ${size} rules: p50 ${httpStats.p50} ms, p99 ${httpStats.p99} ms (max ${httpStats.max}); policy create ${round(createMs, 1)} ms, on the agent after ${propagationMs} ms (${polls} polls)`);

        const fwd: number[] = [];
        const bare: number[] = [];
        for (let i = 0; i < N_FORWARD; i++) {
          const r = await timeProcess(fwdArgs, body, env);
          if (!isDeny(r.stdout, size)) throw new Error(`hook-forward printed ${JSON.stringify(r.stdout)}, expected the deny of ${size} rules`);
          fwd.push(r.ms);
          bare.push((await timeProcess(["-e", "0"], "", env)).ms);
        }
        const fwdStats = stats(fwd);
        const bareStats = stats(bare);
        const overhead = round(fwdStats.p50 - bareStats.p50, 2);
        console.log(`hook-forward, ${size} rules: p50 ${fwdStats.p50} ms, p99 ${fwdStats.p99} ms; node -e 0: p50 ${bareStats.p50} ms; overhead p50 ${overhead} ms`);
        perSize[size] = { http: httpStats, hookForward: fwdStats, bareNode: bareStats, overheadP50Ms: overhead, policyCreateMs: round(createMs, 1), propagationMs, propagationPolls: polls };

        const e = engine[size]!.stats;
        figures.push(
          { figure: `policy engine alone, ${size} rule${size > 1 ? "s" : ""}, decided by the last — p50`, target: "(none; info)", measured: e.p50, unit: "µs", pass: null, note: `p99 ${e.p99} µs, max ${e.max} µs; N=${N_ENGINE}; compile ${engine[size]!.compileMs} ms` },
          { figure: `PreToolUse policy deny, HTTP hook, real agent, ${size} rule${size > 1 ? "s" : ""} (last matches) — p50`, target: "≤ 5 ms", measured: httpStats.p50, unit: "ms", pass: httpStats.p50 <= 5, note: `N=${N_HTTP} on one keep-alive connection; no-policy baseline p50 ${none.p50} ms` },
          { figure: `PreToolUse policy deny, HTTP hook, real agent, ${size} rule${size > 1 ? "s" : ""} (last matches) — p99`, target: "≤ 20 ms", measured: httpStats.p99, unit: "ms", pass: httpStats.p99 <= 20, note: `max ${fmt(httpStats.max, 1)} ms; no-policy baseline p99 ${none.p99} ms` },
          { figure: `PreToolUse policy deny through hook-forward (spawn → exit), ${size} rule${size > 1 ? "s" : ""} — p50`, target: `≤ node start-up + 15 ms (${fmt(bareStats.p50 + 15, 1)} ms)`, measured: fwdStats.p50, unit: "ms", pass: fwdStats.p50 <= bareStats.p50 + 15, note: `N=${N_FORWARD}, interleaved with bare \`node -e 0\`: p50 ${bareStats.p50} ms; overhead ${overhead} ms; hook-forward p99 ${fwdStats.p99} ms` },
        );
      }
      details.perSize = perSize;
      if (previous) await api.policies.delete.mutate({ policy: previous });
    } finally {
      p.close();
    }

    if (!bench.fp.host.agent?.running) throw new Error(`the agent exited during the run:\n${bench.fp.host.agent?.stderr}`);
    printFigures("policy decision latency", figures);
    const file = writeResult("policy", startedAt, figures, details);
    console.log(`\nwrote ${file}`);
  } finally {
    await bench.close();
  }
}

runBench(main);
