import { tracked } from "@trpc/server";
import { z } from "zod";
import { AppError, ephemeralReplySchema, terminalPushSchema, commandAckSchema, eventBatchSchema, heartbeatInputSchema, helloInputSchema, helloOutputSchema, ingestResultSchema } from "@codepiper/core";
import { topics } from "../bus/bus.js";
import { acknowledgeCommand, deliverableCommands } from "../commands/queue.js";
import { ingestEvents } from "../events/ingest.js";
import { hostProcedure, router } from "../trpc.js";
import { approvalRequestSchema, awaitApproval, requestApproval, withdrawApproval } from "../approvals/service.js";
import { bundleForHost } from "../policies/store.js";
import { recordAudit } from "../audit/record.js";

/**
 * Procedures only linked hosts may call (the identity comes from the JWT checked at the upgrade).
 * A host can only ever act on its own rows: every query below is keyed by ctx.identity.hostId.
 */
export const linkRouter = router({
  hello: hostProcedure.input(helloInputSchema).output(helloOutputSchema).mutation(async ({ ctx, input }) => {
    const { hostId } = ctx.identity;
    if (!ctx.services.presence.isCurrent(hostId, ctx.identity.connectionId)) {
      throw new AppError("CODEPIPER_CONFLICT", "this link was replaced by a newer one");
    }
    const connectedAt = new Date();
    const host = await ctx.services.db.host.update({
      where: { id: hostId },
      data: { factsJson: JSON.stringify(input.facts), online: true, connectedAt, lastSeenAt: connectedAt },
    });
    ctx.services.presence.setConnectedAt(hostId, ctx.identity.connectionId, connectedAt);
    ctx.services.bus.publish(topics.hosts, hostId);
    return { hostId, name: host.name, ackedSeq: Number(host.ackedSeq), serverTime: new Date().toISOString(), heartbeatMs: ctx.services.config.heartbeatMs };
  }),

  heartbeat: hostProcedure.input(heartbeatInputSchema).output(z.object({ ok: z.literal(true) })).mutation(async ({ ctx, input }) => {
    const { hostId, connectionId } = ctx.identity;
    await ctx.services.db.host.update({ where: { id: hostId }, data: { lastSeenAt: new Date() } });
    ctx.services.presence.setLoad(hostId, connectionId, input.load);
    // Its own topic: hosts.live throttles these, while links and unlinks on topics.hosts go out at once.
    ctx.services.bus.publish(topics.hostLoad, JSON.stringify({ hostId, load: input.load }));
    return { ok: true as const };
  }),

  pushEvents: hostProcedure.input(eventBatchSchema).output(ingestResultSchema).mutation(({ ctx, input }) => {
    return ingestEvents(ctx.services, ctx.identity.hostId, input);
  }),

  /** The durable command stream; on reconnect tRPC resumes it from `lastEventId`. */
  commands: hostProcedure.input(z.object({ lastEventId: z.string().regex(/^\d+$/).nullish() }).optional()).subscription(async function* ({ ctx, input, signal }) {
    const { services } = ctx;
    const { hostId } = ctx.identity;
    let cursor = BigInt(input?.lastEventId ?? 0);
    while (!signal?.aborted) {
      const stop = new AbortController();
      const woken = services.bus.next(topics.commandsFor(hostId), signal ? AbortSignal.any([signal, stop.signal]) : stop.signal);
      const batch = await deliverableCommands(services, hostId, cursor, 100);
      for (const command of batch) {
        cursor = BigInt(command.id);
        yield tracked(command.id, command);
      }
      if (batch.length > 0) {
        stop.abort();
        continue;
      }
      await woken;
    }
  }),

  /** The ephemeral stream: keystrokes, terminal watch/snapshot, resize, pre-flight (never stored). */
  ephemeral: hostProcedure.subscription(async function* ({ ctx, signal }) {
    yield* ctx.services.ephemeral.attach(ctx.identity.hostId, ctx.identity.connectionId, signal);
  }),

  reply: hostProcedure.input(ephemeralReplySchema).output(z.object({ matched: z.boolean() })).mutation(({ ctx, input }) => {
    return { matched: ctx.services.ephemeral.reply(ctx.identity.hostId, ctx.identity.connectionId, input) };
  }),

  /** Terminal frames of watched sessions; frames for sessions this host does not stream are dropped. */
  terminal: hostProcedure.input(terminalPushSchema).output(z.object({ ok: z.literal(true) })).mutation(({ ctx, input }) => {
    for (const { sessionId, frame } of input.frames) ctx.services.terminals.push(ctx.identity.hostId, sessionId, frame);
    return { ok: true as const };
  }),

  /** The policies this host decides with, if newer than the version it holds. */
  policyBundle: hostProcedure.input(z.object({ haveVersion: z.number().int().nonnegative().nullable() })).query(async ({ ctx, input }) => {
    const bundle = await bundleForHost(ctx.services, ctx.identity.hostId);
    return input.haveVersion !== null && input.haveVersion >= bundle.version ? { changed: false as const, version: bundle.version } : { changed: true as const, bundle };
  }),

  /** An `ask` decision: a human is asked; the host then waits with awaitApproval. */
  requestApproval: hostProcedure.input(approvalRequestSchema).output(z.object({ id: z.string(), expiresAt: z.string() })).mutation(async ({ ctx, input }) => {
    const created = await requestApproval(ctx.services, ctx.identity.hostId, input);
    await recordAudit(ctx, "approval.requested", `approval:${created.id}`, { session: input.sessionId, tool: input.tool, policy: input.policyName });
    return created;
  }),

  awaitApproval: hostProcedure
    .input(z.object({ id: z.string().uuid() }))
    .output(z.object({ status: z.string(), decidedBy: z.string().nullable(), reason: z.string().nullable() }))
    .mutation(({ ctx, input, signal }) => awaitApproval(ctx.services, ctx.identity.hostId, input.id, signal)),

  withdrawApproval: hostProcedure.input(z.object({ id: z.string().uuid() })).output(z.object({ ok: z.literal(true) })).mutation(async ({ ctx, input }) => {
    await withdrawApproval(ctx.services, ctx.identity.hostId, input.id);
    await recordAudit(ctx, "approval.withdrawn", `approval:${input.id}`);
    return { ok: true as const };
  }),

  ackCommand: hostProcedure.input(commandAckSchema).output(z.object({ status: z.string() })).mutation(({ ctx, input }) => {
    return acknowledgeCommand(ctx.services, ctx.identity.hostId, input);
  }),
});
