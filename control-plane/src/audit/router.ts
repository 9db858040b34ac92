import { z } from "zod";
import { resolveSession } from "../sessions/resolve.js";
import { router, viewerProcedure, type Context } from "../trpc.js";

export const decisionViewSchema = z.object({
  id: z.number(),
  at: z.string(),
  hostId: z.string(),
  sessionId: z.string().nullable(),
  tool: z.string(),
  args: z.string(),
  decision: z.string(),
  outcome: z.string(),
  decider: z.string(),
  policyName: z.string().nullable(),
  ruleIndex: z.number().nullable(),
  approvalId: z.string().nullable(),
  hookEvent: z.string().nullable(),
});

const MAX_ROW_ID = 9_223_372_036_854_775_807n; // BigInt ids are signed 64-bit in both databases

/** A page cursor: the id of the last row already shown (as a string of digits); the next page is older. */
export const beforeIdSchema = z
  .string()
  .max(19, "expected a row id: a whole number of at most 19 digits")
  .regex(/^[1-9][0-9]*$/, "expected a row id: a positive whole number as a string of digits")
  .refine((v) => !/^[0-9]+$/.test(v) || BigInt(v) <= MAX_ROW_ID, "expected a row id: at most 9223372036854775807");

/** `envset.create` (exact) or `envset.*` (every action starting with `envset.`). */
export const actionFilterSchema = z
  .string()
  .max(100, "expected an action of at most 100 characters")
  .regex(/^[a-z0-9_-]+(\.[a-z0-9_-]+)*(\.\*)?$/, "expected an action (lowercase letters, digits, _ - separated by dots, e.g. envset.create) or a prefix ending in .* (e.g. envset.*)");

/**
 * The `where` for an action filter: exact, or by prefix (keeping the dot) when it ends with `.*`.
 * A prefix is resolved to the exact action names it covers: `startsWith` becomes SQL LIKE, where `_`
 * matches any character (and, on SQLite, case is ignored), so LIKE only narrows the candidates.
 */
async function actionWhere(ctx: Context, action: string | undefined): Promise<string | { in: string[] } | undefined> {
  if (action === undefined || !action.endsWith(".*")) return action;
  const prefix = action.slice(0, -1);
  const kinds = await ctx.services.db.auditLog.groupBy({ by: ["action"], where: { action: { startsWith: prefix } } });
  return { in: kinds.map((k) => k.action).filter((a) => a.startsWith(prefix)) };
}

/**
 * The audit trail: every policy decision hosts made (`codepiper audit`) and every mutating action
 * by a user, token or host (`codepiper audit --actions`). Read-only: no procedure changes a row.
 * Both are newest first; to page, pass the last row's `id` as `beforeId` (as a string) to get the
 * rows older than it. A page shorter than `limit` is the last one.
 */
export const auditRouter = router({
  decisions: viewerProcedure
    .input(z.object({ session: z.string().max(100).optional(), decision: z.enum(["allow", "deny", "ask"]).optional(), beforeId: beforeIdSchema.optional(), limit: z.number().int().min(1).max(10_000).default(100) }))
    .output(z.array(decisionViewSchema))
    .query(async ({ ctx, input }) => {
      const sessionId = input.session ? (await resolveSession(ctx.services, input.session)).id : undefined;
      const rows = await ctx.services.db.policyDecision.findMany({ where: { sessionId, decision: input.decision, id: input.beforeId === undefined ? undefined : { lt: BigInt(input.beforeId) } }, orderBy: { id: "desc" }, take: input.limit });
      return rows.map((r) => ({
        id: Number(r.id),
        at: r.at.toISOString(),
        hostId: r.hostId,
        sessionId: r.sessionId,
        tool: r.tool,
        args: r.argsSummary,
        decision: r.decision,
        outcome: r.outcome,
        decider: r.decider,
        policyName: r.policyName,
        ruleIndex: r.ruleIndex,
        approvalId: r.approvalId,
        hookEvent: r.hookEvent,
      }));
    }),

  actions: viewerProcedure
    .input(z.object({ actor: z.string().max(200).optional(), since: z.string().datetime({ offset: true }).optional(), action: actionFilterSchema.optional(), beforeId: beforeIdSchema.optional(), limit: z.number().int().min(1).max(10_000).default(100) }))
    .output(z.array(z.object({ id: z.number(), at: z.string(), actor: z.string(), action: z.string(), target: z.string().nullable(), source: z.string().nullable(), details: z.unknown() })))
    .query(async ({ ctx, input }) => {
      const rows = await ctx.services.db.auditLog.findMany({
        where: {
          actor: input.actor,
          action: await actionWhere(ctx, input.action),
          at: input.since ? { gte: new Date(input.since) } : undefined,
          id: input.beforeId === undefined ? undefined : { lt: BigInt(input.beforeId) },
        },
        orderBy: { id: "desc" },
        take: input.limit,
      });
      return rows.map((r) => ({ id: Number(r.id), at: r.at.toISOString(), actor: r.actor, action: r.action, target: r.target, source: r.source, details: r.detailsJson ? (JSON.parse(r.detailsJson) as unknown) : null }));
    }),
});
