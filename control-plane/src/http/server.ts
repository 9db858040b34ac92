import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { getWSConnectionHandler } from "@trpc/server/adapters/ws";
import { WebSocketServer, type WebSocket } from "ws";
import { ZodError } from "zod";
import { AppError, CLOSE_CODES, ERROR_HEADER, LIMITS, PATHS } from "@codepiper/core";
import { authenticateApiToken } from "../auth/api-tokens.js";
import { credentialsInput, passwordLogin } from "../auth/router.js";
import { authenticateWebSession, clearedSessionCookie, createWebSession, sessionCookie, sessionCookieOf } from "../auth/web-sessions.js";
import { recordAudit } from "../audit/record.js";
import { topics } from "../bus/bus.js";
import { httpStatusOf, toTRPCError } from "../errors.js";
import { authenticateLink } from "../hosts/link-auth.js";
import type { Identity } from "../identity.js";
import { appRouter } from "../router.js";
import type { Services } from "../services.js";
import type { Context } from "../trpc.js";
import { renderMetrics, metrics } from "../metrics.js";
import { landingPage } from "./page.js";
import { refuseUpgrade } from "./refuse.js";
import { defaultWebDir, webAssets } from "./static.js";

export const VERSION = "0.1.0";

function sourceOf(req: IncomingMessage): string | null {
  return req.socket.remoteAddress ?? null;
}

async function identityFromBearer(services: Services, req: IncomingMessage): Promise<Identity> {
  const header = req.headers.authorization;
  if (!header) return { kind: "anonymous" };
  const match = /^Bearer (\S{1,300})$/.exec(header);
  const user = match ? await authenticateApiToken(services.db, match[1]!) : null;
  if (!user) throw new AppError("CODEPIPER_UNAUTHENTICATED", "the API token is invalid, expired or revoked: run codepiper login");
  return user;
}

/** Browser login and logout (dashboard cookie sessions); everything else is tRPC under /trpc. */
export const BROWSER_LOGIN_PATH = "/auth/login-browser";
export const BROWSER_LOGOUT_PATH = "/auth/logout";

/**
 * Who is calling: an `Authorization: Bearer` API token (the CLI; no ambient credentials, so no
 * Origin check), else the `cp_session` cookie (the dashboard), else anonymous. A cookie that is
 * malformed, unknown, expired, idle too long or revoked answers 401: never silently anonymous.
 */
async function identityOf(services: Services, req: IncomingMessage): Promise<Identity> {
  if (req.headers.authorization) return identityFromBearer(services, req);
  const cookie = sessionCookieOf(req);
  if (cookie === null) return { kind: "anonymous" };
  const user = cookie ? await authenticateWebSession(services.db, cookie) : null;
  if (!user) throw new AppError("CODEPIPER_UNAUTHENTICATED", "the dashboard session is invalid, expired or revoked: log in again");
  return user;
}

function isHttps(req: IncomingMessage): boolean {
  if ((req.socket as { encrypted?: boolean }).encrypted) return true;
  const proto = req.headers["x-forwarded-proto"];
  return (typeof proto === "string" ? proto : (proto?.[0] ?? "")).split(",")[0]!.trim().toLowerCase() === "https";
}

/**
 * The origins a browser may send state-changing requests from: this control plane's own
 * (scheme://host[:port] of the request's Host header) and CODEPIPER_PUBLIC_URL's, if set (for
 * deployments behind a proxy that rewrites Host).
 */
function ownOrigins(req: IncomingMessage): Set<string> {
  const origins = new Set<string>();
  if (req.headers.host) origins.add(`${isHttps(req) ? "https" : "http"}://${req.headers.host.toLowerCase()}`);
  const publicUrl = process.env.CODEPIPER_PUBLIC_URL;
  if (publicUrl) {
    try {
      origins.add(new URL(publicUrl).origin.toLowerCase());
    } catch {
      // ignored: a bad public URL only means fewer allowed origins
    }
  }
  return origins;
}

/**
 * CSRF / cross-site WebSocket hijacking defence for ambient credentials. A request that carries
 * the session cookie and no Authorization header must come with an Origin equal to ours when it
 * is a POST or a WebSocket upgrade (browsers always send Origin on both). Throws 403 otherwise.
 */
