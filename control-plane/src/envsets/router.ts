import { randomUUID } from "node:crypto";
import { z } from "zod";
import { AppError, ENV_SET_LIMITS, ENV_SET_NAME } from "@codepiper/core";
import { recordAudit } from "../audit/record.js";
import type { Sealed } from "../keyring.js";
import type { Services } from "../services.js";
import { adminProcedure, router, viewerProcedure } from "../trpc.js";
import { checkVarName, checkVars, maskValue } from "./mask.js";
import { envSetAad, findEnvSet, openEnvSetRow } from "./store.js";

/**
 * Env sets (issue 5): named groups of environment variables for sessions, encrypted at rest
 * (keyring.ts). Values go in (create/update) and never come out: list/get show names and masked
 * values (`mask.ts`); only `sessions.start` opens them, in memory, to seal them to a host's key.
 * Errors and audit details name variables, never values.
 *
 * `keys.rotate` adds a master key version and re-wraps every data key (env sets and TOTP secrets)
 * in batches; records are not re-encrypted and nothing stops meanwhile (a row changed during
 * rotation is simply skipped: it was sealed under the new version already).
 */
const ref = z.string().trim().min(1).max(ENV_SET_LIMITS.nameMax);
const nameSchema = z
  .string()
  .trim()
  .min(1)
  .max(ENV_SET_LIMITS.nameMax)
  .regex(ENV_SET_NAME, "use letters, digits, '.', '_' and '-', starting with a letter or digit");
const varsInput = z.record(z.string(), z.string());

type EnvSetRow = { id: string; name: string; description: string; namesJson: string; ciphertext: string; wrappedKey: string; keyVersion: number; createdAt: Date; updatedAt: Date };

const envSetView = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  names: z.array(z.string()),
  /** name → masked value; absent when the values cannot be decrypted here (see `error`). */
  masked: z.record(z.string(), z.string()),
  keyVersion: z.number(),
  error: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

function namesOf(row: EnvSetRow): string[] {
  try {
    const parsed: unknown = JSON.parse(row.namesJson);
    return Array.isArray(parsed) ? parsed.filter((n): n is string => typeof n === "string") : [];
  } catch {
    return [];
  }
}

/** `strict`: a decryption failure throws (get); otherwise it is reported in the view (list). */
function toView(services: Services, row: EnvSetRow, strict: boolean) {
  let masked: Record<string, string> = {};
  let error: string | null = null;
  try {
    const values = openEnvSetRow(services, row);
    masked = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, maskValue(v)]));
  } catch (err) {
    if (strict) throw err;
    error = err instanceof AppError ? err.message : "cannot decrypt";
  }
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    names: namesOf(row),
    masked,
    keyVersion: row.keyVersion,
    error,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function sealVars(services: Services, id: string, vars: Record<string, string>) {
  const sealed = services.keyring.seal(JSON.stringify(vars), envSetAad(id));
  return { namesJson: JSON.stringify(Object.keys(vars).sort()), ciphertext: sealed.ciphertext, wrappedKey: sealed.wrappedKey, keyVersion: sealed.keyVersion };
}

