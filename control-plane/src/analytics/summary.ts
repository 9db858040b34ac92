import { z } from "zod";
import { dateTimeForRawSql, toProviderPlaceholders } from "../db/index.js";
import type { Services } from "../services.js";
import { costUsd, priceOf, type TokenCounts } from "./prices.js";

export const ANALYTICS_RANGES = ["today", "7d", "30d"] as const;
export type AnalyticsRange = (typeof ANALYTICS_RANGES)[number];

const tokenFields = {
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cacheReadTokens: z.number().int().nonnegative(),
  cacheCreationTokens: z.number().int().nonnegative(),
};

export const analyticsSummarySchema = z.object({
  range: z.enum(ANALYTICS_RANGES),
  /** ISO; inclusive. The start of the first bucket. */
  from: z.string(),
  /** ISO; inclusive. The time of the query. */
  to: z.string(),
  bucket: z.enum(["hour", "day"]),
  /** Per model, most expensive first (then most tokens). `priced: false`: not in the price table, cost 0. */
  tokensByModel: z.array(z.object({ model: z.string(), ...tokenFields, costUsd: z.number().nonnegative(), priced: z.boolean() })),
  /** Per tool, most used first. `denied`: calls a policy or a human denied. */
  toolUsage: z.array(z.object({ tool: z.string(), count: z.number().int().nonnegative(), denied: z.number().int().nonnegative() })),
  totals: z.object({
    inputTokens: z.number().int().nonnegative(),
    outputTokens: z.number().int().nonnegative(),
    cacheReadTokens: z.number().int().nonnegative(),
    cacheCreationTokens: z.number().int().nonnegative(),
    costUsd: z.number().nonnegative(),
    /** Sessions created in the range. */
    sessions: z.number().int().nonnegative(),
    toolCalls: z.number().int().nonnegative(),
  }),
  /** Every bucket of the range in order, empty ones included. */
  series: z.array(
    z.object({
      /** ISO start of the bucket (UTC). */
      at: z.string(),
      inputTokens: z.number().int().nonnegative(),
      outputTokens: z.number().int().nonnegative(),
      costUsd: z.number().nonnegative(),
      sessionsStarted: z.number().int().nonnegative(),
      toolCalls: z.number().int().nonnegative(),
    }),
  ),
});
export type AnalyticsSummary = z.infer<typeof analyticsSummarySchema>;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface RangeBounds {
  from: Date;
  to: Date;
  bucket: "hour" | "day";
  /** Start of every bucket, oldest first; at most 30 of them. */
  starts: Date[];
}

/**
 * Ranges are in UTC (the control plane may serve people in several time zones; a dashboard that
 * wants local days can shift the hourly series of "today"):
 * - `today`: since 00:00 UTC today, hourly buckets (1–24);
 * - `7d` / `30d`: today and the 6 / 29 UTC days before it, daily buckets (7 / 30).
 * `to` is now; the last bucket is the one in progress.
 */
export function rangeBounds(range: AnalyticsRange, now: Date): RangeBounds {
  const midnight = Math.floor(now.getTime() / DAY) * DAY;
  let from: number;
  let step: number;
  switch (range) {
    case "today":
      from = midnight;
      step = HOUR;
      break;
    case "7d":
      from = midnight - 6 * DAY;
      step = DAY;
      break;
    case "30d":
      from = midnight - 29 * DAY;
      step = DAY;
      break;
  }
  const starts: Date[] = [];
  for (let t = from; t <= now.getTime(); t += step) starts.push(new Date(t));
  return { from: new Date(from), to: now, bucket: step === HOUR ? "hour" : "day", starts };
}

/** The bucket index of a time within `bounds`, or -1 outside it. */
function bucketOf(bounds: RangeBounds, at: Date): number {
  const t = at.getTime();
  if (t < bounds.from.getTime() || t > bounds.to.getTime()) return -1;
  const i = Math.floor((t - bounds.from.getTime()) / (bounds.bucket === "hour" ? HOUR : DAY));
  return i < bounds.starts.length ? i : -1;
}

