import { createPublicKey, randomUUID } from "node:crypto";
import { z } from "zod";
import {
  AppError,
  CLOSE_CODES,
  commandViewSchema,
  hostNameSchema,
  hostViewSchema,
  joinInputSchema,
  joinOutputSchema,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
} from "@codepiper/core";
import { recordAudit } from "../audit/record.js";
import { consumeOneTimeToken, createOneTimeToken } from "../auth/one-time-tokens.js";
import { topics } from "../bus/bus.js";
import { awaitCommand, enqueueCommand, toCommandView } from "../commands/queue.js";
import { actorOf } from "../identity.js";
import type { Services } from "../services.js";
import { adminProcedure, operatorProcedure, publicProcedure, router, viewerProcedure } from "../trpc.js";
import { liveQuery } from "../bus/live.js";
import { listHostViews, toHostView } from "./view.js";

const hostRef = z.string().trim().min(1).max(100);
/** hosts.live sends load-only changes (heartbeats) at most this often per subscriber. */
const HOST_LOAD_THROTTLE_MS = 1000;

async function findHost(services: Services, ref: string) {
  const host = await services.db.host.findFirst({ where: { OR: [{ name: ref }, { id: ref }] } });
  if (!host) throw new AppError("CODEPIPER_NOT_FOUND", `no host named ${ref}`);
  return host;
}

function parsePublicKey(pem: string, type: "ed25519" | "x25519", what: string): string {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== type) throw new Error(`expected ${type}, got ${key.asymmetricKeyType}`);
    return key.export({ type: "spki", format: "pem" }).toString();
  } catch (err) {
    throw new AppError("CODEPIPER_BAD_INPUT", `${what} is not an ${type} public key`, { cause: err });
  }
}

