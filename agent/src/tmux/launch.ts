import { AppError } from "@codepiper/core";
import { ENV_FETCH_FAILED, type EnvTicket } from "./envsocket.js";

/**
 * How a session's command is started without its environment ever appearing in argv or on disk
 * (DESIGN.md §3: secrets never appear in argv; env values are never written to the host's disk in
 * plaintext).
 *
 * Options considered:
 * - `new-session -e K=V`: the value sits in the argv of the short-lived tmux client, readable by
 *   any local user through `ps` / /proc/<pid>/cmdline for as long as the client runs. Rejected.
 * - `set-environment` before `new-session`: same exposure (it is argv too), only split in two.
 * - Passing the values in the tmux client's own environment: the server copies only
 *   `update-environment` names, and only into the session environment, where `show-environment`
 *   would print them to anyone on the socket. Rejected.
 * - A 0600 file in the 0700 state dir that the wrapper opens, unlinks and sources: never in argv,
 *   but the plaintext is on the host's disk for milliseconds (and in the journal / page cache
 *   longer). Replaced.
 * - A named pipe with a writer child: no data on disk, but a writer blocked in open() until the pane
 *   opens the other end is tied to every starting pane, and one whose pane never opens it (tmux
 *   failed) hangs until killed; a first attempt left panes blank under vitest and was reverted
 *   (not pursued: the socket below needs no per-pane process or cleanup). Rejected.
 * - Chosen: the driver keeps the `export` text in memory under a single-use 128-bit nonce and
 *   serves it on a 0600 Unix socket (envsocket.ts). The pane runs
 *   `/bin/sh -c <wrapper> codepiper-launch <node> <client.cjs> <socket> <nonce> <argv…>`; the
 *   wrapper runs the client, which fetches the text, and `eval`s it, then execs the command. Only
 *   paths and the nonce are in argv; the nonce is worthless once used or expired. If the fetch or
 *   the eval fails the wrapper exits ENV_FETCH_FAILED (97) with a message on stderr and the command
 *   never runs without its environment.
 */

/**
 * `$1..$4` are node, the client, the socket and the nonce; the rest is the command. The variable is
 * unset first so an inherited one cannot make it exported; it stays a plain shell variable, which
 * `exec` does not pass on (unless the session's env itself sets that name, which then wins).
 */
const WRAPPER =
  `unset CODEPIPER_ENV_TEXT; CODEPIPER_ENV_TEXT=$("$1" "$2" "$3" "$4") || exit ${ENV_FETCH_FAILED}; shift 4; ` +
  `if ! eval "$CODEPIPER_ENV_TEXT"; then echo "codepiper: cannot apply the session environment; the command was not started" >&2; exit ${ENV_FETCH_FAILED}; fi; ` +
  `exec "$@"`;

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

/**
 * The pane's argv: tmux ≥ 3.0 execs a multi-argument command directly, with no shell re-parsing it.
 * `node` is the binary that runs the client (the agent's own, `process.execPath`).
 */
export function launchArgv(ticket: EnvTicket, command: readonly string[], node: string = process.execPath): string[] {
  return ["/bin/sh", "-c", WRAPPER, "codepiper-launch", node, ticket.client, ticket.socket, ticket.nonce, ...command];
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
