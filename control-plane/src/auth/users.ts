import { randomUUID } from "node:crypto";
import { z } from "zod";
import { AppError } from "@codepiper/core";
import type { Db } from "../db/index.js";
import type { Role } from "../identity.js";
import { hashPassword, PASSWORD_MAX, PASSWORD_MIN } from "./passwords.js";

export const emailSchema = z.string().trim().toLowerCase().max(254).email("is not an email address");
export const passwordSchema = z
  .string()
  .min(PASSWORD_MIN, `must be at least ${PASSWORD_MIN} characters`)
  .max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`);

/** Creates a user; used by `admin create` (directly on the database), first-run setup and later by user management. */
export async function createUser(db: Db, input: { email: string; password: string; role: Role }) {
  const email = emailSchema.safeParse(input.email);
  if (!email.success) throw new AppError("CODEPIPER_BAD_INPUT", `email ${JSON.stringify(input.email)} ${email.error.issues[0]!.message}`);
  const password = passwordSchema.safeParse(input.password);
  if (!password.success) throw new AppError("CODEPIPER_BAD_INPUT", `password ${password.error.issues[0]!.message}`);
  const existing = await db.user.findUnique({ where: { email: email.data } });
  if (existing) throw new AppError("CODEPIPER_CONFLICT", `a user with email ${email.data} already exists`);
  return db.user.create({
    data: { id: randomUUID(), email: email.data, passwordHash: await hashPassword(password.data), role: input.role },
    select: { id: true, email: true, role: true, createdAt: true },
  });
}

export async function countUsers(db: Db): Promise<number> {
  return db.user.count();
}
