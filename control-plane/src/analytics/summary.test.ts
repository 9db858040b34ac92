import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../db/index.js";
import type { Services } from "../services.js";
import { costUsd, priceOf } from "./prices.js";
import { analyticsSummary, rangeBounds } from "./summary.js";

const NOW = new Date("2026-03-10T15:30:00.000Z");
const at = (iso: string) => new Date(iso);

/** analytics.summary over real rows in a real (SQLite) database. */
describe("analyticsSummary", () => {
  let tmp: string;
  let database: Database;
  let services: Services;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "codepiper-analytics-"));
    database = await openDatabase({ url: `file:${path.join(tmp, "cp.db")}` });
    services = { db: database.prisma, database } as unknown as Services;
    const db = database.prisma;
    await db.host.create({ data: { id: "h1", name: "alpha", signingPublicKey: "k", encryptionPublicKey: "k", factsJson: "{}" } });
    const session = (id: string, createdAt: Date) => db.session.create({ data: { id, hostId: "h1", provider: "claude-code", status: "idle", cwd: "/w", billing: "api", createdAt } });
    await session("s-today-1", at("2026-03-10T09:05:00Z"));
    await session("s-today-2", at("2026-03-10T15:00:00Z"));
    await session("s-3days", at("2026-03-07T12:00:00Z"));
    await session("s-old", at("2026-02-01T12:00:00Z")); // outside 30d

    let n = 0;
    const usage = (model: string, when: Date, input: number, output: number, cacheRead = 0, cacheCreation = 0) =>
      db.usage.create({ data: { hostId: "h1", sessionId: "s-today-1", messageId: `m${n++}`, model, inputTokens: input, outputTokens: output, cacheReadTokens: cacheRead, cacheCreationTokens: cacheCreation, at: when } });
    await usage("claude-sonnet-4-5-20250929", at("2026-03-10T09:10:00Z"), 1_000_000, 100_000, 2_000_000, 0);
    await usage("claude-sonnet-4-5-20250929", at("2026-03-10T15:10:00Z"), 500_000, 0);
    await usage("mystery-model-1", at("2026-03-10T10:00:00Z"), 7, 3);
    await usage("gpt-5-codex", at("2026-03-05T00:00:00Z"), 1_000_000, 0); // 7d only
    await usage("claude-sonnet-4-5-20250929", at("2026-03-09T23:59:59Z"), 123, 0); // yesterday: not today
    await usage("claude-opus-4-1", at("2026-01-01T00:00:00Z"), 9_999_999, 0); // outside every range

    let seq = 0;
    const toolEvent = (tool: string, when: Date) =>
      db.event.create({ data: { hostId: "h1", seq: BigInt(++seq), sessionId: "s-today-1", type: "hook.pre_tool_use", payloadJson: JSON.stringify({ event: "PreToolUse", tool_name: tool, tool_input: { command: "x".repeat(100) } }), at: when } });
    await toolEvent("Bash", at("2026-03-10T09:20:00Z"));
    await toolEvent("Bash", at("2026-03-10T09:21:00Z"));
    await toolEvent("Read", at("2026-03-10T14:00:00Z"));
    await toolEvent("Bash", at("2026-03-01T14:00:00Z")); // 30d only
    await db.event.create({ data: { hostId: "h1", seq: BigInt(++seq), sessionId: "s-today-1", type: "hook.post_tool_use", payloadJson: JSON.stringify({ tool_name: "Bash" }), at: at("2026-03-10T09:20:01Z") } });
    const decision = (tool: string, outcome: string, hookEvent: string, when: Date) =>
      db.policyDecision.create({ data: { hostId: "h1", sessionId: "s-today-1", at: when, tool, argsSummary: "", decision: outcome === "denied" ? "deny" : "allow", outcome, decider: "policy", hookEvent } });
    await decision("Bash", "denied", "PreToolUse", at("2026-03-10T09:21:00Z"));
    await decision("Bash", "allowed", "PreToolUse", at("2026-03-10T09:20:00Z"));
    await decision("terminal_input", "denied", "input.text", at("2026-03-10T09:22:00Z")); // typing, not a tool call
  });
  afterAll(async () => {
    await database.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("today: hourly buckets since 00:00 UTC, every one present", async () => {
    const s = await analyticsSummary(services, "today", NOW);
    expect(s).toMatchObject({ range: "today", bucket: "hour", from: "2026-03-10T00:00:00.000Z", to: NOW.toISOString() });
    expect(s.series).toHaveLength(16); // 00:00 … 15:00
    expect(s.series[0]!.at).toBe("2026-03-10T00:00:00.000Z");
    expect(s.series[15]!.at).toBe("2026-03-10T15:00:00.000Z");
    expect(s.series[3]).toEqual({ at: "2026-03-10T03:00:00.000Z", inputTokens: 0, outputTokens: 0, costUsd: 0, sessionsStarted: 0, toolCalls: 0 });

    // Sonnet: $3 in, $15 out, $0.30 cache read per million → 3 + 1.5 + 0.6 at 09:00, 1.5 at 15:00.
    expect(s.series[9]).toMatchObject({ inputTokens: 1_000_000, outputTokens: 100_000, costUsd: 5.1, sessionsStarted: 1, toolCalls: 2 });
    expect(s.series[15]).toMatchObject({ inputTokens: 500_000, costUsd: 1.5, sessionsStarted: 1, toolCalls: 0 });
    expect(s.series[14]).toMatchObject({ toolCalls: 1 });
    const sonnet = s.tokensByModel.find((m) => m.model.includes("sonnet"))!;
    expect(sonnet).toMatchObject({ inputTokens: 1_500_000, outputTokens: 100_000, cacheReadTokens: 2_000_000, cacheCreationTokens: 0, costUsd: 6.6, priced: true });
    expect(s.tokensByModel.find((m) => m.model === "mystery-model-1")).toMatchObject({ inputTokens: 7, outputTokens: 3, costUsd: 0, priced: false });
    expect(s.tokensByModel).toHaveLength(2); // yesterday's and older rows are excluded
    expect(s.totals).toMatchObject({ inputTokens: 1_500_007, outputTokens: 100_003, costUsd: 6.6, sessions: 2, toolCalls: 3 });
    expect(s.toolUsage).toEqual([
      { tool: "Bash", count: 2, denied: 1 },
      { tool: "Read", count: 1, denied: 0 },
    ]);
  });

  it("7d and 30d: daily buckets, zeros included, rows outside the range excluded", async () => {
    const week = await analyticsSummary(services, "7d", NOW);
    expect(week).toMatchObject({ bucket: "day", from: "2026-03-04T00:00:00.000Z" });
    expect(week.series.map((b) => b.at.slice(0, 10))).toEqual(["2026-03-04", "2026-03-05", "2026-03-06", "2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10"]);
    expect(week.series[1]).toMatchObject({ inputTokens: 1_000_000, costUsd: 1.25 }); // gpt-5-codex: $1.25 per million input
    expect(week.series[5]).toMatchObject({ inputTokens: 123 });
    expect(week.totals).toMatchObject({ sessions: 3, toolCalls: 3, inputTokens: 1_000_000 + 123 + 1_500_007 });
    expect(week.tokensByModel.some((m) => m.model.includes("opus"))).toBe(false);

    const month = await analyticsSummary(services, "30d", NOW);
    expect(month.series).toHaveLength(30);
    expect(month.from).toBe("2026-02-09T00:00:00.000Z");
    expect(month.totals).toMatchObject({ sessions: 3, toolCalls: 4 }); // s-old (Feb 1) is outside
    expect(month.toolUsage[0]).toEqual({ tool: "Bash", count: 3, denied: 1 });
  });

  it("bounds and prices", () => {
    expect(rangeBounds("today", new Date("2026-03-10T00:00:00.000Z")).starts).toHaveLength(1);
    expect(rangeBounds("30d", NOW).starts).toHaveLength(30);
    expect(priceOf("claude-opus-4-5-20251101")?.family).toBe("claude-opus-4.5+");
    expect(priceOf("claude-opus-4-20250514")?.family).toBe("claude-opus");
    expect(priceOf("claude-3-5-haiku-20241022")?.family).toBe("claude-haiku-3.5");
    expect(priceOf("claude-haiku-4-5-20251001")?.family).toBe("claude-haiku");
    expect(priceOf("gpt-5-mini")?.family).toBe("gpt-5-mini");
    expect(priceOf("o4-mini")?.family).toBe("o4-mini");
    expect(priceOf("llama-3")).toBeNull();
    expect(costUsd("claude-opus-4-1", { inputTokens: 1_000_000, outputTokens: 1_000_000, cacheReadTokens: 0, cacheCreationTokens: 1_000_000 })).toBeCloseTo(15 + 75 + 18.75);
  });
});
