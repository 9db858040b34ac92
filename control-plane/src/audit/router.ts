import { z } from "zod";
import { resolveSession } from "../sessions/resolve.js";
import { router, viewerProcedure } from "../trpc.js";

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

/**
 * The audit trail: every policy decision hosts made (`codepiper audit`) and every mutating action
 * by a user, token or host (`codepiper audit --actions`). Read-only: no procedure changes a row.
 */
export const auditRouter = router({
  decisions: viewerProcedure
    .input(z.object({ session: z.string().max(100).optional(), decision: z.enum(["allow", "deny", "ask"]).optional(), limit: z.number().int().min(1).max(10_000).default(100) }))
    .output(z.array(decisionViewSchema))
    .query(async ({ ctx, input }) => {
      const sessionId = input.session ? (await resolveSession(ctx.services, input.session)).id : undefined;
      const rows = await ctx.services.db.policyDecision.findMany({ where: { sessionId, decision: input.decision }, orderBy: { id: "desc" }, take: input.limit });
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
    .input(z.object({ actor: z.string().max(200).optional(), since: z.string().datetime({ offset: true }).optional(), limit: z.number().int().min(1).max(10_000).default(100) }))
    .output(z.array(z.object({ id: z.number(), at: z.string(), actor: z.string(), action: z.string(), target: z.string().nullable(), source: z.string().nullable(), details: z.unknown() })))
    .query(async ({ ctx, input }) => {
      const rows = await ctx.services.db.auditLog.findMany({
        where: { actor: input.actor, at: input.since ? { gte: new Date(input.since) } : undefined },
        orderBy: { id: "desc" },
        take: input.limit,
      });
      return rows.map((r) => ({ id: Number(r.id), at: r.at.toISOString(), actor: r.actor, action: r.action, target: r.target, source: r.source, details: r.detailsJson ? (JSON.parse(r.detailsJson) as unknown) : null }));
    }),
});
