import { describe, expect, it } from "vitest";
import fc from "fast-check";
import claudeSample from "./fixtures/claude-code/transcript-sample.jsonl?raw";
import codexSample from "./fixtures/codex/rollout-sample.jsonl?raw";
import { createClaudeParserState, parseClaudeLine } from "./claude.js";
import { createCodexParserState, parseCodexLine } from "./codex.js";
import { createParser } from "./parser.js";
import { TRANSCRIPT_LIMITS, type TranscriptEvent, type TranscriptProvider, type TranscriptUsage } from "./types.js";

const parseAll = (provider: TranscriptProvider, text: string): TranscriptEvent[] => {
  const parser = createParser(provider);
  return text.split("\n").flatMap((line) => parser.push(line));
};
const usages = (events: TranscriptEvent[]) => events.filter((e): e is TranscriptUsage => e.type === "usage");
const totals = (events: TranscriptEvent[]) =>
  usages(events).reduce(
    (t, u) => ({ input: t.input + u.inputTokens, output: t.output + u.outputTokens, cacheRead: t.cacheRead + u.cacheReadTokens, cacheCreation: t.cacheCreation + u.cacheCreationTokens }),
    { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 },
  );
const countByType = (events: TranscriptEvent[]) => events.reduce<Record<string, number>>((c, e) => ({ ...c, [e.type]: (c[e.type] ?? 0) + 1 }), {});

const SID = "2a12e0e1-b0dd-4b6f-ba11-1aa3d487567e";
const usage = (messageId: string, model: string, inputTokens = 10, outputTokens = 5): TranscriptUsage => ({
  type: "usage", messageId, model, inputTokens, outputTokens, cacheReadTokens: 0, cacheCreationTokens: 0,
});

describe("Claude Code transcript: golden over the reference sample (claude 2.1.197, 26 lines)", () => {
  const events = parseAll("claude-code", claudeSample);

  it("yields exactly these normalized events", () => {
    expect(events).toEqual([
      { type: "session_meta", providerSessionId: SID, cwd: "/home/dev/work", model: "claude-fake", version: "2.1.197" },
      { type: "message", role: "assistant", text: "Hello from the fake API. FAKE_OK", id: "msg_fake1795522083566" },
      usage("msg_fake1795522083566", "claude-fake"),
      { type: "message", role: "user", text: "RUNTOOL RUNCMD[touch allowed-by-hook.txt]" },
      { type: "message", role: "user", text: "RUNTOOL RUNCMD[touch deny-me.txt]" },
      { type: "tool_call", id: "toolu_fake1", name: "Bash", input: { command: "touch deny-me.txt", description: "spike cmd" } },
      usage("msg_fake1795522089094", "claude-fake"),
      { type: "tool_result", toolCallId: "toolu_fake1", output: "denied by control plane", truncated: false, isError: true },
      { type: "message", role: "assistant", text: "Tool finished. FAKE_DONE", id: "msg_fake1795522091297" },
      usage("msg_fake1795522091297", "claude-fake"),
      { type: "message", role: "user", text: "RUNTOOL RUNCMD[touch allowed-by-hook.txt]" },
      { type: "tool_call", id: "toolu_fake1", name: "Bash", input: { command: "touch allowed-by-hook.txt", description: "spike cmd" } },
      usage("msg_fake1795522098210", "claude-fake"),
      { type: "tool_result", toolCallId: "toolu_fake1", output: "(Bash completed with no output)", truncated: false, isError: false },
      { type: "message", role: "assistant", text: "Hello from the fake API. FAKE_OK", id: "msg_fake1795522100391" },
      usage("msg_fake1795522100391", "claude-fake"),
    ]);
  });

  it("counts: 5 assistant entries with 5 distinct ids → 5 usages, 50 in / 25 out; no warnings", () => {
    expect(countByType(events)).toEqual({ session_meta: 1, message: 6, tool_call: 2, tool_result: 2, usage: 5 });
    expect(totals(events)).toEqual({ input: 50, output: 25, cacheRead: 0, cacheCreation: 0 });
  });
});

