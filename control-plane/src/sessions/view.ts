import { tmuxSessionName, type SessionState, type SessionView, type UsageTotals, type Billing, type ProviderId } from "@codepiper/core";
import type { Services } from "../services.js";

export interface SessionRow {
  id: string;
  hostId: string;
  name: string | null;
  provider: string;
  status: string;
  cwd: string;
  billing: string;
  dangerous: boolean;
  model: string | null;
  envNamesJson: string;
  policySetIdsJson: string;
  worktreeBranch: string | null;
  worktreePath: string | null;
  providerSessionId: string | null;
  transcriptPath: string | null;
  exitCode: number | null;
  error: string | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  endedAt: Date | null;
}

export const NO_USAGE: UsageTotals = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, responses: 0 };

export function toSessionView(row: SessionRow, hostName: string, usage: UsageTotals = NO_USAGE, setNames: ReadonlyMap<string, string> = new Map()): SessionView {
  return {
    id: row.id,
    name: row.name,
    hostId: row.hostId,
    hostName,
    provider: row.provider as ProviderId,
    status: row.status as SessionState,
    cwd: row.cwd,
    billing: row.billing as Billing,
    dangerous: row.dangerous,
    model: row.model,
    envNames: JSON.parse(row.envNamesJson) as string[],
    policySets: (JSON.parse(row.policySetIdsJson) as string[]).map((id) => setNames.get(id) ?? id),
    worktree: row.worktreeBranch ? { path: row.worktreePath, branch: row.worktreeBranch } : null,
    tmuxSession: tmuxSessionName(row.id),
    providerSessionId: row.providerSessionId,
    transcriptPath: row.transcriptPath,
    exitCode: row.exitCode,
    error: row.error,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    endedAt: row.endedAt?.toISOString() ?? null,
    usage,
  };
}

/** Token totals per session, from the deduplicated Usage rows. */
export async function usageBySession(services: Services, sessionIds: readonly string[]): Promise<Map<string, UsageTotals>> {
  const out = new Map<string, UsageTotals>();
  if (sessionIds.length === 0) return out;
  const rows = await services.db.usage.groupBy({
    by: ["sessionId"],
    where: { sessionId: { in: [...sessionIds] } },
    _sum: { inputTokens: true, outputTokens: true, cacheReadTokens: true, cacheCreationTokens: true },
    _count: { _all: true },
  });
  for (const r of rows) {
    out.set(r.sessionId, {
      inputTokens: r._sum.inputTokens ?? 0,
      outputTokens: r._sum.outputTokens ?? 0,
      cacheReadTokens: r._sum.cacheReadTokens ?? 0,
      cacheCreationTokens: r._sum.cacheCreationTokens ?? 0,
      responses: r._count._all,
    });
  }
  return out;
}
