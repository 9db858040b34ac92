// Benchmark: transcript catch-up (DESIGN.md §7: ≥ 50 MB/s parsed).
//
// Run alone (from the repo root, after `npx tsc -b`):
//   node --import tsx tests/bench/transcript.ts            # ~50 MB, 3 runs
//   node --import tsx tests/bench/transcript.ts --mb 20 --runs 5
// Writes tests/bench/results/transcript.json.
//
// A synthetic Claude Code transcript (~50 MB) in the real JSONL shapes (from the captured sample in
// core/src/transcripts/fixtures): user prompts, assistant entries with usage (text and tool_use,
// several lines per message id as Claude streams them), tool_result entries with realistic outputs
// (command output, file contents of a few KB), attachments, system summaries, file-history
// snapshots. A real TranscriptTailer reads it from offset 0 into a fresh real Outbox (SQLite, one
// transaction per 1 MiB chunk with the cursor) — catchUp() from start to the last commit. Median of
// the runs. For locating time, the same bytes are also timed through the parser alone and through a
// bare split + JSON.parse (same run).
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { createParser } from "@codepiper/core";
import { createAgentLogger } from "@codepiper/agent/log";
import { Outbox } from "@codepiper/agent/outbox";
import { TranscriptTailer } from "@codepiper/agent/sessions/tailer";
import { tempDir } from "../src/support/tmp.js";
import { budget, fmt, median, printFigures, round, writeResult, type Figure, runBench, numberArg } from "./lib.js";

const TARGET_MB = numberArg("--mb", 50);
const RUNS = numberArg("--runs", 3);
const MB = 1e6;

const SESSION = "2a12e0e1-b0dd-4b6f-ba11-1aa3d487567e";
const CWD = "/home/dev/work";

