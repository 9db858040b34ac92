import { tracked } from "@trpc/server";
import { z } from "zod";
import { recordAudit } from "../audit/record.js";
import { actorOf } from "../identity.js";
import type { Services } from "../services.js";
import { resolveSession } from "../sessions/resolve.js";
import { operatorProcedure, router, viewerProcedure } from "../trpc.js";
import { followApprovals } from "./follow.js";
import { APPROVAL_STATUSES, approvalViewSchema, decideApproval, findApproval, toApprovalView, type ApprovalView } from "./service.js";

async function views(services: Services, where: { status?: string; sessionId?: string }, limit: number): Promise<ApprovalView[]> {
  const rows = await services.db.approval.findMany({ where, orderBy: { createdAt: "desc" }, take: limit });
  const hosts = new Map((await services.db.host.findMany({ where: { id: { in: [...new Set(rows.map((r) => r.hostId))] } }, select: { id: true, name: true } })).map((h) => [h.id, h.name]));
  return rows.map((r) => toApprovalView(r, hosts.get(r.hostId) ?? r.hostId));
}

/** The approvals inbox: every operator sees every request; the first answer wins. */
export const approvalsRouter = router({
  list: viewerProcedure
    .input(z.object({ status: z.enum(APPROVAL_STATUSES).optional(), session: z.string().max(100).optional(), limit: z.number().int().min(1).max(1000).default(100) }))
    .output(z.array(approvalViewSchema))
    .query(async ({ ctx, input }) => {
      const sessionId = input.session ? (await resolveSession(ctx.services, input.session)).id : undefined;
      return views(ctx.services, { status: input.status, sessionId }, input.limit);
    }),

  get: viewerProcedure.input(z.object({ id: z.string().max(100) })).output(approvalViewSchema).query(async ({ ctx, input }) => {
    const row = await findApproval(ctx.services, input.id);
    const host = await ctx.services.db.host.findUnique({ where: { id: row.hostId }, select: { name: true } });
    return toApprovalView(row, host?.name ?? row.hostId);
  }),

  /**
   * Live inbox: the pending requests now, then every request and decision as it happens
   * (followApprovals). Each is tracked as `id:status`; a client reconnecting with its lastEventId
   * gets the pending inbox again, then the changes from then on.
   */
  follow: viewerProcedure.subscription(async function* ({ ctx, signal }) {
    for await (const view of followApprovals(ctx.services, signal)) yield tracked(`${view.id}:${view.status}`, view);
  }),

  decide: operatorProcedure
    .input(z.object({ id: z.string().trim().min(1).max(100), decision: z.enum(["allow", "deny"]), reason: z.string().max(500).optional() }))
    .output(approvalViewSchema)
    .mutation(async ({ ctx, input }) => {
      const found = await findApproval(ctx.services, input.id);
      // Who decided, readable (the email) and exact (the user or token id).
      const who = ctx.identity.kind === "user" ? `${ctx.identity.email} (${actorOf(ctx.identity)})` : actorOf(ctx.identity);
      const row = await decideApproval(ctx.services, found.id, input.decision, who, input.reason ?? null);
      await recordAudit(ctx, `approval.${input.decision}`, `approval:${row.id}`, { session: row.sessionId, tool: row.tool, reason: input.reason ?? null });
      const host = await ctx.services.db.host.findUnique({ where: { id: row.hostId }, select: { name: true } });
      return toApprovalView(row, host?.name ?? row.hostId);
    }),
});
