import { z } from "zod";
import { AppError } from "@codepiper/core";
import type { Sealed } from "../keyring.js";
import type { Services } from "../services.js";
import { base32Decode, hashRecoveryCode, verifyTotp } from "./totp.js";

/** The columns of User this module reads. */
export interface TwoFactorUser {
  id: string;
  totpSecretEnc: string | null;
  totpEnabledAt: Date | null;
  recoveryCodesJson: string | null;
}

const sealedSchema = z.object({ ciphertext: z.string(), wrappedKey: z.string(), keyVersion: z.number().int() });

export const totpAad = (userId: string): string => `totp:${userId}`;

export function sealTotpSecret(services: Services, userId: string, secretBase32: string): string {
  return JSON.stringify(services.keyring.seal(secretBase32, totpAad(userId)));
}

export function openTotpSecret(services: Services, user: TwoFactorUser): string {
  if (!user.totpSecretEnc) throw new AppError("CODEPIPER_CONFLICT", "two-factor authentication is not set up: run codepiper totp setup");
  const sealed: Sealed = sealedSchema.parse(JSON.parse(user.totpSecretEnc));
  return services.keyring.open(sealed, totpAad(user.id), "the TOTP secret");
}

/**
 * The last TOTP step each user spent: a code is accepted once, never again (RFC 6238 §5.2).
 * Kept in memory (authoritative within this process: check-and-set is synchronous) and persisted
 * in a Setting row so a restart does not reopen the ±1 step window.
 */
const lastSteps = new Map<string, number>();
const settingKey = (userId: string) => `totp.lastStep:${userId}`;

async function hydrate(services: Services, userId: string): Promise<void> {
  if (lastSteps.has(userId)) return;
  const row = await services.db.setting.findUnique({ where: { key: settingKey(userId) } });
  const stored = row ? Number(row.value) : -1;
  if (!lastSteps.has(userId)) lastSteps.set(userId, Number.isFinite(stored) ? stored : -1);
}

/** Verifies a TOTP code against `secretBase32` and spends its step; false if wrong or already used. */
export async function spendTotp(services: Services, userId: string, secretBase32: string, code: string): Promise<boolean> {
  await hydrate(services, userId);
  const step = verifyTotp(base32Decode(secretBase32), code, { lastStep: lastSteps.get(userId) ?? -1 });
  if (step === null) return false;
  lastSteps.set(userId, step);
  await services.db.setting.upsert({ where: { key: settingKey(userId) }, create: { key: settingKey(userId), value: String(step) }, update: { value: String(step) } });
  return true;
}

export function forgetTotpSteps(userId: string): void {
  lastSteps.delete(userId);
}

function recoveryHashes(user: TwoFactorUser): string[] {
  if (!user.recoveryCodesJson) return [];
  const parsed = z.array(z.string()).safeParse(JSON.parse(user.recoveryCodesJson));
  return parsed.success ? parsed.data : [];
}

/** Spends a recovery code (single use, atomically: two concurrent logins cannot both use it). */
export async function spendRecoveryCode(services: Services, user: TwoFactorUser, code: string): Promise<boolean> {
  const hashes = recoveryHashes(user);
  const hash = hashRecoveryCode(code);
  if (!hashes.includes(hash)) return false;
  const remaining = hashes.filter((h) => h !== hash);
  const updated = await services.db.user.updateMany({
    where: { id: user.id, recoveryCodesJson: user.recoveryCodesJson },
    data: { recoveryCodesJson: JSON.stringify(remaining) },
  });
  return updated.count === 1;
}

/**
 * The second factor of a login (or of `totp disable`): a 6-digit TOTP code or a recovery code.
 * Answers how it was satisfied, or null if `code` is wrong or already spent.
 */
export async function checkSecondFactor(services: Services, user: TwoFactorUser, code: string): Promise<"totp" | "recovery" | null> {
  const trimmed = code.trim();
  if (/^\d{6}$/.test(trimmed.replace(/\s/g, ""))) {
    return (await spendTotp(services, user.id, openTotpSecret(services, user), trimmed)) ? "totp" : null;
  }
  return (await spendRecoveryCode(services, user, trimmed)) ? "recovery" : null;
}

export function recoveryCodesLeft(user: TwoFactorUser): number {
  return recoveryHashes(user).length;
}
