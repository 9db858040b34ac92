import { randomUUID } from "node:crypto";
import { z } from "zod";
import {
  AppError,
  hostFactsSchema,
  isErrorCode,
  isFinalState,
  LIMITS,
  PROVIDER_IDS,
  SESSION_LIMITS,
  SESSION_STATES,
  sessionNameSchema,
  sessionStartInputSchema,
  sessionViewSchema,
  validateResultSchema,
  type CommandType,
  type SessionStartCommand,
  type ValidateResult,
} from "@codepiper/core";
import { recordAudit } from "../audit/record.js";
import { topics } from "../bus/bus.js";
import { liveQuery } from "../bus/live.js";
import { awaitCommand, enqueueCommand, toCommandView } from "../commands/queue.js";
import { actorOf } from "../identity.js";
import type { Services } from "../services.js";
import { operatorProcedure, router, viewerProcedure, type Context } from "../trpc.js";
import { resolveSession, type ResolvedSession } from "./resolve.js";
import { openEnvSets } from "../envsets/store.js";
import { findPolicySet } from "../policies/store.js";
import { applyWorkspace } from "../workspaces/store.js";
import { seal } from "./seal.js";
import { toSessionView, usageBySession } from "./view.js";
import { validateStartInput } from "./validate.js";

const sessionRef = z.string().trim().min(1).max(100);
const START_TIMEOUT_MS = 60_000;

async function pickHost(services: Services, ref: string | undefined) {
  if (ref) {
    const host = await services.db.host.findFirst({ where: { OR: [{ name: ref }, { id: ref }] } });
    if (!host) throw new AppError("CODEPIPER_NOT_FOUND", `no host named ${ref}`);
    return host;
  }
  const online = await services.db.host.findMany({ where: { online: true, revokedAt: null }, orderBy: { name: "asc" }, take: 20 });
  if (online.length === 1) return online[0]!;
  if (online.length === 0) throw new AppError("CODEPIPER_HOST_OFFLINE", "no host is online: start an agent (codepiper agent run) or name one with --host");
  throw new AppError("CODEPIPER_BAD_INPUT", `several hosts are online (${online.map((h) => h.name).join(", ")}): name one with --host`);
}

/** The `CODE: message` text a failed command stores, back into a domain error. */
function commandFailure(error: string | null, fallback: string): AppError {
  const match = /^([A-Z_]+): ([\s\S]*)$/.exec(error ?? "");
  if (match && isErrorCode(match[1])) return new AppError(match[1], match[2] ?? fallback);
  return new AppError("CODEPIPER_INTERNAL", error ?? fallback);
}

function liveHost(session: ResolvedSession): void {
  if (session.host.revokedAt) throw new AppError("CODEPIPER_CONFLICT", `host ${session.host.name} is revoked`);
}

function notEnded(session: ResolvedSession): void {
  if (isFinalState(session.status as (typeof SESSION_STATES)[number])) {
    throw new AppError("CODEPIPER_SESSION_ENDED", `session ${session.id} has ${session.status}${session.exitCode !== null ? ` (exit ${session.exitCode})` : ""}: resume it first (codepiper resume ${session.id.slice(0, 8)})`);
  }
}

async function policySetNames(services: Services): Promise<Map<string, string>> {
  return new Map((await services.db.policySet.findMany({ select: { id: true, name: true } })).map((s) => [s.id, s.name]));
}

const sessionListInputSchema = z.object({
  host: z.string().max(100).optional(),
  status: z.enum(SESSION_STATES).optional(),
  provider: z.enum(PROVIDER_IDS).optional(),
  limit: z.number().int().min(1).max(LIMITS.pageMax).default(500),
});

async function listSessionViews(services: Services, hostId: string | undefined, filter: z.infer<typeof sessionListInputSchema>) {
  const rows = await services.db.session.findMany({
    where: { hostId, status: filter.status, provider: filter.provider },
    include: { host: { select: { name: true } } },
    orderBy: { createdAt: "desc" },
    take: filter.limit,
  });
  const usage = await usageBySession(services, rows.map((r) => r.id));
  const names = await policySetNames(services);
  return rows.map((r) => toSessionView(r, r.host.name, usage.get(r.id), names));
}

