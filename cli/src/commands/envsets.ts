import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { AppError } from "@codepiper/core";
import { call } from "../client.js";
import { outputFor, withApi } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { maskedLabel, parseDotenv, parseUnsetFlags, parseVarFlags, readDotenvFile } from "../envset-input.js";
import { table } from "../output.js";
import { parseDescription, parseRef } from "../policy-input.js";

const collect = (value: string, previous: string[]) => [...previous, value];
const SET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function parseSetName(name: string): string {
  const n = name.trim();
  if (n.length === 0 || n.length > 100 || !SET_NAME.test(n)) throw new AppError("CODEPIPER_BAD_INPUT", `--name ${JSON.stringify(n.slice(0, 100))}: use letters, digits, '.', '_' and '-', starting with a letter or digit (at most 100)`);
  return n;
}

interface EnvSetViewLike {
  id: string;
  name: string;
  description: string;
  names: string[];
  masked: Record<string, string>;
  keyVersion: number;
  error: string | null;
  updatedAt: string;
}

function describeEnvSet(s: EnvSetViewLike): string {
  return [
    `${s.name}  (${s.id})`,
    s.description ? `  ${s.description}` : null,
    `  key version ${s.keyVersion}, updated ${s.updatedAt}`,
    s.error ? `  ${s.error}` : null,
    s.names.length === 0 ? "  (no variables)" : table(s.names.map((n) => [`  ${n}`, maskedLabel(s.masked, n)])),
  ]
    .filter((l) => l !== null)
    .join("\n");
}

/** Variables from `--from-dotenv` files then `--var` flags (later wins). */
function varsFrom(opts: { var: string[]; fromDotenv: string[] }, environment: NodeJS.ProcessEnv): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const file of opts.fromDotenv) Object.assign(vars, file === "-" ? parseDotenv(readStdinSync(), "standard input") : readDotenvFile(file));
  Object.assign(vars, parseVarFlags(opts.var, environment));
  return vars;
}

function readStdinSync(): string {
  return readFileSync(0, "utf8");
}

const VALUES_HELP = `
Values never appear in output: list/get show names and masked values (****last4 for values of 12
characters or more, **** otherwise). To keep a secret out of argv and shell history, use --var NAME
(the value is taken from your environment) or --from-dotenv <file> (KEY=VALUE lines, "export "
prefix, '#' comments, 'literal' or "escaped\\n" quoting; - reads standard input).`;

interface VarFlags {
  var: string[];
  fromDotenv: string[];
  unset?: string[];
  description?: string;
  name?: string;
  replace?: boolean;
}