describe("Codex rollout: golden over the reference sample (codex 0.169.0, 14 lines)", () => {
  const events = parseAll("codex", codexSample);

  it("yields exactly these normalized events", () => {
    expect(events).toEqual([
      { type: "session_meta", providerSessionId: "01a20d76-35d7-7ae2-baef-0e58db269407", cwd: "/home/dev/work", model: null, version: "0.169.0" },
      // developer message (skills) and the harness-injected <environment_context> user message are skipped
      { type: "message", role: "user", text: "hello codex", id: "msg_01a20d76-4811-76a3-b98f-35437dfef847" },
      { type: "message", role: "assistant", text: "Hello from fake responses. FAKE_OK", id: "msg_resp_1795522185259" },
      // one token_count (token_usage_record is not counted again); model from turn_context
      usage("01a20d76-47dd-7f51-b080-63aedad8f088#1", "fake-model"),
    ]);
    expect(totals(events)).toEqual({ input: 10, output: 5, cacheRead: 0, cacheCreation: 0 });
  });
});

const assistantLine = (id: string, content: unknown[], usage: Record<string, number> = { input_tokens: 7, output_tokens: 3, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 }) =>
  JSON.stringify({ type: "assistant", sessionId: "s", message: { id, role: "assistant", model: "m", content, usage } });

describe("Claude parser", () => {
  it("counts usage once per message id across split entries", () => {
    const p = createParser("claude-code");
    const events = [
      ...p.push(assistantLine("msg_1", [{ type: "thinking", thinking: "hm" }])),
      ...p.push(assistantLine("msg_1", [{ type: "text", text: "hi" }])),
      ...p.push(assistantLine("msg_1", [{ type: "tool_use", id: "t1", name: "Read", input: { path: "a" } }])),
      ...p.push(assistantLine("msg_2", [{ type: "text", text: "again" }])),
    ];
    expect(usages(events)).toEqual([
      { type: "usage", messageId: "msg_1", model: "m", inputTokens: 7, outputTokens: 3, cacheReadTokens: 100, cacheCreationTokens: 20 },
      { type: "usage", messageId: "msg_2", model: "m", inputTokens: 7, outputTokens: 3, cacheReadTokens: 100, cacheCreationTokens: 20 },
    ]);
    expect(events.filter((e) => e.type === "message").map((e) => e.type === "message" && e.text)).toEqual(["hi", "again"]);
    expect(events.filter((e) => e.type === "tool_call")).toHaveLength(1);
  });

  it("bounds the remembered ids (oldest evicted)", () => {
    const state = createClaudeParserState();
    for (let i = 0; i < TRANSCRIPT_LIMITS.seenMessageIds + 10; i++) parseClaudeLine(assistantLine(`msg_${i}`, []), state);
    expect(state.seenMessageIds.size).toBe(TRANSCRIPT_LIMITS.seenMessageIds);
    expect(state.seenMessageIds.has("msg_0")).toBe(false);
  });

  it("malformed, oversized and invalid lines → one warning each, parsing continues", () => {
    const p = createParser("claude-code");
    expect(p.push("{not json")).toEqual([expect.objectContaining({ type: "warning", line: 1, reason: "malformed_json" })]);
    expect(p.push(JSON.stringify({ type: "user", message: { text: "x".repeat(TRANSCRIPT_LIMITS.lineBytes) } }))).toEqual([
      expect.objectContaining({ type: "warning", line: 2, reason: "oversized" }),
    ]);
    expect(p.push("42")).toEqual([expect.objectContaining({ type: "warning", line: 3, reason: "invalid_record" })]);
    expect(p.push(JSON.stringify({ type: "assistant", message: { role: "assistant", content: "nope" } }))).toEqual([
      expect.objectContaining({ type: "warning", line: 4, reason: "invalid_record" }),
    ]);
    expect(p.push("")).toEqual([]);
    expect(p.push(JSON.stringify({ type: "user", sessionId: "s", message: { role: "user", content: "still here" } }))).toEqual([
      { type: "session_meta", providerSessionId: "s", cwd: null, model: null, version: null },
      { type: "message", role: "user", text: "still here" },
    ]);
  });

  it("ignores unknown record types and unknown blocks without a warning", () => {
    const p = createParser("claude-code");
    expect(p.push(JSON.stringify({ type: "some-future-record", foo: 1 }))).toEqual([]);
    expect(p.push(JSON.stringify({ type: "summary", summary: "x" }))).toEqual([]);
    expect(p.push(JSON.stringify({ type: "user", message: { role: "user", content: [{ type: "image", source: {} }] } }))).toEqual([]);
  });

  it("truncates long tool output and flattens block content", () => {
    const p = createParser("claude-code");
    const long = "y".repeat(TRANSCRIPT_LIMITS.toolOutputChars + 5);
    const [a] = p.push(JSON.stringify({ type: "user", message: { role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: long }] } }));
    expect(a).toEqual({ type: "tool_result", toolCallId: "t", output: long.slice(0, TRANSCRIPT_LIMITS.toolOutputChars), truncated: true, isError: false });
    const [b] = p.push(JSON.stringify({ type: "user", message: { role: "user", content: [{ type: "tool_result", tool_use_id: "u", content: [{ type: "text", text: "a" }, { type: "image" }] }] } }));
    expect(b).toEqual({ type: "tool_result", toolCallId: "u", output: "a\n[image]", truncated: false, isError: false });
  });
});

