/**
 * hook-forward: the command-hook side of the agent's hook intake (DESIGN.md §3 "hook-forward").
 *
 *   node <abs>/cli/dist/hook-forward.cjs --socket <path> --session <uuid> --event <Event> [--timeout-ms N]
 *   node <abs>/cli/dist/hook-forward.cjs --socket <path> --session <uuid> --notify [--timeout-ms N] '<json>'
 *
 * Reads the provider's hook JSON on stdin (or, with --notify, from the LAST argument: Codex's
 * notify program convention), sends it to the agent over its Unix socket with the session's token
 * (env CODEPIPER_HOOK_TOKEN), and prints the agent's answer verbatim.
 *
 * It runs on every tool call, so it imports node: builtins only (no zod, no workspace packages)
 * and is run from the prebuilt dist file with no TypeScript loader. Every failure prints nothing
 * on stdout and exits 0, so the provider falls back to its own prompt (never an implicit allow);
 * stderr gets one short line naming the problem, never the token or the payload.
 *
 * It is CommonJS (.cts → .cjs): Node starts a CommonJS file ~4–5 ms faster than an ES module
 * (measured by tests/bench/hooks.ts), and that start-up is paid on every hook.
 *
 * The wire protocol mirrors agent/src/hooks/protocol.ts (which it cannot import): keep in step.
 */
// CommonJS on purpose (see above): `import = require` is how a .cts file imports under verbatimModuleSyntax.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import fs = require("node:fs");
// eslint-disable-next-line @typescript-eslint/no-require-imports
import net = require("node:net");

const TOKEN_ENV = "CODEPIPER_HOOK_TOKEN";
const MAX_PAYLOAD_BYTES = 1024 * 1024;
const MAX_FRAME_BYTES = MAX_PAYLOAD_BYTES + 16 * 1024;
/** The agent's output is bounded by what the provider accepts; this only guards against a runaway peer. */
const MAX_REPLY_BYTES = 8 * 1024 * 1024;
/** Default matches Claude Code's default command-hook timeout (10 min): a PermissionRequest may wait for a human. */
const DEFAULT_TIMEOUT_MS = 600_000;
const SESSION_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EVENT_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

interface Args {
  socket: string;
  session: string;
  event: string;
  timeoutMs: number;
  /** The JSON payload given as the last argument (--notify), or null to read stdin. */
  argvPayload: string | null;
}

interface Writer {
  write(chunk: string): unknown;
}

/** A failure that is reported on stderr (one line) and otherwise silent. */
class Fail extends Error {}

function parseArgs(argv: readonly string[]): Args {
  const notify = argv.includes("--notify");
  const rest = notify ? argv.slice(0, -1) : argv.slice();
  if (notify && (argv.length === 0 || argv[argv.length - 1] === "--notify")) throw new Fail("--notify needs the JSON payload as the last argument");
  let socket = "";
  let session = "";
  let event = notify ? "notify" : "";
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    if (flag === "--notify") continue;
    const value = rest[i + 1];
    if (value === undefined) throw new Fail(`missing value for ${flag}`);
    i++;
    switch (flag) {
      case "--socket":
        socket = value;
        break;
      case "--session":
        session = value;
        break;
      case "--event":
        event = value;
        break;
      case "--timeout-ms":
        timeoutMs = Number(value);
        if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new Fail("--timeout-ms must be a positive integer");
        break;
      default:
        throw new Fail(`unknown argument ${JSON.stringify(String(flag)).slice(0, 40)}`);
    }
  }
  if (!socket) throw new Fail("missing --socket <path>");
  if (!SESSION_ID_RE.test(session)) throw new Fail("missing or invalid --session <uuid>");
  if (!EVENT_RE.test(event)) throw new Fail("missing or invalid --event <Event>");
  return { socket, session, event, timeoutMs, argvPayload: notify ? (argv[argv.length - 1] ?? null) : null };
}

/** Reads all of stdin, refusing more than `limit` bytes. */
async function readBounded(stdin: AsyncIterable<Uint8Array | string>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += buf.length;
    if (size > limit) throw new Fail("hook input is larger than 1 MiB");
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size).toString("utf8");
}

