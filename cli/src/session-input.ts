import { isAbsolute } from "node:path";
import { AppError, branchNameSchema, SESSION_LIMITS, sessionNameSchema } from "@codepiper/core";
import { KEY_NAMES, parseKeys } from "@codepiper/agent/tmux/keys";

/**
 * Pure checks of what a user typed for the session commands (`start`, `send`, `keys`, `slash`…),
 * done before anything leaves the machine. The control plane and the agent check again; these
 * exist so a typo fails fast with a message that names the flag.
 */

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MODEL = /^[A-Za-z0-9._:[\]-]+$/;
const SLASH = /^\/?[A-Za-z][A-Za-z0-9:_-]{0,63}$/;

function bad(message: string): AppError {
  return new AppError("CODEPIPER_BAD_INPUT", message);
}

function firstIssue(result: { success: boolean; error?: { issues: readonly { message: string }[] } }): string {
  return result.error?.issues[0]?.message ?? "invalid";
}

/**
 * `--env K=V` and `--env K` (value taken from this process's environment, so a secret need not be
 * in argv or shell history). Later flags win. An unset `K` is an error, never an empty value.
 */
export function parseEnvFlags(flags: readonly string[], environment: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    const name = eq < 0 ? flag : flag.slice(0, eq);
    if (!ENV_NAME.test(name)) throw bad(`--env ${JSON.stringify(flag.length > 60 ? `${flag.slice(0, 60)}…` : flag)}: ${JSON.stringify(name.slice(0, 60))} is not a valid variable name (letters, digits and _, not starting with a digit); use --env NAME=value or --env NAME`);
    let value: string;
    if (eq < 0) {
      const local = environment[name];
      if (local === undefined) throw bad(`--env ${name}: ${name} is not set in this shell's environment (export it first, or use --env ${name}=value)`);
      value = local;
    } else value = flag.slice(eq + 1);
    if (Buffer.byteLength(value) > 64 * 1024) throw bad(`--env ${name}: the value is over 64 KiB`);
    env[name] = value;
  }
  return env;
}

/**
 * `-d`: the directory is on the HOST, so a relative path (or `~`) cannot be resolved here — the
 * local working directory has nothing to do with the host's file system.
 */
export function parseHostDir(dir: string): string {
  if (dir.includes("\0")) throw bad("-d must not contain a NUL byte");
  if (!isAbsolute(dir)) {
    throw bad(
      `-d ${JSON.stringify(dir.slice(0, 200))} is a relative path: the directory is on the host, so give an absolute path there (e.g. -d /home/me/project); relative paths and ~ are not resolved against this machine's current directory`,
    );
  }
  if (dir.length > SESSION_LIMITS.pathMax) throw bad(`-d is longer than ${SESSION_LIMITS.pathMax} characters`);
  return dir;
}

/** `--worktree --create-branch <b>`: both or neither, and a branch name git and we accept. */
export function parseWorktree(worktree: boolean | undefined, branch: string | undefined): { branch: string } | undefined {
  if (worktree && branch === undefined) throw bad("--worktree needs --create-branch <branch>: the worktree is made on a new branch");
  if (!worktree && branch !== undefined) throw bad("--create-branch only makes sense with --worktree");
  if (branch === undefined) return undefined;
  const parsed = branchNameSchema.safeParse(branch);
  if (!parsed.success) throw bad(`--create-branch: ${firstIssue(parsed)}`);
  return { branch };
}

export function parseSessionName(name: string, flag = "--name"): string {
  const parsed = sessionNameSchema.safeParse(name);
  if (!parsed.success) throw bad(`${flag} ${JSON.stringify(name.slice(0, 100))}: ${firstIssue(parsed)}`);
  return name;
}

export function parseModel(model: string, flag = "model"): string {
  if (model.length === 0 || model.length > 200 || !MODEL.test(model)) {
    throw bad(`${flag} ${JSON.stringify(model.slice(0, 100))}: expected a model alias (sonnet, opus, haiku, opusplan) or a full model id (letters, digits and . _ : - [ ])`);
  }
  return model;
}

/** Text for `send`: at most SESSION_LIMITS.textBytes (1 MiB) of UTF-8. */
export function checkTextSize(text: string): string {
  const bytes = Buffer.byteLength(text);
  if (bytes > SESSION_LIMITS.textBytes) {
    throw new AppError("CODEPIPER_PAYLOAD_TOO_LARGE", `text is ${bytes} bytes, over the ${SESSION_LIMITS.textBytes}-byte (1 MiB) limit of codepiper send: split it or put it in a file on the host`);
  }
  return text;
}

/** Key names for `keys`: all known (the agent's closed table), at most SESSION_LIMITS.keysPerCall. Returns them normalized. */
export function checkKeyNames(names: readonly string[]): string[] {
  if (names.length > SESSION_LIMITS.keysPerCall) throw bad(`${names.length} keys in one call: at most ${SESSION_LIMITS.keysPerCall}`);
  parseKeys(names);
  return names.map((n) => n.trim().toLowerCase());
}

export const KEY_NAMES_HELP = KEY_NAMES.join(", ");

export function parseSlash(command: string, args: readonly string[]): { command: string; args: string } {
  if (!SLASH.test(command)) throw bad(`slash command ${JSON.stringify(command.slice(0, 60))}: expected a name like model, compact or clear (letters, digits, : _ -)`);
  const joined = args.join(" ");
  if (/[\r\n]/.test(joined)) throw bad("slash command arguments must be one line");
  if (joined.length > 4096) throw bad("slash command arguments are over 4096 characters");
  return { command: command.replace(/^\//, ""), args: joined };
}

/** A terminal dimension for `resize` / `--cols` / `--rows`. */
export function parseDimension(value: string, what: string, min: number, max = 1000): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) throw bad(`${what} ${JSON.stringify(value)}: expected a whole number from ${min} to ${max}`);
  return n;
}

/** Reads `send -` text from stdin: everything, minus one trailing newline, stopping as soon as it is over the limit. */
export async function readStdinText(stream: AsyncIterable<unknown> = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    // One byte of slack for the trailing newline we strip.
    if (size > SESSION_LIMITS.textBytes + 2) {
      throw new AppError("CODEPIPER_PAYLOAD_TOO_LARGE", `text on standard input is over the ${SESSION_LIMITS.textBytes}-byte (1 MiB) limit of codepiper send: split it or put it in a file on the host`);
    }
    chunks.push(buf);
  }
  return checkTextSize(Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, ""));
}
