import { randomUUID } from "node:crypto";
import { z } from "zod";
import { absolutePathSchema, AppError, hostFactsSchema, POLICY_LIMITS, providerIdSchema, validateResultSchema, type ProviderId } from "@codepiper/core";
import { recordAudit } from "../audit/record.js";
import { findEnvSet } from "../envsets/store.js";
import { findPolicySet } from "../policies/store.js";
import type { Services } from "../services.js";
import { adminProcedure, router, viewerProcedure } from "../trpc.js";
import { findWorkspace } from "./store.js";

/**
 * Named workspaces (issue 5): a host, a directory on it and the defaults a session started there
 * gets (`codepiper start --workspace <w>`; explicit flags win, see applyWorkspace). Rows hold ids;
 * views show names. Whether the directory exists is checked when a session starts (the host may be
 * offline now), or at once with `validate`.
 */
const ref = z.string().trim().min(1).max(100);
const nameSchema = z.string().trim().min(1).max(POLICY_LIMITS.nameMax).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "use letters, digits, '.', '_' and '-', starting with a letter or digit");
const descriptionSchema = z.string().max(POLICY_LIMITS.descriptionMax);
const envSetsSchema = z.array(ref).max(20);

const workspaceView = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  host: z.string(),
  hostId: z.string(),
  path: z.string(),
  provider: z.string().nullable(),
  envSets: z.array(z.string()),
  policySet: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
type WorkspaceView = z.infer<typeof workspaceView>;

interface WorkspaceRow {
  id: string;
  name: string;
  description: string;
  hostId: string;
  path: string;
  provider: string | null;
  envSetsJson: string;
  policySetId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Views for rows, with names for the ids (a deleted env set or policy set shows as its id). */
async function viewsOf(services: Services, rows: readonly WorkspaceRow[]): Promise<WorkspaceView[]> {
  const [hosts, envSets, policySets] = await Promise.all([
    services.db.host.findMany({ select: { id: true, name: true } }),
    services.db.envSet.findMany({ select: { id: true, name: true } }),
    services.db.policySet.findMany({ select: { id: true, name: true } }),
  ]);
  const names = new Map([...hosts, ...envSets, ...policySets].map((r) => [r.id, r.name]));
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    description: r.description,
    host: names.get(r.hostId) ?? r.hostId,
    hostId: r.hostId,
    path: r.path,
    provider: r.provider,
    envSets: (JSON.parse(r.envSetsJson) as string[]).map((id) => names.get(id) ?? id),
    policySet: r.policySetId ? (names.get(r.policySetId) ?? r.policySetId) : null,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  }));
}

async function viewOf(services: Services, row: WorkspaceRow): Promise<WorkspaceView> {
  return (await viewsOf(services, [row]))[0]!;
}

async function findHost(services: Services, hostRef: string) {
  const host = await services.db.host.findFirst({ where: { OR: [{ name: hostRef }, { id: hostRef }] } });
  if (!host) throw new AppError("CODEPIPER_NOT_FOUND", `no host ${JSON.stringify(hostRef.slice(0, 100))} (codepiper hosts lists them)`);
  return host;
}

async function envSetIds(services: Services, refs: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const r of refs) ids.push((await findEnvSet(services, r)).id);
  return [...new Set(ids)];
}

async function assertNameFree(services: Services, name: string): Promise<void> {
  if (await services.db.workspace.findUnique({ where: { name } })) throw new AppError("CODEPIPER_CONFLICT", `a workspace named ${name} exists already`);
}

/**
 * `validate`: asks the host (now) whether the directory exists and the provider is installed, with
 * the same `session.validate` request `codepiper start` makes. Without a provider, the first one
 * the host has is used (the directory is what matters).
 */
async function validateOnHost(services: Services, host: { id: string; name: string; revokedAt: Date | null; factsJson: string }, path: string, provider: string | null): Promise<void> {
  if (host.revokedAt) throw new AppError("CODEPIPER_CONFLICT", `host ${host.name} is revoked`);
  if (!(await services.ephemeral.isReachable(host.id))) throw new AppError("CODEPIPER_HOST_OFFLINE", `host ${host.name} is offline: cannot validate now (drop validate to save the workspace anyway; the directory is checked when a session starts)`);
  const facts = hostFactsSchema.safeParse(JSON.parse(host.factsJson));
  const installed = facts.success ? facts.data.providers : [];
  const use = (provider ?? installed[0]?.id) as ProviderId | undefined;
  if (!use) throw new AppError("CODEPIPER_PROVIDER_MISSING", `host ${host.name} has no provider CLI installed`);
  validateResultSchema.parse(await services.ephemeral.request(host.id, "session.validate", { provider: use, cwd: path, worktree: null }, 30_000));
}

