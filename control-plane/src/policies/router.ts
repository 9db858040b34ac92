import { randomUUID } from "node:crypto";
import { z } from "zod";
import {
  AppError,
  evaluatePolicies,
  defaultActionSchema,
  INPUT_TOOLS,
  POLICY_LIMITS,
  policyActionSchema,
  type EnginePolicy,
} from "@codepiper/core";
import { recordAudit } from "../audit/record.js";
import { topics } from "../bus/bus.js";
import { liveQuery } from "../bus/live.js";
import { actorOf } from "../identity.js";
import type { Services } from "../services.js";
import { resolveSession } from "../sessions/resolve.js";
import { adminProcedure, router, viewerProcedure } from "../trpc.js";
import { bundleForHost, checkRules, defaultAction, findPolicy, findPolicySet, parseRules, policiesChanged, policyVersion, setDefaultAction, toEnginePolicies, type PolicyRow } from "./store.js";

/**
 * Policies and policy sets (issue 4). Writing them is an admin's job (they decide what agents may
 * do on every host); reading and testing them is open to viewers. Every change bumps the policy
 * version and reaches linked hosts at once.
 */
const ref = z.string().trim().min(1).max(100);
const nameSchema = z.string().trim().min(1).max(POLICY_LIMITS.nameMax).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "use letters, digits, '.', '_' and '-', starting with a letter or digit");
const scopeInput = z.union([z.literal("global"), z.literal("set"), z.object({ session: z.string().trim().min(1).max(100) })]);

const policyView = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  enabled: z.boolean(),
  priority: z.number(),
  scope: z.string(),
  sessionId: z.string().nullable(),
  sets: z.array(z.string()),
  rules: z.array(z.unknown()),
  createdAt: z.string(),
  updatedAt: z.string(),
});

function toView(row: PolicyRow, setNames: Map<string, string>) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    enabled: row.enabled,
    priority: row.priority,
    scope: row.scopeKind,
    sessionId: row.sessionId,
    sets: row.sets.map((s) => setNames.get(s.setId) ?? s.setId),
    rules: parseRules(row.rulesJson),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

async function setNameMap(db: { policySet: { findMany(args: { select: { id: true; name: true } }): Promise<{ id: string; name: string }[]> } }): Promise<Map<string, string>> {
  return new Map((await db.policySet.findMany({ select: { id: true, name: true } })).map((s) => [s.id, s.name]));
}

const setView = z.object({ id: z.string(), name: z.string(), description: z.string(), isDefault: z.boolean(), policies: z.array(z.string()), createdAt: z.string(), updatedAt: z.string() });
const policyListView = z.object({ defaultAction: defaultActionSchema, version: z.number(), policies: z.array(policyView) });

async function listPolicies(services: Services): Promise<z.infer<typeof policyListView>> {
  const rows = await services.db.policy.findMany({ include: { sets: { select: { setId: true } } }, orderBy: [{ priority: "desc" }, { name: "asc" }] });
  const names = await setNameMap(services.db);
  return { defaultAction: await defaultAction(services), version: await policyVersion(services), policies: rows.map((r) => toView(r, names)) };
}

async function listPolicySets(services: Services): Promise<z.infer<typeof setView>[]> {
  const rows = await services.db.policySet.findMany({ include: { members: { include: { policy: { select: { name: true } } } } }, orderBy: { name: "asc" } });
  return rows.map((r) => ({ id: r.id, name: r.name, description: r.description, isDefault: r.isDefault, policies: r.members.map((m) => m.policy.name).sort(), createdAt: r.createdAt.toISOString(), updatedAt: r.updatedAt.toISOString() }));
}