export const envSetsRouter = router({
  list: viewerProcedure.output(z.array(envSetView)).query(async ({ ctx }) => {
    const rows = await ctx.services.db.envSet.findMany({ orderBy: { name: "asc" } });
    return rows.map((r) => toView(ctx.services, r, false));
  }),

  get: viewerProcedure.input(z.object({ envSet: ref })).output(envSetView).query(async ({ ctx, input }) => {
    return toView(ctx.services, await findEnvSet(ctx.services, input.envSet), true);
  }),

  create: adminProcedure
    .input(z.object({ name: nameSchema, description: z.string().max(ENV_SET_LIMITS.descriptionMax).default(""), vars: varsInput.default({}) }))
    .output(envSetView)
    .mutation(async ({ ctx, input }) => {
      const vars = checkVars(input.vars);
      if (await ctx.services.db.envSet.findUnique({ where: { name: input.name } })) throw new AppError("CODEPIPER_CONFLICT", `an env set named ${input.name} exists already`);
      const id = randomUUID();
      const row = await ctx.services.db.envSet.create({ data: { id, name: input.name, description: input.description, ...sealVars(ctx.services, id, vars) } });
      await recordAudit(ctx, "envset.create", `envset:${id}`, { name: row.name, vars: Object.keys(vars).sort() });
      return toView(ctx.services, row, true);
    }),

  /** `vars` replaces every variable; `set`/`unset` change some (the others are kept). */
  update: adminProcedure
    .input(
      z.object({
        envSet: ref,
        name: nameSchema.optional(),
        description: z.string().max(ENV_SET_LIMITS.descriptionMax).optional(),
        vars: varsInput.optional(),
        set: varsInput.optional(),
        unset: z.array(z.string().max(300)).max(ENV_SET_LIMITS.varsMax).optional(),
      }),
    )
    .output(envSetView)
    .mutation(async ({ ctx, input }) => {
      if (input.vars && (input.set || input.unset)) throw new AppError("CODEPIPER_BAD_INPUT", "give either vars (replace all) or set/unset (change some), not both");
      const existing = await findEnvSet(ctx.services, input.envSet);
      if (input.name && input.name !== existing.name && (await ctx.services.db.envSet.findUnique({ where: { name: input.name } }))) {
        throw new AppError("CODEPIPER_CONFLICT", `an env set named ${input.name} exists already`);
      }
      let next: Record<string, string> | undefined;
      if (input.vars) next = checkVars(input.vars);
      else if (input.set || input.unset) {
        // Opening fails cleanly with the wrong master key: nothing is written then.
        const current = openEnvSetRow(ctx.services, existing);
        for (const name of input.unset ?? []) {
          checkVarName(name);
          if (!(name in current)) throw new AppError("CODEPIPER_NOT_FOUND", `env set ${existing.name} has no variable ${name}`);
          delete current[name];
        }
        next = checkVars({ ...current, ...(input.set ?? {}) });
      }
      const row = await ctx.services.db.envSet.update({
        where: { id: existing.id },
        data: { name: input.name, description: input.description, ...(next ? sealVars(ctx.services, existing.id, next) : {}) },
      });
      await recordAudit(ctx, "envset.update", `envset:${row.id}`, {
        name: row.name,
        ...(input.name && input.name !== existing.name ? { renamedFrom: existing.name } : {}),
        ...(input.vars ? { replaced: Object.keys(input.vars).sort() } : {}),
        ...(input.set ? { set: Object.keys(input.set).sort() } : {}),
        ...(input.unset ? { unset: input.unset } : {}),
        ...(input.description !== undefined ? { description: true } : {}),
      });
      return toView(ctx.services, row, true);
    }),

  delete: adminProcedure.input(z.object({ envSet: ref })).output(z.object({ id: z.string(), name: z.string() })).mutation(async ({ ctx, input }) => {
    const existing = await findEnvSet(ctx.services, input.envSet);
    await ctx.services.db.envSet.delete({ where: { id: existing.id } });
    await recordAudit(ctx, "envset.delete", `envset:${existing.id}`, { name: existing.name });
    return { id: existing.id, name: existing.name };
  }),
});

const BATCH = 100;
const sealedSchema = z.object({ ciphertext: z.string(), wrappedKey: z.string(), keyVersion: z.number().int() });
const rewrapCounts = z.object({ rewrapped: z.number(), alreadyCurrent: z.number(), failed: z.number(), failures: z.array(z.string()) });

/** Re-wraps every env set data key not on the current version; a row that changed meanwhile is left alone. */
async function rewrapEnvSets(services: Services) {
  const counts = { rewrapped: 0, alreadyCurrent: 0, failed: 0, failures: [] as string[] };
  const current = services.keyring.currentVersion;
  let cursor: string | undefined;
  for (;;) {
    const rows = await services.db.envSet.findMany({ select: { id: true, name: true, wrappedKey: true, keyVersion: true }, orderBy: { id: "asc" }, take: BATCH, ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}) });
    if (rows.length === 0) break;
    cursor = rows[rows.length - 1]!.id;
    for (const row of rows) {
      if (row.keyVersion === current) {
        counts.alreadyCurrent++;
        continue;
      }
      try {
        const next = services.keyring.rewrap(row, `env set ${row.name}`);
        const res = await services.db.envSet.updateMany({ where: { id: row.id, wrappedKey: row.wrappedKey, keyVersion: row.keyVersion }, data: next });
        if (res.count === 1) counts.rewrapped++;
        else counts.alreadyCurrent++;
      } catch (err) {
        counts.failed++;
        if (counts.failures.length < 20) counts.failures.push(err instanceof AppError ? err.message : `env set ${row.name}: cannot re-wrap`);
      }
    }
    if (rows.length < BATCH) break;
  }
  return counts;
}

