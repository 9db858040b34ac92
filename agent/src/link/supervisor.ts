import { LIMITS, PERMANENT_LINK_ERRORS, AppError, type CommandEnvelope, type EphemeralReply, type EphemeralRequest, type ErrorCode, type HostFacts, type TerminalPush } from "@codepiper/core";
import type { CommandExecutor } from "../commands/executor.js";
import { currentLoad } from "../facts.js";
import type { Logger } from "../log.js";
import type { Outbox } from "../outbox.js";
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff.js";
import { connectLink, type ControlPlaneLink, type LinkConnectOptions } from "./client.js";
import type { LinkRefusal } from "./socket.js";

/** Answers ephemeral requests (the session manager). Requests may run concurrently; ordering per session is the handler's job. */
export interface EphemeralHandler {
  handle(request: EphemeralRequest): Promise<unknown>;
  /** The link (re)opened or dropped: the control plane's watch state is gone either way. */
  linkChanged(online: boolean): void;
}

export type LinkExit = { kind: "stopped" } | { kind: "permanent"; code: ErrorCode; message: string };

export interface LinkSupervisorOptions {
  controlPlaneUrl: string;
  sign: () => string;
  facts: () => Promise<HostFacts>;
  outbox: Outbox;
  executor: CommandExecutor;
  ephemeral?: EphemeralHandler;
  log: Logger;
  connect?: (opts: LinkConnectOptions) => ControlPlaneLink;
  backoff?: BackoffOptions;
  keepAliveMs?: number;
  /** Most events per shipped batch (default: the most the control plane accepts, LIMITS.eventBatchSize). */
  batchSize?: number;
  /** Rough bound on a batch's JSON size (default: half the link's message limit). */
  maxBatchBytes?: number;
  /** How often the shipper looks for events appended by other processes. */
  pollMs?: number;
}

/** The domain error code of a failure, whether thrown locally or answered by the control plane. */
function appCodeOf(err: unknown): ErrorCode | null {
  if (err instanceof AppError) return err.code;
  return (err as { data?: { appCode?: ErrorCode } } | null)?.data?.appCode ?? null;
}

