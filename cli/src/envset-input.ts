import { readFileSync, statSync } from "node:fs";
import { AppError, ENV_VAR_NAME as ENV_NAME, envValueProblem, parseDotenv as parseDotenvText, showEnvName as showName } from "@codepiper/core";

/**
 * What a user typed for `codepiper env-set …`, checked before anything leaves the machine. Values
 * are secrets: no message here ever contains one (names and line numbers only).
 */
const DOTENV_MAX = 1024 * 1024;

function bad(message: string): AppError {
  return new AppError("CODEPIPER_BAD_INPUT", message);
}

function checkValue(name: string, value: string, where: string): string {
  const problem = envValueProblem(name, value);
  if (problem) throw bad(`${where}${problem}`);
  return value;
}

/**
 * `--var K=V` and `--var K` (the value comes from this process's environment, so a secret need
 * not appear in argv or shell history). Later flags win.
 */
export function parseVarFlags(flags: readonly string[], environment: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    const name = eq < 0 ? flag : flag.slice(0, eq);
    // The flag itself may hold a value (K=V with a bad K): only the name part is shown.
    if (!ENV_NAME.test(name)) throw bad(`--var: ${showName(name)} is not a valid variable name (letters, digits and _, not starting with a digit); use --var NAME=value or --var NAME`);
    let value: string;
    if (eq < 0) {
      const local = environment[name];
      if (local === undefined) throw bad(`--var ${name}: ${name} is not set in this shell's environment (export it first, or use --var ${name}=value)`);
      value = local;
    } else value = flag.slice(eq + 1);
    vars[name] = checkValue(name, value, "--var ");
  }
  return vars;
}

/** `--unset K` names. */
export function parseUnsetFlags(flags: readonly string[]): string[] {
  for (const name of flags) if (!ENV_NAME.test(name)) throw bad(`--unset: ${showName(name)} is not a valid variable name`);
  return [...new Set(flags)];
}

/** A dotenv file (format: core's parseDotenv); the first bad line is the error, named by line, never by value. */
export function parseDotenv(text: string, source = "dotenv file"): Record<string, string> {
  const { vars, problems } = parseDotenvText(text);
  const first = problems[0];
  if (first) throw bad(`${source}, line ${first.line}: ${first.message}`);
  return Object.fromEntries(vars.map((v) => [v.name, v.value]));
}

export function readDotenvFile(path: string): Record<string, string> {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw bad(`--from-dotenv ${JSON.stringify(path)}: no such file`);
  }
  if (size > DOTENV_MAX) throw bad(`--from-dotenv ${JSON.stringify(path)}: the file is over 1 MiB`);
  return parseDotenv(readFileSync(path, "utf8"), path);
}

/** The masked value as the server shows it (`****last4`, or `****` for short values). */
export function maskedLabel(masked: Record<string, string>, name: string): string {
  return masked[name] ?? "(cannot decrypt)";
}
