import { readFileSync, statSync } from "node:fs";
import { AppError } from "@codepiper/core";

/**
 * What a user typed for `codepiper env-set …`, checked before anything leaves the machine. Values
 * are secrets: no message here ever contains one (names and line numbers only).
 */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VALUE_MAX = 64 * 1024;
const DOTENV_MAX = 1024 * 1024;

function bad(message: string): AppError {
  return new AppError("CODEPIPER_BAD_INPUT", message);
}

function showName(name: string): string {
  return JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name);
}

function checkValue(name: string, value: string, where: string): string {
  if (Buffer.byteLength(value) > VALUE_MAX) throw bad(`${where}${name}: the value is over 64 KiB`);
  if (value.includes("\0")) throw bad(`${where}${name}: the value contains a NUL byte`);
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

/**
 * A dotenv file: `KEY=VALUE` lines, an optional `export ` prefix, `#` comments and blank lines.
 * Values: unquoted (trimmed; ` #…` starts a comment), 'single-quoted' (literal), or
 * "double-quoted" (\n \r \t \" \\ escapes; may span lines). Errors name the line, never the value.
 */
export function parseDotenv(text: string, source = "dotenv file"): Record<string, string> {
  const vars: Record<string, string> = {};
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const m = /^\s*(?:export\s+)?([^=\s]+)\s*=\s?(.*)$/.exec(line);
    if (!m) throw bad(`${source}, line ${lineNo}: expected NAME=value`);
    const name = m[1]!;
    if (!ENV_NAME.test(name)) throw bad(`${source}, line ${lineNo}: ${showName(name)} is not a valid variable name (letters, digits and _, not starting with a digit)`);
    let rest = m[2]!.replace(/^\s+/, "");
    let value: string;
    if (rest.startsWith("'")) {
      const end = rest.indexOf("'", 1);
      if (end < 0) throw bad(`${source}, line ${lineNo}: ${name}: unterminated single quote`);
      value = rest.slice(1, end);
      checkTrailing(rest.slice(end + 1), source, lineNo, name);
    } else if (rest.startsWith('"')) {
      let out = "";
      let j = 1;
      const startLine = lineNo;
      for (;;) {
        if (j >= rest.length) {
          // The value continues on the next line.
          if (i + 1 >= lines.length) throw bad(`${source}, line ${startLine}: ${name}: unterminated double quote`);
          i++;
          out += "\n";
          rest = lines[i]!;
          j = 0;
          continue;
        }
        const c = rest[j]!;
        if (c === "\\" && j + 1 < rest.length) {
          const n = rest[j + 1]!;
          out += n === "n" ? "\n" : n === "r" ? "\r" : n === "t" ? "\t" : n === '"' ? '"' : n === "\\" ? "\\" : `\\${n}`;
          j += 2;
          continue;
        }
        if (c === '"') break;
        out += c;
        j++;
      }
      value = out;
      checkTrailing(rest.slice(j + 1), source, i + 1, name);
    } else {
      const hash = rest.search(/\s#/);
      value = (hash < 0 ? rest : rest.slice(0, hash)).trim();
    }
    vars[name] = checkValue(name, value, `${source}, line ${lineNo}: `);
  }
  return vars;
}

function checkTrailing(after: string, source: string, lineNo: number, name: string): void {
  const t = after.trim();
  if (t !== "" && !t.startsWith("#")) throw bad(`${source}, line ${lineNo}: ${name}: unexpected text after the closing quote`);
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