export const policiesRouter = router({
  list: viewerProcedure.output(policyListView).query(({ ctx }) => listPolicies(ctx.services)),

  /**
   * `policies.list` and `policySets.list` together, live: `{ defaultAction, version, policies, sets }`
   * at once, then again after every change to policies, sets, their members or the defaults (each
   * bumps the version and publishes it), so one admin sees another's edits without polling.
   */
  live: viewerProcedure.subscription(async function* ({ ctx, signal }) {
    const services = ctx.services;
    yield* liveQuery(services.bus, { prompt: [topics.policies], signal }, async () => ({ ...(await listPolicies(services)), sets: await listPolicySets(services) }));
  }),

  get: viewerProcedure.input(z.object({ policy: ref })).output(policyView).query(async ({ ctx, input }) => {
    return toView(await findPolicy(ctx.services, input.policy), await setNameMap(ctx.services.db));
  }),

  create: adminProcedure
    .input(
      z.object({
        name: nameSchema,
        description: z.string().max(POLICY_LIMITS.descriptionMax).default(""),
        priority: z.number().int().min(-1_000_000).max(1_000_000).default(0),
        enabled: z.boolean().default(true),
        scope: scopeInput.default("global"),
        rules: z.unknown(),
      }),
    )
    .output(policyView)
    .mutation(async ({ ctx, input }) => {
      const rules = checkRules(input.rules);
      if (await ctx.services.db.policy.findUnique({ where: { name: input.name } })) throw new AppError("CODEPIPER_CONFLICT", `a policy named ${input.name} exists already`);
      let scopeKind: "global" | "set" | "session" = "global";
      let sessionId: string | null = null;
      if (typeof input.scope === "object") {
        scopeKind = "session";
        sessionId = (await resolveSession(ctx.services, input.scope.session)).id;
      } else scopeKind = input.scope;
      const row = await ctx.services.db.policy.create({
        data: { id: randomUUID(), name: input.name, description: input.description, priority: input.priority, enabled: input.enabled, scopeKind, sessionId, rulesJson: JSON.stringify(rules), createdBy: actorOf(ctx.identity) },
        include: { sets: { select: { setId: true } } },
      });
      await recordAudit(ctx, "policy.create", `policy:${row.id}`, { name: row.name, scope: scopeKind, rules: rules.length });
      await policiesChanged(ctx.services);
      return toView(row, await setNameMap(ctx.services.db));
    }),

  update: adminProcedure
    .input(
      z.object({
        policy: ref,
        name: nameSchema.optional(),
        description: z.string().max(POLICY_LIMITS.descriptionMax).optional(),
        priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
        enabled: z.boolean().optional(),
        rules: z.unknown().optional(),
      }),
    )
    .output(policyView)
    .mutation(async ({ ctx, input }) => {
      const existing = await findPolicy(ctx.services, input.policy);
      const rules = input.rules === undefined ? undefined : checkRules(input.rules);
      if (input.name && input.name !== existing.name && (await ctx.services.db.policy.findUnique({ where: { name: input.name } }))) {
        throw new AppError("CODEPIPER_CONFLICT", `a policy named ${input.name} exists already`);
      }
      const row = await ctx.services.db.policy.update({
        where: { id: existing.id },
        data: { name: input.name, description: input.description, priority: input.priority, enabled: input.enabled, rulesJson: rules ? JSON.stringify(rules) : undefined },
        include: { sets: { select: { setId: true } } },
      });
      await recordAudit(ctx, "policy.update", `policy:${row.id}`, { name: row.name, fields: Object.keys(input).filter((k) => k !== "policy") });
      await policiesChanged(ctx.services);
      return toView(row, await setNameMap(ctx.services.db));
    }),

  delete: adminProcedure.input(z.object({ policy: ref })).output(z.object({ id: z.string(), name: z.string() })).mutation(async ({ ctx, input }) => {
    const existing = await findPolicy(ctx.services, input.policy);
    await ctx.services.db.policy.delete({ where: { id: existing.id } });
    await recordAudit(ctx, "policy.delete", `policy:${existing.id}`, { name: existing.name });
    await policiesChanged(ctx.services);
    return { id: existing.id, name: existing.name };
  }),

  setDefault: adminProcedure.input(z.object({ action: defaultActionSchema })).output(z.object({ defaultAction: defaultActionSchema })).mutation(async ({ ctx, input }) => {
    await setDefaultAction(ctx.services, input.action);
    await recordAudit(ctx, "policy.default", null, { action: input.action });
    return { defaultAction: input.action };
  }),

  /** `codepiper policy test`: what would be decided, and by which rule, for a session or a set. */
  test: viewerProcedure
    .input(
      z.object({
        session: ref.optional(),
        policySet: ref.optional(),
        tool: z.string().min(1).max(200),
        args: z.record(z.string().max(200), z.unknown()).default({}),
        cwd: z.string().max(4096).optional(),
      }),
    )
    .output(z.object({ action: policyActionSchema, policyId: z.string().nullable(), policyName: z.string().nullable(), ruleIndex: z.number().nullable(), reason: z.string().nullable(), rule: z.unknown().nullable(), evaluated: z.number() }))
    .query(async ({ ctx, input }) => {
      let sessionId = "00000000-0000-4000-8000-000000000000";
      let setIds: string[] = [];
      let cwd = input.cwd ?? null;
      let policies: EnginePolicy[];
      if (input.session) {
        const session = await resolveSession(ctx.services, input.session);
        sessionId = session.id;
        setIds = JSON.parse(session.policySetIdsJson) as string[];
        cwd ??= session.cwd;
        policies = (await bundleForHost(ctx.services, session.hostId)).policies;
      } else {
        if (input.policySet) setIds = [(await findPolicySet(ctx.services, input.policySet)).id];
        const rows = await ctx.services.db.policy.findMany({ where: { enabled: true, scopeKind: { in: ["global", "set"] } }, include: { sets: { select: { setId: true } } } });
        policies = toEnginePolicies(rows);
      }
      const decision = evaluatePolicies(policies, await defaultAction(ctx.services), { tool: input.tool, args: input.args, cwd, sessionId, setIds });
      const rule = decision.policyId === null ? null : (policies.find((p) => p.id === decision.policyId)?.rules[decision.ruleIndex ?? 0] ?? null);
      return { ...decision, rule, evaluated: policies.length };
    }),

  inputTools: viewerProcedure.output(z.object({ text: z.string(), keys: z.string() })).query(() => ({ ...INPUT_TOOLS })),
});

