import { isAbsolute } from "node:path";
import { Option, type Command } from "commander";
import { AppError, PROVIDER_IDS, SESSION_LIMITS } from "@codepiper/core";
import { call } from "../client.js";
import { outputFor, withApi } from "../context.js";
import { table } from "../output.js";
import { parseDescription, parsePolicyName, parseRef } from "../policy-input.js";

/**
 * `codepiper workspace …`: named host + directory + session defaults (issue 5). `codepiper start
 * --workspace <w>` uses them; explicit flags on `start` win.
 */
const collect = (value: string, previous: string[]) => [...previous, value];

interface WorkspaceViewLike {
  id: string;
  name: string;
  description: string;
  host: string;
  path: string;
  provider: string | null;
  envSets: string[];
  policySet: string | null;
}

/** `--path`: a directory ON THE HOST, so it must be absolute (nothing here can resolve it). */
export function parseWorkspacePath(path: string): string {
  if (path.includes("\0")) throw new AppError("CODEPIPER_BAD_INPUT", "--path must not contain a NUL byte");
  if (!isAbsolute(path) || !path.startsWith("/")) {
    throw new AppError(
      "CODEPIPER_BAD_INPUT",
      `--path ${JSON.stringify(path.slice(0, 200))} is a relative path: the directory is on the host, so give an absolute path there (e.g. --path /home/me/project); relative paths and ~ are not resolved against this machine's current directory`,
    );
  }
  if (path.length > SESSION_LIMITS.pathMax) throw new AppError("CODEPIPER_BAD_INPUT", `--path is longer than ${SESSION_LIMITS.pathMax} characters`);
  return path;
}

function describeWorkspace(w: WorkspaceViewLike): string {
  return [
    `${w.name}  (${w.id})`,
    w.description ? `  ${w.description}` : null,
    `  host:       ${w.host}`,
    `  path:       ${w.path}`,
    `  provider:   ${w.provider ?? "(none: give -p on start)"}`,
    `  env sets:   ${w.envSets.join(", ") || "(none)"}`,
    `  policy set: ${w.policySet ?? "(none)"}`,
    `  start:      codepiper start --workspace ${w.name}`,
  ]
    .filter((l) => l !== null)
    .join("\n");
}

interface WorkspaceFlags {
  name?: string;
  host?: string;
  path?: string;
  /** false: `--no-provider` (update only). */
  provider?: (typeof PROVIDER_IDS)[number] | false;
  envSet: string[];
  /** `--no-env-sets` (update only). */
  envSets?: boolean;
  /** false: `--no-policy-set` (update only). */
  policySet?: string | false;
  description?: string;
  validate?: boolean;
}

