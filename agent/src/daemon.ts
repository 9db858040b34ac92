import { CommandExecutor } from "./commands/executor.js";
import { gatherFacts } from "./facts.js";
import { loadHostKeys, signLinkToken } from "./identity.js";
import { LinkSupervisor, type LinkExit } from "./link/supervisor.js";
import type { BackoffOptions } from "./link/backoff.js";
import { acquireStateLock } from "./lock.js";
import { createAgentLogger, type Logger } from "./log.js";
import { Outbox } from "./outbox.js";
import { readEnrollment, statePaths } from "./state.js";

export interface AgentRunOptions {
  stateDir: string;
  /** Overrides the enrolled URL (e.g. the control plane moved). */
  controlPlaneUrl?: string;
  log?: Logger;
  backoff?: BackoffOptions;
  keepAliveMs?: number;
}

export interface RunningAgent {
  readonly hostId: string;
  readonly name: string;
  readonly supervisor: LinkSupervisor;
  /** Resolves when the agent stops: on `stop()` or on a permanent link error. */
  readonly done: Promise<LinkExit>;
  stop(): Promise<LinkExit>;
}

/**
 * Starts the agent daemon for one state dir. Lifecycle: lock → open outbox → link supervisor.
 * `stop()` is the graceful path (finish the batch in flight, close the link, close the outbox);
 * a hard stop is simply process exit: the outbox and the command journal are crash-safe.
 */
export async function startAgent(opts: AgentRunOptions): Promise<RunningAgent> {
  const paths = statePaths(opts.stateDir);
  const enrollment = readEnrollment(paths);
  const keys = loadHostKeys(paths);
  const log = (opts.log ?? createAgentLogger()).child({ host: enrollment.name });
  const lock = acquireStateLock(paths.lock);
  const outbox = new Outbox(paths.outbox);
  const pruneTimer = setInterval(() => outbox.pruneCommands(7 * 86_400_000), 3_600_000).unref();

  const supervisor = new LinkSupervisor({
    controlPlaneUrl: opts.controlPlaneUrl ?? enrollment.controlPlaneUrl,
    sign: () => signLinkToken({ key: keys.signing, hostId: enrollment.hostId, audience: enrollment.audience }),
    facts: () => gatherFacts(),
    outbox,
    executor: new CommandExecutor(outbox, log),
    log,
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
    ...(opts.keepAliveMs ? { keepAliveMs: opts.keepAliveMs } : {}),
  });
  const controller = new AbortController();
  const done = supervisor.run(controller.signal).finally(() => {
    clearInterval(pruneTimer);
    outbox.close();
    lock.release();
  });
  log.info({ stateDir: paths.dir, controlPlane: opts.controlPlaneUrl ?? enrollment.controlPlaneUrl }, "agent started");
  return {
    hostId: enrollment.hostId,
    name: enrollment.name,
    supervisor,
    done,
    stop() {
      controller.abort();
      return done;
    },
  };
}

/** Appends events to an agent's outbox from another process (`codepiper agent emit`). */
export function appendToOutbox(stateDir: string, events: { type: string; sessionId?: string | null; payload: unknown }[]): number[] {
  const paths = statePaths(stateDir);
  readEnrollment(paths);
  const outbox = new Outbox(paths.outbox);
  try {
    return outbox.append(events);
  } finally {
    outbox.close();
  }
}

export function outboxStatus(stateDir: string): { pending: number; lastSeq: number } {
  const outbox = new Outbox(statePaths(stateDir).outbox);
  try {
    return { pending: outbox.pending(), lastSeq: outbox.lastSeq() };
  } finally {
    outbox.close();
  }
}
