import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { Logger } from "../log.js";
import { dispatch, serializeBody } from "./dispatch.js";
import { MAX_FRAME_BYTES, socketFrameSchema, type SocketReply } from "./protocol.js";
import type { HookHandler } from "./types.js";

export interface SocketListenerOptions {
  authorize(sessionId: string, token: string): boolean;
  handle: HookHandler;
  log: Logger;
  handlerTimeoutMs: number;
  requestTimeoutMs: number;
  maxConnections: number;
}

/**
 * The Unix socket that hook-forward (command hooks, Codex notify) talks to. One request per
 * connection: the client sends one newline-terminated JSON frame and reads one newline-terminated
 * reply. The client must not half-close: EOF before the reply means it gave up (the provider
 * killed it), which aborts the handler's signal. Every failure answers `{"ok":false}`, which
 * hook-forward turns into "print nothing" (the provider's own prompt).
 */
export function createSocketListener(opts: SocketListenerOptions): { server: Server; sockets: Set<Socket> } {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: false }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serve(opts, socket);
  });
  server.maxConnections = opts.maxConnections;
  return { server, sockets };
}

function serve(opts: SocketListenerOptions, socket: Socket): void {
  const abort = new AbortController();
  let buffered: Buffer[] = [];
  let size = 0;
  let gotFrame = false;
  let replied = false;
  const reply = (r: SocketReply) => {
    if (replied) return;
    replied = true;
    if (socket.writable) socket.end(`${JSON.stringify(r)}\n`);
    else socket.destroy();
  };
  // A client that never finishes its frame is dropped; once the frame is in, only the handler timeout applies.
  socket.setTimeout(opts.requestTimeoutMs, () => {
    if (!gotFrame) {
      reply({ ok: false, error: "timed out waiting for the request frame" });
      socket.destroy();
    }
  });
  socket.on("error", () => undefined);
  socket.on("close", () => abort.abort(new Error("client closed the connection")));
  socket.on("end", () => {
    if (!gotFrame) reply({ ok: false, error: "incomplete frame" });
  });
  socket.on("data", (chunk: Buffer) => {
    if (gotFrame) return; // one request per connection: anything after the newline is ignored
    const nl = chunk.indexOf(0x0a);
    const take = nl === -1 ? chunk : chunk.subarray(0, nl);
    size += take.length;
    if (size > MAX_FRAME_BYTES) {
      gotFrame = true;
      buffered = [];
      reply({ ok: false, error: "frame too large" });
      return;
    }
    buffered.push(take);
    if (nl === -1) return;
    gotFrame = true;
    socket.setTimeout(0);
    const line = Buffer.concat(buffered, size).toString("utf8");
    buffered = [];
    void handleFrame(opts, line, abort).then(reply);
  });
}

async function handleFrame(opts: SocketListenerOptions, line: string, abort: AbortController): Promise<SocketReply> {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, error: "frame is not JSON" };
  }
  const frame = socketFrameSchema.safeParse(raw);
  if (!frame.success) return { ok: false, error: "invalid frame" };
  const { token, event, payload } = frame.data;
  const sessionId = frame.data.sessionId.toLowerCase();
  let allowed = false;
  try {
    allowed = opts.authorize(sessionId, token) === true;
  } catch (err) {
    opts.log.error({ sessionId, err: err instanceof Error ? err.message : String(err) }, "hook authorize failed");
  }
  if (!allowed) return { ok: false, error: "unauthorized" };
  const result = await dispatch({ handle: opts.handle, log: opts.log, timeoutMs: opts.handlerTimeoutMs }, { sessionId, event, payload, channel: "socket" }, abort);
  switch (result.kind) {
    case "reply":
      try {
        return { ok: true, output: serializeBody(result.reply) };
      } catch (err) {
        opts.log.error({ sessionId, event, channel: "socket", err: err instanceof Error ? err.message : String(err) }, "hook reply not serializable");
        return { ok: false, error: "handler failed" };
      }
    case "timeout":
      return { ok: false, error: "handler timed out" };
    case "error":
      return { ok: false, error: "handler failed" };
    case "aborted":
      return { ok: false, error: "aborted" };
  }
}

/**
 * Makes `path` free for a new socket: nothing there is fine; a socket nobody answers on is a
 * leftover of a crashed agent and is removed; a live socket (another agent) or anything that is
 * not a socket is refused, never deleted.
 */
export async function clearStaleSocket(path: string, what = "hook socket"): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (!isSocket) throw new Error(`${what} path ${path} exists and is not a socket; refusing to delete it`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (live) throw new Error(`${what} ${path} is in use by another process (is another agent running?)`);
  unlinkSync(path);
}

/**
 * Listens on `path` with mode 0600 from the first instant: the umask is narrowed around the
 * (synchronous) bind so no other user can connect between bind and chmod. Worker threads cannot
 * change the umask; there the chmod right after bind is the only guard (the caller's 0700 state
 * directory is the real one).
 */
export function listenPrivate(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    let previous: number | null = null;
    try {
      previous = process.umask(0o177);
    } catch {
      previous = null;
    }
    try {
      server.listen(path, () => {
        server.off("error", onError);
        try {
          chmodSync(path, 0o600);
          resolve();
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    } finally {
      if (previous !== null) process.umask(previous);
    }
  });
}