export function registerWorkspaces(program: Command): void {
  const ws = program.command("workspace").alias("workspaces").description("named workspaces: a host, a directory on it, and defaults for sessions started there (codepiper start --workspace <w>)");

  ws.command("list", { isDefault: true })
    .description("list workspaces")
    .allowExcessArguments(true)
    .action(async (_opts: unknown, cmd: Command) => {
      if (cmd.args.length > 0) {
        const known = (cmd.parent?.commands ?? []).map((c) => c.name()).filter((n) => n !== "help").join(", ");
        throw new AppError("CODEPIPER_BAD_INPUT", `unknown command 'workspace ${cmd.args[0]}' (workspace commands: ${known})`);
      }
      const out = outputFor(cmd);
      const list = await withApi(cmd, (h) => call(h, (api) => api.workspaces.list.query()));
      out.result(list, () =>
        list.length === 0
          ? "No workspaces: codepiper workspace create --name <n> --host <h> --path /abs/dir"
          : table([
              ["NAME", "HOST", "PATH", "PROVIDER", "ENV SETS", "POLICY SET", "DESCRIPTION"],
              ...list.map((w) => [w.name, w.host, w.path, w.provider ?? "-", w.envSets.join(",") || "-", w.policySet ?? "-", w.description.split("\n")[0]!.slice(0, 50) || "-"]),
            ]),
      );
    });

  ws.command("get")
    .description("show one workspace")
    .argument("<workspace>", "workspace name or id")
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const w = await withApi(cmd, (h) => call(h, (api) => api.workspaces.get.query({ workspace: parseRef(ref, "workspace") })));
      out.result(w, () => describeWorkspace(w));
    });

  ws.command("create")
    .description("create a workspace (admin)")
    .requiredOption("--name <name>", "letters, digits, '.', '_' and '-'")
    .requiredOption("--host <host>", "host name or id")
    .requiredOption("--path <dir>", "directory ON THE HOST (absolute); checked when a session starts, or now with --validate")
    .addOption(new Option("--provider <provider>", "default provider for sessions").choices(PROVIDER_IDS))
    .option("--env-set <set>", "an env set sessions start with (name or id); repeatable, in order", collect, [])
    .option("--policy-set <set>", "a policy set sessions start with (name or id)")
    .option("--description <text>", "what it is for")
    .option("--validate", "ask the host now (it must be online) whether the directory exists and the provider is installed")
    .action(async (opts: WorkspaceFlags, cmd: Command) => {
      const out = outputFor(cmd);
      const input = {
        name: parsePolicyName(opts.name ?? ""),
        host: parseRef(opts.host ?? "", "--host"),
        path: parseWorkspacePath(opts.path ?? ""),
        provider: opts.provider || undefined,
        envSets: opts.envSet.map((s) => parseRef(s, "--env-set")),
        policySet: typeof opts.policySet === "string" ? parseRef(opts.policySet, "--policy-set") : undefined,
        description: opts.description === undefined ? undefined : parseDescription(opts.description),
        validate: Boolean(opts.validate),
      };
      const w = await withApi(cmd, (h) => call(h, (api) => api.workspaces.create.mutate(input)));
      out.result(w, () => `created workspace ${w.name} (${w.id}): ${w.host}:${w.path}${input.validate ? " (validated on the host)" : ""}\n  start a session there: codepiper start --workspace ${w.name}`);
    });

  ws.command("update")
    .description("change a workspace (admin); only the flags given change")
    .argument("<workspace>", "workspace name or id")
    .option("--name <name>", "rename it")
    .option("--host <host>", "host name or id")
    .option("--path <dir>", "directory ON THE HOST (absolute)")
    .addOption(new Option("--provider <provider>", "default provider").choices(PROVIDER_IDS))
    .option("--no-provider", "no default provider")
    .option("--env-set <set>", "replace the env sets with these (name or id); repeatable, in order", collect, [])
    .option("--no-env-sets", "no env sets")
    .option("--policy-set <set>", "policy set (name or id)")
    .option("--no-policy-set", "no policy set")
    .option("--description <text>", "what it is for")
    .option("--validate", "ask the host now (it must be online) whether the directory exists and the provider is installed")
    .action(async (ref: string, opts: WorkspaceFlags, cmd: Command) => {
      const out = outputFor(cmd);
      if (opts.envSets === false && opts.envSet.length > 0) throw new AppError("CODEPIPER_BAD_INPUT", "--env-set and --no-env-sets contradict each other");
      const input = {
        workspace: parseRef(ref, "workspace"),
        name: opts.name === undefined ? undefined : parsePolicyName(opts.name),
        host: opts.host === undefined ? undefined : parseRef(opts.host, "--host"),
        path: opts.path === undefined ? undefined : parseWorkspacePath(opts.path),
        provider: opts.provider === false ? null : opts.provider,
        envSets: opts.envSets === false ? [] : opts.envSet.length > 0 ? opts.envSet.map((s) => parseRef(s, "--env-set")) : undefined,
        policySet: opts.policySet === false ? null : opts.policySet === undefined ? undefined : parseRef(opts.policySet, "--policy-set"),
        description: opts.description === undefined ? undefined : parseDescription(opts.description),
      };
      if (Object.entries(input).every(([k, v]) => k === "workspace" || v === undefined)) {
        throw new AppError("CODEPIPER_BAD_INPUT", "nothing to change: give at least one of --name, --host, --path, --provider/--no-provider, --env-set/--no-env-sets, --policy-set/--no-policy-set, --description");
      }
      const w = await withApi(cmd, (h) => call(h, (api) => api.workspaces.update.mutate({ ...input, validate: Boolean(opts.validate) })));
      out.result(w, () => `updated workspace ${w.name}\n${describeWorkspace(w)}`);
    });

  ws.command("delete")
    .description("delete a workspace (admin); sessions started from it are not touched")
    .argument("<workspace>", "workspace name or id")
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const res = await withApi(cmd, (h) => call(h, (api) => api.workspaces.delete.mutate({ workspace: parseRef(ref, "workspace") })));
      out.result(res, () => `deleted workspace ${res.name} (${res.id})`);
    });
}
