import { randomBytes } from "node:crypto";
import { lstatSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { basename, join } from "node:path";
import { z } from "zod";
import { AppError } from "@codepiper/core";
import { clearStaleSocket, listenPrivate } from "../hooks/socket.js";

/**
 * Hands a session's environment to its launch wrapper (launch.ts) without writing it anywhere: the
 * driver keeps the `export` text in memory under a random single-use nonce and serves it on a 0600
 * Unix socket in its runtime dir (the 0700 state dir). The pane runs a tiny dependency-free
 * CommonJS client with the agent's own node binary, `node <client.cjs> <socket> <nonce>`, which
 * prints the text for the wrapper to `eval`. Only the socket path and the nonce are ever in argv.
 *
 * - A nonce is 128 random bits, valid once: it is deleted when it is read, when it expires
 *   (30 s by default), when new-session fails, and when the driver closes.
 * - Who may ask: the socket is 0600 (bound under a 0177 umask where the process may change it,
 *   chmod'ed right after bind, before any nonce exists) and the runtime dir must be owned by this
 *   user and writable by nobody else (checked before listening), so no other user can connect or
 *   swap the socket for their own. Node exposes no SO_PEERCRED; the file modes are the boundary,
 *   the same one as for the processes' environments themselves. The client checks the socket it
 *   connects to is a socket of its own user with mode 0600 before it sends the nonce.
 * - Sizes are bounded: one request line of at most MAX_REQUEST_BYTES, parsed with zod; an
 *   environment whose reply would exceed MAX_ENV_BYTES is refused before the session starts.
 * - Nothing here logs or echoes a value: errors say what failed, never with what.
 */

/** Largest reply (the JSON-encoded `export` text); the Linux exec limit for argv + env is ~2 MiB anyway. */
export const MAX_ENV_BYTES = 1024 * 1024;
/** The request is `{"nonce":"<32 hex>"}\n`; anything longer is not one. */
export const MAX_REQUEST_BYTES = 256;
export const DEFAULT_ENV_TTL_MS = 30_000;
/** How long a client may take to send its request line. */
const REQUEST_TIMEOUT_MS = 5_000;
/** The pane exits with this status when it cannot get its environment (the command never runs). */
export const ENV_FETCH_FAILED = 97;

const NONCE = /^[0-9a-f]{32}$/;
const requestSchema = z.object({ nonce: z.string().regex(NONCE) }).strict();
type Reply = { ok: true; env: string } | { ok: false; error: string };

/**
 * The client the wrapper runs (`node <file> <socket> <nonce>`), written next to the socket with
 * mode 0600 (it holds no secret). Plain CommonJS, node builtins only: nothing to resolve, no loader.
 * Exit 0 with the `export` lines on stdout, or ENV_FETCH_FAILED with a reason (never a value) on stderr.
 */
export const CLIENT_SOURCE = `"use strict";
// codepiper env client (written by the agent, see agent/src/tmux/envsocket.ts): fetches one
// session environment by its single-use nonce and prints it as sh \`export\` lines.
const net = require("node:net");
const fs = require("node:fs");
const MAX = ${MAX_ENV_BYTES + 1024};
const fail = (why) => {
  process.stderr.write("codepiper: cannot get the session environment (" + why + "); the command was not started\\n");
  process.exit(${ENV_FETCH_FAILED});
};
const [sock, nonce] = process.argv.slice(2);
if (!sock || !${NONCE.toString()}.test(nonce || "")) fail("bad arguments");
let st;
try { st = fs.lstatSync(sock); } catch (e) { fail("no env socket: " + (e && e.code)); }
if (!st.isSocket() || st.uid !== process.getuid() || (st.mode & 0o077) !== 0) fail("the env socket is not a 0600 socket of this user");
const chunks = [];
let size = 0;
const conn = net.connect(sock);
const timer = setTimeout(() => fail("timed out"), ${REQUEST_TIMEOUT_MS * 2});
conn.on("connect", () => conn.write(JSON.stringify({ nonce }) + "\\n"));
conn.on("error", (e) => fail("env socket: " + (e && e.code)));
conn.on("data", (d) => {
  size += d.length;
  if (size > MAX) fail("reply too large");
  chunks.push(d);
});
conn.on("end", () => {
  clearTimeout(timer);
  let r = null;
  try { r = JSON.parse(Buffer.concat(chunks).toString("utf8")); } catch { fail("malformed reply"); }
  if (!r || r.ok !== true || typeof r.env !== "string") fail(r && typeof r.error === "string" ? r.error.slice(0, 200) : "refused");
  process.stdout.write(r.env);
});
`;

export interface EnvTicket {
  /** Absolute path of the client script. */
  client: string;
  socket: string;
  nonce: string;
}

interface Pending {
  text: string;
  timer: NodeJS.Timeout;
}

export class EnvSocket {
  readonly socketPath: string;
  readonly clientPath: string;
  private readonly pending = new Map<string, Pending>();
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  private starting: Promise<void> | null = null;
  private socketIno: number | null = null;
  private closed = false;

  /** `stem` names the files (`<stem>-env.sock`, `<stem>-env-client.cjs`) so several drivers can share a dir. */
  constructor(
    private readonly dir: string,
    stem: string,
    private readonly ttlMs = DEFAULT_ENV_TTL_MS,
  ) {
    this.socketPath = join(dir, `${stem}-env.sock`);
    this.clientPath = join(dir, `${stem}-env-client.cjs`);
  }

  static stemOf(tmuxSocket: string): string {
    return basename(tmuxSocket).replace(/\.sock$/, "") || "tmux";
  }

  /** Environments registered and not yet fetched, expired or revoked (tests watch this). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Registers `text` (envFileContents output) under a fresh nonce, starting the listener on first
   * use. The caller must `revoke` the nonce if the session does not start.
   */
  async offer(text: string): Promise<EnvTicket> {
    const replyBytes = Buffer.byteLength(JSON.stringify({ ok: true, env: text } satisfies Reply));
    if (replyBytes > MAX_ENV_BYTES) throw new AppError("CODEPIPER_BAD_INPUT", `the session environment is too large (${replyBytes} bytes encoded, at most ${MAX_ENV_BYTES})`);
    await this.start();
    if (this.closed) throw new AppError("CODEPIPER_INTERNAL", "the tmux driver is closed");
    const nonce = randomBytes(16).toString("hex");
    const timer = setTimeout(() => this.pending.delete(nonce), this.ttlMs);
    timer.unref();
    this.pending.set(nonce, { text, timer });
    return { client: this.clientPath, socket: this.socketPath, nonce };
  }

  revoke(nonce: string): void {
    const p = this.pending.get(nonce);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(nonce);
  }

  /**
   * Forgets every pending environment, stops listening and removes the socket (if still ours). The
   * client script stays (it holds nothing secret): a pane starting right now then fails with a
   * clear "no env socket" instead of a missing module.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const nonce of [...this.pending.keys()]) this.revoke(nonce);
    await this.starting?.catch(() => undefined);
    const server = this.server;
    this.server = null;
    if (!server) return;
    const done = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await done;
    try {
      if (lstatSync(this.socketPath).ino === this.socketIno) unlinkSync(this.socketPath);
    } catch {
      // already gone
    }
  }

  private start(): Promise<void> {
    if (this.closed) return Promise.reject(new AppError("CODEPIPER_INTERNAL", "the tmux driver is closed"));
    if (this.server) return Promise.resolve();
    this.starting ??= this.listen().finally(() => (this.starting = null));
    return this.starting;
  }

  private async listen(): Promise<void> {
    checkPrivateDir(this.dir);
    // sun_path is 108 bytes on Linux (104 on macOS): fail clearly instead of binding a truncated path.
    if (Buffer.byteLength(this.socketPath) > 103) throw new AppError("CODEPIPER_INTERNAL", `env socket path is too long for a Unix socket: ${this.socketPath}`);
    // Holds no secret; written atomically so a concurrent driver in the same dir never runs half a file.
    const tmp = `${this.clientPath}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    writeFileSync(tmp, CLIENT_SOURCE, { mode: 0o600, flag: "wx" });
    renameSync(tmp, this.clientPath);
    await clearStaleSocket(this.socketPath, "env socket");
    const server = createServer({ allowHalfOpen: false }, (socket) => this.serve(socket));
    server.maxConnections = 64;
    try {
      await listenPrivate(server, this.socketPath);
    } catch (err) {
      server.close();
      throw new AppError("CODEPIPER_INTERNAL", `cannot listen on env socket ${this.socketPath}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    server.unref();
    this.socketIno = lstatSync(this.socketPath).ino;
    this.server = server;
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined);
    const chunks: Buffer[] = [];
    let size = 0;
    let answered = false;
    const answer = (reply: Reply): void => {
      if (answered) return;
      answered = true;
      socket.setTimeout(0);
      socket.end(`${JSON.stringify(reply)}\n`);
    };
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => {
      answer({ ok: false, error: "timed out waiting for the request" });
      socket.destroy();
    });
    socket.on("end", () => answer({ ok: false, error: "incomplete request" }));
    socket.on("data", (chunk: Buffer) => {
      if (answered) return;
      const nl = chunk.indexOf(0x0a);
      const part = nl === -1 ? chunk : chunk.subarray(0, nl);
      size += part.length;
      if (size > MAX_REQUEST_BYTES) {
        answer({ ok: false, error: "request too large" });
        return;
      }
      chunks.push(part);
      if (nl === -1) return;
      answer(this.take(Buffer.concat(chunks, size).toString("utf8")));
    });
  }

  /** One request: the nonce is consumed whether or not the reply then reaches the client. */
  private take(line: string): Reply {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return { ok: false, error: "malformed request" };
    }
    const req = requestSchema.safeParse(raw);
    if (!req.success) return { ok: false, error: "malformed request" };
    const pending = this.pending.get(req.data.nonce);
    if (!pending) return { ok: false, error: "unknown, used or expired nonce" };
    this.revoke(req.data.nonce);
    return { ok: true, env: pending.text };
  }
}

/** The runtime dir must be ours and writable by nobody else, or another user could replace the socket. */
function checkPrivateDir(dir: string): void {
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    throw new AppError("CODEPIPER_INTERNAL", `tmux runtime dir ${dir} is not usable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw new AppError("CODEPIPER_INTERNAL", `tmux runtime dir ${dir} must be a directory owned by this user and writable by no one else (chmod 700 it)`);
  }
}
