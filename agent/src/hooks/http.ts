import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "../log.js";
import { dispatch, serializeBody } from "./dispatch.js";
import { EVENT_RE, jsonObjectSchema, MAX_PAYLOAD_BYTES, SESSION_ID_RE } from "./protocol.js";
import type { HookHandler } from "./types.js";

export interface HttpListenerOptions {
  authorize(sessionId: string, token: string): boolean;
  handle: HookHandler;
  log: Logger;
  handlerTimeoutMs: number;
  requestTimeoutMs: number;
  maxConnections: number;
}

const PATH_RE = /^\/hooks\/([^/?#]+)\/([^/?#]+)$/;

/**
 * Claude Code's `"type": "http"` hooks: `POST /hooks/<sessionId>/<Event>` with
 * `Authorization: Bearer <token>`. Claude treats any non-2xx, connection failure or timeout as
 * "no decision", so every failure here is safe: the user gets Claude's own prompt.
 * Order of checks: path (404) → token (401, the same for an unknown session) → size (413) →
 * JSON object (400) → handler (200, or 500 if it throws, 504 on handler timeout).
 */
export function createHttpListener(opts: HttpListenerOptions): Server {
  const server = createServer(
    {
      // Slow or silent clients are dropped; a handler waiting minutes for a human is not (the
      // request timeout covers receiving the request only, not producing the response).
      headersTimeout: opts.requestTimeoutMs,
      requestTimeout: opts.requestTimeoutMs,
      // Node checks those two timeouts on this interval (default 30 s): keep the drop prompt.
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(opts.requestTimeoutMs / 4))),
      keepAlive: true,
      keepAliveTimeout: 5_000,
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => {
      onRequest(opts, req, res).catch((err: unknown) => {
        opts.log.error({ err: err instanceof Error ? err.message : String(err) }, "hook http request failed");
        send(res, 500, {}, true);
      });
    },
  );
  server.maxConnections = opts.maxConnections;
  // No idle timeout on a socket while a handler runs: its response is the only traffic.
  server.timeout = 0;
  // Malformed HTTP (garbage bytes, oversized headers): answer 400/431 when possible, never crash.
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && err.code !== "ECONNRESET") {
      const status = err.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout" : "400 Bad Request";
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    socket.destroy();
  });
  return server;
}

async function onRequest(opts: HttpListenerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const match = PATH_RE.exec(req.url ?? "");
  const rawSession = match?.[1];
  const event = match?.[2];
  if (!rawSession || !event || !SESSION_ID_RE.test(rawSession) || !EVENT_RE.test(event)) return send(res, 404, { error: "not found" }, true);
  if (req.method !== "POST") {
    res.setHeader("Allow", "POST");
    return send(res, 405, { error: "method not allowed" }, true);
  }
  const sessionId = rawSession.toLowerCase();
  const token = bearer(req.headers.authorization);
  if (token === null || !safeAuthorize(opts, sessionId, token)) return send(res, 401, { error: "unauthorized" }, true);

  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > MAX_PAYLOAD_BYTES) return send(res, 413, { error: "payload too large" }, true);
  const body = await readBody(req, MAX_PAYLOAD_BYTES);
  if (body === "too-large") return send(res, 413, { error: "payload too large" }, true);
  if (body === "aborted") return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return send(res, 400, { error: "body is not JSON" }, false);
  }
  const payload = jsonObjectSchema.safeParse(parsed);
  if (!payload.success || Array.isArray(parsed)) return send(res, 400, { error: "body is not a JSON object" }, false);

  // The client going away (Claude cancelled the hook) aborts the handler's signal.
  const abort = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) abort.abort(new Error("client closed the connection"));
  });
  const result = await dispatch({ handle: opts.handle, log: opts.log, timeoutMs: opts.handlerTimeoutMs }, { sessionId, event, payload: payload.data, channel: "http" }, abort);
  switch (result.kind) {
    case "reply": {
      let text: string | null;
      try {
        text = serializeBody(result.reply);
      } catch (err) {
        opts.log.error({ sessionId, event, channel: "http", err: err instanceof Error ? err.message : String(err) }, "hook reply not serializable");
        return send(res, 500, {}, false);
      }
      return sendText(res, 200, text ?? "{}", false);
    }
    case "timeout":
      return send(res, 504, {}, false);
    case "error":
      return send(res, 500, {}, false);
    case "aborted":
      return;
  }
}

function bearer(header: string | undefined): string | null {
  const m = header ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
  return m?.[1] ?? null;
}

function safeAuthorize(opts: HttpListenerOptions, sessionId: string, token: string): boolean {
  try {
    return opts.authorize(sessionId, token) === true;
  } catch (err) {
    opts.log.error({ sessionId, err: err instanceof Error ? err.message : String(err) }, "hook authorize failed");
    return false;
  }
}

/** Reads the body up to `limit` bytes; stops reading (and lets the caller close) past it. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | "too-large" | "aborted"> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        resolve("too-large");
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onAbort = () => {
      cleanup();
      resolve("aborted");
    };
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onAbort);
      req.off("close", onClose);
    };
    const onClose = () => {
      if (!req.complete) onAbort();
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onAbort);
    req.on("close", onClose);
  });
}

function send(res: ServerResponse, status: number, body: Record<string, unknown>, close: boolean): void {
  sendText(res, status, JSON.stringify(body), close);
}

/** `close`: the request body may be unread, so the connection cannot be reused safely. */
function sendText(res: ServerResponse, status: number, text: string, close: boolean): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
    ...(close ? { Connection: "close" } : {}),
  });
  res.end(text);
}
