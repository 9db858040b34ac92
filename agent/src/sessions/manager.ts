import { createHmac, type KeyObject } from "node:crypto";
import { mkdirSync, rmSync, watch, writeFileSync, type FSWatcher } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { z } from "zod";
import {
  AppError,
  ephemeralSpecs,
  isFinalState,
  tmuxSessionName,
  type EphemeralRequest,
  type EphemeralType,
  type ProviderFact,
  type SessionStartCommand,
  type SessionStarted,
  type SessionState,
  type SessionStateEvent,
  type TranscriptEvent,
} from "@codepiper/core";
import type { CommandHandlers } from "../commands/executor.js";
import { startHookServer, tokensEqual, type HookReply, type HookRequest, type HookServer } from "../hooks/server.js";
import type { ControlPlaneLink } from "../link/client.js";
import type { EphemeralHandler } from "../link/supervisor.js";
import type { Logger } from "../log.js";
import type { Outbox } from "../outbox.js";
import { adapterFor } from "../providers/index.js";
import type { LaunchContext } from "../providers/types.js";
import type { StatePaths } from "../state.js";
import type { TmuxDriver } from "../tmux/driver.js";
import { isInterrupt, isInterruptKey } from "../tmux/keys.js";
import { Decider } from "./decisions.js";
import { buildSessionEnv } from "./env.js";
import { PolicyCache } from "./policy.js";
import { fitPayload } from "./fit.js";
import { HOOK_PAYLOAD_BYTES, hookEventType, stateForHook } from "./hook-events.js";
import { SessionStore, type SessionRecord } from "./store.js";
import { TerminalStreamer, type FramePush } from "./terminal.js";
import { TranscriptTailer } from "./tailer.js";
import { runSteps, typeText, waitReady, type TypingTarget } from "./typing.js";
import { unseal } from "./unseal.js";
import { checkDirectory, createWorktree, findProvider, removeWorktree, validateStart } from "./workspace.js";

/**
 * Runs this host's sessions (DESIGN.md §3): launches providers in tmux on the agent's own socket,
 * receives their hooks, tails their transcripts, streams their terminals while watched, and moves
 * each session through its states — from hooks and tmux, never from guesses.
 *
 * Crash safety: every session record lives in the outbox database and changes together with the
 * `session.state` event that announces it. On start the manager re-adopts what tmux still runs,
 * finishes what died while it was down, and (with preserveSessions) resumes sessions whose tmux
 * vanished under them (a reboot) through the provider's own resume.
 */
export interface SessionManagerOptions {
  paths: StatePaths;
  outbox: Outbox;
  driver: TmuxDriver;
  log: Logger;
  /** The host's X25519 key (opens sealed env) and a secret the hook tokens are derived from. */
  encryptionKey: KeyObject;
  hookSecret: Buffer;
  /** Provider CLIs installed here (cached by the caller). */
  providers: () => Promise<ProviderFact[]>;
  /** argv prefix that runs hook-forward with plain node. */
  hookForward: readonly string[];
  pushTerminal: FramePush;
  /** Call after appending to the outbox: ships at once. */
  notifyAppended: () => void;
  preserveSessions?: boolean;
  /** The live link for policy fetches and approvals; throws when not linked. */
  controlPlane: () => ControlPlaneLink;
  /**
   * How often tmux is asked whether panes are still alive, while sessions live. With the tmux exit
   * hooks in place (the driver's exitMarker) this is only the safety net for a tmux server that
   * died without running hooks; without them, it is how exits are noticed.
   */
  monitorMs?: number;
  /** The file the driver's tmux hooks touch when a pane dies (same path as the driver's exitMarker). */
  exitMarker?: string;
}

interface Live {
  record: SessionRecord;
  tailer: TranscriptTailer;
  streamer: TerminalStreamer;
  /** Input for one session is typed strictly in order. */
  inputChain: Promise<unknown>;
  /** UserPromptSubmit hooks seen: typing checks it grew to know a prompt really went in. */
  submissions: number;
  finalizing: boolean;
}

const TOKEN_ENV = "CODEPIPER_HOOK_TOKEN";
const READY_TIMEOUT_MS = 90_000;
/** Input waits less than the control plane waits for its answer (60 s), so the caller gets our error, not a timeout. */
const INPUT_READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 8_000;
const HOOK_PORT_KEY = "agent:hookPort";
const explicitEnvSchema = z.record(z.string(), z.string());

