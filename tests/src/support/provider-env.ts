import { spawn } from "node:child_process";
import { existsSync, mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "./tmp.js";

/**
 * Isolated HOME / CODEX_HOME for running the real Claude Code and Codex CLIs against the fake model
 * server (support/fake-model.ts). Never touches the developer's real HOME: the environment returned
 * is built from scratch (PATH, locale, TERM, plus what is listed here), not copied from process.env.
 */

const TESTS_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLAUDE_BIN = join(TESTS_ROOT, "node_modules", ".bin", "claude");
export const CODEX_BIN = join(TESTS_ROOT, "node_modules", ".bin", "codex");

export const FAKE_API_KEY = "sk-ant-api03-codepiper-fake-key-0123456789abcdefghij";
export const FAKE_OPENAI_KEY = "sk-codepiper-fake-openai-key-0123456789";

export interface ProviderEnv {
  env: Record<string, string>;
  home: string;
  /** The project directory (trusted), realpath'd. */
  cwd: string;
  bin: string;
}

export interface ClaudeEnv extends ProviderEnv {
  claudeJson: string;
  /** Where Claude Code writes transcripts for `cwd`: <home>/.claude/projects/<mangled cwd>. */
  projectDir: string;
}

export interface CodexEnv extends ProviderEnv {
  codexHome: string;
  configToml: string;
  sessionsDir: string;
}

function baseEnv(home: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    USER: process.env.USER ?? "codepiper",
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    TERM: "xterm-256color",
    SHELL: "/bin/bash",
    TMPDIR: process.env.TMPDIR ?? "/tmp",
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_CACHE_HOME: join(home, ".cache"),
    XDG_DATA_HOME: join(home, ".local", "share"),
    XDG_STATE_HOME: join(home, ".local", "state"),
  };
}

function prepareDirs(opts: { root?: string; cwd?: string }): { root: string; home: string; cwd: string } {
  const root = opts.root ?? tempDir("codepiper-provider-");
  const home = join(root, "home");
  mkdirSync(home, { recursive: true });
  const cwd = opts.cwd ?? join(root, "project");
  mkdirSync(cwd, { recursive: true });
  return { root, home, cwd: realpathSync(cwd) };
}

/** Claude Code: pre-seeded .claude.json (onboarding done, API key approved, project trusted). */
export function prepareClaudeEnv(opts: { baseUrl: string; root?: string; cwd?: string; apiKey?: string; extraEnv?: Record<string, string> }): ClaudeEnv {
  const { home, cwd } = prepareDirs(opts);
  const apiKey = opts.apiKey ?? FAKE_API_KEY;
  const claudeJson = join(home, ".claude.json");
  writeFileSync(
    claudeJson,
    JSON.stringify(
      {
        hasCompletedOnboarding: true,
        lastOnboardingVersion: "2.1.197",
        customApiKeyResponses: { approved: [apiKey.slice(-20)], rejected: [] },
        bypassPermissionsModeAccepted: false,
        autoUpdates: false,
        projects: { [cwd]: { hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true, allowedTools: [] } },
      },
      null,
      2,
    ),
  );
  mkdirSync(join(home, ".claude"), { recursive: true });
  const env: Record<string, string> = {
    ...baseEnv(home),
    ANTHROPIC_BASE_URL: opts.baseUrl,
    ANTHROPIC_API_KEY: apiKey,
    DISABLE_AUTOUPDATER: "1",
    DISABLE_TELEMETRY: "1",
    DISABLE_ERROR_REPORTING: "1",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    ...opts.extraEnv,
  };
  return { env, home, cwd, bin: CLAUDE_BIN, claudeJson, projectDir: join(home, ".claude", "projects", cwd.replace(/[^A-Za-z0-9]/g, "-")) };
}

/** Runs `codex login --with-api-key` with the key on stdin, in the isolated env. */
export function codexLogin(env: Record<string, string>, apiKey: string, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(CODEX_BIN, ["login", "--with-api-key"], { env, stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`codex login timed out: ${output}`));
    }, timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
    child.stdin.end(`${apiKey}\n`);
  });
}

function tomlString(s: string): string {
  return JSON.stringify(s);
}

/** Codex: CODEX_HOME with config.toml (fake provider, wire_api=responses, project trusted) and an API-key login. */
export async function prepareCodexEnv(opts: { baseUrl: string; root?: string; cwd?: string; apiKey?: string; model?: string; notify?: string[]; extraEnv?: Record<string, string> }): Promise<CodexEnv> {
  const { home, cwd } = prepareDirs(opts);
  const apiKey = opts.apiKey ?? FAKE_OPENAI_KEY;
  const codexHome = join(home, ".codex");
  mkdirSync(codexHome, { recursive: true });
  const configToml = join(codexHome, "config.toml");
  const lines = [
    `model = ${tomlString(opts.model ?? "fake-model")}`,
    `model_provider = "fake"`,
    `check_for_update_on_startup = false`,
    ...(opts.notify ? [`notify = [${opts.notify.map(tomlString).join(", ")}]`] : []),
    ``,
    `[model_providers.fake]`,
    `name = "fake"`,
    `base_url = ${tomlString(`${opts.baseUrl.replace(/\/$/, "")}/v1`)}`,
    `env_key = "OPENAI_API_KEY"`,
    `wire_api = "responses"`,
    `request_max_retries = 0`,
    `stream_max_retries = 0`,
    ``,
    `[analytics]`,
    `enabled = false`,
    ``,
    `[tui]`,
    `screen_reader_detection_done = true`,
    ``,
    `[projects.${tomlString(cwd)}]`,
    `trust_level = "trusted"`,
    ``,
  ];
  writeFileSync(configToml, lines.join("\n"));
  const env: Record<string, string> = {
    ...baseEnv(home),
    CODEX_HOME: codexHome,
    OPENAI_API_KEY: apiKey,
    ...opts.extraEnv,
  };
  const login = await codexLogin(env, apiKey);
  if (login.code !== 0) throw new Error(`codex login --with-api-key failed (${login.code}): ${login.output}`);
  return { env, home, cwd, bin: CODEX_BIN, codexHome, configToml, sessionsDir: join(codexHome, "sessions") };
}

export function providerBinariesInstalled(): { claude: boolean; codex: boolean } {
  return { claude: existsSync(CLAUDE_BIN), codex: existsSync(CODEX_BIN) };
}