/** A DateTime read back by a raw query: a Date (pg), ISO text with offset (SQLite) or UTC text without one (pg). */
function rawDate(value: unknown): Date {
  if (value instanceof Date) return value;
  const text = String(value);
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text.replace(" ", "T")}Z`);
}

/**
 * Tool calls: one `hook.pre_tool_use` event per call. The agent appends it for every PreToolUse
 * hook before any policy runs (agent/src/sessions/manager.ts onHook), so each call is counted once.
 * PolicyDecision rows are NOT one per call: a call no rule matches is decided (if at all) by the
 * provider's own prompt, and a call can be decided at PreToolUse or at PermissionRequest; they are
 * used only for `denied` (a call is denied at most once: PermissionRequest skips calls a rule
 * matched at PreToolUse). Input preflights (`input.*`) are typing, not tool calls, and are left out.
 *
 * The tool name lives in the event's JSON payload, so it is extracted in SQL (the payload itself,
 * tool input included, can be tens of kB and is never loaded).
 */
async function toolCalls(services: Services, bounds: RangeBounds): Promise<{ tool: string; at: Date }[]> {
  const { provider, prisma } = services.database;
  const tool = provider === "sqlite" ? `json_extract("payloadJson", '$.tool_name')` : `CAST("payloadJson" AS json) ->> 'tool_name'`;
  const at = provider === "postgresql" ? "CAST(? AS timestamp(3))" : "?";
  const sql = `SELECT ${tool} AS "tool", "at" FROM "Event" WHERE "type" = ? AND "at" >= ${at} AND "at" <= ${at}`;
  const params = ["hook.pre_tool_use", dateTimeForRawSql(provider, bounds.from), dateTimeForRawSql(provider, bounds.to)];
  const rows = await prisma.$queryRawUnsafe<{ tool: unknown; at: unknown }[]>(toProviderPlaceholders(provider, sql, params.length), ...params);
  return rows.map((r) => ({ tool: typeof r.tool === "string" && r.tool ? r.tool : "unknown", at: rawDate(r.at) }));
}

const add = (a: TokenCounts, b: TokenCounts): TokenCounts => ({
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens,
  cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
  cacheCreationTokens: a.cacheCreationTokens + b.cacheCreationTokens,
});
const ZERO: TokenCounts = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 };

/** Cents and below are noise in an estimate; six decimals keep sums of small models readable. */
const roundUsd = (usd: number) => Math.round(usd * 1e6) / 1e6;

/**
 * Token use, cost, sessions and tool calls over a range. Tokens and sessions are aggregated in the
 * database, one groupBy / count per bucket (at most 30, each on an indexed `at` / `createdAt`
 * range), so the work is bounded by the number of buckets and models, not of rows.
 */
export async function analyticsSummary(services: Services, range: AnalyticsRange, now = new Date()): Promise<AnalyticsSummary> {
  const { db } = services;
  const bounds = rangeBounds(range, now);
  const step = bounds.bucket === "hour" ? HOUR : DAY;
  const ends = bounds.starts.map((s, i) => (i === bounds.starts.length - 1 ? bounds.to : new Date(s.getTime() + step)));
  // [start, next start) except the last bucket, which is [start, now]: half-open buckets count each row once.
  const within = (i: number) => (i === bounds.starts.length - 1 ? { gte: bounds.starts[i]!, lte: ends[i]! } : { gte: bounds.starts[i]!, lt: ends[i]! });

  const [usageByBucket, sessionsByBucket, calls, denials] = await Promise.all([
    Promise.all(
      bounds.starts.map((_, i) =>
        db.usage.groupBy({ by: ["model"], where: { at: within(i) }, _sum: { inputTokens: true, outputTokens: true, cacheReadTokens: true, cacheCreationTokens: true } }),
      ),
    ),
    Promise.all(bounds.starts.map((_, i) => db.session.count({ where: { createdAt: within(i) } }))),
    toolCalls(services, bounds),
    db.policyDecision.groupBy({
      by: ["tool"],
      where: { at: { gte: bounds.from, lte: bounds.to }, outcome: "denied", NOT: { hookEvent: { startsWith: "input." } } },
      _count: { _all: true },
    }),
  ]);

  const byModel = new Map<string, TokenCounts>();
  const series = bounds.starts.map((start, i) => {
    let tokens = ZERO;
    let cost = 0;
    for (const g of usageByBucket[i]!) {
      const t: TokenCounts = {
        inputTokens: g._sum.inputTokens ?? 0,
        outputTokens: g._sum.outputTokens ?? 0,
        cacheReadTokens: g._sum.cacheReadTokens ?? 0,
        cacheCreationTokens: g._sum.cacheCreationTokens ?? 0,
      };
      tokens = add(tokens, t);
      cost += costUsd(g.model, t);
      byModel.set(g.model, add(byModel.get(g.model) ?? ZERO, t));
    }
    return { at: start.toISOString(), inputTokens: tokens.inputTokens, outputTokens: tokens.outputTokens, costUsd: cost, sessionsStarted: sessionsByBucket[i]!, toolCalls: 0 };
  });

  const toolCounts = new Map<string, number>();
  for (const call of calls) {
    const i = bucketOf(bounds, call.at);
    if (i < 0) continue;
    series[i]!.toolCalls++;
    toolCounts.set(call.tool, (toolCounts.get(call.tool) ?? 0) + 1);
  }
  const denied = new Map(denials.map((d) => [d.tool, d._count._all]));
  const tools = new Set([...toolCounts.keys(), ...denied.keys()]);
  const toolUsage = [...tools]
    // A denial without its hook event (an older agent, a lost event) is still a call.
    .map((tool) => ({ tool, count: Math.max(toolCounts.get(tool) ?? 0, denied.get(tool) ?? 0), denied: denied.get(tool) ?? 0 }))
    .sort((a, b) => b.count - a.count || a.tool.localeCompare(b.tool));

  const tokensByModel = [...byModel]
    .map(([model, t]) => ({ model, ...t, costUsd: roundUsd(costUsd(model, t)), priced: priceOf(model) !== null }))
    .sort((a, b) => b.costUsd - a.costUsd || b.inputTokens + b.outputTokens - (a.inputTokens + a.outputTokens) || a.model.localeCompare(b.model));
  const all = [...byModel.values()].reduce(add, ZERO);

  return {
    range,
    from: bounds.from.toISOString(),
    to: bounds.to.toISOString(),
    bucket: bounds.bucket,
    tokensByModel,
    toolUsage,
    totals: {
      ...all,
      costUsd: roundUsd(tokensByModel.reduce((sum, m) => sum + m.costUsd, 0)),
      sessions: sessionsByBucket.reduce((a, b) => a + b, 0),
      toolCalls: toolUsage.reduce((sum, t) => sum + t.count, 0),
    },
    series: series.map((s) => ({ ...s, costUsd: roundUsd(s.costUsd) })),
  };
}
