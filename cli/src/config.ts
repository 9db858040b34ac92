import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { z } from "zod";
import { AppError } from "@codepiper/core";
import { parseUrl } from "./parse.js";

/**
 * Where things live. Flags win over CODEPIPER_* variables, which win over XDG defaults, so
 * several control planes and agents can run side by side on one machine.
 */
export function configDir(flag?: string): string {
  if (flag) return resolve(flag);
  if (process.env.CODEPIPER_CONFIG_DIR) return resolve(process.env.CODEPIPER_CONFIG_DIR);
  return join(process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "codepiper");
}

export function dataDir(flag?: string): string {
  if (flag) return resolve(flag);
  if (process.env.CODEPIPER_DATA_DIR) return resolve(process.env.CODEPIPER_DATA_DIR);
  return join(process.env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "codepiper");
}

export function stateDir(flag?: string): string {
  if (flag) return resolve(flag);
  if (process.env.CODEPIPER_STATE_DIR) return resolve(process.env.CODEPIPER_STATE_DIR);
  return join(process.env.XDG_STATE_HOME ?? join(homedir(), ".local", "state"), "codepiper", "agent");
}

const credentialsSchema = z.object({
  version: z.literal(1),
  url: z.string().url(),
  token: z.string().min(1),
  email: z.string().nullable(),
  role: z.string().nullable(),
  savedAt: z.string(),
});
export type Credentials = z.infer<typeof credentialsSchema>;

function credentialsPath(dir: string): string {
  return join(dir, "credentials.json");
}

export function readCredentials(dir: string): Credentials | null {
  let raw: string;
  try {
    raw = readFileSync(credentialsPath(dir), "utf8");
  } catch {
    return null;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    json = undefined;
  }
  const parsed = credentialsSchema.safeParse(json);
  if (!parsed.success) throw new AppError("CODEPIPER_BAD_INPUT", `${credentialsPath(dir)} is corrupt: run codepiper login again`);
  return parsed.data;
}

/** Stores the API token: directory 0700, file 0600, written atomically. */
export function writeCredentials(dir: string, creds: Omit<Credentials, "version" | "savedAt">): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const path = credentialsPath(dir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ version: 1, ...creds, savedAt: new Date().toISOString() }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return path;
}

/** Forgets the stored token (after `codepiper logout` revoked it). Returns whether there was one. */
export function removeCredentials(dir: string): boolean {
  try {
    rmSync(credentialsPath(dir));
    return true;
  } catch {
    return false;
  }
}

/** The control plane and token a remote command talks to. */
export function resolveTarget(opts: { url?: string; configDir?: string }): { url: string; token: string | null } {
  const creds = readCredentials(configDir(opts.configDir));
  // An explicit --url (even an empty one) is what the user asked for: validate it, never skip it.
  const raw = opts.url ?? (process.env.CODEPIPER_URL || undefined) ?? creds?.url;
  if (raw === undefined) throw new AppError("CODEPIPER_UNAUTHENTICATED", "no control plane configured: run codepiper login <url>, or pass --url / CODEPIPER_URL");
  const url = parseUrl(raw);
  const token = process.env.CODEPIPER_TOKEN ?? (creds && new URL(creds.url).origin === url ? creds.token : null);
  return { url, token };
}