export const hostsRouter = router({
  list: viewerProcedure.output(z.array(hostViewSchema)).query(({ ctx }) => listHostViews(ctx.services)),

  /**
   * `hosts.list`, live: the list at once, then again after every change. Links, revocations and
   * session changes (the `sessions` counts) are sent promptly; heartbeats (load, lastSeenAt) at
   * most once a second per subscriber. Each value has the schema of `hosts.list`.
   */
  live: viewerProcedure.subscription(async function* ({ ctx, signal }) {
    const services = ctx.services;
    yield* liveQuery(services.bus, { prompt: [topics.hosts, topics.sessions], throttled: [topics.hostLoad], throttleMs: HOST_LOAD_THROTTLE_MS, signal }, () => listHostViews(services));
  }),

  get: viewerProcedure.input(z.object({ host: hostRef })).output(hostViewSchema).query(async ({ ctx, input }) => {
    return toHostView(await findHost(ctx.services, input.host));
  }),

  /** A one-time join token for enrolling a new host (`codepiper hosts token create --ttl 15m`). */
  createJoinToken: adminProcedure
    .input(z.object({ ttlMs: z.number().int().min(1000).max(7 * 86_400_000).default(15 * 60_000) }))
    .output(z.object({ token: z.string(), expiresAt: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const issued = await createOneTimeToken(ctx.services.db, { kind: "join", ttlMs: input.ttlMs, createdById: ctx.identity.userId });
      await recordAudit(ctx, "hosts.join_token_created", `join-token:${issued.id}`, { expiresAt: issued.expiresAt.toISOString() });
      return { token: issued.token, expiresAt: issued.expiresAt.toISOString() };
    }),

  /** Enrollment: called by `codepiper agent join` with the one-time token and the host's public keys. */
  join: publicProcedure.input(joinInputSchema).output(joinOutputSchema).mutation(async ({ ctx, input }) => {
    const { db } = ctx.services;
    const name = hostNameSchema.safeParse(input.name);
    if (!name.success) throw new AppError("CODEPIPER_BAD_INPUT", `host name ${JSON.stringify(input.name)}: ${name.error.issues[0]?.message}`);
    if (input.facts.protocolVersion < MIN_PROTOCOL_VERSION) {
      throw new AppError("CODEPIPER_PROTOCOL_TOO_OLD", `agent protocol ${input.facts.protocolVersion} is too old; this control plane speaks ${MIN_PROTOCOL_VERSION}–${PROTOCOL_VERSION}`);
    }
    const signingPublicKey = parsePublicKey(input.signingPublicKey, "ed25519", "signingPublicKey");
    const encryptionPublicKey = parsePublicKey(input.encryptionPublicKey, "x25519", "encryptionPublicKey");
    const hostId = randomUUID();
    await db.$transaction(async (tx) => {
      const txDb = tx as unknown as typeof db;
      if (await tx.host.findUnique({ where: { name: name.data } })) {
        throw new AppError("CODEPIPER_HOST_NAME_TAKEN", `a host named ${name.data} is already enrolled: pick another --name or revoke and delete the old one`);
      }
      await consumeOneTimeToken(txDb, "join", input.token, hostId);
      await tx.host.create({ data: { id: hostId, name: name.data, signingPublicKey, encryptionPublicKey, factsJson: JSON.stringify(input.facts) } });
    });
    await recordAudit({ ...ctx, identity: { kind: "host", hostId, hostName: name.data, connectionId: "join" } }, "hosts.joined", `host:${hostId}`, { name: name.data });
    ctx.services.bus.publish(topics.hosts, hostId);
    return { hostId, name: name.data, controlPlaneId: ctx.services.controlPlaneId, audience: ctx.services.audience };
  }),

  /** Revokes a host: its link is closed at once and every later upgrade is refused with 403. */
  revoke: adminProcedure.input(z.object({ host: hostRef })).output(hostViewSchema).mutation(async ({ ctx, input }) => {
    const host = await findHost(ctx.services, input.host);
    const row = host.revokedAt ? host : await ctx.services.db.host.update({ where: { id: host.id }, data: { revokedAt: new Date(), online: false } });
    ctx.services.presence.close(host.id, CLOSE_CODES.revoked, "CODEPIPER_HOST_REVOKED");
    ctx.services.bus.publish(topics.hostRevoked(host.id));
    ctx.services.bus.publish(topics.hosts, host.id);
    await recordAudit(ctx, "hosts.revoked", `host:${host.id}`, { name: host.name });
    return toHostView(row);
  }),

  /** Round-trips a `ping` through the durable command stream and reports the latency. */
  ping: operatorProcedure
    .input(z.object({ host: hostRef, timeoutMs: z.number().int().min(0).max(600_000).default(10_000), ttlMs: z.number().int().min(1000).max(7 * 86_400_000).optional() }))
    .output(z.object({ commandId: z.string(), status: commandViewSchema.shape.status, latencyMs: z.number().nullable(), host: z.string(), agentTime: z.string().nullable() }))
    .mutation(async ({ ctx, input, signal }) => {
      const host = await findHost(ctx.services, input.host);
      // CONFLICT, not HOST_REVOKED: that code means "this agent must stop" and the CLI exits 10 on it.
      if (host.revokedAt) throw new AppError("CODEPIPER_CONFLICT", `host ${host.name} is revoked: it can no longer receive commands`);
      const started = performance.now();
      const cmd = await enqueueCommand(ctx.services, { hostId: host.id, type: "ping", payload: { sentAt: Date.now() }, ttlMs: input.ttlMs, createdBy: actorOf(ctx.identity) });
      const wait = Math.min(input.timeoutMs, ctx.services.config.maxWaitMs);
      const done = await awaitCommand(ctx.services, cmd.id, wait, signal);
      const view = toCommandView(done);
      const agentTime = (view.result as { agentTime?: string } | null)?.agentTime ?? null;
      return {
        commandId: view.id,
        status: view.status,
        latencyMs: view.status === "succeeded" ? Math.round((performance.now() - started) * 100) / 100 : null,
        host: host.name,
        agentTime,
      };
    }),

  commands: viewerProcedure
    .input(z.object({ host: hostRef.optional(), id: z.string().regex(/^\d+$/).optional(), limit: z.number().int().min(1).max(1000).default(100) }))
    .output(z.array(commandViewSchema))
    .query(async ({ ctx, input }) => {
      const hostId = input.host ? (await findHost(ctx.services, input.host)).id : undefined;
      const rows = await ctx.services.db.command.findMany({
        where: { hostId, id: input.id ? BigInt(input.id) : undefined },
        orderBy: { id: "desc" },
        take: input.limit,
      });
      return rows.map(toCommandView);
    }),
});
