import { lstatSync, unlinkSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createHttpListener } from "./http.js";
import { DEFAULTS } from "./protocol.js";
import { clearStaleSocket, createSocketListener, listenPrivate } from "./socket.js";
import type { HookServer, HookServerOptions } from "./types.js";

export type { HookHandler, HookReply, HookRequest, HookServer, HookServerOptions } from "./types.js";
export { tokensEqual } from "./token.js";
export { MAX_FRAME_BYTES, MAX_PAYLOAD_BYTES } from "./protocol.js";

/**
 * The agent's hook intake (DESIGN.md §3): a loopback HTTP listener for Claude Code HTTP hooks and
 * a 0600 Unix socket for hook-forward. Transport only: `authorize` and `handle` (the session
 * manager) decide. Both listeners are shared by every session of the agent.
 */
export async function startHookServer(opts: HookServerOptions): Promise<HookServer> {
  const common = {
    authorize: opts.authorize,
    handle: opts.handle,
    log: opts.log,
    handlerTimeoutMs: opts.handlerTimeoutMs ?? DEFAULTS.handlerTimeoutMs,
    requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
    maxConnections: opts.maxConnections ?? DEFAULTS.maxConnections,
  };

  await clearStaleSocket(opts.socketPath);
  const { server: unix, sockets } = createSocketListener(common);
  await listenPrivate(unix, opts.socketPath);
  const socketIno = lstatSync(opts.socketPath).ino;

  const http = createHttpListener(common);
  let port: number;
  try {
    port = await listenLoopback(http, opts.port);
  } catch (err) {
    await closeUnix();
    throw err;
  }
  opts.log.info({ port, socketPath: opts.socketPath }, "hook server listening");

  async function closeUnix(): Promise<void> {
    const closed = new Promise<void>((resolve) => unix.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
    // Remove the socket file only if it is still ours (not one a newer agent created since).
    try {
      if (lstatSync(opts.socketPath).ino === socketIno) unlinkSync(opts.socketPath);
    } catch {
      // already gone
    }
  }

  let closing: Promise<void> | null = null;
  return {
    httpBase: `http://127.0.0.1:${port}`,
    port,
    socketPath: opts.socketPath,
    close() {
      closing ??= (async () => {
        const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeAllConnections();
        await Promise.all([httpClosed, closeUnix()]);
      })();
      return closing;
    },
  };
}

/** Tries the preferred port, then an ephemeral one if it is taken. 127.0.0.1 only, never all interfaces. */
async function listenLoopback(server: Server, preferred: number | undefined): Promise<number> {
  const attempt = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once("error", onError);
      server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
        server.off("error", onError);
        resolve((server.address() as AddressInfo).port);
      });
    });
  if (preferred !== undefined && preferred > 0) {
    try {
      return await attempt(preferred);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EADDRINUSE" && code !== "EACCES") throw err;
    }
  }
  return attempt(0);
}