const rollout = (type: string, payload: unknown) => JSON.stringify({ timestamp: "2026-11-24T00:00:00Z", type, payload });
const tokenCount = (total: Record<string, number>, last?: Record<string, number>) =>
  rollout("event_msg", { type: "token_count", info: { total_token_usage: total, last_token_usage: last ?? total } });

describe("Codex parser", () => {
  it("turns cumulative token_count totals into per-turn deltas; repeats count nothing", () => {
    const p = createParser("codex");
    p.push(rollout("turn_context", { turn_id: "t1", model: "gpt-x" }));
    const a = p.push(tokenCount({ input_tokens: 100, cached_input_tokens: 40, output_tokens: 10 }));
    const again = p.push(tokenCount({ input_tokens: 100, cached_input_tokens: 40, output_tokens: 10 }));
    p.push(rollout("turn_context", { turn_id: "t2", model: "gpt-y" }));
    const b = p.push(tokenCount({ input_tokens: 250, cached_input_tokens: 140, output_tokens: 30, cache_write_input_tokens: 5 }));
    expect(a).toEqual([{ type: "usage", messageId: "t1#1", model: "gpt-x", inputTokens: 60, outputTokens: 10, cacheReadTokens: 40, cacheCreationTokens: 0 }]);
    expect(again).toEqual([]);
    expect(b).toEqual([{ type: "usage", messageId: "t2#2", model: "gpt-y", inputTokens: 50, outputTokens: 20, cacheReadTokens: 100, cacheCreationTokens: 5 }]);
    expect(p.push(rollout("event_msg", { type: "token_count", info: null }))).toEqual([]);
  });

  it("maps function_call / function_call_output", () => {
    const p = createParser("codex");
    expect(p.push(rollout("response_item", { type: "function_call", name: "exec_command", arguments: '{"cmd":"ls"}', call_id: "c1" }))).toEqual([
      { type: "tool_call", id: "c1", name: "exec_command", input: { cmd: "ls" } },
    ]);
    expect(p.push(rollout("response_item", { type: "function_call", name: "x", arguments: "not json", call_id: "c2" }))).toEqual([
      { type: "tool_call", id: "c2", name: "x", input: "not json" },
    ]);
    expect(p.push(rollout("response_item", { type: "function_call_output", call_id: "c1", output: "Process exited with code 0" }))).toEqual([
      { type: "tool_result", toolCallId: "c1", output: "Process exited with code 0", truncated: false, isError: false },
    ]);
    expect(p.push(rollout("response_item", { type: "function_call_output", call_id: "c2", output: { content: "boom", success: false } }))).toEqual([
      { type: "tool_result", toolCallId: "c2", output: "boom", truncated: false, isError: true },
    ]);
  });

  it("warns on malformed/oversized/invalid lines, ignores unknown types, and continues", () => {
    const state = createCodexParserState();
    expect(parseCodexLine("}", state)).toEqual([expect.objectContaining({ type: "warning", line: 1, reason: "malformed_json" })]);
    expect(parseCodexLine("x".repeat(TRANSCRIPT_LIMITS.lineBytes + 1), state)).toEqual([expect.objectContaining({ type: "warning", line: 2, reason: "oversized" })]);
    expect(parseCodexLine(JSON.stringify({ payload: {} }), state)).toEqual([expect.objectContaining({ type: "warning", line: 3, reason: "invalid_record" })]);
    expect(parseCodexLine(rollout("response_item", { type: "function_call", name: "x" }), state)).toEqual([
      expect.objectContaining({ type: "warning", line: 4, reason: "invalid_record" }),
    ]);
    expect(parseCodexLine(rollout("brand_new_thing", { a: 1 }), state)).toEqual([]);
    expect(parseCodexLine(rollout("response_item", { type: "reasoning", summary: [] }), state)).toEqual([]);
    expect(parseCodexLine(rollout("event_msg", { type: "agent_message", message: "hi" }), state)).toEqual([]);
    expect(parseCodexLine(rollout("response_item", { type: "message", role: "assistant", content: [{ type: "output_text", text: "ok" }] }), state)).toEqual([
      { type: "message", role: "assistant", text: "ok" },
    ]);
    expect(state.line).toBe(8);
  });
});

