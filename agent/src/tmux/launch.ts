import { AppError } from "@codepiper/core";

/**
 * How a session's command is started without its environment ever appearing in argv (DESIGN.md §3:
 * secrets never appear in argv).
 *
 * Options considered:
 * - `new-session -e K=V`: the value sits in the argv of the short-lived tmux client, readable by
 *   any local user through `ps` / /proc/<pid>/cmdline for as long as the client runs. Rejected.
 * - `set-environment` before `new-session`: same exposure (it is argv too), only split in two.
 * - Passing the values in the tmux client's own environment: the server copies only
 *   `update-environment` names, and only into the session environment, where `show-environment`
 *   would print them to anyone on the socket. Rejected.
 * - Chosen: the driver writes the variables to a file created 0600 (`wx`, in the 0700 state dir);
 *   the pane runs `/bin/sh -c <wrapper> <file> <argv…>`; the wrapper opens the file on fd 3,
 *   unlinks it at once, sources it from the open fd, closes it and execs the command. Only the file
 *   *path* is in argv; the file lives for milliseconds and only the agent's user can read it (the
 *   same user can read the process's environment anyway). If new-session fails the driver removes it.
 */

/** Opens, unlinks, then sources: the file is gone before a single value is read into the shell. */
const WRAPPER = 'exec 3<"$0" && rm -f -- "$0" && . /dev/fd/3 && exec 3<&- && exec "$@"';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `export K='v'` lines; single quotes make every byte literal to sh except `'` itself. */
export function envFileContents(env: Readonly<Record<string, string>>): string {
  let out = "";
  for (const [key, value] of Object.entries(env)) {
    if (!ENV_NAME.test(key)) throw new AppError("CODEPIPER_BAD_INPUT", `invalid environment variable name: ${JSON.stringify(key.slice(0, 80))}`);
    // NUL cannot be in an environment value; reject rather than silently truncate. Never echo the value.
    if (value.includes("\0")) throw new AppError("CODEPIPER_BAD_INPUT", `environment variable ${key} contains a NUL byte`);
    out += `export ${key}='${value.replaceAll("'", "'\\''")}'\n`;
  }
  return out;
}

/** The pane's argv: tmux ≥ 3.0 execs a multi-argument command directly, with no shell re-parsing it. */
export function launchArgv(envFile: string, command: readonly string[]): string[] {
  return ["/bin/sh", "-c", WRAPPER, envFile, ...command];
}

/**
 * tmux's command-line parser treats an argument that *ends* in `;` as a command separator (the `;`
 * is cut off and a new command begins), and turns a trailing `\;` into `;`. Every other byte of an
 * argument is passed through untouched. So an argument ending in `;` gets a backslash before that
 * last `;`, which tmux removes again: the command receives exactly the original string.
 */
export function tmuxArg(arg: string): string {
  return arg.endsWith(";") ? `${arg.slice(0, -1)}\\;` : arg;
}

/** Splits on code-point boundaries so a chunk never ends in half a surrogate pair (tmux would type U+FFFD). */
export function chunkText(text: string, max: number): string[] {
  const chunks: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + max, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks;
}