/** After a change to a session's row made here (not through the host's events): lists and watchers re-read. */
function published(services: Services, session: { id: string; hostId: string }): void {
  services.bus.publish(topics.sessions, session.hostId);
  services.bus.publish(topics.sessionChanged(session.id), session.hostId);
}

async function viewOf(services: Services, id: string) {
  const row = await services.db.session.findUniqueOrThrow({ where: { id }, include: { host: { select: { name: true } } } });
  const usage = await usageBySession(services, [id]);
  return toSessionView(row, row.host.name, usage.get(id), await policySetNames(services));
}

/**
 * Runs a durable session command and waits (bounded) for the host's answer. An offline host gets
 * the command when it links again (until the TTL): the answer then says `pending`, not an error.
 */
async function sessionCommand(ctx: Context, session: ResolvedSession, type: CommandType, payload: unknown, timeoutMs: number, signal?: AbortSignal) {
  liveHost(session);
  const cmd = await enqueueCommand(ctx.services, { hostId: session.hostId, type, payload, createdBy: actorOf(ctx.identity) });
  await recordAudit(ctx, type, `session:${session.id}`, { command: String(cmd.id) });
  if (!ctx.services.presence.isOnline(session.hostId) && !(await ctx.services.ephemeral.isReachable(session.hostId))) return toCommandView(cmd);
  const done = toCommandView(await awaitCommand(ctx.services, cmd.id, Math.min(timeoutMs, ctx.services.config.maxWaitMs), signal));
  if (done.status === "failed") throw commandFailure(done.error, `${type} failed on the host`);
  return done;
}

const commandOutcome = z.object({ commandId: z.string(), status: z.string(), queued: z.boolean(), session: sessionViewSchema });

async function outcome(services: Services, sessionId: string, cmd: { id: string; status: string }) {
  return { commandId: cmd.id, status: cmd.status, queued: cmd.status === "pending" || cmd.status === "delivered", session: await viewOf(services, sessionId) };
}

