import { hostname } from "node:os";
import { z } from "zod";
import { AppError } from "@codepiper/core";
import { recordAudit } from "../audit/record.js";
import { ROLES, type Role } from "../identity.js";
import { publicProcedure, router, viewerProcedure } from "../trpc.js";
import { issueApiToken } from "./api-tokens.js";
import { burnPasswordCheck, verifyPassword } from "./passwords.js";
import { consumeOneTimeToken } from "./one-time-tokens.js";
import { createUser, emailSchema, passwordSchema } from "./users.js";

const tokenOutput = z.object({
  token: z.string(),
  tokenId: z.string(),
  expiresAt: z.string().nullable(),
  user: z.object({ id: z.string(), email: z.string(), role: z.enum(ROLES) }),
});

const tokenName = z.string().trim().min(1).max(100).default(`cli@${hostname()}`);

export const authRouter = router({
  /** Exchanges email + password for a named API token (what `codepiper login` stores). */
  login: publicProcedure
    .input(z.object({ email: emailSchema, password: z.string().max(1024), tokenName, ttlDays: z.number().int().min(1).max(3650).default(90) }))
    .output(tokenOutput)
    .mutation(async ({ ctx, input }) => {
      const { db, loginLimiter } = ctx.services;
      const keys = [`email:${input.email}`, `source:${ctx.source ?? "unknown"}`];
      const wait = Math.max(...keys.map((k) => loginLimiter.retryAfter(k)));
      if (wait > 0) throw new AppError("CODEPIPER_RATE_LIMITED", `too many failed logins; try again in ${Math.ceil(wait / 1000)} s`);
      const user = await db.user.findUnique({ where: { email: input.email } });
      const ok = user ? await verifyPassword(user.passwordHash, input.password) : (await burnPasswordCheck(input.password), false);
      if (!user || !ok || user.disabledAt) {
        keys.forEach((k) => loginLimiter.fail(k));
        await recordAudit(ctx, "auth.login_failed", `user:${input.email}`);
        throw new AppError("CODEPIPER_UNAUTHENTICATED", "wrong email or password");
      }
      keys.forEach((k) => loginLimiter.succeed(k));
      const role = user.role as Role;
      const issued = await issueApiToken(db, {
        userId: user.id,
        name: input.tokenName,
        role,
        expiresAt: new Date(Date.now() + input.ttlDays * 86_400_000),
      });
      await recordAudit({ ...ctx, identity: { kind: "user", userId: user.id, email: user.email, role, tokenId: null } }, "auth.login", `token:${issued.id}`);
      return {
        token: issued.token,
        tokenId: issued.id,
        expiresAt: issued.expiresAt?.toISOString() ?? null,
        user: { id: user.id, email: user.email, role },
      };
    }),

  /** First-run setup: the one-time token printed by `codepiper server` creates the first admin. */
  setup: publicProcedure
    .input(z.object({ token: z.string().min(10).max(200), email: emailSchema, password: passwordSchema, tokenName }))
    .output(tokenOutput)
    .mutation(async ({ ctx, input }) => {
      const { db } = ctx.services;
      const user = await db.$transaction(async (tx) => {
        if ((await tx.user.count()) > 0) throw new AppError("CODEPIPER_SETUP_DONE", "setup is already done: log in instead");
        const txDb = tx as unknown as typeof db;
        await consumeOneTimeToken(txDb, "setup", input.token, "first-admin");
        return createUser(txDb, { email: input.email, password: input.password, role: "admin" });
      });
      const issued = await issueApiToken(db, { userId: user.id, name: input.tokenName, role: "admin", expiresAt: new Date(Date.now() + 90 * 86_400_000) });
      await recordAudit({ ...ctx, identity: { kind: "user", userId: user.id, email: user.email, role: "admin", tokenId: null } }, "auth.setup", `user:${user.id}`);
      return { token: issued.token, tokenId: issued.id, expiresAt: issued.expiresAt?.toISOString() ?? null, user: { id: user.id, email: user.email, role: "admin" } };
    }),

  whoami: viewerProcedure
    .output(z.object({ userId: z.string(), email: z.string(), role: z.enum(ROLES), tokenId: z.string().nullable() }))
    .query(({ ctx }) => ({ userId: ctx.identity.userId, email: ctx.identity.email, role: ctx.identity.role, tokenId: ctx.identity.tokenId })),
});
