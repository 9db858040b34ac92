import { hostname } from "node:os";
import { z } from "zod";
import { AppError } from "@codepiper/core";
import { recordAudit } from "../audit/record.js";
import { ROLES, type Identity, type Role } from "../identity.js";
import type { Services } from "../services.js";
import { publicProcedure, router, viewerProcedure } from "../trpc.js";
import { issueApiToken } from "./api-tokens.js";
import { burnPasswordCheck, verifyPassword } from "./passwords.js";
import { consumeOneTimeToken } from "./one-time-tokens.js";
import { base32Encode, hashRecoveryCode, newRecoveryCodes, newTotpSecret, otpauthUri } from "./totp.js";
import { checkSecondFactor, forgetTotpSteps, openTotpSecret, recoveryCodesLeft, sealTotpSecret, spendTotp } from "./two-factor.js";
import { createUser, emailSchema, passwordSchema } from "./users.js";

const tokenOutput = z.object({
  token: z.string(),
  tokenId: z.string(),
  expiresAt: z.string().nullable(),
  user: z.object({ id: z.string(), email: z.string(), role: z.enum(ROLES) }),
});

const tokenName = z.string().trim().min(1).max(100).default(`cli@${hostname()}`);
const totpInput = z.string().trim().min(1).max(64).optional();

export const credentialsInput = z.object({ email: emailSchema, password: z.string().max(1024), totp: totpInput });

/**
 * Email + password (+ TOTP or recovery code when the account has two-factor on), rate limited per
 * email and per source address. Shared by auth.login (API token) and POST /auth/login-browser
 * (cookie). A missing second factor answers CODEPIPER_TOTP_REQUIRED (not a failure: the password
 * was right); a wrong one counts as a failed login.
 */
export async function passwordLogin(ctx: { services: Services; identity: Identity; source: string | null }, input: z.infer<typeof credentialsInput>) {
  const { db, loginLimiter } = ctx.services;
  const keys = [`email:${input.email}`, `source:${ctx.source ?? "unknown"}`];
  const wait = Math.max(...keys.map((k) => loginLimiter.retryAfter(k)));
  if (wait > 0) throw new AppError("CODEPIPER_RATE_LIMITED", `too many failed logins; try again in ${Math.ceil(wait / 1000)} s`);
  const user = await db.user.findUnique({ where: { email: input.email } });
  const ok = user ? await verifyPassword(user.passwordHash, input.password) : (await burnPasswordCheck(input.password), false);
  const fail = async (message: string): Promise<never> => {
    keys.forEach((k) => loginLimiter.fail(k));
    await recordAudit(ctx, "auth.login_failed", `user:${input.email}`);
    throw new AppError("CODEPIPER_UNAUTHENTICATED", message);
  };
  if (!user || !ok || user.disabledAt) return fail("wrong email or password");
  if (user.totpEnabledAt) {
    if (!input.totp) throw new AppError("CODEPIPER_TOTP_REQUIRED", "this account has two-factor authentication on: pass a TOTP code or a recovery code (codepiper login --totp <code>, or CODEPIPER_TOTP)");
    const how = await checkSecondFactor(ctx.services, user, input.totp);
    if (!how) return fail("wrong or already used two-factor code");
    if (how === "recovery") await recordAudit({ ...ctx, identity: userIdentity(user) }, "auth.recovery_code_used", `user:${user.id}`);
  }
  keys.forEach((k) => loginLimiter.succeed(k));
  return user;
}

function userIdentity(user: { id: string; email: string; role: string }): Extract<Identity, { kind: "user" }> {
  return { kind: "user", userId: user.id, email: user.email, role: user.role as Role, tokenId: null };
}

const webSessionView = z.object({ id: z.string(), createdAt: z.string(), expiresAt: z.string(), lastUsedAt: z.string().nullable(), source: z.string().nullable(), current: z.boolean() });