export const sessionsRouter = router({
  start: operatorProcedure
    .input(sessionStartInputSchema)
    .output(z.object({ session: sessionViewSchema.nullable(), validation: validateResultSchema }))
    .mutation(async ({ ctx, input: raw, signal }) => {
      const { services } = ctx;
      // --validate / the dashboard's Validate: every check with its own verdict; a real start stops at the first problem.
      if (raw.validateOnly) return { session: null, validation: await validateStartInput(services, raw, pickHost) };
      const input = await applyWorkspace(services, raw);
      if (!input.provider) throw new AppError("CODEPIPER_BAD_INPUT", "which provider? pass -p claude-code|codex (or a workspace that sets one)");
      if (!input.cwd) throw new AppError("CODEPIPER_BAD_INPUT", "which directory? pass -d <absolute dir on the host> (or a workspace)");
      const provider = input.provider;
      const cwd = input.cwd;
      const host = await pickHost(services, input.host);
      if (host.revokedAt) throw new AppError("CODEPIPER_CONFLICT", `host ${host.name} is revoked`);
      if (!(await services.ephemeral.isReachable(host.id))) throw new AppError("CODEPIPER_HOST_OFFLINE", `host ${host.name} is offline`);
      const facts = hostFactsSchema.safeParse(JSON.parse(host.factsJson));
      const providers = facts.success ? facts.data.providers : [];
      if (!providers.some((p) => p.id === provider)) {
        const has = providers.length ? providers.map((p) => `${p.id} ${p.version ?? ""}`.trim()).join(", ") : "no provider CLI at all";
        throw new AppError("CODEPIPER_PROVIDER_MISSING", `host ${host.name} has no ${provider} CLI installed; it has: ${has}`);
      }
      if (input.name && (await services.db.session.findFirst({ where: { hostId: host.id, name: input.name }, select: { id: true } }))) {
        throw new AppError("CODEPIPER_CONFLICT", `host ${host.name} already has a session named ${input.name}`);
      }
      const validation = validateResultSchema.parse(
        await services.ephemeral.request(host.id, "session.validate", { provider, cwd, worktree: input.worktree ?? null }, 30_000),
      ) as ValidateResult;

      // The default set (if any) always applies; --policy-set adds more.
      const defaultSet = await services.db.policySet.findFirst({ where: { isDefault: true }, select: { id: true } });
      const policySetIds = [...new Set([...(defaultSet ? [defaultSet.id] : []), ...(await Promise.all(input.policySets.map(async (ref) => (await findPolicySet(services, ref)).id)))])];
      const id = randomUUID();
      // Env sets first (in order), explicit --env last; opened here in memory, sealed to the host.
      const sets = await openEnvSets(services, input.envSets);
      const env = { ...sets.values, ...input.env };
      const envNames = Object.keys(env).sort();
      const sealedEnv = envNames.length > 0 ? seal(host.encryptionPublicKey, JSON.stringify(env), id) : null;
      await services.db.session.create({
        data: {
          id,
          hostId: host.id,
          name: input.name ?? null,
          provider,
          status: "starting",
          cwd,
          billing: input.billing,
          dangerous: input.dangerous,
          model: input.model ?? null,
          envNamesJson: JSON.stringify(envNames),
          sealedEnv,
          worktreeBranch: input.worktree?.branch ?? null,
          argsJson: JSON.stringify(input.args),
          policySetIdsJson: JSON.stringify(policySetIds),
          providerSessionId: input.provider === "claude-code" ? id : null,
          createdBy: actorOf(ctx.identity),
        },
      });
      await recordAudit(ctx, "sessions.start", `session:${id}`, { host: host.name, provider, cwd, dangerous: input.dangerous, envNames, envSets: sets.ids, workspace: input.workspace ?? null });
      published(services, { id, hostId: host.id });
      const payload: SessionStartCommand = {
        sessionId: id,
        provider,
        cwd,
        name: input.name ?? null,
        billing: input.billing,
        dangerous: input.dangerous,
        sealedEnv,
        worktree: input.worktree ?? null,
        model: input.model ?? null,
        args: input.args,
        policySetIds,
        cols: input.cols,
        rows: input.rows,
      };
      const cmd = await enqueueCommand(services, { hostId: host.id, type: "session.start", payload, createdBy: actorOf(ctx.identity) });
      const done = toCommandView(await awaitCommand(services, cmd.id, Math.min(START_TIMEOUT_MS, services.config.maxWaitMs), signal));
      if (done.status === "failed" || done.status === "expired") {
        const err = commandFailure(done.error, "the host could not start the session");
        await services.db.session.update({ where: { id }, data: { status: "crashed", error: err.message, endedAt: new Date() } });
        published(services, { id, hostId: host.id });
        throw err;
      }
      if (done.status === "succeeded") {
        const result = done.result as { worktree?: { path: string } | null } | null;
        if (result?.worktree) {
          await services.db.session.update({ where: { id }, data: { worktreePath: result.worktree.path, cwd: result.worktree.path } });
          published(services, { id, hostId: host.id });
        }
      }
      return { session: await viewOf(services, id), validation };
    }),

  list: viewerProcedure.input(sessionListInputSchema).output(z.array(sessionViewSchema)).query(async ({ ctx, input }) => {
    const hostId = input.host ? (await pickHost(ctx.services, input.host)).id : undefined;
    return listSessionViews(ctx.services, hostId, input);
  }),

  /**
   * `sessions.list`, live (same filters): the list at once, then again after every session change
   * (state, usage, a new one), bursts coalesced. Each value has the schema of `sessions.list`.
   */
  live: viewerProcedure.input(sessionListInputSchema).subscription(async function* ({ ctx, input, signal }) {
    const services = ctx.services;
    // Resolved once: a host named in the filter keeps its id even if it is renamed meanwhile.
    const hostId = input.host ? (await pickHost(services, input.host)).id : undefined;
    yield* liveQuery(services.bus, { prompt: [topics.sessions], signal }, () => listSessionViews(services, hostId, input));
  }),

  get: viewerProcedure.input(z.object({ session: sessionRef })).output(sessionViewSchema).query(async ({ ctx, input }) => {
    const session = await resolveSession(ctx.services, input.session);
    return viewOf(ctx.services, session.id);
  }),

  /**
   * `sessions.get`, live: the session's view at once, then again after every change to that
   * session (state, model, name, usage; a policy set's new name), equal values not repeated. Each
   * value has the schema of `sessions.get`; an unknown session is NOT_FOUND before any value.
   */
  watch: viewerProcedure.input(z.object({ session: sessionRef })).subscription(async function* ({ ctx, input, signal }) {
    const services = ctx.services;
    // Resolved once: a watcher follows the session it found even if another one takes its name later.
    const { id } = await resolveSession(services, input.session);
    yield* liveQuery(services.bus, { prompt: [topics.sessionChanged(id), topics.policies], signal }, () => viewOf(services, id));
  }),

  send: operatorProcedure
    .input(z.object({ session: sessionRef, text: z.string().max(SESSION_LIMITS.textBytes, `text is over ${SESSION_LIMITS.textBytes} characters`), enter: z.boolean().default(true) }))
    .output(z.object({ sessionId: z.string(), chars: z.number() }))
    .mutation(async ({ ctx, input }) => {
      if (Buffer.byteLength(input.text) > SESSION_LIMITS.textBytes) throw new AppError("CODEPIPER_PAYLOAD_TOO_LARGE", `text is over ${SESSION_LIMITS.textBytes} bytes (1 MiB)`);
      const session = await resolveSession(ctx.services, input.session);
      notEnded(session);
      await ctx.services.ephemeral.request(session.hostId, "input.text", { sessionId: session.id, text: input.text, enter: input.enter }, 60_000);
      return { sessionId: session.id, chars: input.text.length };
    }),

  keys: operatorProcedure
    .input(z.object({ session: sessionRef, keys: z.array(z.string().max(40)).min(1).max(SESSION_LIMITS.keysPerCall) }))
    .output(z.object({ sessionId: z.string(), keys: z.number() }))
    .mutation(async ({ ctx, input }) => {
      const session = await resolveSession(ctx.services, input.session);
      notEnded(session);
      await ctx.services.ephemeral.request(session.hostId, "input.keys", { sessionId: session.id, keys: input.keys });
      return { sessionId: session.id, keys: input.keys.length };
    }),

  /** `/command args` typed into the provider's TUI and submitted. */
  slash: operatorProcedure
    .input(z.object({ session: sessionRef, command: z.string().regex(/^\/?[A-Za-z][A-Za-z0-9:_-]{0,63}$/, "a slash command name like model, compact or clear"), args: z.string().max(4096).default("") }))
    .output(z.object({ sessionId: z.string(), text: z.string() }))
    .mutation(async ({ ctx, input }) => {
      if (/[\r\n]/.test(input.args)) throw new AppError("CODEPIPER_BAD_INPUT", "slash command arguments must be one line");
      const session = await resolveSession(ctx.services, input.session);
      notEnded(session);
      const text = `/${input.command.replace(/^\//, "")}${input.args ? ` ${input.args}` : ""}`;
      await ctx.services.ephemeral.request(session.hostId, "input.text", { sessionId: session.id, text, enter: true }, 60_000);
      return { sessionId: session.id, text };
    }),

  /** Raw bytes from an attached terminal (base64). */
  input: operatorProcedure
    .input(z.object({ session: sessionRef, data: z.string().max(90_000) }))
    .output(z.object({ ok: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const session = await resolveSession(ctx.services, input.session);
      notEnded(session);
      await ctx.services.ephemeral.request(session.hostId, "input.raw", { sessionId: session.id, data: input.data });
      return { ok: true as const };
    }),

  resize: operatorProcedure
    .input(z.object({ session: sessionRef, cols: z.number().int().min(2).max(1000), rows: z.number().int().min(2).max(1000) }))
    .output(z.object({ sessionId: z.string(), cols: z.number(), rows: z.number() }))
    .mutation(async ({ ctx, input }) => {
      const session = await resolveSession(ctx.services, input.session);
      notEnded(session);
      await ctx.services.ephemeral.request(session.hostId, "terminal.resize", { sessionId: session.id, cols: input.cols, rows: input.rows });
      return { sessionId: session.id, cols: input.cols, rows: input.rows };
    }),

  /** The pane as plain text (screen + `lines` of scrollback): `codepiper tail`. */
  capture: viewerProcedure
    .input(z.object({ session: sessionRef, lines: z.number().int().min(0).max(100_000).default(0) }))
    .output(z.object({ sessionId: z.string(), text: z.string() }))
    .query(async ({ ctx, input }) => {
      const session = await resolveSession(ctx.services, input.session);
      notEnded(session);
      const result = z.object({ text: z.string() }).parse(await ctx.services.ephemeral.request(session.hostId, "terminal.capture", { sessionId: session.id, lines: input.lines }));
      return { sessionId: session.id, text: result.text };
    }),

  /** Live terminal: a snapshot, then output chunks; `resync` means a new snapshot follows. */
  terminal: viewerProcedure.input(z.object({ session: sessionRef })).subscription(async function* ({ ctx, input, signal }) {
    const session = await resolveSession(ctx.services, input.session);
    notEnded(session);
    yield* ctx.services.terminals.watch(session.hostId, session.id, signal);
  }),

  /** Shows (no `model`) or switches the model. */
  model: operatorProcedure
    .input(z.object({ session: sessionRef, model: z.string().min(1).max(200).regex(/^[A-Za-z0-9._:[\]-]+$/, "a model alias (sonnet, opus, haiku, opusplan) or a full model id").optional() }))
    .output(z.object({ sessionId: z.string(), model: z.string().nullable(), changed: z.boolean(), queued: z.boolean() }))
    .mutation(async ({ ctx, input, signal }) => {
      const session = await resolveSession(ctx.services, input.session);
      if (!input.model) return { sessionId: session.id, model: session.model, changed: false, queued: false };
      notEnded(session);
      const cmd = await sessionCommand(ctx, session, "session.model", { sessionId: session.id, model: input.model }, 30_000, signal);
      const queued = cmd.status !== "succeeded";
      // The host also reports the new model in a session.state event (then also when the switch was
      // queued for an offline host); writing it here as well shows it before that event arrives.
      if (!queued) {
        await ctx.services.db.session.update({ where: { id: session.id }, data: { model: input.model } });
        published(ctx.services, session);
      }
      return { sessionId: session.id, model: input.model, changed: !queued, queued };
    }),

  stop: operatorProcedure.input(z.object({ session: sessionRef })).output(commandOutcome).mutation(async ({ ctx, input, signal }) => {
    const session = await resolveSession(ctx.services, input.session);
    notEnded(session);
    return outcome(ctx.services, session.id, await sessionCommand(ctx, session, "session.stop", { sessionId: session.id }, 45_000, signal));
  }),

  kill: operatorProcedure.input(z.object({ session: sessionRef })).output(commandOutcome).mutation(async ({ ctx, input, signal }) => {
    const session = await resolveSession(ctx.services, input.session);
    return outcome(ctx.services, session.id, await sessionCommand(ctx, session, "session.kill", { sessionId: session.id }, 30_000, signal));
  }),

  resume: operatorProcedure.input(z.object({ session: sessionRef })).output(commandOutcome).mutation(async ({ ctx, input, signal }) => {
    const session = await resolveSession(ctx.services, input.session);
    if (!isFinalState(session.status as (typeof SESSION_STATES)[number])) throw new AppError("CODEPIPER_CONFLICT", `session ${session.id} is ${session.status}, not stopped: nothing to resume`);
    if (!(await ctx.services.ephemeral.isReachable(session.hostId))) throw new AppError("CODEPIPER_HOST_OFFLINE", `host ${session.host.name} is offline`);
    return outcome(ctx.services, session.id, await sessionCommand(ctx, session, "session.resume", { sessionId: session.id, sealedEnv: session.sealedEnv }, START_TIMEOUT_MS, signal));
  }),

  rename: operatorProcedure
    .input(z.object({ session: sessionRef, name: sessionNameSchema }))
    .output(sessionViewSchema)
    .mutation(async ({ ctx, input }) => {
      const session = await resolveSession(ctx.services, input.session);
      const clash = await ctx.services.db.session.findFirst({ where: { hostId: session.hostId, name: input.name, id: { not: session.id } }, select: { id: true } });
      if (clash) throw new AppError("CODEPIPER_CONFLICT", `host ${session.host.name} already has a session named ${input.name}`);
      await ctx.services.db.session.update({ where: { id: session.id }, data: { name: input.name } });
      published(ctx.services, session);
      await recordAudit(ctx, "sessions.rename", `session:${session.id}`, { name: input.name });
      return viewOf(ctx.services, session.id);
    }),
});