export class SessionManager implements EphemeralHandler {
  private readonly store: SessionStore;
  private readonly live = new Map<string, Live>();
  private hooks: HookServer | null = null;
  private monitor: NodeJS.Timeout | null = null;
  private monitoring = false;
  private recheck = false;
  private exitWatch: FSWatcher | null = null;
  private stopped = false;
  readonly policies: PolicyCache;
  private readonly decider: Decider;

  constructor(private readonly opts: SessionManagerOptions) {
    this.store = new SessionStore(opts.outbox);
    this.policies = new PolicyCache(opts.outbox, opts.log);
    this.decider = new Decider({
      cache: this.policies,
      outbox: opts.outbox,
      log: opts.log,
      controlPlane: opts.controlPlane,
      notifyAppended: opts.notifyAppended,
      waiting: (sessionId, waiting) => this.approvalWaiting(sessionId, waiting),
    });
  }

  /** Fetches the policy bundle when the control plane has a newer one (on every link, and on a hint). */
  async refreshPolicies(): Promise<void> {
    try {
      const answer = await this.opts.controlPlane().policyBundle(this.policies.version);
      if (answer.changed) this.policies.update(answer.bundle);
    } catch (err) {
      this.opts.log.warn({ err }, "could not fetch policies; deciding with the cached copy");
    }
  }

  /** A session waiting for a human shows needs_permission; once answered it runs again. */
  private approvalWaiting(sessionId: string, waiting: boolean): void {
    const live = this.live.get(sessionId);
    if (!live || live.finalizing) return;
    live.record = this.store.transition(live.record, waiting ? "needs_permission" : "running", { reason: waiting ? "approval:requested" : "approval:answered" });
    this.opts.notifyAppended();
  }

