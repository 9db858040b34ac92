import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { getWSConnectionHandler } from "@trpc/server/adapters/ws";
import { WebSocketServer, type WebSocket } from "ws";
import { AppError, LIMITS, PATHS } from "@codepiper/core";
import { authenticateApiToken } from "../auth/api-tokens.js";
import { topics } from "../bus/bus.js";
import { toTRPCError } from "../errors.js";
import { authenticateLink } from "../hosts/link-auth.js";
import type { Identity } from "../identity.js";
import { appRouter } from "../router.js";
import type { Services } from "../services.js";
import type { Context } from "../trpc.js";
import { renderMetrics, metrics } from "../metrics.js";
import { landingPage } from "./page.js";
import { refuseUpgrade } from "./refuse.js";

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

/**
 * One Node HTTP server for everything (DESIGN.md §1): tRPC over HTTP for queries and mutations,
 * tRPC over WebSocket for hosts (/link) and users (/trpc), plus /healthz, /metrics and `/`.
 * WebSocket callers are authenticated at the upgrade, before any tRPC traffic.
 */
export function createControlPlaneServer(services: Services): { server: Server; wss: WebSocketServer[]; sockets: Set<WebSocket> } {
  const { log } = services;
  const wsContexts = new WeakMap<IncomingMessage, Context>();
  const sockets = new Set<WebSocket>();

  const trpcHttp = createHTTPHandler({
    router: appRouter,
    basePath: `${PATHS.trpc}/`,
    maxBodySize: LIMITS.userMessageBytes,
    // A bad token is the caller's fault: throw it as its mapped tRPC error (401 + appCode). Thrown
    // raw, tRPC would wrap it as INTERNAL_SERVER_ERROR and answer 500 (and log it as our failure).
    createContext: async ({ req }): Promise<Context> => {
      try {
        return { services, identity: await identityFromBearer(services, req), source: sourceOf(req) };
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
    socket.on("error", (err) => log.warn({ err, hostId: identity.hostId }, "link socket error"));
    socket.once("close", (code) => {
      sockets.delete(socket);
      metrics.linkConnections--;
      if (services.presence.detach(identity.hostId, identity.connectionId)) {
        services.db.host
          .updateMany({ where: { id: identity.hostId }, data: { online: false, lastSeenAt: new Date() } })
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
      trpcHttp(req, res);
      return;
    }
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
    const authenticate = isLink ? authenticateLink(services, req) : identityFromBearer(services, req);
    authenticate
      .then((identity) => {
        if (!isLink && identity.kind !== "user") throw new AppError("CODEPIPER_UNAUTHENTICATED", "log in first: WebSocket connections need an API token");
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
