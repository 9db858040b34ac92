import { randomUUID } from "node:crypto";
import type { Db } from "./db/index.js";

/** Reads a setting, creating it with `init()` on first use (race-safe: the first writer wins). */
export async function ensureSetting(db: Db, key: string, init: () => string): Promise<string> {
  const existing = await db.setting.findUnique({ where: { key } });
  if (existing) return existing.value;
  try {
    await db.setting.create({ data: { key, value: init() } });
  } catch {
    // Another replica created it first: read theirs.
  }
  return (await db.setting.findUniqueOrThrow({ where: { key } })).value;
}

export function ensureControlPlaneId(db: Db): Promise<string> {
  return ensureSetting(db, "controlPlaneId", () => randomUUID());
}
