import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync, chmodSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { AppError } from "@codepiper/core";

/**
 * Everything an agent keeps lives under its state dir, so several agents run side by side on one
 * machine without seeing each other's state (issue 2):
 *
 *   agent.json         enrollment: host id, name, control plane URL and audience (no secrets)
 *   keys/signing.pem   Ed25519 private key, 0600: signs the per-connection link JWT
 *   keys/encryption.pem X25519 private key, 0600: env sets are encrypted to its public half
 *   outbox.db          durable event outbox and the executed-commands journal (SQLite, WAL)
 *   agent.lock         held for the life of `agent run`: one agent per state dir
 *   tmux.sock          the agent's own tmux server socket (sessions, issue 3)
 *   tmux-env.sock      0600 socket that hands each new pane its environment once (tmux/envsocket.ts)
 *   tmux-env-client.cjs the (value-free) client the launch wrapper runs to fetch it
 */
export const enrollmentSchema = z.object({
  hostId: z.string().uuid(),
  name: z.string(),
  controlPlaneUrl: z.string().url(),
  controlPlaneId: z.string(),
  audience: z.string(),
  enrolledAt: z.string(),
});
export type Enrollment = z.infer<typeof enrollmentSchema>;

export interface StatePaths {
  dir: string;
  enrollment: string;
  keysDir: string;
  signingKey: string;
  encryptionKey: string;
  outbox: string;
  lock: string;
  tmuxSocket: string;
}

export function statePaths(stateDir: string): StatePaths {
  const dir = resolve(stateDir);
  return {
    dir,
    enrollment: join(dir, "agent.json"),
    keysDir: join(dir, "keys"),
    signingKey: join(dir, "keys", "signing.pem"),
    encryptionKey: join(dir, "keys", "encryption.pem"),
    outbox: join(dir, "outbox.db"),
    lock: join(dir, "agent.lock"),
    tmuxSocket: join(dir, "tmux.sock"),
  };
}

export function ensureStateDir(paths: StatePaths): void {
  mkdirSync(paths.keysDir, { recursive: true, mode: 0o700 });
  chmodSync(paths.dir, 0o700);
}

/** Writes a file atomically (temp + rename) with the given mode. */
export function writeFileAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

export function isEnrolled(paths: StatePaths): boolean {
  return existsSync(paths.enrollment);
}

export function readEnrollment(paths: StatePaths): Enrollment {
  let raw: string;
  try {
    raw = readFileSync(paths.enrollment, "utf8");
  } catch {
    throw new AppError("CODEPIPER_AGENT_NOT_ENROLLED", `no enrollment in ${paths.dir}: run codepiper agent join <url> --token <t> --name <n> --state-dir ${paths.dir}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new AppError("CODEPIPER_BAD_INPUT", `${paths.enrollment} is corrupt (not JSON): restore it, or remove the state dir and re-join this host`);
  }
  const parsed = enrollmentSchema.safeParse(json);
  if (!parsed.success) throw new AppError("CODEPIPER_BAD_INPUT", `${paths.enrollment} is corrupt: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export function writeEnrollment(paths: StatePaths, enrollment: Enrollment): void {
  writeFileAtomic(paths.enrollment, `${JSON.stringify(enrollment, null, 2)}\n`, 0o600);
}
