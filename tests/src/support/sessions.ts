import { mkdirSync, realpathSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expectOk, type Fleet, type FleetHost } from "./fleet.js";
import { startFakeModel, type FakeModel } from "./fake-model.js";
import { CLAUDE_BIN, prepareClaudeEnv, prepareCodexEnv, type ClaudeEnv, type CodexEnv } from "./provider-env.js";
import { tempDir } from "./tmp.js";
import { waitFor } from "./wait.js";

/**
 * A linked host whose agent runs the REAL provider CLIs against the fake model server: the agent
 * process gets the isolated HOME / CODEX_HOME and a PATH with the pinned CLIs; the per-session
 * variables the CLIs need (base URL, API key) are passed the way a user would, with `--env` on
 * `codepiper start` (billing `api`).
 */
export interface ProviderHost {
  host: FleetHost;
  fake: FakeModel;
  claude: ClaudeEnv;
  codex: CodexEnv;
  /** `codepiper start` arguments for each provider (host, dir, billing, env). */
  startArgs(provider: "claude-code" | "codex", opts?: { cwd?: string }): string[];
}

const BIN_DIR = dirname(CLAUDE_BIN);

export async function runProviderHost(fleet: Fleet, name: string, opts: { agentArgs?: string[] } = {}): Promise<ProviderHost> {
  const root = tempDir(`codepiper-${name}-`);
  const fake = await startFakeModel();
  // One HOME for both CLIs (as on a real machine): Claude's .claude.json and Codex's CODEX_HOME.
  const claude = prepareClaudeEnv({ baseUrl: fake.url, root });
  const codex = await prepareCodexEnv({ baseUrl: fake.url, root, cwd: claude.cwd });
  const env: Record<string, string> = {
    HOME: claude.home,
    PATH: `${BIN_DIR}${delimiter}${process.env.PATH ?? "/usr/bin:/bin"}`,
    CODEX_HOME: codex.codexHome,
    LANG: "C.UTF-8",
    TERM: "xterm-256color",
  };
  const host = await fleet.run(name, { env, args: opts.agentArgs });
  const claudeVars = ["ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "DISABLE_AUTOUPDATER", "DISABLE_TELEMETRY", "DISABLE_ERROR_REPORTING", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"];
  return {
    host,
    fake,
    claude,
    codex,
    startArgs(provider, o = {}) {
      const vars = provider === "claude-code" ? claudeVars.map((k) => `${k}=${claude.env[k]}`) : [`OPENAI_API_KEY=${codex.env.OPENAI_API_KEY}`];
      return ["start", "-p", provider, "-d", o.cwd ?? claude.cwd, "--host", name, "--billing", "api", ...vars.flatMap((v) => ["--env", v])];
    },
  };
}

export interface SessionView {
  id: string;
  status: string;
  model: string | null;
  exitCode: number | null;
  error: string | null;
  transcriptPath: string | null;
  providerSessionId: string | null;
  usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheCreationTokens: number; responses: number };
  [k: string]: unknown;
}

export async function startSession(fleet: Fleet, args: string[]): Promise<SessionView> {
  const res = expectOk(await fleet.cli([...args, "--json"], { timeoutMs: 90_000 }));
  return res.json<SessionView>();
}

export async function getSession(fleet: Fleet, id: string): Promise<SessionView> {
  const res = expectOk(await fleet.cli(["sessions", "--json"]));
  const found = res.json<SessionView[]>().find((s) => s.id === id);
  if (!found) throw new Error(`session ${id} not in the list`);
  return found;
}

export function waitSessionStatus(fleet: Fleet, id: string, status: string | string[], timeoutMs = 60_000): Promise<SessionView> {
  const wanted = Array.isArray(status) ? status : [status];
  return waitFor(async () => {
    const s = await getSession(fleet, id);
    return wanted.includes(s.status) ? s : undefined;
  }, { what: `session ${id.slice(0, 8)} ${wanted.join("|")}`, timeoutMs });
}

/** Structured events of a session (`codepiper logs --json`). */
export async function sessionLogs(fleet: Fleet, id: string, source?: string): Promise<{ id: number; type: string; payload: Record<string, unknown> }[]> {
  const args = ["logs", id, "--json", "--limit", "10000"];
  if (source) args.push("--source", source);
  return expectOk(await fleet.cli(args)).json();
}

export function paneOf(fleet: Fleet, id: string, lines = 200): Promise<string> {
  return fleet.cli(["tail", id, "-n", String(lines)]).then((r) => expectOk(r).stdout);
}

/** Polls `codepiper tail` until the pane contains `needle`. */
export function waitPane(fleet: Fleet, id: string, needle: string, timeoutMs = 45_000): Promise<string> {
  return waitFor(async () => {
    const pane = await paneOf(fleet, id);
    return pane.includes(needle) ? pane : undefined;
  }, { what: `pane of ${id.slice(0, 8)} shows ${JSON.stringify(needle)}`, timeoutMs });
}

/** The scripted stand-in for `claude` (tests/fixtures/fake-provider/claude): fast, deterministic, scriptable by prompt. */
export const FAKE_PROVIDER_DIR = fileURLToPath(new URL("../../fixtures/fake-provider", import.meta.url));

export interface FakeProviderHost {
  host: FleetHost;
  home: string;
  cwd: string;
  startArgs(opts?: { cwd?: string }): string[];
}

/** A linked host whose `claude` is the scripted fake provider. */
export async function runFakeProviderHost(fleet: Fleet, name: string, opts: { agentArgs?: string[] } = {}): Promise<FakeProviderHost> {
  const root = tempDir(`codepiper-${name}-`);
  const home = join(root, "home");
  const cwd = join(root, "project");
  mkdirSync(home, { recursive: true });
  mkdirSync(cwd, { recursive: true });
  const env = { HOME: home, PATH: `${FAKE_PROVIDER_DIR}${delimiter}${process.env.PATH ?? "/usr/bin:/bin"}`, LANG: "C.UTF-8", TERM: "xterm-256color" };
  const host = await fleet.run(name, { env, args: opts.agentArgs });
  return { host, home, cwd: realpathSync(cwd), startArgs: (o = {}) => ["start", "-p", "claude-code", "-d", o.cwd ?? realpathSync(cwd), "--host", name] };
}