function parsePayload(text: string): Record<string, unknown> {
  if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) throw new Fail("hook input is larger than 1 MiB");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Fail("hook input is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Fail("hook input is not a JSON object");
  return value as Record<string, unknown>;
}

/** Sends one frame, resolves to the `output` of an ok reply (null: print nothing). */
function exchange(socketPath: string, frame: string, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (err: Error | null, output?: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(output ?? null);
    };
    const timer = setTimeout(() => finish(new Fail(`no answer from the agent within ${timeoutMs} ms`)), timeoutMs);
    sock.on("connect", () => sock.write(frame));
    sock.on("error", (err: NodeJS.ErrnoException) => finish(new Fail(`agent unreachable at ${socketPath} (${err.code ?? err.message})`)));
    sock.on("data", (chunk: Buffer) => {
      const nl = chunk.indexOf(0x0a);
      const take = nl === -1 ? chunk : chunk.subarray(0, nl);
      size += take.length;
      if (size > MAX_REPLY_BYTES) return finish(new Fail("agent reply too large"));
      chunks.push(take);
      if (nl === -1) return;
      try {
        finish(null, parseReply(Buffer.concat(chunks, size).toString("utf8")));
      } catch (err) {
        finish(err instanceof Error ? err : new Fail(String(err)));
      }
    });
    sock.on("end", () => finish(new Fail("agent closed the connection without a reply")));
  });
}

function parseReply(line: string): string | null {
  let reply: unknown;
  try {
    reply = JSON.parse(line);
  } catch {
    throw new Fail("agent reply is not JSON");
  }
  if (reply === null || typeof reply !== "object") throw new Fail("agent reply is not an object");
  const r = reply as { ok?: unknown; output?: unknown; error?: unknown };
  if (r.ok !== true) throw new Fail(`agent refused: ${typeof r.error === "string" ? r.error.slice(0, 200) : "unknown error"}`);
  if (r.output !== null && typeof r.output !== "string") throw new Fail("agent reply has no valid output");
  return r.output;
}

/**
 * Runs hook-forward; resolves to the exit code, which is always 0 (see the file comment).
 * `argv` excludes node and the script path.
 */
async function main(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  stdin: AsyncIterable<Uint8Array | string>,
  stdout: Writer,
  stderr: Writer,
): Promise<number> {
  try {
    const args = parseArgs(argv);
    const token = env[TOKEN_ENV];
    if (!token) throw new Fail(`${TOKEN_ENV} is not set`);
    const deadline = Date.now() + args.timeoutMs;
    const text =
      args.argvPayload ??
      (await Promise.race([
        readBounded(stdin, MAX_PAYLOAD_BYTES),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Fail("timed out reading stdin")), args.timeoutMs).unref()),
      ]));
    const payload = parsePayload(text);
    const frame = `${JSON.stringify({ v: 1, sessionId: args.session, token, event: args.event, payload })}\n`;
    if (Buffer.byteLength(frame) > MAX_FRAME_BYTES) throw new Fail("hook input is too large");
    const output = await exchange(args.socket, frame, Math.max(1, deadline - Date.now()));
    if (output !== null) stdout.write(output);
  } catch (err) {
    const msg = err instanceof Fail ? err.message : `unexpected failure: ${err instanceof Error ? err.message : String(err)}`;
    stderr.write(`codepiper hook-forward: ${msg}; leaving the decision to the provider\n`);
  }
  return 0;
}

/** Runs main with the real process, then exits once stdout/stderr are flushed (stdin may still be open). */
function run(argv: readonly string[]): void {
  void main(argv, process.env, process.stdin, process.stdout, process.stderr).then((code) => {
    let pending = 2;
    const done = () => {
      if (--pending === 0) process.exit(code);
    };
    for (const stream of [process.stdout, process.stderr]) {
      stream.on("error", () => undefined);
      if (stream.destroyed || !stream.writable) done();
      else stream.write("", done);
    }
  });
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return fs.realpathSync(script) === fs.realpathSync(__filename);
  } catch {
    return false;
  }
}

if (isEntryPoint()) run(process.argv.slice(2));

export = { TOKEN_ENV, parseArgs, main, run };