async function rewrapTotpSecrets(services: Services) {
  const counts = { rewrapped: 0, alreadyCurrent: 0, failed: 0, failures: [] as string[] };
  const current = services.keyring.currentVersion;
  const users = await services.db.user.findMany({ where: { totpSecretEnc: { not: null } }, select: { id: true, email: true, totpSecretEnc: true } });
  for (const user of users) {
    const raw = user.totpSecretEnc!;
    try {
      const sealed: Sealed = sealedSchema.parse(JSON.parse(raw));
      if (sealed.keyVersion === current) {
        counts.alreadyCurrent++;
        continue;
      }
      const next = services.keyring.rewrap(sealed, `the TOTP secret of ${user.email}`);
      const res = await services.db.user.updateMany({ where: { id: user.id, totpSecretEnc: raw }, data: { totpSecretEnc: JSON.stringify({ ...sealed, ...next }) } });
      if (res.count === 1) counts.rewrapped++;
      else counts.alreadyCurrent++;
    } catch (err) {
      counts.failed++;
      if (counts.failures.length < 20) counts.failures.push(err instanceof AppError ? err.message : `the TOTP secret of ${user.email}: cannot re-wrap`);
    }
  }
  return counts;
}

async function versionCounts(services: Services) {
  const groups = await services.db.envSet.groupBy({ by: ["keyVersion"], _count: { _all: true } });
  const envSets: Record<string, number> = {};
  for (const g of groups) envSets[String(g.keyVersion)] = g._count._all;
  const totp: Record<string, number> = {};
  const users = await services.db.user.findMany({ where: { totpSecretEnc: { not: null } }, select: { totpSecretEnc: true } });
  for (const u of users) {
    let v = "unreadable";
    try {
      v = String(sealedSchema.parse(JSON.parse(u.totpSecretEnc!)).keyVersion);
    } catch {
      // counted as unreadable
    }
    totp[v] = (totp[v] ?? 0) + 1;
  }
  return { envSets, totpSecrets: totp };
}

export const keysRouter = router({
  status: viewerProcedure
    .output(z.object({ currentVersion: z.number(), versions: z.array(z.number()), envSets: z.record(z.string(), z.number()), totpSecrets: z.record(z.string(), z.number()) }))
    .query(async ({ ctx }) => {
      const { keyring } = ctx.services;
      return { currentVersion: keyring.currentVersion, versions: keyring.versions, ...(await versionCounts(ctx.services)) };
    }),

  /**
   * Adds a master key version (file keyrings) and re-wraps every data key under it. With
   * CODEPIPER_MASTER_KEY the new version is added there (and the server restarted); then this
   * re-wraps what is still on older versions.
   */
  rotate: adminProcedure
    .output(z.object({ rotated: z.boolean(), previousVersion: z.number(), currentVersion: z.number(), envSets: rewrapCounts, totpSecrets: rewrapCounts }))
    .mutation(async ({ ctx }) => {
      const { keyring } = ctx.services;
      const previousVersion = keyring.currentVersion;
      let rotated = true;
      try {
        keyring.rotate();
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== "CODEPIPER_CONFLICT") throw err;
        const behind = (await ctx.services.db.envSet.count({ where: { keyVersion: { lt: keyring.currentVersion } } })) > 0 || Object.keys((await versionCounts(ctx.services)).totpSecrets).some((v) => v !== String(keyring.currentVersion));
        if (!behind) throw err;
        rotated = false;
      }
      const envSets = await rewrapEnvSets(ctx.services);
      const totpSecrets = await rewrapTotpSecrets(ctx.services);
      await recordAudit(ctx, "keys.rotate", null, { rotated, previousVersion, currentVersion: keyring.currentVersion, envSets: { rewrapped: envSets.rewrapped, failed: envSets.failed }, totpSecrets: { rewrapped: totpSecrets.rewrapped, failed: totpSecrets.failed } });
      return { rotated, previousVersion, currentVersion: keyring.currentVersion, envSets, totpSecrets };
    }),
});