export function registerEnvSets(program: Command, environment: NodeJS.ProcessEnv = process.env): void {
  const envSet = program.command("env-set").description("named, encrypted sets of environment variables for sessions (codepiper start --env-set <name>)");

  envSet
    .command("list", { isDefault: true })
    .description("list env sets: variable names and masked values")
    .allowExcessArguments(true)
    .action(async (_opts: unknown, cmd: Command) => {
      if (cmd.args.length > 0) throw new AppError("CODEPIPER_BAD_INPUT", `unknown command 'env-set ${cmd.args[0]}' (env-set commands: list, get, create, update, delete)`);
      const out = outputFor(cmd);
      const sets = await withApi(cmd, (h) => call(h, (api) => api.envSets.list.query()));
      out.result(sets, () =>
        sets.length === 0
          ? "No env sets: codepiper env-set create --name <n> --var NAME=value"
          : table([["NAME", "VARIABLES", "KEY", "DESCRIPTION"], ...sets.map((s) => [s.name, s.error ? `${s.names.join(",") || "-"} (cannot decrypt)` : s.names.map((n) => `${n}=${maskedLabel(s.masked, n)}`).join(" ") || "-", `v${s.keyVersion}`, s.description.split("\n")[0]!.slice(0, 50) || "-"])]),
      );
    });

  envSet
    .command("get")
    .description("show one env set: variable names and masked values")
    .argument("<set>", "env set name or id")
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const s = await withApi(cmd, (h) => call(h, (api) => api.envSets.get.query({ envSet: parseRef(ref, "env set") })));
      out.result(s, () => describeEnvSet(s));
    });

  envSet
    .command("create")
    .description("create an env set (admin)")
    .requiredOption("--name <name>", "letters, digits, '.', '_' and '-'")
    .option("--description <text>", "what it is for")
    .option("--var <K=V|K>", "a variable, repeatable; a bare K takes its value from your environment", collect, [])
    .option("--from-dotenv <file>", "read variables from a dotenv file (- for standard input); repeatable, --var wins", collect, [])
    .addHelpText("after", VALUES_HELP)
    .action(async (opts: VarFlags, cmd: Command) => {
      const out = outputFor(cmd);
      const input = { name: parseSetName(opts.name ?? ""), description: opts.description === undefined ? undefined : parseDescription(opts.description), vars: varsFrom(opts, environment) };
      const s = await withApi(cmd, (h) => call(h, (api) => api.envSets.create.mutate(input)));
      out.result(s, () => `created env set ${s.name} (${s.id}): ${s.names.length} variable${s.names.length === 1 ? "" : "s"}${s.names.length ? ` (${s.names.join(", ")})` : ""}`);
    });

  envSet
    .command("update")
    .description("change an env set (admin): set or unset some variables, or --replace them all")
    .argument("<set>", "env set name or id")
    .option("--name <name>", "rename it")
    .option("--description <text>", "new description")
    .option("--var <K=V|K>", "set a variable, repeatable; a bare K takes its value from your environment", collect, [])
    .option("--from-dotenv <file>", "set variables from a dotenv file (- for standard input); repeatable", collect, [])
    .option("--unset <K>", "remove a variable, repeatable", collect, [])
    .option("--replace", "replace every variable with the given ones (instead of merging)")
    .addHelpText("after", VALUES_HELP)
    .action(async (ref: string, opts: VarFlags, cmd: Command) => {
      const out = outputFor(cmd);
      const vars = varsFrom(opts, environment);
      const unset = parseUnsetFlags(opts.unset ?? []);
      if (opts.replace && unset.length > 0) throw new AppError("CODEPIPER_BAD_INPUT", "--replace and --unset do not go together (--replace keeps only the variables given)");
      const changesVars = opts.var.length > 0 || opts.fromDotenv.length > 0 || unset.length > 0 || Boolean(opts.replace);
      if (!changesVars && opts.name === undefined && opts.description === undefined) throw new AppError("CODEPIPER_BAD_INPUT", "nothing to change: give --var, --from-dotenv, --unset, --name or --description");
      const input = {
        envSet: parseRef(ref, "env set"),
        name: opts.name === undefined ? undefined : parseSetName(opts.name),
        description: opts.description === undefined ? undefined : parseDescription(opts.description),
        ...(opts.replace ? { vars } : changesVars ? { set: vars, unset } : {}),
      };
      const s = await withApi(cmd, (h) => call(h, (api) => api.envSets.update.mutate(input)));
      out.result(s, () => `updated env set ${s.name}: ${s.names.length} variable${s.names.length === 1 ? "" : "s"}${s.names.length ? ` (${s.names.join(", ")})` : ""}`);
    });

  envSet
    .command("delete")
    .description("delete an env set (admin); running sessions keep their environment")
    .argument("<set>", "env set name or id")
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const res = await withApi(cmd, (h) => call(h, (api) => api.envSets.delete.mutate({ envSet: parseRef(ref, "env set") })));
      out.result(res, () => `deleted env set ${res.name} (${res.id})`);
    });
}

/**
 * `codepiper keys rotate` / `codepiper keys status`: master key commands. They share the `keys`
 * command with `codepiper keys <session> <key…>` (pressing keys in a session), which dispatches
 * here when its only argument is exactly `rotate` or `status`; so a session named rotate or
 * status is addressed by its id there.
 */
export const MASTER_KEY_COMMANDS = ["rotate", "status"] as const;

export async function runMasterKeyCommand(sub: (typeof MASTER_KEY_COMMANDS)[number], cmd: Command): Promise<void> {
  const out = outputFor(cmd);
  if (sub === "status") {
    const s = await withApi(cmd, (h) => call(h, (api) => api.keys.status.query()));
    const rows = (counts: Record<string, number>) => Object.entries(counts).map(([v, n]) => `v${v}: ${n}`).join(", ") || "none";
    out.result(s, () => [`master key: current version ${s.currentVersion} (versions available: ${s.versions.join(", ")})`, `env sets by key version: ${rows(s.envSets)}`, `TOTP secrets by key version: ${rows(s.totpSecrets)}`].join("\n"));
    return;
  }
  const r = await withApi(cmd, (h) => call(h, (api) => api.keys.rotate.mutate()));
  out.result(r, () =>
    [
      r.rotated ? `rotated the master key: version ${r.previousVersion} → ${r.currentVersion}` : `master key version ${r.currentVersion} (from CODEPIPER_MASTER_KEY): re-wrapped what was on older versions`,
      `env sets: ${r.envSets.rewrapped} re-wrapped, ${r.envSets.alreadyCurrent} already current, ${r.envSets.failed} failed`,
      `TOTP secrets: ${r.totpSecrets.rewrapped} re-wrapped, ${r.totpSecrets.alreadyCurrent} already current, ${r.totpSecrets.failed} failed`,
      ...[...r.envSets.failures, ...r.totpSecrets.failures].map((f) => `  ${f}`),
    ].join("\n"),
  );
  if (r.envSets.failed + r.totpSecrets.failed > 0) process.exitCode = EXIT.failure;
}