export const policySetsRouter = router({
  list: viewerProcedure.output(z.array(setView)).query(({ ctx }) => listPolicySets(ctx.services)),

  get: viewerProcedure.input(z.object({ set: ref })).output(setView).query(async ({ ctx, input }) => {
    const found = await findPolicySet(ctx.services, input.set);
    const row = await ctx.services.db.policySet.findUniqueOrThrow({ where: { id: found.id }, include: { members: { include: { policy: { select: { name: true } } } } } });
    return { id: row.id, name: row.name, description: row.description, isDefault: row.isDefault, policies: row.members.map((m) => m.policy.name).sort(), createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
  }),

  create: adminProcedure
    .input(z.object({ name: nameSchema, description: z.string().max(POLICY_LIMITS.descriptionMax).default(""), policies: z.array(ref).max(1000).default([]) }))
    .output(z.object({ id: z.string(), name: z.string() }))
    .mutation(async ({ ctx, input }) => {
      if (await ctx.services.db.policySet.findUnique({ where: { name: input.name } })) throw new AppError("CODEPIPER_CONFLICT", `a policy set named ${input.name} exists already`);
      const policyIds = await Promise.all(input.policies.map(async (p) => (await findPolicy(ctx.services, p)).id));
      const id = randomUUID();
      await ctx.services.db.policySet.create({ data: { id, name: input.name, description: input.description, members: { create: [...new Set(policyIds)].map((policyId) => ({ policyId })) } } });
      await recordAudit(ctx, "policy_set.create", `policy-set:${id}`, { name: input.name, policies: input.policies });
      await policiesChanged(ctx.services);
      return { id, name: input.name };
    }),

  update: adminProcedure
    .input(z.object({ set: ref, name: nameSchema.optional(), description: z.string().max(POLICY_LIMITS.descriptionMax).optional() }))
    .output(z.object({ id: z.string(), name: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const found = await findPolicySet(ctx.services, input.set);
      if (input.name && input.name !== found.name && (await ctx.services.db.policySet.findUnique({ where: { name: input.name } }))) throw new AppError("CODEPIPER_CONFLICT", `a policy set named ${input.name} exists already`);
      const row = await ctx.services.db.policySet.update({ where: { id: found.id }, data: { name: input.name, description: input.description } });
      await recordAudit(ctx, "policy_set.update", `policy-set:${row.id}`, { name: row.name });
      // Bundles carry set ids, not names, but the dashboard and session views show the names.
      await policiesChanged(ctx.services);
      return { id: row.id, name: row.name };
    }),

  delete: adminProcedure.input(z.object({ set: ref })).output(z.object({ id: z.string(), name: z.string() })).mutation(async ({ ctx, input }) => {
    const found = await findPolicySet(ctx.services, input.set);
    await ctx.services.db.policySet.delete({ where: { id: found.id } });
    await recordAudit(ctx, "policy_set.delete", `policy-set:${found.id}`, { name: found.name });
    await policiesChanged(ctx.services);
    return { id: found.id, name: found.name };
  }),

  /** Adds (`add`) or removes (`remove`) policies; a policy in a set applies through it only if its scope is `set` or `global`. */
  members: adminProcedure
    .input(z.object({ set: ref, add: z.array(ref).max(1000).default([]), remove: z.array(ref).max(1000).default([]) }))
    .output(setView)
    .mutation(async ({ ctx, input }) => {
      const found = await findPolicySet(ctx.services, input.set);
      const add = await Promise.all(input.add.map(async (p) => (await findPolicy(ctx.services, p)).id));
      const remove = await Promise.all(input.remove.map(async (p) => (await findPolicy(ctx.services, p)).id));
      await ctx.services.db.$transaction(async (tx) => {
        for (const policyId of new Set(add)) {
          if (!(await tx.policySetMember.findUnique({ where: { setId_policyId: { setId: found.id, policyId } } }))) await tx.policySetMember.create({ data: { setId: found.id, policyId } });
        }
        if (remove.length > 0) await tx.policySetMember.deleteMany({ where: { setId: found.id, policyId: { in: remove } } });
      });
      await recordAudit(ctx, "policy_set.members", `policy-set:${found.id}`, { add: input.add, remove: input.remove });
      await policiesChanged(ctx.services);
      const row = await ctx.services.db.policySet.findUniqueOrThrow({ where: { id: found.id }, include: { members: { include: { policy: { select: { name: true } } } } } });
      return { id: row.id, name: row.name, description: row.description, isDefault: row.isDefault, policies: row.members.map((m) => m.policy.name).sort(), createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
    }),

  /** Makes a set the default for new sessions (`null`: no default). */
  setDefault: adminProcedure.input(z.object({ set: ref.nullable() })).output(z.object({ default: z.string().nullable() })).mutation(async ({ ctx, input }) => {
    const target = input.set ? await findPolicySet(ctx.services, input.set) : null;
    await ctx.services.db.$transaction(async (tx) => {
      await tx.policySet.updateMany({ where: { isDefault: true }, data: { isDefault: false } });
      if (target) await tx.policySet.update({ where: { id: target.id }, data: { isDefault: true } });
    });
    await recordAudit(ctx, "policy_set.default", target ? `policy-set:${target.id}` : null, { name: target?.name ?? null });
    // Only new sessions use the default set, but policies.live shows which set it is.
    await policiesChanged(ctx.services);
    return { default: target?.name ?? null };
  }),
});
