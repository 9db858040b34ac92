import { AppError, type ProviderId } from "@codepiper/core";

/**
 * The environment a session's provider CLI starts with (DESIGN.md §3 "Environment"):
 *
 *   1. a small allow-list copied from the agent's own environment (never the whole of it: the
 *      agent may hold credentials of its own that a coding agent must not inherit);
 *   2. the session's env sets, in the order given (a later set overrides an earlier one);
 *   3. the session's explicit `--env K=V` variables (they override the sets);
 *   4. billing: `subscription` removes the provider API keys so the CLI uses its own login, `api`
 *      keeps them; `CLAUDECODE` is always removed (a Claude Code started from inside another one
 *      would otherwise believe it is nested).
 *
 * Values are secrets as far as this module knows: no error message ever contains one.
 */
export type Billing = "subscription" | "api";

// CODEX_HOME / CLAUDE_CONFIG_DIR say where the provider keeps its login and transcripts: locations,
// not secrets, and the agent must look in the same place the session writes to.
const ALLOWED = new Set(["PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "TZ", "TMPDIR", "CODEX_HOME", "CLAUDE_CONFIG_DIR"]);
const ALLOWED_PREFIXES = ["LC_", "XDG_"];

/**
 * Keys removed under subscription billing. The design names ANTHROPIC_API_KEY; we also remove the
 * OpenAI keys Codex reads, because "subscription" means the CLI's own login for either provider.
 */
const API_KEYS = ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "CODEX_API_KEY"];
const ALWAYS_REMOVED = ["CLAUDECODE"];

export const ENV_LIMITS = { variables: 500, totalBytes: 256 * 1024, nameMax: 256 } as const;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface SessionEnvInput {
  /** The agent's own environment (process.env). */
  base: NodeJS.ProcessEnv;
  /** Decrypted env sets, in the order the session lists them. */
  envSets?: readonly Readonly<Record<string, string>>[];
  /** `--env K=V` variables. */
  explicit?: Readonly<Record<string, string>>;
  billing: Billing;
  provider: ProviderId;
}

function checkVariable(name: string, value: string, where: string): void {
  if (name.length > ENV_LIMITS.nameMax || !NAME.test(name)) {
    throw new AppError("CODEPIPER_BAD_INPUT", `${where}: ${JSON.stringify(name.slice(0, 80))} is not a valid environment variable name`);
  }
  if (value.includes("\0")) throw new AppError("CODEPIPER_BAD_INPUT", `${where}: the value of ${name} contains a NUL byte`);
}

export function buildSessionEnv(input: SessionEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.base)) {
    if (value === undefined) continue;
    if (ALLOWED.has(name) || ALLOWED_PREFIXES.some((p) => name.startsWith(p))) env[name] = value;
  }
  (input.envSets ?? []).forEach((set, i) => {
    for (const [name, value] of Object.entries(set)) {
      checkVariable(name, value, `env set #${i + 1}`);
      env[name] = value;
    }
  });
  for (const [name, value] of Object.entries(input.explicit ?? {})) {
    checkVariable(name, value, "--env");
    env[name] = value;
  }
  switch (input.billing) {
    case "subscription":
      for (const key of API_KEYS) delete env[key];
      break;
    case "api":
      break;
  }
  for (const key of ALWAYS_REMOVED) delete env[key];
  env.TERM ??= "xterm-256color";

  const names = Object.keys(env);
  if (names.length > ENV_LIMITS.variables) {
    throw new AppError("CODEPIPER_BAD_INPUT", `the session environment has ${names.length} variables; the limit is ${ENV_LIMITS.variables}`);
  }
  const bytes = names.reduce((n, k) => n + Buffer.byteLength(k) + Buffer.byteLength(env[k]!) + 2, 0);
  if (bytes > ENV_LIMITS.totalBytes) {
    throw new AppError("CODEPIPER_BAD_INPUT", `the session environment is ${bytes} bytes; the limit is ${ENV_LIMITS.totalBytes}`);
  }
  return env;
}
