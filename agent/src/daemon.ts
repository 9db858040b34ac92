import { createHash } from "node:crypto";
import { AppError } from "@codepiper/core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { CommandExecutor, pingHandler } from "./commands/executor.js";
import { cachedProviders, gatherFacts } from "./facts.js";
import { loadHostKeys, signLinkToken } from "./identity.js";
import { LinkSupervisor, type LinkExit } from "./link/supervisor.js";
import type { BackoffOptions } from "./link/backoff.js";
import { acquireStateLock } from "./lock.js";
import { createAgentLogger, type Logger } from "./log.js";
import { Outbox } from "./outbox.js";
import { SessionManager } from "./sessions/manager.js";
import { readEnrollment, statePaths } from "./state.js";
import { TmuxDriver } from "./tmux/driver.js";

export interface AgentRunOptions {
  stateDir: string;
  /** Overrides the enrolled URL (e.g. the control plane moved). */
  controlPlaneUrl?: string;
  log?: Logger;
  backoff?: BackoffOptions;
  keepAliveMs?: number;
  /** argv prefix running hook-forward with plain node: [node, "<abs>/hook-forward.cjs"]. */
  hookForward: readonly string[];
  /** Resume sessions whose tmux vanished while the agent was down (a reboot) through the provider. */
  preserveSessions?: boolean;
}

export interface RunningAgent {
  readonly hostId: string;
  readonly name: string;
  readonly supervisor: LinkSupervisor;
  readonly sessions: SessionManager;
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

  mkdirSync(join(paths.dir, "events"), { recursive: true, mode: 0o700 });
  // The manager starts (and re-adopts sessions) before the link exists; until then appends simply
  // wait in the outbox and terminal frames have no watcher.
  let link: LinkSupervisor | null = null;
  // Owned here: close() stops its env socket (sessions and the tmux server outlive the agent).
  const driver = new TmuxDriver(paths.tmuxSocket, { exitMarker: join(paths.dir, "events", "pane-exit") });
  const sessions = new SessionManager({
    paths,
    outbox,
    driver,
    exitMarker: join(paths.dir, "events", "pane-exit"),
    log,
    encryptionKey: keys.encryption,
    // Hook tokens are derived from the host's signing key, so they survive restarts unstored.
    hookSecret: createHash("sha256").update("codepiper-hook-token-v1").update(keys.signing.export({ type: "pkcs8", format: "der" })).digest(),
    providers: cachedProviders(),
    hookForward: opts.hookForward,
    pushTerminal: (frames) => link?.pushTerminal({ frames }) ?? Promise.resolve(),
    notifyAppended: () => link?.notifyAppended(),
    preserveSessions: opts.preserveSessions ?? false,
    controlPlane: () => {
      if (!link) throw new AppError("CODEPIPER_UNREACHABLE", "not linked to the control plane yet");
      return link.link();
    },
  });
  try {
    await sessions.start();
  } catch (err) {
    await driver.close().catch(() => undefined);
    outbox.close();
    lock.release();
    throw err;
  }

  const supervisor = new LinkSupervisor({
    controlPlaneUrl: opts.controlPlaneUrl ?? enrollment.controlPlaneUrl,
    sign: () => signLinkToken({ key: keys.signing, hostId: enrollment.hostId, audience: enrollment.audience }),
    facts: () => gatherFacts(),
    outbox,
    executor: new CommandExecutor(outbox, log, { ping: pingHandler, ...sessions.commandHandlers() }),
    ephemeral: sessions,
    log,
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
    ...(opts.keepAliveMs ? { keepAliveMs: opts.keepAliveMs } : {}),
  });
  link = supervisor;
  const controller = new AbortController();
  const done = supervisor.run(controller.signal).finally(async () => {
    await sessions.stop().catch((err: unknown) => log.warn({ err }, "stopping sessions failed"));
    await driver.close().catch((err: unknown) => log.warn({ err }, "closing the tmux driver failed"));
    clearInterval(pruneTimer);
    outbox.close();
    lock.release();
  });
  log.info({ stateDir: paths.dir, controlPlane: opts.controlPlaneUrl ?? enrollment.controlPlaneUrl }, "agent started");
  return {
    hostId: enrollment.hostId,
    name: enrollment.name,
    supervisor,
    sessions,
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
