import { mkdir } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { CLOSE_CODES, linkAudience } from "@codepiper/core";
import { createOneTimeToken } from "./auth/one-time-tokens.js";
import { RateLimiter } from "./auth/rate-limit.js";
import { countUsers } from "./auth/users.js";
import { expireApprovals } from "./approvals/service.js";
import { InProcessBus, topics, type Bus } from "./bus/bus.js";
import { PgBus } from "./bus/pg-bus.js";
import { expireCommands } from "./commands/queue.js";
import { parseServerConfig, type ServerConfigInput } from "./config.js";
import { openDatabase } from "./db/index.js";
import { pruneLinkJtis } from "./hosts/link-auth.js";
import { LinkLeases } from "./hosts/lease.js";
import { Presence } from "./hosts/presence.js";
import { EphemeralHub } from "./link/ephemeral.js";
import { ReplicaRelay } from "./link/relay.js";
import { TerminalHub } from "./terminal/hub.js";
import { Keyring } from "./keyring.js";
import { createControlPlaneServer as createServer } from "./http/server.js";
import { createLogger, type Logger } from "./log.js";
import type { Services } from "./services.js";
import { ensureControlPlaneId } from "./settings.js";

export interface ControlPlane {
  readonly url: string;
  readonly services: Services;
  /** Set on first start (no users yet): the one-time token that creates the first admin. */
  readonly setupToken: { token: string; expiresAt: Date } | null;
  close(): Promise<void>;
}

/** Starts a control plane: opens (and migrates) its database, then serves. */
export async function startControlPlane(input: ServerConfigInput & { logger?: Logger }): Promise<ControlPlane> {
  const config = parseServerConfig(input);
  const log = input.logger ?? createLogger({ level: config.logLevel });
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const database = await openDatabase({ url: config.databaseUrl });
  const db = database.prisma;
  const controlPlaneId = await ensureControlPlaneId(db);

  // Replicas share one PostgreSQL and talk over LISTEN/NOTIFY (DESIGN.md §5); one node uses the
  // in-process bus, the special case of the same interface.
  const replicated = config.bus === "postgres" || (config.bus === "auto" && database.provider === "postgresql");
  const pgBus = replicated ? await PgBus.open(config.databaseUrl, log).catch(async (err: unknown) => {
    await database.close();
    throw err;
  }) : null;
  const bus: Bus = pgBus ?? new InProcessBus();
  const presence = new Presence();
  const ephemeral = new EphemeralHub();
  const terminals = new TerminalHub(ephemeral, log);
  let leases: LinkLeases | null = null;
  let relay: ReplicaRelay | null = null;
  let unsubscribeLoads: (() => void) | null = null;
  if (pgBus) {
    // Other replicas may hold links right now: only hosts whose lease expired go offline.
    leases = new LinkLeases(db, bus, presence, config.linkLeaseMs, log.child({ subsystem: "leases" }));
    await leases.clearExpired();
    relay = new ReplicaRelay(bus, ephemeral, db, pgBus.origin, log.child({ subsystem: "relay" }));
    relay.localWatchers = (sessionId) => terminals.watching(sessionId);
    ephemeral.setRemote(relay);
    terminals.setRelay(relay);
    unsubscribeLoads = bus.subscribe(topics.hostLoad, (message) => presence.noteRemoteLoad(message));
  } else {
    // Single-node presence: nothing is linked to a process that just started.
    await db.host.updateMany({ where: { online: true }, data: { online: false } });
  }

  const services: Services = {
    config,
    ephemeral,
    terminals,
    keyring: Keyring.open(config.dataDir),
    database,
    db,
    log,
    bus,
    presence,
    loginLimiter: new RateLimiter({ maxFailures: 5, windowMs: 15 * 60_000, lockoutMs: 15 * 60_000 }),
    controlPlaneId,
    audience: linkAudience(controlPlaneId),
  };

  let setupToken: ControlPlane["setupToken"] = null;
  if ((await countUsers(db)) === 0) {
    const issued = await createOneTimeToken(db, { kind: "setup", ttlMs: 24 * 3_600_000, createdById: null });
    setupToken = { token: issued.token, expiresAt: issued.expiresAt };
  }

  const { server, sockets } = createServer(services);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  // Policy changes reach every linked host at once (a hint: each fetches its bundle when behind).
  const unsubscribePolicies = services.bus.subscribe(topics.policies, (version) => {
    for (const hostId of services.ephemeral.attachedHosts()) services.ephemeral.notify(hostId, "policy.changed", { version: Number(version) });
  });
  const timers = [
    setInterval(() => void expireApprovals(services).catch((err: unknown) => log.warn({ err }, "approval expiry failed")), 1000),
    setInterval(() => void expireCommands(services).catch((err: unknown) => log.warn({ err }, "command expiry failed")), 1000),
    setInterval(() => void pruneLinkJtis(services).catch((err: unknown) => log.warn({ err }, "jti prune failed")), 60_000),
  ];
  timers.forEach((t) => t.unref());
  leases?.start();
  log.info({ url, db: database.provider, dataDir: config.dataDir, bus: pgBus ? "postgres" : "memory", ...(pgBus ? { replica: pgBus.origin } : {}) }, "control plane listening");

  let closing: Promise<void> | null = null;
  return {
    url,
    services,
    setupToken,
    close() {
      closing ??= (async () => {
        timers.forEach(clearInterval);
        leases?.stop();
        unsubscribePolicies();
        relay?.close();
        unsubscribeLoads?.();
        // Replicas: only this replica's hosts go offline (the others' links are alive).
        const mine = services.presence.hosts();
        services.presence.closeAll(CLOSE_CODES.shuttingDown, "control plane shutting down");
        for (const socket of sockets) socket.terminate();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await db.host.updateMany({ where: { online: true, ...(pgBus ? { id: { in: mine } } : {}) }, data: { online: false } }).catch(() => undefined);
        if (pgBus) for (const id of mine) bus.publish(topics.hosts, id);
        await pgBus?.close();
        await database.close();
        log.info("control plane stopped");
        log.flush();
      })();
      return closing;
    },
  };
}