export const workspacesRouter = router({
  list: viewerProcedure.output(z.array(workspaceView)).query(async ({ ctx }) => {
    const rows = await ctx.services.db.workspace.findMany({ orderBy: { name: "asc" } });
    return viewsOf(ctx.services, rows);
  }),

  get: viewerProcedure.input(z.object({ workspace: ref })).output(workspaceView).query(async ({ ctx, input }) => {
    return viewOf(ctx.services, await findWorkspace(ctx.services, input.workspace));
  }),

  create: adminProcedure
    .input(
      z.object({
        name: nameSchema,
        description: descriptionSchema.default(""),
        host: ref,
        path: absolutePathSchema,
        provider: providerIdSchema.optional(),
        envSets: envSetsSchema.default([]),
        policySet: ref.optional(),
        validate: z.boolean().default(false),
      }),
    )
    .output(workspaceView)
    .mutation(async ({ ctx, input }) => {
      const { services } = ctx;
      await assertNameFree(services, input.name);
      const host = await findHost(services, input.host);
      const envSets = await envSetIds(services, input.envSets);
      const policySetId = input.policySet ? (await findPolicySet(services, input.policySet)).id : null;
      if (input.validate) await validateOnHost(services, host, input.path, input.provider ?? null);
      const row = await services.db.workspace.create({
        data: { id: randomUUID(), name: input.name, description: input.description, hostId: host.id, path: input.path, provider: input.provider ?? null, envSetsJson: JSON.stringify(envSets), policySetId },
      });
      await recordAudit(ctx, "workspace.create", `workspace:${row.id}`, { name: row.name, host: host.name, path: row.path, provider: row.provider, envSets, policySetId });
      return viewOf(services, row);
    }),

  /** Only the fields given change; `provider`/`policySet` null clears them, `envSets` replaces the list. */
  update: adminProcedure
    .input(
      z.object({
        workspace: ref,
        name: nameSchema.optional(),
        description: descriptionSchema.optional(),
        host: ref.optional(),
        path: absolutePathSchema.optional(),
        provider: providerIdSchema.nullable().optional(),
        envSets: envSetsSchema.optional(),
        policySet: ref.nullable().optional(),
        validate: z.boolean().default(false),
      }),
    )
    .output(workspaceView)
    .mutation(async ({ ctx, input }) => {
      const { services } = ctx;
      const existing = await findWorkspace(services, input.workspace);
      if (input.name && input.name !== existing.name) await assertNameFree(services, input.name);
      const host = input.host === undefined ? undefined : await findHost(services, input.host);
      const envSets = input.envSets === undefined ? undefined : await envSetIds(services, input.envSets);
      const policySetId = input.policySet === undefined ? undefined : input.policySet === null ? null : (await findPolicySet(services, input.policySet)).id;
      if (input.validate) {
        const target = host ?? (await services.db.host.findUniqueOrThrow({ where: { id: existing.hostId } }));
        await validateOnHost(services, target, input.path ?? existing.path, input.provider === undefined ? existing.provider : input.provider);
      }
      const row = await services.db.workspace.update({
        where: { id: existing.id },
        data: {
          name: input.name,
          description: input.description,
          hostId: host?.id,
          path: input.path,
          provider: input.provider,
          envSetsJson: envSets === undefined ? undefined : JSON.stringify(envSets),
          policySetId,
        },
      });
      const fields = Object.keys(input).filter((k) => k !== "workspace" && k !== "validate" && input[k as keyof typeof input] !== undefined);
      await recordAudit(ctx, "workspace.update", `workspace:${row.id}`, { name: row.name, fields });
      return viewOf(services, row);
    }),

  delete: adminProcedure.input(z.object({ workspace: ref })).output(z.object({ id: z.string(), name: z.string() })).mutation(async ({ ctx, input }) => {
    const existing = await findWorkspace(ctx.services, input.workspace);
    await ctx.services.db.workspace.delete({ where: { id: existing.id } });
    await recordAudit(ctx, "workspace.delete", `workspace:${existing.id}`, { name: existing.name });
    return { id: existing.id, name: existing.name };
  }),
});