const totpRouter = router({
  /** Starts (or restarts) enrolment: a fresh secret, shown once; TOTP is on only after `enable`. */
  setup: viewerProcedure.output(z.object({ secret: z.string(), uri: z.string() })).mutation(async ({ ctx }) => {
    const user = await ctx.services.db.user.findUniqueOrThrow({ where: { id: ctx.identity.userId } });
    if (user.totpEnabledAt) throw new AppError("CODEPIPER_CONFLICT", "two-factor authentication is already on: disable it first to enrol a new device");
    const secret = base32Encode(newTotpSecret());
    await ctx.services.db.user.update({ where: { id: user.id }, data: { totpSecretEnc: sealTotpSecret(ctx.services, user.id, secret) } });
    await recordAudit(ctx, "auth.totp_setup", `user:${user.id}`);
    return { secret, uri: otpauthUri(secret, user.email) };
  }),
  /** Turns TOTP on after proving the device has the secret; returns 10 recovery codes, once. */
  enable: viewerProcedure
    .input(z.object({ code: z.string().trim().regex(/^\d{6}$/, "must be the 6-digit code from your authenticator") }))
    .output(z.object({ recoveryCodes: z.array(z.string()) }))
    .mutation(async ({ ctx, input }) => {
      const user = await ctx.services.db.user.findUniqueOrThrow({ where: { id: ctx.identity.userId } });
      if (user.totpEnabledAt) throw new AppError("CODEPIPER_CONFLICT", "two-factor authentication is already on");
      if (!(await spendTotp(ctx.services, user.id, openTotpSecret(ctx.services, user), input.code))) {
        throw new AppError("CODEPIPER_BAD_INPUT", "wrong code: check the authenticator's clock and that it has the secret from codepiper totp setup");
      }
      const recoveryCodes = newRecoveryCodes();
      await ctx.services.db.user.update({ where: { id: user.id }, data: { totpEnabledAt: new Date(), recoveryCodesJson: JSON.stringify(recoveryCodes.map(hashRecoveryCode)) } });
      await recordAudit(ctx, "auth.totp_enable", `user:${user.id}`);
      return { recoveryCodes };
    }),
  /** Turns TOTP off; needs a current code, a recovery code or the password. */
  disable: viewerProcedure
    .input(z.object({ code: z.string().trim().min(1).max(64).optional(), password: z.string().max(1024).optional() }).refine((v) => v.code || v.password, "pass a code or the password"))
    .output(z.object({ ok: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const user = await ctx.services.db.user.findUniqueOrThrow({ where: { id: ctx.identity.userId } });
      if (!user.totpEnabledAt && !user.totpSecretEnc) throw new AppError("CODEPIPER_CONFLICT", "two-factor authentication is not on");
      const proven = input.password
        ? await verifyPassword(user.passwordHash, input.password)
        : user.totpEnabledAt
          ? (await checkSecondFactor(ctx.services, user, input.code!)) !== null
          : await spendTotp(ctx.services, user.id, openTotpSecret(ctx.services, user), input.code!);
      if (!proven) throw new AppError("CODEPIPER_BAD_INPUT", "wrong code or password: two-factor authentication stays on");
      await ctx.services.db.user.update({ where: { id: user.id }, data: { totpSecretEnc: null, totpEnabledAt: null, recoveryCodesJson: null } });
      forgetTotpSteps(user.id);
      await recordAudit(ctx, "auth.totp_disable", `user:${user.id}`);
      return { ok: true as const };
    }),
  status: viewerProcedure.output(z.object({ enabled: z.boolean(), pending: z.boolean(), recoveryCodesLeft: z.number() })).query(async ({ ctx }) => {
    const user = await ctx.services.db.user.findUniqueOrThrow({ where: { id: ctx.identity.userId } });
    return { enabled: Boolean(user.totpEnabledAt), pending: !user.totpEnabledAt && Boolean(user.totpSecretEnc), recoveryCodesLeft: user.totpEnabledAt ? recoveryCodesLeft(user) : 0 };
  }),
});

const webSessionsRouter = router({
  /** The caller's own dashboard sessions that are still live. */
  list: viewerProcedure.output(z.array(webSessionView)).query(async ({ ctx }) => {
    const rows = await ctx.services.db.webSession.findMany({ where: { userId: ctx.identity.userId, revokedAt: null, expiresAt: { gt: new Date() } }, orderBy: { createdAt: "desc" }, take: 200 });
    return rows.map((r) => ({ id: r.id, createdAt: r.createdAt.toISOString(), expiresAt: r.expiresAt.toISOString(), lastUsedAt: r.lastUsedAt?.toISOString() ?? null, source: r.source, current: r.id === ctx.identity.webSessionId }));
  }),
  /** Revokes one of the caller's own sessions (someone else's answers NOT_FOUND). */
  revoke: viewerProcedure
    .input(z.object({ id: z.string().max(100) }))
    .output(z.object({ id: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const updated = await ctx.services.db.webSession.updateMany({ where: { id: input.id, userId: ctx.identity.userId, revokedAt: null }, data: { revokedAt: new Date() } });
      if (updated.count === 0) throw new AppError("CODEPIPER_NOT_FOUND", `no web session ${JSON.stringify(input.id)}`);
      await recordAudit(ctx, "auth.web_session_revoke", `web:${input.id}`);
      return { id: input.id };
    }),
});

export const authRouter = router({
  /** Exchanges email + password (+ TOTP) for a named API token (what `codepiper login` stores). */
  login: publicProcedure
    .input(credentialsInput.extend({ tokenName, ttlDays: z.number().int().min(1).max(3650).default(90) }))
    .output(tokenOutput)
    .mutation(async ({ ctx, input }) => {
      const user = await passwordLogin(ctx, input);
      const role = user.role as Role;
      const issued = await issueApiToken(ctx.services.db, {
        userId: user.id,
        name: input.tokenName,
        role,
        expiresAt: new Date(Date.now() + input.ttlDays * 86_400_000),
      });
      await recordAudit({ ...ctx, identity: userIdentity(user) }, "auth.login", `token:${issued.id}`);
      return {
        token: issued.token,
        tokenId: issued.id,
        expiresAt: issued.expiresAt?.toISOString() ?? null,
        user: { id: user.id, email: user.email, role },
      };
    }),

  /** Whether first-run setup is still open (no user yet): the dashboard's login page offers setup. */
  setupPending: publicProcedure.output(z.object({ pending: z.boolean() })).query(async ({ ctx }) => ({ pending: (await ctx.services.db.user.count()) === 0 })),

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

  /** Ends the credential this call came with: the dashboard session (cookie) or the API token. */
  logout: viewerProcedure.output(z.object({ revoked: z.enum(["web-session", "token", "none"]) })).mutation(async ({ ctx }) => {
    const { db } = ctx.services;
    const now = new Date();
    if (ctx.identity.webSessionId) {
      await db.webSession.updateMany({ where: { id: ctx.identity.webSessionId, revokedAt: null }, data: { revokedAt: now } });
      await recordAudit(ctx, "auth.logout", `web:${ctx.identity.webSessionId}`);
      return { revoked: "web-session" as const };
    }
    if (ctx.identity.tokenId) {
      await db.apiToken.updateMany({ where: { id: ctx.identity.tokenId, revokedAt: null }, data: { revokedAt: now } });
      await recordAudit(ctx, "auth.logout", `token:${ctx.identity.tokenId}`);
      return { revoked: "token" as const };
    }
    return { revoked: "none" as const };
  }),

  totp: totpRouter,
  webSessions: webSessionsRouter,
});
