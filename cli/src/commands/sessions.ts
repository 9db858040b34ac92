import { Option, type Command } from "commander";
import { AppError, BILLING_MODES, PROVIDER_IDS, SESSION_STATES, sessionStartInputSchema, type SessionView, type ValidateCheck, type ValidateResult } from "@codepiper/core";
import { call } from "../client.js";
import { outputFor, withApi } from "../context.js";
import { exitCodeOf } from "../exit-codes.js";
import { printError, table } from "../output.js";
import { parseIntArg } from "../parse.js";
import { parseRef } from "../policy-input.js";
import { parseDimension, parseEnvFlags, parseHostDir, parseModel, parseSessionName, parseWorktree } from "../session-input.js";

export function shortId(id: string): string {
  return id.slice(0, 8);
}

function compact(n: number): string {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  if (n >= 10_000) return `${Math.round(n / 1000)}k`;
  return String(n);
}

export function age(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

function label(s: SessionView): string {
  return `${shortId(s.id)}${s.name ? ` (${s.name})` : ""}`;
}

const collect = (value: string, previous: string[]) => [...previous, value];

interface StartOptions {
  /** Optional with --workspace (it gives the default); required otherwise. */
  provider?: (typeof PROVIDER_IDS)[number];
  dir?: string;
  workspace?: string;
  host?: string;
  billing: (typeof BILLING_MODES)[number];
  dangerous?: boolean;
  env: string[];
  worktree?: boolean;
  createBranch?: string;
  name?: string;
  model?: string;
  cols?: string;
  rows?: string;
  validate?: boolean;
  policySet?: string[];
  envSet?: string[];
}

/** Builds the `sessions.start` input from the flags, failing on anything the server would reject. */
export function startInput(opts: StartOptions, providerArgs: string[], environment: NodeJS.ProcessEnv = process.env) {
  // Without a workspace, -p and -d are required (checked here, not by commander, since a workspace supplies them).
  if (opts.workspace === undefined && opts.provider === undefined) throw new AppError("CODEPIPER_BAD_INPUT", `required option '-p, --provider <provider>' not specified (${PROVIDER_IDS.join(" or ")}; or --workspace <w>)`);
  if (opts.workspace === undefined && opts.dir === undefined) throw new AppError("CODEPIPER_BAD_INPUT", "required option '-d, --dir <dir>' not specified (an absolute directory on the host; or --workspace <w>)");
  const input = {
    provider: opts.provider,
    host: opts.host,
    cwd: opts.dir === undefined ? undefined : parseHostDir(opts.dir),
    workspace: opts.workspace === undefined ? undefined : parseRef(opts.workspace, "--workspace"),
    name: opts.name === undefined ? undefined : parseSessionName(opts.name),
    billing: opts.billing,
    dangerous: Boolean(opts.dangerous),
    env: parseEnvFlags(opts.env, environment),
    worktree: parseWorktree(opts.worktree, opts.createBranch),
    model: opts.model === undefined ? undefined : parseModel(opts.model, "--model"),
    args: providerArgs,
    cols: opts.cols === undefined ? undefined : parseDimension(opts.cols, "--cols", 20),
    rows: opts.rows === undefined ? undefined : parseDimension(opts.rows, "--rows", 5),
    validateOnly: Boolean(opts.validate),
    policySets: (opts.policySet ?? []).map((s) => parseRef(s, "--policy-set")),
    envSets: (opts.envSet ?? []).map((s) => parseRef(s, "--env-set")),
  };
  const parsed = sessionStartInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError("CODEPIPER_BAD_INPUT", `${issue?.path.join(".") || "input"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

const CHECK_LABELS: Record<ValidateCheck["id"], string> = {
  workspace: "workspace",
  host: "host",
  provider: "provider",
  name: "name",
  directory: "directory",
  worktree: "worktree",
  policySets: "policy sets",
  envSets: "env sets",
};

/** `start --validate`: one line per check (✓ passed, ✗ failed or not checked), then the verdict. */
export function validationText(v: ValidateResult): string {
  const width = Math.max(...v.checks.map((c) => CHECK_LABELS[c.id].length), 0);
  const failed = v.checks.filter((c) => !c.ok).length;
  return [
    ...v.checks.map((c) => `${c.ok ? "✓" : "✗"} ${CHECK_LABELS[c.id].padEnd(width)}  ${c.detail}`),
    v.ok ? "every check passed; nothing was created (--validate)" : `${failed} of ${v.checks.length} checks failed; nothing was created (--validate)`,
  ].join("\n");
}

/** The provider arguments must come after `--`: a stray word before it is a typo, not an argument. */
function providerArgsOf(cmd: Command, args: string[]): string[] {
  if (args.length === 0) return args;
  let root = cmd;
  while (root.parent) root = root.parent;
  const raw = (root as Command & { rawArgs: string[] }).rawArgs;
  const dashdash = raw.indexOf("--");
  const after = dashdash < 0 ? [] : raw.slice(dashdash + 1);
  const stray = args.slice(0, args.length - after.length);
  if (stray.length > 0) throw new AppError("CODEPIPER_BAD_INPUT", `unexpected argument ${JSON.stringify(stray[0])}: arguments for the provider CLI go after -- (e.g. codepiper start -p codex -d /src -- --search)`);
  return after;
}

export function registerSessions(program: Command): void {
  program
    .command("start")
    .description("start a Claude Code or Codex session on a host; prints its id (details on stderr)")
    .addOption(new Option("-p, --provider <provider>", "which agent CLI (required unless --workspace gives one)").choices(PROVIDER_IDS))
    .option("-d, --dir <dir>", "working directory ON THE HOST (absolute: it is not resolved against your local directory); required unless --workspace")
    .option("--workspace <w>", "a workspace (name or id): its host, directory, provider, env sets and policy set; explicit flags win")
    .option("--host <host>", "host name or id (default: the only online host)")
    .addOption(new Option("--billing <mode>", "subscription login or API key billing").choices(BILLING_MODES).default("subscription"))
    .option("--dangerous", "skip the provider's permission prompts (bypass/yolo mode)")
    .option("--env <K=V|K>", "extra environment variable, repeatable; a bare K takes its value from your environment (keeps secrets out of argv)", collect, [])
    .option("--worktree", "run in a new git worktree next to the repository (needs --create-branch)")
    .option("--create-branch <branch>", "branch to create for the worktree")
    .option("--name <name>", "a name to use instead of the id")
    .option("--model <model>", "sonnet, opus, haiku, opusplan or a full model id")
    .option("--cols <n>", "terminal columns (default 200)")
    .option("--rows <n>", "terminal rows (default 50)")
    .option("--env-set <set>", "an env set (name or id) whose variables the session gets; repeatable, later sets and --env win", collect, [])
    .option("--policy-set <set>", "a policy set to start with (name or id); repeatable; default: the default set", collect, [])
    .option("--validate", "check everything (host online, provider installed, name, directory, worktree branch, env sets, policy sets), print every check and create nothing; exits with the code of the first failed check")
    .argument("[providerArgs...]", "after --: extra arguments for the provider CLI")
    .addHelpText("after", "\nExamples:\n  id=$(codepiper start -p claude-code -d /home/me/app --env ANTHROPIC_API_KEY --billing api)\n  codepiper start -p codex -d /src/repo --worktree --create-branch fix-123 -- --search")
    .action(async (args: string[], opts: StartOptions, cmd: Command) => {
      const out = outputFor(cmd);
      const input = startInput(opts, providerArgsOf(cmd, args));
      const res = await withApi(cmd, (h) => call(h, (api) => api.sessions.start.mutate(input)));
      if (input.validateOnly || !res.session) {
        const v = res.validation;
        out.result(res, () => validationText(v));
        if (!v.ok) {
          // Exit (and report) with the first problem: the error a real start would fail with.
          const first = v.checks.find((c) => !c.ok && !c.skipped) ?? v.checks.find((c) => !c.ok);
          const err = new AppError(first?.code ?? "CODEPIPER_INTERNAL", `validation failed: ${first ? `${first.id}: ${first.detail}` : "the host did not say why"}`);
          printError(err, out.json);
          process.exitCode = exitCodeOf(err.code);
        }
        return;
      }
      const s = res.session;
      if (out.json) {
        out.result(s, () => "");
        return;
      }
      process.stdout.write(`${s.id}\n`);
      process.stderr.write(
        `started ${s.provider} session ${label(s)} on ${s.hostName} in ${s.cwd}${s.worktree ? ` (worktree, branch ${s.worktree.branch})` : ""}: ${s.status}\n` +
          `  attach: codepiper attach ${shortId(s.id)}   (detach: ctrl+])\n`,
      );
    });

  program
    .command("sessions")
    .description("list sessions, newest first")
    .option("--host <host>", "only this host")
    .addOption(new Option("--status <status>", "only this status").choices(SESSION_STATES))
    .addOption(new Option("--provider <provider>", "only this provider").choices(PROVIDER_IDS))
    .option("--limit <n>", "at most this many", "500")
    .action(async (opts: { host?: string; status?: (typeof SESSION_STATES)[number]; provider?: (typeof PROVIDER_IDS)[number]; limit: string }, cmd: Command) => {
      const out = outputFor(cmd);
      const limit = parseIntArg(opts.limit, "--limit", 1);
      const list = await withApi(cmd, (h) => call(h, (api) => api.sessions.list.query({ host: opts.host, status: opts.status, provider: opts.provider, limit })));
      out.result(list, () =>
        list.length === 0
          ? "No sessions: codepiper start -p claude-code -d /abs/dir"
          : table([
              ["ID", "NAME", "HOST", "PROVIDER", "STATUS", "MODEL", "TOKENS IN/OUT", "AGE", "CWD"],
              ...list.map((s) => [shortId(s.id), s.name ?? "-", s.hostName, s.provider, s.status, s.model ?? "-", `${compact(s.usage.inputTokens)}/${compact(s.usage.outputTokens)}`, age(s.createdAt), s.cwd]),
            ]),
      );
    });

  for (const [verb, past, about] of [
    ["stop", "stopped", "ask the provider to exit cleanly (Ctrl-C, then its quit command)"],
    ["kill", "killed", "kill the session's tmux session at once (and remove its worktree)"],
    ["resume", "resumed", "start a stopped or crashed session again, continuing its conversation"],
  ] as const) {
    program
      .command(verb)
      .description(`${about}; queued if the host is offline`)
      .argument("<session>", "session id, unique id prefix, or name")
      .action(async (session: string, _opts: unknown, cmd: Command) => {
        const out = outputFor(cmd);
        const res = await withApi(cmd, (h) => call(h, (api) => api.sessions[verb].mutate({ session })));
        out.result(res, () =>
          res.queued
            ? `${verb} of session ${label(res.session)} queued as command ${res.commandId}: host ${res.session.hostName} is not answering (offline?); it will happen when the host returns`
            : `${past} session ${label(res.session)} on ${res.session.hostName} (status: ${res.session.status})`,
        );
      });
  }

  program
    .command("model")
    .description("show the session's model, or switch it (sonnet, opus, haiku, opusplan or a full model id)")
    .argument("<session>", "session id, unique id prefix, or name")
    .argument("[model]", "the model to switch to")
    .action(async (session: string, model: string | undefined, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      if (model !== undefined) parseModel(model);
      const res = await withApi(cmd, (h) => call(h, (api) => api.sessions.model.mutate({ session, model })));
      out.result(res, () => {
        if (model === undefined) return res.model ?? "(provider default)";
        if (res.queued) return `switch of session ${shortId(res.sessionId)} to ${model} queued: the host is not answering (offline?); it will happen when the host returns`;
        return `session ${shortId(res.sessionId)} now uses ${res.model}`;
      });
    });

  program
    .command("rename")
    .description("give a session a (new) name")
    .argument("<session>", "session id, unique id prefix, or name")
    .argument("<name>", "letters, digits, '.', '_' and '-'")
    .action(async (session: string, name: string, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      parseSessionName(name, "name");
      const view = await withApi(cmd, (h) => call(h, (api) => api.sessions.rename.mutate({ session, name })));
      out.result(view, () => `renamed ${shortId(view.id)} to ${view.name}`);
    });
}