/** Deterministic pseudo-random numbers (same file every run). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const WORDS = "the agent reads the file and runs the tests then edits the function to handle the error case before it commits changes with a clear message about why".split(" ");

function generate(path: string, targetBytes: number): { bytes: number; lines: number; turns: number } {
  const rand = rng(42);
  const pick = <T>(a: readonly T[]) => a[Math.floor(rand() * a.length)]!;
  const text = (n: number) => {
    let s = "";
    while (s.length < n) s += `${pick(WORDS)} `;
    return s.slice(0, n);
  };
  const codeLines = (n: number) => Array.from({ length: n }, (_, i) => `${String(i + 1).padStart(5)}\t  const value${i} = compute(${pick(WORDS)}, ${Math.floor(rand() * 1000)}); // ${text(20 + Math.floor(rand() * 40))}`).join("\n");
  const common = () => ({ isSidechain: false, userType: "external", entrypoint: "cli", cwd: CWD, sessionId: SESSION, version: "2.1.197", gitBranch: "main" });
  let ts = Date.parse("2026-11-24T12:00:00.000Z");
  const stamp = () => new Date((ts += 50 + Math.floor(rand() * 2000))).toISOString();
  let parent: string | null = null;
  const entry = (o: Record<string, unknown>) => {
    const uuid = randomUUID();
    const line = JSON.stringify({ parentUuid: parent, ...common(), ...o, uuid, timestamp: stamp() });
    parent = uuid;
    return line;
  };
  const usage = () => ({ input_tokens: 2 + Math.floor(rand() * 40), cache_creation_input_tokens: Math.floor(rand() * 3000), cache_read_input_tokens: Math.floor(rand() * 60000), output_tokens: 10 + Math.floor(rand() * 900), server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 }, service_tier: "standard" });
  const assistant = (id: string, content: unknown[], stop: string | null) => entry({ message: { id, type: "message", role: "assistant", model: "claude-sonnet-4-5", content, stop_reason: stop, stop_sequence: null, usage: usage() }, requestId: `req_${randomUUID().replace(/-/g, "").slice(0, 24)}`, type: "assistant" });

  const out: string[] = [];
  let bytes = 0;
  let turns = 0;
  let msg = 0;
  const push = (line: string) => {
    out.push(line);
    bytes += line.length + 1;
  };
  push(JSON.stringify({ type: "permission-mode", permissionMode: "default", sessionId: SESSION }));
  while (bytes < targetBytes) {
    turns++;
    const promptId = randomUUID();
    push(JSON.stringify({ type: "file-history-snapshot", messageId: randomUUID(), snapshot: { messageId: randomUUID(), trackedFileBackups: {}, timestamp: stamp() }, isSnapshotUpdate: false }));
    push(entry({ promptId, type: "user", message: { role: "user", content: text(40 + Math.floor(rand() * 400)) }, permissionMode: "default", origin: { kind: "human" }, promptSource: "typed" }));
    const steps = 2 + Math.floor(rand() * 5);
    for (let k = 0; k < steps; k++) {
      const id = `msg_01${randomUUID().replace(/-/g, "").slice(0, 22)}`;
      const toolId = `toolu_01${randomUUID().replace(/-/g, "").slice(0, 22)}`;
      msg++;
      // Claude streams one message as several lines with the same id: thinking/text, then tool_use.
      if (rand() < 0.5) push(assistant(id, [{ type: "text", text: text(80 + Math.floor(rand() * 600)) }], null));
      const tool = pick(["Bash", "Read", "Edit", "Grep"] as const);
      const input =
        tool === "Bash" ? { command: `npm test -- ${pick(WORDS)}.test.ts`, description: text(30) }
        : tool === "Read" ? { file_path: `${CWD}/src/${pick(WORDS)}/${pick(WORDS)}.ts` }
        : tool === "Edit" ? { file_path: `${CWD}/src/${pick(WORDS)}.ts`, old_string: codeLines(3 + Math.floor(rand() * 10)), new_string: codeLines(3 + Math.floor(rand() * 12)) }
        : { pattern: pick(WORDS), path: `${CWD}/src`, output_mode: "content" };
      push(assistant(id, [{ type: "tool_use", id: toolId, name: tool, input }], "tool_use"));
      const result = tool === "Read" ? codeLines(30 + Math.floor(rand() * 250)) : tool === "Bash" ? `${text(200)}\n${codeLines(5 + Math.floor(rand() * 60))}` : codeLines(2 + Math.floor(rand() * 20));
      push(entry({ promptId, type: "user", message: { role: "user", content: [{ tool_use_id: toolId, type: "tool_result", content: result, is_error: rand() < 0.05 }] }, toolUseResult: tool === "Bash" ? { stdout: result, stderr: "", interrupted: false, isImage: false } : { type: "text", file: { filePath: (input as { file_path?: string }).file_path ?? "", content: result.slice(0, 2000), numLines: 40, startLine: 1, totalLines: 400 } }, sourceToolAssistantUUID: parent }));
    }
    push(assistant(`msg_01${randomUUID().replace(/-/g, "").slice(0, 22)}`, [{ type: "text", text: text(100 + Math.floor(rand() * 1500)) }], "end_turn"));
    push(entry({ type: "system", subtype: "stop_hook_summary", hookCount: 1, hookInfos: [{ command: "node /opt/codepiper/cli/dist/hook-forward.js", durationMs: 14 }], hookErrors: [], hookAdditionalContext: [], preventedContinuation: false, stopReason: "", hasOutput: false, level: "suggestion" }));
    push(entry({ type: "system", subtype: "turn_duration", durationMs: 1000 + Math.floor(rand() * 60000), messageCount: steps * 2 + 2, isMeta: false }));
    if (rand() < 0.2) push(entry({ attachment: { type: "hook_permission_decision", decision: "allow", toolUseID: "toolu_x", hookEvent: "PermissionRequest" }, type: "attachment" }));
  }
  writeFileSync(path, `${out.join("\n")}\n`);
  void msg;
  return { bytes: statSync(path).size, lines: out.length, turns };
}

async function tailOnce(dir: string, path: string, run: number): Promise<{ ms: number; events: number }> {
  const dbPath = join(dir, `outbox-${run}.db`);
  const outbox = new Outbox(dbPath);
  let events = 0;
  const tailer = new TranscriptTailer({ sessionId: SESSION, provider: "claude-code", outbox, log: createAgentLogger({ level: "silent" }), path, onEvents: (e) => (events += e.length) });
  try {
    const started = performance.now();
    await tailer.catchUp();
    const ms = performance.now() - started;
    if (tailer.status.offset !== statSync(path).size) throw new Error(`tailer stopped at ${tailer.status.offset} of ${statSync(path).size}`);
    return { ms, events };
  } finally {
    await tailer.stop();
    outbox.close();
    rmSync(dbPath, { force: true });
    rmSync(`${dbPath}-wal`, { force: true });
    rmSync(`${dbPath}-shm`, { force: true });
  }
}

async function main(): Promise<void> {
  budget(150_000, "transcript");
  const startedAt = new Date();
  const dir = tempDir("codepiper-bench-transcript-");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${SESSION}.jsonl`);
  try {
    const genStart = performance.now();
    const file = generate(path, TARGET_MB * MB);
    console.log(`generated ${fmt(file.bytes / MB, 1)} MB, ${fmt(file.lines)} lines, ${fmt(file.turns)} turns in ${fmt((performance.now() - genStart) / 1000, 1)} s`);

    const tail: { ms: number; events: number; mbPerS: number }[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t = await tailOnce(dir, path, r);
      tail.push({ ...t, mbPerS: round(file.bytes / MB / (t.ms / 1000), 1) });
      console.log(`  tailer → outbox run ${r + 1}: ${fmt(t.ms)} ms, ${fmt(t.events)} events, ${tail[r]!.mbPerS} MB/s`);
    }

    // Where the time goes: the same bytes through the parser alone, and through JSON.parse alone.
    const textAll = readFileSync(path, "utf8");
    const parserOnly: number[] = [];
    const jsonOnly: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      let t0 = performance.now();
      const parser = createParser("claude-code");
      let n = 0;
      for (const line of textAll.split("\n")) n += parser.push(line).length;
      parserOnly.push(round(file.bytes / MB / ((performance.now() - t0) / 1000), 1));
      t0 = performance.now();
      for (const line of textAll.split("\n")) if (line) JSON.parse(line);
      jsonOnly.push(round(file.bytes / MB / ((performance.now() - t0) / 1000), 1));
      if (n === 0) throw new Error("parser produced no events");
    }
    console.log(`  parser only: ${parserOnly.join(" / ")} MB/s; split + JSON.parse only: ${jsonOnly.join(" / ")} MB/s`);

    const med = median(tail.map((t) => t.mbPerS));
    const figures: Figure[] = [
      { figure: "transcript catch-up, Claude JSONL from offset 0 → outbox (TranscriptTailer)", target: "≥ 50 MB/s", measured: med, unit: "MB/s", pass: med >= 50, note: `median of ${RUNS} runs over ${fmt(file.bytes / MB, 1)} MB (${fmt(file.lines)} lines, ${fmt(tail[0]!.events)} events); parser alone ${median(parserOnly)} MB/s, split + JSON.parse alone ${median(jsonOnly)} MB/s` },
    ];
    printFigures("transcript catch-up", figures);
    const out = writeResult("transcript", startedAt, figures, { file, runs: tail, parserOnlyMBps: parserOnly, jsonParseOnlyMBps: jsonOnly });
    console.log(`\nwrote ${out}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runBench(main);
