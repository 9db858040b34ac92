import { z } from "zod";
import { AppError } from "@codepiper/core";
import type { Services } from "../services.js";

/**
 * Env sets at rest: the variables are one JSON map, sealed by the keyring (a data key per record,
 * wrapped by the master key). Only names are stored in clear. Values are opened in memory when a
 * session starts on a host (then sealed again, to that host's key) and never leave the control
 * plane in clear: no API returns them.
 */
const valuesSchema = z.record(z.string(), z.string());

export function envSetAad(id: string): string {
  return `envset:${id}`;
}

export async function findEnvSet(services: Services, ref: string) {
  const row = await services.db.envSet.findFirst({ where: { OR: [{ id: ref }, { name: ref }] } });
  if (!row) throw new AppError("CODEPIPER_NOT_FOUND", `no env set ${JSON.stringify(ref.slice(0, 100))}`);
  return row;
}

/** The variables of one env set, decrypted (in memory only). */
export function openEnvSetRow(services: Services, row: { id: string; name: string; ciphertext: string; wrappedKey: string; keyVersion: number }): Record<string, string> {
  const json = services.keyring.open({ ciphertext: row.ciphertext, wrappedKey: row.wrappedKey, keyVersion: row.keyVersion }, envSetAad(row.id), `env set ${row.name}`);
  return valuesSchema.parse(JSON.parse(json));
}

/** Several env sets merged in order (a later one wins); returns their ids for the session record. */
export async function openEnvSets(services: Services, refs: readonly string[]): Promise<{ ids: string[]; values: Record<string, string> }> {
  const ids: string[] = [];
  const values: Record<string, string> = {};
  for (const ref of refs) {
    const row = await findEnvSet(services, ref);
    ids.push(row.id);
    Object.assign(values, openEnvSetRow(services, row));
  }
  return { ids, values };
}