function checkOrigin(req: IncomingMessage, opts: { required: boolean }): void {
  const origin = req.headers.origin;
  if (!origin) {
    if (!opts.required) return;
    throw new AppError("CODEPIPER_FORBIDDEN", "cookie-authenticated requests that change state must carry an Origin header");
  }
  if (!ownOrigins(req).has(origin.toLowerCase())) {
    throw new AppError("CODEPIPER_FORBIDDEN", `cross-site request refused: Origin ${JSON.stringify(origin.slice(0, 200))} is not this control plane's origin`);
  }
}

const cookieBound = (req: IncomingMessage) => !req.headers.authorization && sessionCookieOf(req) !== null;

function sendError(res: ServerResponse, err: unknown): void {
  const appErr = err instanceof AppError ? err : err instanceof ZodError ? new AppError("CODEPIPER_BAD_INPUT", `invalid input: ${err.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; ")}`) : new AppError("CODEPIPER_INTERNAL", "internal error");
  if (res.headersSent) return void res.end();
  res.writeHead(httpStatusOf(appErr.code), { "content-type": "application/json", [ERROR_HEADER]: appErr.code }).end(JSON.stringify({ error: { code: appErr.code, message: appErr.message } }));
}

function readJsonBody(req: IncomingMessage, max = 16_384): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        reject(new AppError("CODEPIPER_PAYLOAD_TOO_LARGE", `request body over ${max} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8") || "null"));
      } catch {
        reject(new AppError("CODEPIPER_BAD_INPUT", "the body must be JSON: {email, password, totp?}"));
      }
    });
    req.on("error", reject);
  });
}

/** POST /auth/login-browser {email, password, totp?}: sets the HttpOnly session cookie. */
async function browserLogin(services: Services, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "POST") throw new AppError("CODEPIPER_BAD_INPUT", `${BROWSER_LOGIN_PATH} takes POST`);
  // Login CSRF: a browser posting from another site would log the victim in as the attacker.
  checkOrigin(req, { required: false });
  const input = credentialsInput.parse(await readJsonBody(req));
  const ctx = { services, identity: { kind: "anonymous" } as Identity, source: sourceOf(req) };
  const user = await passwordLogin(ctx, input);
  const session = await createWebSession(services.db, user.id, sourceOf(req));
  await recordAudit({ ...ctx, identity: { kind: "user", userId: user.id, email: user.email, role: user.role as "viewer", tokenId: null, webSessionId: session.id } }, "auth.login_browser", `web:${session.id}`);
  res
    .writeHead(200, { "content-type": "application/json", "set-cookie": sessionCookie(session.value, isHttps(req)), "cache-control": "no-store" })
    .end(JSON.stringify({ user: { id: user.id, email: user.email, role: user.role }, expiresAt: session.expiresAt.toISOString() }));
}

/** POST /auth/logout: revokes the cookie's session and clears the cookie. */
async function browserLogout(services: Services, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "POST") throw new AppError("CODEPIPER_BAD_INPUT", `${BROWSER_LOGOUT_PATH} takes POST`);
  checkOrigin(req, { required: true });
  const cookie = sessionCookieOf(req);
  const user = cookie ? await authenticateWebSession(services.db, cookie) : null;
  if (user?.webSessionId) {
    await services.db.webSession.updateMany({ where: { id: user.webSessionId, revokedAt: null }, data: { revokedAt: new Date() } });
    await recordAudit({ services, identity: user, source: sourceOf(req) }, "auth.logout", `web:${user.webSessionId}`);
  }
  res.writeHead(200, { "content-type": "application/json", "set-cookie": clearedSessionCookie(isHttps(req)) }).end(JSON.stringify({ ok: true }));
}

/**
 * One Node HTTP server for everything (DESIGN.md §1): tRPC over HTTP for queries and mutations,
 * tRPC over WebSocket for hosts (/link) and users (/trpc), plus /healthz, /metrics and `/`.
 * WebSocket callers are authenticated at the upgrade, before any tRPC traffic.
 */
export function createControlPlaneServer(services: Services): { server: Server; wss: WebSocketServer[]; sockets: Set<WebSocket> } {
  const { log } = services;
  const wsContexts = new WeakMap<IncomingMessage, Context>();
  const sockets = new Set<WebSocket>();
  const web = webAssets(services.config.webDir ?? defaultWebDir());
  if (!web.available) log.warn({ webDir: services.config.webDir ?? defaultWebDir() }, "dashboard not built (web/out missing): serving a placeholder page at /");

  const trpcHttp = createHTTPHandler({
    router: appRouter,
    basePath: `${PATHS.trpc}/`,
    maxBodySize: LIMITS.userMessageBytes,
    // A bad token is the caller's fault: throw it as its mapped tRPC error (401 + appCode). Thrown
    // raw, tRPC would wrap it as INTERNAL_SERVER_ERROR and answer 500 (and log it as our failure).
    createContext: async ({ req }): Promise<Context> => {
      try {
        return { services, identity: await identityOf(services, req), source: sourceOf(req) };
      } catch (err) {
        throw toTRPCError(err);
      }
    },
    onError: ({ error, path }) => {
      if (error.code === "INTERNAL_SERVER_ERROR") log.error({ err: error.cause ?? error, path }, "http procedure failed");
    },
  });

  const onWsError = ({ error, path }: { error: { code: string; cause?: unknown; message: string }; path?: string }) => {
    // tRPC also reports the socket's own errors here, as INTERNAL_SERVER_ERROR. A WebSocket protocol
    // violation by the peer (oversized message, bad frame: ws codes WS_ERR_*) is the client's fault,
    // already logged at warn by the socket's error handler, and answered with a close (1009, 1002…).
    const wsCode = (error.cause as { code?: unknown } | undefined)?.code;
    if (typeof wsCode === "string" && wsCode.startsWith("WS_ERR_")) return;
    if (error.code === "INTERNAL_SERVER_ERROR") log.error({ err: error.cause ?? error.message, path }, "ws procedure failed");
  };
  const handlerOptions = { router: appRouter, createContext: ({ req }: { req: IncomingMessage }) => wsContexts.get(req)!, onError: onWsError };
  const keepAlive = { enabled: true, pingMs: services.config.keepAliveMs, pongWaitMs: 10_000 };

  const linkWss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.linkMessageBytes });
  const userWss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.userMessageBytes });
  const linkHandler = getWSConnectionHandler({ ...handlerOptions, wss: linkWss, keepAlive });
  const userHandler = getWSConnectionHandler({ ...handlerOptions, wss: userWss, keepAlive });

  linkWss.on("connection", (socket: WebSocket, req: IncomingMessage) => {
    const identity = wsContexts.get(req)!.identity;
    if (identity.kind !== "host") return socket.terminate();
    sockets.add(socket);
    metrics.linkConnections++;
    services.presence.attach(identity.hostId, identity.connectionId, socket);
    // A revocation decided on another replica (or here) closes this link: the bus carries it.
    const unsubscribeRevoked = services.bus.subscribe(topics.hostRevoked(identity.hostId), () => {
      services.presence.close(identity.hostId, CLOSE_CODES.revoked, "CODEPIPER_HOST_REVOKED");
    });
    socket.on("error", (err) => log.warn({ err, hostId: identity.hostId }, "link socket error"));
    socket.once("close", (code) => {
      sockets.delete(socket);
      metrics.linkConnections--;
      unsubscribeRevoked();
      const connectedAt = services.presence.connectedAtOf(identity.hostId, identity.connectionId);
      if (services.presence.detach(identity.hostId, identity.connectionId)) {
        // Replicas: only if no newer link (here or on another replica) has written connectedAt since.
        services.db.host
          .updateMany({ where: { id: identity.hostId, ...(connectedAt ? { connectedAt } : {}) }, data: { online: false, lastSeenAt: new Date() } })
          .then(() => services.bus.publish(topics.hosts, identity.hostId))
          .catch((err: unknown) => log.warn({ err }, "could not mark host offline"));
      }
      log.info({ hostId: identity.hostId, host: identity.hostName, code }, "link closed");
    });
    linkHandler(socket, req);
    log.info({ hostId: identity.hostId, host: identity.hostName }, "link open");
  });
  userWss.on("connection", (socket: WebSocket, req: IncomingMessage) => {
    sockets.add(socket);
    socket.on("error", (err) => log.warn({ err }, "user socket error"));
    socket.once("close", () => sockets.delete(socket));
    userHandler(socket, req);
  });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === PATHS.health) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, version: VERSION }));
      return;
    }
    if (url.pathname === PATHS.metrics) {
      renderMetrics(services)
        .then((text) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(text))
        .catch((err: unknown) => {
          log.error({ err }, "metrics failed");
          res.writeHead(500).end();
        });
      return;
    }
    if (url.pathname === PATHS.trpc || url.pathname.startsWith(`${PATHS.trpc}/`)) {
      if (req.method === "POST" && cookieBound(req)) {
        try {
          checkOrigin(req, { required: true });
        } catch (err) {
          log.info({ origin: req.headers.origin ?? null, path: url.pathname, source: sourceOf(req) }, "refused cross-site request");
          return sendError(res, err);
        }
      }
      trpcHttp(req, res);
      return;
    }
    if (url.pathname === BROWSER_LOGIN_PATH || url.pathname === BROWSER_LOGOUT_PATH) {
      (url.pathname === BROWSER_LOGIN_PATH ? browserLogin : browserLogout)(services, req, res).catch((err: unknown) => {
        if (!(err instanceof AppError) && !(err instanceof ZodError)) log.error({ err }, "browser auth failed");
        sendError(res, err);
      });
      return;
    }
    if (web.serve(req, res, url.pathname)) return;
    if (url.pathname === "/" && req.method === "GET") {
      Promise.all([services.db.host.count({ where: { revokedAt: null } }), services.db.host.count({ where: { online: true } }), services.db.user.count()])
        .then(([hosts, online, users]) => res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(landingPage({ version: VERSION, hosts, online, setupPending: users === 0 })))
        .catch(() => res.writeHead(500).end());
      return;
    }
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "CODEPIPER_NOT_FOUND", message: `no route ${url.pathname}` } }));
  });

  server.on("upgrade", (req: IncomingMessage, socket, head) => {
    // Every socket needs an error handler: a client resetting mid-handshake must not crash us.
    socket.on("error", (err) => log.debug({ err }, "upgrade socket error"));
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const isLink = path === PATHS.link;
    if (!isLink && path !== PATHS.trpc) {
      refuseUpgrade(socket, new AppError("CODEPIPER_NOT_FOUND", `no WebSocket endpoint at ${path}`));
      return;
    }
    const authenticate = isLink
      ? authenticateLink(services, req)
      : (async () => {
          // Browsers cannot set headers on a WebSocket: a cookie-bound upgrade is the dashboard's, and
          // must come from our own origin (cross-site WebSocket hijacking).
          if (cookieBound(req)) checkOrigin(req, { required: true });
          return identityOf(services, req);
        })();
    authenticate
      .then((identity) => {
        if (!isLink && identity.kind !== "user") throw new AppError("CODEPIPER_UNAUTHENTICATED", "log in first: WebSocket connections need an API token or a dashboard session");
        wsContexts.set(req, { services, identity, source: sourceOf(req) });
        const wss = isLink ? linkWss : userWss;
        wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
      })
      .catch((err: unknown) => {
        const code = refuseUpgrade(socket, err);
        metrics.refusedUpgrades++;
        log.info({ code, path, source: sourceOf(req) }, "refused upgrade");
      });
  });
  server.on("clientError", (err: NodeJS.ErrnoException & { rawPacket?: unknown; bytesParsed?: number }, socket) => {
    // Never log `err` itself: Node attaches the raw request bytes (`rawPacket`), headers and all,
    // so an Authorization header would land in the log as a byte array.
    log.debug({ code: err.code, reason: err.message, bytesParsed: err.bytesParsed }, "http client error");
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  });

  return { server, wss: [linkWss, userWss], sockets };
}
