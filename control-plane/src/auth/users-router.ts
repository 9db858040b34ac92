import { z } from "zod";
import { AppError } from "@codepiper/core";
import { recordAudit } from "../audit/record.js";
import type { Db } from "../db/index.js";
import { ROLES } from "../identity.js";
import { adminProcedure, router } from "../trpc.js";
import { hashPassword } from "./passwords.js";
import { createUser, passwordSchema } from "./users.js";

const userRef = z.string().trim().min(1).max(254);
const userView = z.object({
  id: z.string(),
  email: z.string(),
  role: z.enum(ROLES),
  disabled: z.boolean(),
  totp: z.boolean(),
  createdAt: z.string(),
  tokens: z.number(),
});

interface UserRow {
  id: string;
  email: string;
  role: string;
  disabledAt: Date | null;
  totpEnabledAt: Date | null;
  createdAt: Date;
  _count?: { apiTokens: number };
}

function view(u: UserRow): z.infer<typeof userView> {
  return { id: u.id, email: u.email, role: u.role as (typeof ROLES)[number], disabled: Boolean(u.disabledAt), totp: Boolean(u.totpEnabledAt), createdAt: u.createdAt.toISOString(), tokens: u._count?.apiTokens ?? 0 };
}

async function findUser(db: Db, ref: string) {
  const user = (await db.user.findUnique({ where: { email: ref.toLowerCase() } })) ?? (await db.user.findUnique({ where: { id: ref } }));
  if (!user) throw new AppError("CODEPIPER_NOT_FOUND", `no user ${JSON.stringify(ref.slice(0, 100))}`);
  return user;
}

/** Refuses a change that would leave no enabled admin (nobody could manage users any more). */
async function keepAnAdmin(db: Db, userId: string, what: string): Promise<void> {
  const others = await db.user.count({ where: { role: "admin", disabledAt: null, id: { not: userId } } });
  if (others === 0) throw new AppError("CODEPIPER_CONFLICT", `cannot ${what}: it is the last enabled admin (make another admin first)`);
}

/** User management (admins only). The CLI reads passwords from stdin; they only ever travel in a request body. */
export const usersRouter = router({
  list: adminProcedure.output(z.array(userView)).query(async ({ ctx }) => {
    const rows = await ctx.services.db.user.findMany({ orderBy: { email: "asc" }, include: { _count: { select: { apiTokens: { where: { revokedAt: null } } } } } });
    return rows.map(view);
  }),

  create: adminProcedure
    .input(z.object({ email: z.string().max(254), role: z.enum(ROLES), password: passwordSchema }))
    .output(userView)
    .mutation(async ({ ctx, input }) => {
      const user = await createUser(ctx.services.db, input);
      await recordAudit(ctx, "users.create", `user:${user.id}`, { email: user.email, role: user.role });
      return view({ ...user, disabledAt: null, totpEnabledAt: null });
    }),

  update: adminProcedure
    .input(z.object({ user: userRef, role: z.enum(ROLES).optional(), disabled: z.boolean().optional(), password: passwordSchema.optional() }))
    .output(userView)
    .mutation(async ({ ctx, input }) => {
      const { db } = ctx.services;
      const user = await findUser(db, input.user);
      if (input.disabled === true && user.id === ctx.identity.userId) throw new AppError("CODEPIPER_CONFLICT", "you cannot disable yourself");
      const losesAdmin = user.role === "admin" && !user.disabledAt && ((input.role !== undefined && input.role !== "admin") || input.disabled === true);
      if (losesAdmin) await keepAnAdmin(db, user.id, input.disabled ? `disable ${user.email}` : `demote ${user.email}`);
      const data: { role?: string; disabledAt?: Date | null; passwordHash?: string } = {};
      if (input.role !== undefined) data.role = input.role;
      if (input.disabled !== undefined) data.disabledAt = input.disabled ? (user.disabledAt ?? new Date()) : null;
      if (input.password !== undefined) data.passwordHash = await hashPassword(input.password);
      const updated = await db.user.update({ where: { id: user.id }, data, include: { _count: { select: { apiTokens: { where: { revokedAt: null } } } } } });
      // Disabling ends the user's dashboard sessions now (API tokens are refused while disabled).
      if (input.disabled === true) await db.webSession.updateMany({ where: { userId: user.id, revokedAt: null }, data: { revokedAt: new Date() } });
      await recordAudit(ctx, "users.update", `user:${user.id}`, { role: input.role, disabled: input.disabled, password: input.password !== undefined ? "changed" : undefined });
      return view(updated);
    }),

  delete: adminProcedure
    .input(z.object({ user: userRef }))
    .output(z.object({ id: z.string(), email: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const { db } = ctx.services;
      const user = await findUser(db, input.user);
      if (user.id === ctx.identity.userId) throw new AppError("CODEPIPER_CONFLICT", "you cannot delete yourself");
      if (user.role === "admin" && !user.disabledAt) await keepAnAdmin(db, user.id, `delete ${user.email}`);
      await db.user.delete({ where: { id: user.id } });
      await recordAudit(ctx, "users.delete", `user:${user.id}`, { email: user.email });
      return { id: user.id, email: user.email };
    }),
});
