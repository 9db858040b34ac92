import { actorOf } from "../identity.js";
import type { Context } from "../trpc.js";

/** Appends one row to the audit log. Audit rows are never updated or deleted through the API. */
export async function recordAudit(ctx: Context, action: string, target: string | null, details?: Record<string, unknown>): Promise<void> {
  await ctx.services.db.auditLog.create({
    data: {
      actor: actorOf(ctx.identity),
      action,
      target,
      source: ctx.source,
      detailsJson: details ? JSON.stringify(details) : null,
    },
  });
}
