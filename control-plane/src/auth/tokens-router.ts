import { z } from "zod";
import { AppError } from "@codepiper/core";
import { recordAudit } from "../audit/record.js";
import { ROLES, roleAtLeast } from "../identity.js";
import { router, viewerProcedure } from "../trpc.js";
import { issueApiToken } from "./api-tokens.js";

const DAY = 86_400_000;
const tokenView = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  user: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  status: z.enum(["active", "expired", "revoked"]),
  current: z.boolean(),
});

/**
 * API tokens. Everyone manages their own; admins may also list (`all`) and revoke anyone's. A token
 * never carries more than its creator has *now* (a token's effective role is its own capped by the
 * calling credential's role), and the secret is returned once: only its sha256 is stored.
 */
export const tokensRouter = router({
  create: viewerProcedure
    .input(z.object({ name: z.string().trim().min(1).max(100), role: z.enum(ROLES).optional(), ttlMs: z.number().int().min(60_000).max(3650 * DAY).default(90 * DAY) }))
    .output(z.object({ id: z.string(), name: z.string(), role: z.enum(ROLES), token: z.string(), expiresAt: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const have = ctx.identity.role;
      const role = input.role ?? have;
      if (!roleAtLeast(have, role)) {
        throw new AppError("CODEPIPER_FORBIDDEN", `a token can have at most the role of whoever creates it: you are calling as ${have}, asked for ${role}`);
      }
      const expiresAt = new Date(Date.now() + input.ttlMs);
      const issued = await issueApiToken(ctx.services.db, { userId: ctx.identity.userId, name: input.name, role, expiresAt });
      await recordAudit(ctx, "tokens.create", `token:${issued.id}`, { name: input.name, role });
      return { id: issued.id, name: input.name, role, token: issued.token, expiresAt: expiresAt.toISOString() };
    }),

  list: viewerProcedure
    .input(z.object({ all: z.boolean().default(false), includeInactive: z.boolean().default(false) }).default({ all: false, includeInactive: false }))
    .output(z.array(tokenView))
    .query(async ({ ctx, input }) => {
      if (input.all && ctx.identity.role !== "admin") throw new AppError("CODEPIPER_FORBIDDEN", "only admins can list everyone's tokens (drop --all)");
      const now = new Date();
      const rows = await ctx.services.db.apiToken.findMany({
        where: {
          ...(input.all ? {} : { userId: ctx.identity.userId }),
          ...(input.includeInactive ? {} : { revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] }),
        },
        include: { user: { select: { email: true } } },
        orderBy: { createdAt: "desc" },
        take: 1000,
      });
      return rows.map((t) => ({
        id: t.id,
        name: t.name,
        role: t.role as (typeof ROLES)[number],
        user: t.user.email,
        createdAt: t.createdAt.toISOString(),
        expiresAt: t.expiresAt?.toISOString() ?? null,
        revokedAt: t.revokedAt?.toISOString() ?? null,
        lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
        status: t.revokedAt ? ("revoked" as const) : t.expiresAt && t.expiresAt <= now ? ("expired" as const) : ("active" as const),
        current: t.id === ctx.identity.tokenId,
      }));
    }),

  /** Revokes a token: your own (anyone), or any (admins). Someone else's answers NOT_FOUND, like a missing one. */
  revoke: viewerProcedure
    .input(z.object({ id: z.string().trim().min(1).max(100) }))
    .output(z.object({ id: z.string(), name: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const { db } = ctx.services;
      const scope = ctx.identity.role === "admin" ? {} : { userId: ctx.identity.userId };
      const token = await db.apiToken.findFirst({ where: { id: input.id, ...scope } });
      if (!token) throw new AppError("CODEPIPER_NOT_FOUND", `no token ${JSON.stringify(input.id.slice(0, 100))}`);
      if (!token.revokedAt) await db.apiToken.update({ where: { id: token.id }, data: { revokedAt: new Date() } });
      await recordAudit(ctx, "tokens.revoke", `token:${token.id}`);
      return { id: token.id, name: token.name };
    }),
});