function abortable(signal: AbortSignal, ms?: number): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = ms === undefined ? undefined : setTimeout(done, ms);
    function done() {
      if (timer) clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Keeps the one outbound link up (DESIGN.md §2, STYLE.md "redial loop"). Each connection runs
 * three named routines — outbox shipping, the command stream, heartbeats. If any of them fails,
 * all stop and the link is redialed with jittered backoff and a fresh JWT. A permanent refusal
 * (revoked, unknown host, protocol too old, wrong audience) ends the loop instead.
 *
 * On graceful stop: the shipper finishes the batch in flight (its ack is awaited so the outbox is
 * pruned exactly), the command stream is unsubscribed, heartbeats stop, then the socket closes.
 */
export class LinkSupervisor {
  private wakeShipper: (() => void) | null = null;
  private readonly opts: Required<Omit<LinkSupervisorOptions, "connect" | "ephemeral">> & { connect: (o: LinkConnectOptions) => ControlPlaneLink; ephemeral?: EphemeralHandler };
  private current: ControlPlaneLink | null = null;
  online = false;

  /**
   * Terminal frames to the control plane, best effort: with no link they are dropped (the control
   * plane resyncs its watchers with fresh snapshots when the host links again).
   */
  /** The live link for request/answer calls (policies, approvals), or an error saying there is none. */
  link(): ControlPlaneLink {
    const link = this.current;
    if (!link || !this.online) throw new AppError("CODEPIPER_UNREACHABLE", "not linked to the control plane");
    return link;
  }

  pushTerminal(push: TerminalPush): Promise<void> {
    const link = this.current;
    if (!link || !this.online) return Promise.resolve();
    return link.pushTerminal(push).catch((err: unknown) => this.opts.log.debug({ err }, "terminal push failed"));
  }

  constructor(options: LinkSupervisorOptions) {
    this.opts = { connect: connectLink, backoff: DEFAULT_BACKOFF, keepAliveMs: 15_000, batchSize: LIMITS.eventBatchSize, maxBatchBytes: LIMITS.linkMessageBytes / 2, pollMs: 250, ...options };
  }

  /** Call after appending to the outbox in this process: ships without waiting for the poll. */
  notifyAppended(): void {
    this.wakeShipper?.();
  }

  async run(signal: AbortSignal): Promise<LinkExit> {
    let attempt = 0;
    while (!signal.aborted) {
      const started = Date.now();
      const outcome = await this.connectOnce(signal);
      if (outcome.refusal?.code && PERMANENT_LINK_ERRORS.has(outcome.refusal.code)) {
        return { kind: "permanent", code: outcome.refusal.code, message: outcome.refusal.message };
      }
      if (signal.aborted) break;
      // A link that stayed up a while resets the backoff: the next failure is a new incident.
      if (outcome.opened && Date.now() - started > 30_000) attempt = 0;
      const delay = backoffDelay(attempt++, this.opts.backoff);
      this.opts.log.warn(
        { code: outcome.refusal?.code, reason: outcome.refusal?.message ?? outcome.reason, retryInMs: delay },
        outcome.opened ? "link lost; reconnecting" : "cannot link to the control plane; retrying",
      );
      await abortable(signal, delay);
    }
    return { kind: "stopped" };
  }

  private async connectOnce(signal: AbortSignal): Promise<{ opened: boolean; refusal: LinkRefusal | null; reason: string }> {
    let refusal: LinkRefusal | null = null;
    let markOpen!: () => void;
    let markClosed!: (code: number | undefined) => void;
    const opened = new Promise<void>((r) => (markOpen = r));
    const closed = new Promise<number | undefined>((r) => (markClosed = r));
    const link = this.opts.connect({
      controlPlaneUrl: this.opts.controlPlaneUrl,
      sign: this.opts.sign,
      keepAliveMs: this.opts.keepAliveMs,
      onOpen: () => markOpen(),
      onClose: (code) => markClosed(code),
      onRefused: (r) => (refusal ??= r),
    });
    const routines = new AbortController();
    const stopRoutines = () => routines.abort();
    signal.addEventListener("abort", stopRoutines, { once: true });
    let wasOpen = false;
    let reason = "closed";
    try {
      const first = await Promise.race([opened.then(() => "open" as const), closed.then(() => "closed" as const), abortable(signal).then(() => "stop" as const)]);
      if (first !== "open") return { opened: false, refusal, reason: "could not connect" };
      wasOpen = true;
      // Raced with the close: a call made on a link that just died is parked by the tRPC client until
      // its next reconnect, which the supervisor owns (retryDelayMs is parked), so it would never settle.
      const hello = await Promise.race([
        this.opts.facts().then((facts) => link.hello(facts)),
        closed.then((code) => Promise.reject(new Error(`link closed (${code ?? "no code"}) before hello`))),
      ]);
      const rebased = this.opts.outbox.rebaseAbove(hello.ackedSeq);
      if (rebased > 0) this.opts.log.warn({ rebased, ackedSeq: hello.ackedSeq }, "outbox was reset on this host; renumbered pending events");
      this.opts.outbox.prune(hello.ackedSeq);
      this.online = true;
      this.current = link;
      this.opts.ephemeral?.linkChanged(true);
      this.opts.log.info({ host: hello.name, ackedSeq: hello.ackedSeq }, "linked to the control plane");

      const failed = new Promise<string>((resolve) => {
        const fail = (name: string) => (err: unknown) => {
          if (!routines.signal.aborted) resolve(`${name} failed: ${err instanceof Error ? err.message : String(err)}`);
        };
        this.shipOutbox(link, hello.ackedSeq, routines.signal).catch(fail("outbox shipping"));
        this.streamCommands(link, routines.signal).catch(fail("command stream"));
        this.heartbeat(link, hello.heartbeatMs, routines.signal).catch(fail("heartbeat"));
        if (this.opts.ephemeral) this.serveEphemeral(link, this.opts.ephemeral, routines.signal).catch(fail("ephemeral stream"));
      });
      reason = await Promise.race([failed, closed.then((code) => `closed (${code ?? "no code"})`), abortable(signal).then(() => "stopping")]);
      return { opened: true, refusal, reason };
    } catch (err) {
      const code = appCodeOf(err);
      if (code && PERMANENT_LINK_ERRORS.has(code)) refusal ??= { status: null, code, message: (err as Error).message };
      return { opened: wasOpen, refusal, reason: (err as Error).message };
    } finally {
      if (this.online) this.opts.ephemeral?.linkChanged(false);
      this.online = false;
      this.current = null;
      signal.removeEventListener("abort", stopRoutines);
      routines.abort();
      this.wakeShipper?.();
      // Graceful stop: let the batch in flight be answered so the outbox is pruned exactly. Once the
      // socket has closed no answer can come (the push may never settle until link.close() fails it):
      // waiting on it would stall the redial forever. The batch is simply re-sent on the next link.
      await Promise.race([this.inFlight, closed]);
      await link.close().catch(() => undefined);
    }
  }

  private inFlight: Promise<unknown> = Promise.resolve();

  private async shipOutbox(link: ControlPlaneLink, ackedSeq: number, signal: AbortSignal): Promise<void> {
    let acked = ackedSeq;
    while (!signal.aborted) {
      const events = this.opts.outbox.readAfter(acked, this.opts.batchSize, this.opts.maxBatchBytes);
      if (events.length === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, this.opts.pollMs);
          const onAbort = () => done();
          signal.addEventListener("abort", onAbort, { once: true });
          this.wakeShipper = done;
          function done() {
            clearTimeout(timer);
            signal.removeEventListener("abort", onAbort);
            resolve();
          }
        });
        this.wakeShipper = null;
        continue;
      }
      const push = link.pushEvents({ events });
      this.inFlight = push.catch(() => undefined);
      const result = await push;
      acked = Math.max(acked, result.ackedSeq);
      this.opts.outbox.prune(acked);
    }
  }

  private async streamCommands(link: ControlPlaneLink, signal: AbortSignal): Promise<void> {
    // First, outcomes the control plane may not have heard (the agent died or the link dropped
    // between executing a command and its acknowledgement being answered). Without this, an
    // entry whose ack *did* reach the control plane just before a crash would stay unacknowledged
    // in the journal forever: the command is never streamed again, so the journal never learns.
    let queue: Promise<void> = (async () => {
      for (const ack of this.opts.executor.unacknowledged()) {
        if (signal.aborted) return;
        try {
          await link.ackCommand(ack);
        } catch (err) {
          // The control plane has no such command for this host: nothing is waiting for this outcome.
          if (appCodeOf(err) !== "CODEPIPER_NOT_FOUND") throw err;
          this.opts.log.warn({ commandId: ack.id }, "the control plane does not know a journaled command; forgetting its outcome");
        }
        this.opts.outbox.markAcked(ack.id);
      }
    })();
    await new Promise<void>((resolve, reject) => {
      queue.catch(reject);
      const run = (command: CommandEnvelope) => {
        // Serial: commands for one host execute in the order the control plane issued them.
        queue = queue.then(async () => {
          if (signal.aborted) return;
          const ack = await this.opts.executor.execute(command);
          await link.ackCommand(ack);
          this.opts.outbox.markAcked(command.id);
        });
        queue.catch(reject);
      };
      const unsubscribe = link.commands(run, reject);
      signal.addEventListener("abort", () => {
        unsubscribe();
        resolve();
      }, { once: true });
    });
  }

  /** Each request is handled as it comes (concurrently) and answered; a failed answer is not retried (best effort). */
  private async serveEphemeral(link: ControlPlaneLink, handler: EphemeralHandler, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const answer = (request: EphemeralRequest) => {
        void handler
          .handle(request)
          .then(
            (result): EphemeralReply => ({ id: request.id, ok: true, result }),
            (err: unknown): EphemeralReply => {
              if (!(err instanceof AppError)) this.opts.log.error({ err, type: request.type }, "ephemeral request failed");
              return {
                id: request.id,
                ok: false,
                error: err instanceof AppError ? { code: err.code, message: err.message.slice(0, 4000) } : { code: "CODEPIPER_INTERNAL", message: "the host could not do it" },
              };
            },
          )
          .then((reply) => (signal.aborted ? undefined : link.reply(reply)))
          .catch((err: unknown) => this.opts.log.debug({ err }, "ephemeral reply not delivered"));
      };
      const unsubscribe = link.ephemeral(answer, reject);
      signal.addEventListener("abort", () => {
        unsubscribe();
        resolve();
      }, { once: true });
    });
  }

  /**
   * The first heartbeat goes out soon after the link is up (the dashboard shows load at once, not
   * after a whole interval), jittered by up to a second so that a fleet relinking after a
   * control-plane restart does not send them all in the same instant; then one per interval.
   */
  private async heartbeat(link: ControlPlaneLink, intervalMs: number, signal: AbortSignal): Promise<void> {
    let wait = Math.min(intervalMs, Math.random() * 1000);
    while (!signal.aborted) {
      await abortable(signal, wait);
      if (signal.aborted) return;
      await link.heartbeat(currentLoad(this.opts.outbox.pending()));
      wait = intervalMs;
    }
  }
}
