import { randomUUID } from "node:crypto";
import { z } from "zod";
import { AppError } from "@codepiper/core";
import { topics } from "../bus/bus.js";
import type { Services } from "../services.js";

/**
 * Human approvals for `ask` decisions (issue 4). A host asks (link.requestApproval), then waits
 * (link.awaitApproval); any operator answers (approvals.decide) and the first answer wins — a
 * conditional update on `status = pending`, so two answers racing on two replicas cannot both win.
 * A request nobody answers expires at `expiresAt` and the hook falls back to the provider's prompt.
 */
export const APPROVAL_STATUSES = ["pending", "allowed", "denied", "expired", "withdrawn"] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

export const approvalViewSchema = z.object({
  id: z.string(),
  hostId: z.string(),
  hostName: z.string(),
  sessionId: z.string(),
  tool: z.string(),
  args: z.unknown(),
  cwd: z.string().nullable(),
  policyName: z.string().nullable(),
  ruleIndex: z.number().nullable(),
  reason: z.string().nullable(),
  status: z.enum(APPROVAL_STATUSES),
  decidedBy: z.string().nullable(),
  decisionReason: z.string().nullable(),
  createdAt: z.string(),
  expiresAt: z.string(),
  decidedAt: z.string().nullable(),
});
export type ApprovalView = z.infer<typeof approvalViewSchema>;

interface ApprovalRow {
  id: string;
  hostId: string;
  sessionId: string;
  tool: string;
  argsJson: string;
  cwd: string | null;
  policyName: string | null;
  ruleIndex: number | null;
  reason: string | null;
  status: string;
  decidedBy: string | null;
  decisionReason: string | null;
  createdAt: Date;
  expiresAt: Date;
  decidedAt: Date | null;
}

export function toApprovalView(row: ApprovalRow, hostName: string): ApprovalView {
  return {
    id: row.id,
    hostId: row.hostId,
    hostName,
    sessionId: row.sessionId,
    tool: row.tool,
    args: JSON.parse(row.argsJson) as unknown,
    cwd: row.cwd,
    policyName: row.policyName,
    ruleIndex: row.ruleIndex,
    reason: row.reason,
    status: row.status as ApprovalStatus,
    decidedBy: row.decidedBy,
    decisionReason: row.decisionReason,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    decidedAt: row.decidedAt?.toISOString() ?? null,
  };
}

export const approvalRequestSchema = z.object({
  sessionId: z.string().uuid(),
  tool: z.string().min(1).max(200),
  /** A bounded summary of the tool input (the agent cuts long values). */
  args: z.record(z.string().max(200), z.unknown()).refine((a) => JSON.stringify(a).length <= 16 * 1024, "args summary over 16 KiB"),
  cwd: z.string().max(4096).nullable(),
  policyId: z.string().max(100).nullable(),
  policyName: z.string().max(200).nullable(),
  ruleIndex: z.number().int().nullable(),
  reason: z.string().max(500).nullable(),
  timeoutMs: z.number().int().min(1000).max(24 * 3_600_000),
});

export async function requestApproval(services: Services, hostId: string, input: z.infer<typeof approvalRequestSchema>): Promise<{ id: string; expiresAt: string }> {
  const session = await services.db.session.findFirst({ where: { id: input.sessionId, hostId }, select: { id: true } });
  // A host asks only for its own sessions (same rule as its events).
  if (!session) throw new AppError("CODEPIPER_NOT_FOUND", `no session ${input.sessionId} on this host`);
  const id = randomUUID();
  const expiresAt = new Date(Date.now() + input.timeoutMs);
  await services.db.approval.create({
    data: {
      id,
      hostId,
      sessionId: input.sessionId,
      tool: input.tool,
      argsJson: JSON.stringify(input.args),
      cwd: input.cwd,
      policyId: input.policyId,
      policyName: input.policyName,
      ruleIndex: input.ruleIndex,
      reason: input.reason,
      status: "pending",
      expiresAt,
    },
  });
  services.bus.publish(topics.approvals, id);
  return { id, expiresAt: expiresAt.toISOString() };
}