  /** Opens the hook listeners and re-adopts sessions left by a previous run. */
  async start(): Promise<void> {
    const savedPort = z.number().int().safeParse(this.opts.outbox.getCursor(HOOK_PORT_KEY));
    this.hooks = await startHookServer({
      socketPath: join(this.opts.paths.dir, "hooks.sock"),
      ...(savedPort.success ? { port: savedPort.data } : {}),
      authorize: (sessionId, token) => this.store.get(sessionId) !== null && tokensEqual(token, this.hookToken(sessionId)),
      handle: (req) => this.onHook(req),
      log: this.opts.log,
    });
    if (this.hooks.port !== savedPort.data) this.opts.outbox.appendWithCursor([], { key: HOOK_PORT_KEY, value: this.hooks.port });
    await this.opts.driver.installExitHooks().catch((err: unknown) => this.opts.log.warn({ err }, "cannot install tmux exit hooks; polling instead"));
    await this.readopt();
    const marker = this.opts.exitMarker;
    if (marker && this.opts.driver.announcesExits) {
      // inotify on the marker's directory: zero cost while nothing happens.
      this.exitWatch = watch(dirname(marker), () => void this.checkPanes());
      this.exitWatch.on("error", (err) => this.opts.log.warn({ err }, "exit marker watch failed"));
    }
    const every = this.opts.monitorMs ?? (this.exitWatch ? 10_000 : 1000);
    this.monitor = setInterval(() => void this.checkPanes(), every);
    this.monitor.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.monitor) clearInterval(this.monitor);
    this.exitWatch?.close();
    for (const live of this.live.values()) {
      live.streamer.unwatch();
      await live.tailer.stop();
    }
    await this.hooks?.close();
  }

  /** Sessions this agent runs now (for facts/status). */
  liveCount(): number {
    return this.live.size;
  }

  // ---------------------------------------------------------------------------------------------
  // Durable commands

  commandHandlers(): Omit<CommandHandlers, "ping"> {
    return {
      "session.start": (p) => this.startSession(p),
      "session.stop": (p) => this.stopSession(p.sessionId),
      "session.kill": (p) => this.killSession(p.sessionId),
      "session.resume": (p) => this.resumeSession(p.sessionId, p.sealedEnv),
      "session.model": (p) => this.switchModel(p.sessionId, p.model),
    };
  }

  private async startSession(cmd: SessionStartCommand): Promise<SessionStarted> {
    if (this.store.get(cmd.sessionId)) throw new AppError("CODEPIPER_CONFLICT", `session ${cmd.sessionId} already exists on this host`);
    findProvider(cmd.provider, await this.opts.providers());
    let cwd = checkDirectory(cmd.cwd);
    let worktree: SessionRecord["worktree"] = null;
    if (cmd.worktree) {
      worktree = await createWorktree(cwd, cmd.worktree.branch);
      cwd = worktree.path;
    }
    const now = new Date().toISOString();
    const record: SessionRecord = {
      id: cmd.sessionId,
      provider: cmd.provider,
      name: cmd.name,
      cwd,
      billing: cmd.billing,
      dangerous: cmd.dangerous,
      model: cmd.model,
      args: cmd.args,
      policySetIds: cmd.policySetIds,
      cols: cmd.cols,
      rows: cmd.rows,
      sealedEnv: cmd.sealedEnv,
      worktree,
      state: "starting",
      exitCode: null,
      providerSessionId: cmd.provider === "claude-code" ? cmd.sessionId : null,
      transcriptPath: null,
      createdAt: now,
      startedAt: now,
      endedAt: null,
    };
    try {
      return await this.launch(record, null, "command:start");
    } catch (err) {
      if (worktree) await removeWorktree(worktree).catch(() => undefined);
      throw err;
    }
  }

  private async resumeSession(sessionId: string, sealedEnv: string | null): Promise<SessionStarted> {
    const record = this.store.get(sessionId);
    if (!record) throw new AppError("CODEPIPER_NOT_FOUND", `session ${sessionId} is not known on this host`);
    if (this.live.has(sessionId)) throw new AppError("CODEPIPER_CONFLICT", `session ${sessionId} is running: nothing to resume`);
    const resumeId = record.providerSessionId;
    if (!resumeId) throw new AppError("CODEPIPER_CONFLICT", `session ${sessionId} never reported its ${record.provider} session id, so the provider cannot resume it`);
    checkDirectory(record.cwd);
    return this.launch({ ...record, sealedEnv: sealedEnv ?? record.sealedEnv, startedAt: new Date().toISOString(), exitCode: null, endedAt: null }, resumeId, "command:resume");
  }

  private async stopSession(sessionId: string): Promise<{ state: SessionState; exitCode: number | null }> {
    const live = this.requireLive(sessionId);
    const name = tmuxSessionName(sessionId);
    live.finalizing = true;
    // The provider's own exit (both TUIs quit on a second Ctrl+C), so it saves its state; then tmux.
    // Both TUIs answer a first Ctrl+C with "…Ctrl-C again to exit/quit" for a moment; the second
    // press must land while that shows, so wait for the hint rather than a fixed time.
    await this.opts.driver.sendKeys(name, ["ctrl+c"]).catch(() => undefined);
    const exited = await this.waitExit(name, 1500, /again to (exit|quit)/i).then(async (info) => {
      if (info) return info;
      await this.opts.driver.sendKeys(name, ["ctrl+c"]).catch(() => undefined);
      return this.waitExit(name, STOP_GRACE_MS);
    });
    const exitCode = exited?.exitStatus ?? null;
    await this.finish(live, "stopped", { reason: exited ? "command:stop" : "command:stop (forced: the provider did not exit)", exitCode }, { removeWorktree: false });
    return { state: "stopped", exitCode };
  }

  private async killSession(sessionId: string): Promise<{ state: SessionState }> {
    const live = this.live.get(sessionId);
    const record = live?.record ?? this.store.get(sessionId);
    if (!record) throw new AppError("CODEPIPER_NOT_FOUND", `session ${sessionId} is not known on this host`);
    if (live) {
      live.finalizing = true;
      await this.finish(live, "stopped", { reason: "command:kill", exitCode: null }, { removeWorktree: true });
    } else {
      // Already ended: kill still cleans up what it left (its worktree, a lingering dead pane).
      await this.opts.driver.kill(tmuxSessionName(sessionId)).catch(() => undefined);
      if (record.worktree) await removeWorktree(record.worktree);
    }
    return { state: "stopped" };
  }

  private async switchModel(sessionId: string, model: string): Promise<{ model: string }> {
    const live = this.requireLive(sessionId);
    const steps = adapterFor(live.record.provider).switchModel(model);
    await this.serialInput(live, async () => {
      await this.ensureReady(live);
      // Both TUIs refuse (or queue as a prompt) a slash command typed during a turn: wait for the
      // turn to end, as reported by the Stop hook / notify, bounded.
      const deadline = Date.now() + INPUT_READY_TIMEOUT_MS;
      while (live.record.state === "running" && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      if (live.record.state === "running") throw new AppError("CODEPIPER_TIMEOUT", "the session stayed busy; switch the model when its turn has ended");
      // …and for the TUI to show its empty input box again (it finishes drawing after the hook).
      await waitReady(this.typingTarget(live), INPUT_READY_TIMEOUT_MS);
      await runSteps(this.typingTarget(live), steps);
    });
    live.record = this.store.transition(live.record, live.record.state, { reason: "command:model", model });
    this.opts.notifyAppended();
    return { model };
  }

  // ---------------------------------------------------------------------------------------------
  // Ephemeral requests (keystrokes, terminal, pre-flight)

  async handle(request: EphemeralRequest): Promise<unknown> {
    if (!Object.hasOwn(ephemeralSpecs, request.type)) throw new AppError("CODEPIPER_BAD_INPUT", `this agent does not know request ${request.type}: upgrade it`);
    const type = request.type as EphemeralType;
    const parsed = ephemeralSpecs[type].safeParse(request.payload);
    if (!parsed.success) throw new AppError("CODEPIPER_BAD_INPUT", `invalid ${type}: ${parsed.error.issues[0]?.message}`);
    const p = parsed.data as Record<string, unknown> & { sessionId: string };
    switch (type) {
      case "session.validate": {
        const v = ephemeralSpecs["session.validate"].parse(p);
        return validateStart(v, await this.opts.providers());
      }
      case "input.text": {
        const v = ephemeralSpecs["input.text"].parse(p);
        const live = this.requireLive(v.sessionId);
        await this.decider.input(live.record, "text", v.text, true);
        return this.serialInput(live, async () => {
          await this.ensureReady(live);
          const { enterRetries } = await typeText(this.typingTarget(live), v.text, v.enter);
          this.event(live, "terminal.input", { kind: "text", chars: v.text.length, enter: v.enter, enterRetries });
          return { chars: v.text.length, enterRetries };
        });
      }
      case "input.keys": {
        const v = ephemeralSpecs["input.keys"].parse(p);
        const live = this.requireLive(v.sessionId);
        await this.decider.input(live.record, "keys", v.keys.join(" "), true);
        return this.serialInput(live, async () => {
          await this.opts.driver.sendKeys(tmuxSessionName(live.record.id), v.keys);
          this.event(live, "terminal.input", { kind: "keys", keys: v.keys });
          if (v.keys.some(isInterruptKey)) void this.settleAfterInterrupt(live);
          return { keys: v.keys.length };
        });
      }
      case "input.raw": {
        const v = ephemeralSpecs["input.raw"].parse(p);
        const live = this.requireLive(v.sessionId);
        const data = Buffer.from(v.data, "base64");
        await this.decider.input(live.record, "raw", data.toString("utf8"), false);
        return this.serialInput(live, async () => {
          await live.streamer.input(data);
          if (isInterrupt(data)) void this.settleAfterInterrupt(live);
          return { bytes: data.length };
        });
      }
      case "terminal.resize": {
        const v = ephemeralSpecs["terminal.resize"].parse(p);
        const live = this.requireLive(v.sessionId);
        await this.opts.driver.resize(tmuxSessionName(live.record.id), v.cols, v.rows);
        live.record = { ...live.record, cols: v.cols, rows: v.rows };
        this.store.save(live.record, [{ type: "terminal.resize", sessionId: live.record.id, payload: { cols: v.cols, rows: v.rows } }]);
        this.opts.notifyAppended();
        return { cols: v.cols, rows: v.rows };
      }
      case "terminal.watch":
      case "terminal.snapshot":
        return this.requireLive(p.sessionId).streamer.watch();
      case "terminal.unwatch":
        this.live.get(p.sessionId)?.streamer.unwatch();
        return { ok: true };
      case "policy.changed": {
        const v = ephemeralSpecs["policy.changed"].parse(p);
        if (this.policies.version === null || v.version > this.policies.version) await this.refreshPolicies();
        return { version: this.policies.version };
      }
      case "terminal.capture": {
        const v = ephemeralSpecs["terminal.capture"].parse(p);
        const live = this.requireLive(v.sessionId);
        return { text: await this.opts.driver.capture(tmuxSessionName(live.record.id), { scrollback: v.lines }) };
      }
    }
  }

  linkChanged(online: boolean): void {
    // Watches belong to the control plane's watchers; a new link starts from fresh watches.
    if (!online) for (const live of this.live.values()) live.streamer.unwatch();
    else void this.refreshPolicies();
  }

  // ---------------------------------------------------------------------------------------------
  // Hooks

  private async onHook(req: HookRequest): Promise<HookReply> {
    const live = this.live.get(req.sessionId);
    const record = live?.record ?? this.store.get(req.sessionId);
    if (!record) return { body: null };
    const payload = req.payload;
    this.opts.outbox.append([{ type: hookEventType(req.event), sessionId: record.id, payload: fitPayload({ event: req.event, channel: req.channel, ...payload }, HOOK_PAYLOAD_BYTES) }]);
    this.opts.notifyAppended();
    if (!live || live.finalizing) return { body: null };

    const learnt: Pick<SessionStateEvent, "transcriptPath" | "providerSessionId" | "model"> = {};
    const transcript = payload.transcript_path;
    if (typeof transcript === "string" && isAbsolute(transcript) && transcript.length < 4096) learnt.transcriptPath = transcript;
    // Codex: the thread id comes from hook payloads only. notify also fires for Codex's own
    // title-generation side thread (another thread id, often first), so it never teaches the id,
    // and a notify for another thread says nothing about this session's state.
    const threadId = live.record.provider === "codex" && req.event !== "notify" ? payload.session_id : undefined;
    if (typeof threadId === "string" && /^[A-Za-z0-9-]{8,100}$/.test(threadId)) learnt.providerSessionId = threadId;
    const foreignNotify = req.event === "notify" && payload["thread-id"] !== (learnt.providerSessionId ?? live.record.providerSessionId);
    if (req.event === "SessionStart" && typeof payload.model === "string") learnt.model = payload.model.slice(0, 200);
    if (!learnt.transcriptPath && learnt.providerSessionId && !live.record.transcriptPath) {
      const located = this.locateTranscript(live.record, learnt.providerSessionId);
      if (located) learnt.transcriptPath = located;
    }
    if (learnt.transcriptPath) live.tailer.setPath(learnt.transcriptPath);
    if (req.event === "UserPromptSubmit") live.submissions++;

    let reply: HookReply = { body: null };
    if (req.event === "PreToolUse" || req.event === "PermissionRequest") {
      reply = await this.decider.toolCall(live.record, req.event, payload, req.signal);
      // The human's answer already moved the state (needs_permission → running).
      if (live.finalizing) return reply;
    }

    const state = foreignNotify ? null : stateForHook(req.event, payload);
    // A hook arriving before the TUI drew its prompt still says it runs; `starting` ends here too.
    const next = state ?? (live.record.state === "starting" && req.event !== "SessionStart" ? "running" : live.record.state);
    live.record = this.store.transition(live.record, next, { reason: `hook:${req.event}`, ...learnt });
    this.opts.notifyAppended();
    if (req.event === "Stop" || req.event === "notify") void live.tailer.catchUp().catch(() => undefined);
    return reply;
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle internals

  private async launch(record: SessionRecord, resumeId: string | null, reason: string): Promise<SessionStarted> {
    const hooks = this.hooks;
    if (!hooks) throw new AppError("CODEPIPER_INTERNAL", "session manager not started");
    const adapter = adapterFor(record.provider);
    const binary = findProvider(record.provider, await this.opts.providers()).path;
    const sessionDir = join(this.opts.paths.dir, "sessions", record.id);
    mkdirSync(sessionDir, { recursive: true, mode: 0o700 });
    const explicit = record.sealedEnv ? this.openEnv(record) : {};
    const env = buildSessionEnv({ base: process.env, explicit, billing: record.billing, provider: record.provider });
    const ctx: LaunchContext = {
      sessionId: record.id,
      cwd: record.cwd,
      binary,
      sessionDir,
      hooks: { httpBase: hooks.httpBase, socketPath: hooks.socketPath, hookForward: this.opts.hookForward, tokenEnv: TOKEN_ENV },
      model: record.model,
      dangerous: record.dangerous,
      extraArgs: record.args,
      resumeId,
      env,
    };
    const plan = resumeId ? adapter.resume({ ...ctx, resumeId }) : adapter.launch(ctx);
    for (const file of plan.files) writeFileSync(file.path, file.content, { mode: 0o600 });
    const name = tmuxSessionName(record.id);
    // A dead pane of a previous run of this session (remain-on-exit) would block the name.
    if (resumeId) await this.opts.driver.kill(name).catch(() => undefined);
    await this.opts.driver.newSession({
      name,
      cwd: record.cwd,
      command: plan.argv,
      env: { ...env, ...plan.env, [TOKEN_ENV]: this.hookToken(record.id), CODEPIPER_SESSION_ID: record.id },
      cols: record.cols,
      rows: record.rows,
    });
    const started: SessionRecord = { ...record, state: "starting" };
    const transcriptPath = record.transcriptPath ?? this.locateTranscript(record, record.providerSessionId);
    const saved = this.store.transition({ ...started, state: record.state === "starting" && !resumeId ? "crashed" : record.state }, "starting", {
      reason,
      exitCode: null,
      ...(transcriptPath ? { transcriptPath } : {}),
      ...(record.providerSessionId ? { providerSessionId: record.providerSessionId } : {}),
      ...(record.model ? { model: record.model } : {}),
    });
    this.opts.notifyAppended();
    const live = this.attach(saved);
    void this.watchReadiness(live);
    const pane = await this.opts.driver.paneInfo(name).catch(() => null);
    this.opts.log.info({ sessionId: record.id, provider: record.provider, resume: resumeId !== null }, "session started");
    return { sessionId: record.id, tmuxSession: name, cwd: record.cwd, pid: pane?.pid ?? null, worktree: record.worktree ? { path: record.worktree.path, branch: record.worktree.branch } : null };
  }

  private attach(record: SessionRecord): Live {
    const tailer = new TranscriptTailer({
      sessionId: record.id,
      provider: record.provider,
      outbox: this.opts.outbox,
      log: this.opts.log,
      path: record.transcriptPath,
      // inotify (the tailer watches the file's directory) and the Stop/notify hooks are the fast
      // paths; the poll is only the safety net, and ten idle sessions must cost ~nothing.
      pollMs: 2000,
      onEvents: (events) => this.onTranscript(record.id, events),
    });
    const streamer = new TerminalStreamer(this.opts.driver, record.id, tmuxSessionName(record.id), this.opts.pushTerminal, this.opts.log);
    const live: Live = { record, tailer, streamer, inputChain: Promise.resolve(), submissions: 0, finalizing: false };
    this.live.set(record.id, live);
    tailer.start();
    return live;
  }

  private onTranscript(sessionId: string, events: TranscriptEvent[]): void {
    this.opts.notifyAppended();
    const live = this.live.get(sessionId);
    if (!live) return;
    for (const e of events) {
      if (e.type === "session_meta" && e.providerSessionId && live.record.provider === "codex" && !live.record.providerSessionId) {
        live.record = this.store.transition(live.record, live.record.state, { reason: "transcript:session_meta", providerSessionId: e.providerSessionId });
      }
    }
  }

  /** `starting` ends when the TUI shows it takes input (or earlier, by a hook). */
  private async watchReadiness(live: Live): Promise<void> {
    try {
      await waitReady(this.typingTarget(live), READY_TIMEOUT_MS);
    } catch {
      return; // never got ready: the pane monitor reports the exit if it died; otherwise it stays starting
    }
    if (this.live.get(live.record.id) === live && live.record.state === "starting" && !live.finalizing) {
      live.record = this.store.transition(live.record, "idle", { reason: "tmux:ready" });
      this.opts.notifyAppended();
    }
  }

  /**
   * Escape / Ctrl+C can end a turn or refuse a permission prompt with no hook at all (Claude fires
   * no Stop for an interrupted turn). After such keys, named (`input.keys`) or typed as raw bytes
   * (`input.raw`, see `isInterrupt`), the TUI showing its input prompt again is what says the
   * session is idle.
   */
  private async settleAfterInterrupt(live: Live): Promise<void> {
    if (!["running", "needs_permission", "needs_input"].includes(live.record.state)) return;
    try {
      await waitReady(this.typingTarget(live), 5_000);
    } catch {
      return; // still busy (the keys did not interrupt): hooks will tell
    }
    if (this.live.get(live.record.id) === live && !live.finalizing && live.record.state !== "idle" && live.record.state !== "starting") {
      live.record = this.store.transition(live.record, "idle", { reason: "tmux:ready after interrupt" });
      this.opts.notifyAppended();
    }
  }

  private async ensureReady(live: Live): Promise<void> {
    if (live.record.state === "starting") await waitReady(this.typingTarget(live), INPUT_READY_TIMEOUT_MS);
  }

  private typingTarget(live: Live): TypingTarget {
    return { driver: this.opts.driver, tmuxName: tmuxSessionName(live.record.id), adapter: adapterFor(live.record.provider), submissions: () => live.submissions };
  }

  private serialInput<T>(live: Live, fn: () => Promise<T>): Promise<T> {
    const run = live.inputChain.then(fn, fn);
    live.inputChain = run.catch(() => undefined);
    return run;
  }

  /** Ends a session: transcript read to the end, watchers told, state recorded, tmux cleaned up. */
  private async finish(live: Live, state: "stopped" | "crashed", info: { reason: string; exitCode: number | null; error?: string }, opts: { removeWorktree: boolean }): Promise<void> {
    this.live.delete(live.record.id);
    await live.tailer.catchUp().catch(() => undefined);
    await live.tailer.stop().catch(() => undefined);
    live.streamer.ended(info.reason);
    await this.opts.driver.kill(tmuxSessionName(live.record.id)).catch(() => undefined);
    live.record = this.store.transition(live.record, state, { reason: info.reason, exitCode: info.exitCode, ...(info.error ? { error: info.error } : {}) });
    this.opts.notifyAppended();
    if (opts.removeWorktree && live.record.worktree) {
      await removeWorktree(live.record.worktree).catch((err: unknown) => this.opts.log.warn({ err, sessionId: live.record.id }, "worktree cleanup failed"));
    }
    rmSync(join(this.opts.paths.dir, "sessions", live.record.id), { recursive: true, force: true });
    this.opts.log.info({ sessionId: live.record.id, state, reason: info.reason, exitCode: info.exitCode }, "session ended");
  }

  /** One tmux call for all sessions: exits are noticed within `monitorMs`. */
  private async checkPanes(): Promise<void> {
    if (this.stopped || this.live.size === 0) return;
    if (this.monitoring) {
      // An exit announced during a check: look again right after it, or it would wait for the poll.
      this.recheck = true;
      return;
    }
    this.monitoring = true;
    try {
      const panes = await this.opts.driver.listPanes();
      for (const live of [...this.live.values()]) {
        if (live.finalizing) continue;
        const pane = panes.get(tmuxSessionName(live.record.id));
        if (!pane) {
          live.finalizing = true;
          await this.finish(live, "crashed", { reason: "tmux:vanished", exitCode: null, error: "the tmux session disappeared (its tmux server was killed or it was closed from outside)" }, { removeWorktree: false });
        } else if (pane.dead) {
          const info = pane.exitStatus === null ? await this.opts.driver.paneInfo(tmuxSessionName(live.record.id)).catch(() => null) : null;
          const exitCode = pane.exitStatus ?? info?.exitStatus ?? null;
          if (exitCode === null && info?.dead) continue; // not reaped yet: next round
          live.finalizing = true;
          const crashed = exitCode !== 0;
          await this.finish(live, crashed ? "crashed" : "stopped", { reason: "tmux:exited", exitCode, ...(crashed ? { error: `the provider exited with status ${exitCode ?? "unknown"}` } : {}) }, { removeWorktree: false });
        }
      }
    } catch (err) {
      this.opts.log.warn({ err }, "pane check failed");
    } finally {
      this.monitoring = false;
      if (this.recheck) {
        this.recheck = false;
        void this.checkPanes();
      }
    }
  }

  /** Polls until the pane's program exited (→ its status) or the deadline (→ null); `until` on screen also ends the wait (→ null). */
  private waitExit(name: string, timeoutMs: number, until?: RegExp): Promise<{ exitStatus: number | null } | null> {
    const deadline = Date.now() + timeoutMs;
    return (async () => {
      for (;;) {
        const pane = await this.opts.driver.paneInfo(name).catch(() => null);
        if (!pane) return { exitStatus: null };
        if (pane.dead && pane.exitStatus !== null) return { exitStatus: pane.exitStatus };
        if (Date.now() >= deadline) return null;
        if (until && until.test(await this.opts.driver.capture(name).catch(() => ""))) return null;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
  }

  /** Re-adoption after a restart (or a crash): tmux is the truth about what still runs. */
  private async readopt(): Promise<void> {
    const records = this.store.list().filter((r) => !isFinalState(r.state));
    if (records.length === 0) return;
    const panes = await this.opts.driver.listPanes();
    for (const record of records) {
      const name = tmuxSessionName(record.id);
      const pane = panes.get(name);
      if (pane && !pane.dead) {
        const live = this.attach(record);
        if (record.state === "starting") void this.watchReadiness(live);
        this.opts.log.info({ sessionId: record.id }, "re-adopted a running session");
        continue;
      }
      const live = this.attach(record);
      live.finalizing = true;
      if (pane) {
        const info = await this.opts.driver.paneInfo(name).catch(() => null);
        const exitCode = info?.exitStatus ?? pane.exitStatus;
        await this.finish(live, exitCode === 0 ? "stopped" : "crashed", { reason: "tmux:exited while the agent was down", exitCode: exitCode ?? null }, { removeWorktree: false });
      } else if (this.opts.preserveSessions && record.providerSessionId) {
        this.live.delete(record.id);
        await live.tailer.stop();
        try {
          await this.launch(record, record.providerSessionId, "preserve:resumed after the agent restarted");
          this.opts.log.info({ sessionId: record.id }, "resumed a session whose tmux was gone (preserveSessions)");
        } catch (err) {
          const message = err instanceof AppError ? err.message : "resume failed";
          this.store.transition(record, "crashed", { reason: "preserve:resume failed", exitCode: null, error: message });
        }
      } else {
        await this.finish(live, "crashed", { reason: "tmux:vanished while the agent was down", exitCode: null, error: "the tmux session was gone when the agent restarted" }, { removeWorktree: false });
      }
    }
    this.opts.notifyAppended();
  }

  private locateTranscript(record: SessionRecord, providerSessionId: string | null): string | null {
    const env = buildSessionEnv({ base: process.env, billing: record.billing, provider: record.provider });
    return adapterFor(record.provider).locateTranscript({ sessionId: record.id, cwd: record.cwd, env, providerSessionId, startedAt: new Date(record.startedAt) });
  }

  private openEnv(record: SessionRecord): Record<string, string> {
    const opened = explicitEnvSchema.safeParse(JSON.parse(unseal(this.opts.encryptionKey, record.sealedEnv ?? "", record.id)));
    if (!opened.success) throw new AppError("CODEPIPER_BAD_INPUT", "the session's sealed environment is not a map of names to values");
    return opened.data;
  }

  /** Per-session hook token: derived, so it survives agent restarts without being stored. */
  private hookToken(sessionId: string): string {
    return createHmac("sha256", this.opts.hookSecret).update(sessionId).digest("base64url");
  }

  private requireLive(sessionId: string): Live {
    const live = this.live.get(sessionId);
    if (live && !live.finalizing) return live;
    const record = this.store.get(sessionId);
    if (!record) throw new AppError("CODEPIPER_NOT_FOUND", `session ${sessionId} is not known on this host`);
    throw new AppError("CODEPIPER_SESSION_ENDED", `session ${sessionId} has ${record.state}`);
  }

  private event(live: Live, type: string, payload: Record<string, unknown>): void {
    this.opts.outbox.append([{ type, sessionId: live.record.id, payload }]);
    this.opts.notifyAppended();
  }
}