describe("never throws", () => {
  const providers: TranscriptProvider[] = ["claude-code", "codex"];
  const jsonish = fc.oneof(
    fc.string(),
    fc.json(),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.record({ type: fc.constantFrom("user", "assistant", "response_item", "event_msg", "session_meta", "turn_context"), message: fc.jsonValue(), payload: fc.jsonValue() }).map((v) => JSON.stringify(v)),
  );
  for (const provider of providers) {
    it(`${provider}: arbitrary lines parse to events without throwing`, () => {
      fc.assert(
        fc.property(fc.array(jsonish, { maxLength: 20 }), (lines) => {
          const p = createParser(provider);
          for (const line of lines) expect(Array.isArray(p.push(line))).toBe(true);
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe("parser snapshot / restore (a tailer persists it with its offset)", () => {
  const roundTrip = (p: ReturnType<typeof createParser>) => createParser(p.provider, JSON.parse(JSON.stringify(p.snapshot())) as unknown);

  for (const [provider, sample] of [["claude-code", claudeSample], ["codex", codexSample]] as const) {
    it(`${provider}: splitting the sample at every line with a JSON round trip gives the one-pass events`, () => {
      const lines = sample.split("\n");
      const whole = parseAll(provider, sample);
      for (let cut = 0; cut <= lines.length; cut++) {
        const first = createParser(provider);
        const head = lines.slice(0, cut).flatMap((l) => first.push(l));
        const second = roundTrip(first);
        const tail = lines.slice(cut).flatMap((l) => second.push(l));
        expect([...head, ...tail]).toEqual(whole);
      }
    });
  }

  it("Claude: usage repeated across split entries is counted once across a restore", () => {
    const p = createParser("claude-code");
    const before = p.push(assistantLine("msg_1", [{ type: "text", text: "a" }]));
    const q = roundTrip(p);
    const after = [...q.push(assistantLine("msg_1", [{ type: "tool_use", id: "t", name: "Read", input: {} }])), ...q.push(assistantLine("msg_2", []))];
    expect(usages(before).map((u) => u.messageId)).toEqual(["msg_1"]);
    expect(usages(after).map((u) => u.messageId)).toEqual(["msg_2"]);
  });

  it("Claude: the bounded id set keeps its eviction order across a restore", () => {
    const p = createParser("claude-code");
    for (let i = 0; i < TRANSCRIPT_LIMITS.seenMessageIds; i++) p.push(assistantLine(`msg_${i}`, []));
    const q = roundTrip(p);
    q.push(assistantLine("msg_new", []));
    expect(usages(q.push(assistantLine("msg_0", [])))).toHaveLength(1); // evicted first
    expect(usages(q.push(assistantLine("msg_999", [])))).toHaveLength(0);
  });

  it("Codex: deltas, turn id and the #n counter continue across a restore", () => {
    const p = createParser("codex");
    p.push(rollout("turn_context", { turn_id: "t1", model: "gpt-x" }));
    p.push(tokenCount({ input_tokens: 100, cached_input_tokens: 40, output_tokens: 10 }));
    const q = roundTrip(p);
    expect(q.push(tokenCount({ input_tokens: 100, cached_input_tokens: 40, output_tokens: 10 }))).toEqual([]);
    expect(q.push(tokenCount({ input_tokens: 150, cached_input_tokens: 40, output_tokens: 20 }))).toEqual([
      { type: "usage", messageId: "t1#2", model: "gpt-x", inputTokens: 50, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 },
    ]);
  });

  it("an invalid or foreign snapshot starts a fresh parser", () => {
    for (const saved of [null, 42, "x", { line: -1 }, { line: 3, seenMessageIds: "no", metaEmitted: true }]) {
      expect(createParser("claude-code", saved).snapshot()).toEqual({ line: 0, seenMessageIds: [], metaEmitted: false });
      expect(createParser("codex", saved).snapshot()).toEqual({ line: 0, model: null, turnId: null, usageCount: 0, lastTotal: null });
    }
  });

  it("skipOversized counts the line and warns exactly like push of that line", () => {
    const huge = "x".repeat(TRANSCRIPT_LIMITS.lineBytes + 1);
    for (const provider of ["claude-code", "codex"] as const) {
      const a = createParser(provider);
      const b = createParser(provider);
      a.push("{}");
      b.push("{}");
      expect(b.skipOversized()).toEqual(a.push(huge));
      expect(b.snapshot()).toEqual(a.snapshot());
    }
  });
});