/** Marks a pending approval expired once its time is up; returns whether this call did it. */
async function expireIfDue(services: Services, id: string): Promise<boolean> {
  const { count } = await services.db.approval.updateMany({ where: { id, status: "pending", expiresAt: { lte: new Date() } }, data: { status: "expired", decidedAt: new Date(), decidedBy: "timeout" } });
  if (count > 0) {
    services.bus.publish(topics.approvalDone(id), "expired");
    services.bus.publish(topics.approvals, id);
  }
  return count > 0;
}

/** Expires every overdue pending approval (timer in app.ts). */
export async function expireApprovals(services: Services): Promise<number> {
  const due = await services.db.approval.findMany({ where: { status: "pending", expiresAt: { lte: new Date() } }, select: { id: true }, take: 1000 });
  let n = 0;
  for (const { id } of due) if (await expireIfDue(services, id)) n++;
  return n;
}

/** The host waits for the answer (bounded by the approval's own expiry). */
export async function awaitApproval(services: Services, hostId: string, id: string, signal?: AbortSignal): Promise<{ status: ApprovalStatus; decidedBy: string | null; reason: string | null }> {
  for (;;) {
    const stop = new AbortController();
    const row = await services.db.approval.findFirst({ where: { id, hostId } });
    if (!row) throw new AppError("CODEPIPER_NOT_FOUND", `no approval ${id} for this host`);
    if (row.status !== "pending") return { status: row.status as ApprovalStatus, decidedBy: row.decidedBy, reason: row.decisionReason };
    const left = row.expiresAt.getTime() - Date.now();
    if (left <= 0) {
      await expireIfDue(services, id);
      continue;
    }
    if (signal?.aborted) return { status: "pending", decidedBy: null, reason: null };
    await services.bus.next(topics.approvalDone(id), signal ? AbortSignal.any([signal, stop.signal]) : stop.signal, Math.min(left, 30_000));
    stop.abort();
  }
}

/** The provider gave up waiting (its hook timed out or was cancelled): nobody should answer any more. */
export async function withdrawApproval(services: Services, hostId: string, id: string): Promise<void> {
  const { count } = await services.db.approval.updateMany({ where: { id, hostId, status: "pending" }, data: { status: "withdrawn", decidedAt: new Date(), decidedBy: "host" } });
  if (count > 0) {
    services.bus.publish(topics.approvalDone(id), "withdrawn");
    services.bus.publish(topics.approvals, id);
  }
}

/** An operator's answer. The first one wins; a later one learns who decided and what. */
export async function decideApproval(services: Services, id: string, decision: "allow" | "deny", actor: string, reason: string | null): Promise<ApprovalRow> {
  await expireIfDue(services, id);
  const status = decision === "allow" ? "allowed" : "denied";
  const { count } = await services.db.approval.updateMany({ where: { id, status: "pending" }, data: { status, decidedBy: actor, decisionReason: reason, decidedAt: new Date() } });
  const row = await services.db.approval.findUniqueOrThrow({ where: { id } });
  if (count === 0) {
    const when = row.decidedAt ? ` at ${row.decidedAt.toISOString()}` : "";
    const by = row.decidedBy === "timeout" ? "its timeout" : row.decidedBy === "host" ? "the host (the provider stopped waiting)" : (row.decidedBy ?? "someone");
    throw new AppError("CODEPIPER_CONFLICT", `approval ${id} is already ${row.status}: decided by ${by}${when}`);
  }
  services.bus.publish(topics.approvalDone(id), status);
  services.bus.publish(topics.approvals, id);
  return row;
}

/** Finds an approval by id or unique id prefix (≥ 4 characters). */
export async function findApproval(services: Services, ref: string) {
  const needle = ref.trim().toLowerCase();
  const exact = await services.db.approval.findUnique({ where: { id: needle } });
  if (exact) return exact;
  if (needle.length >= 4 && /^[0-9a-f-]+$/.test(needle)) {
    const matches = await services.db.approval.findMany({ where: { id: { startsWith: needle } }, take: 6 });
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new AppError("CODEPIPER_AMBIGUOUS", `approval prefix ${JSON.stringify(ref)} matches ${matches.map((m) => m.id).join(", ")}`);
  }
  throw new AppError("CODEPIPER_NOT_FOUND", `no approval ${JSON.stringify(ref.slice(0, 100))}`);
}
