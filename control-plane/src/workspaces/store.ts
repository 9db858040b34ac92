import { AppError, type SessionStartInput } from "@codepiper/core";
import type { Services } from "../services.js";

export async function findWorkspace(services: Services, ref: string) {
  const row = await services.db.workspace.findFirst({ where: { OR: [{ id: ref }, { name: ref }] } });
  if (!row) throw new AppError("CODEPIPER_NOT_FOUND", `no workspace ${JSON.stringify(ref.slice(0, 100))}`);
  return row;
}

/**
 * `codepiper start --workspace <w>`: the workspace fills in host, directory, provider, env sets and
 * policy set; anything given explicitly wins (env sets and policy sets are added to, not replaced).
 */
export async function applyWorkspace(services: Services, input: SessionStartInput): Promise<SessionStartInput> {
  if (!input.workspace) return input;
  const ws = await findWorkspace(services, input.workspace);
  const host = await services.db.host.findUnique({ where: { id: ws.hostId }, select: { name: true } });
  const envSets = JSON.parse(ws.envSetsJson) as string[];
  return {
    ...input,
    host: input.host ?? host?.name ?? ws.hostId,
    cwd: input.cwd ?? ws.path,
    provider: input.provider ?? (ws.provider as SessionStartInput["provider"]) ?? undefined,
    envSets: [...envSets.filter((e) => !input.envSets.includes(e)), ...input.envSets],
    policySets: ws.policySetId && !input.policySets.includes(ws.policySetId) ? [ws.policySetId, ...input.policySets] : input.policySets,
  };
}
