import { execFile } from "node:child_process";
import { dirname } from "node:path";
import { AppError } from "@codepiper/core";
import { EnvSocket } from "./envsocket.js";
import { parseKeys } from "./keys.js";
import { chunkText, envFileContents, launchArgv, tmuxArg } from "./launch.js";

/**
 * The agent's only way to touch tmux (issue 3, DESIGN.md §3). One driver is bound to one server
 * socket (`<stateDir>/tmux.sock`): every call passes `-S <socket>`, so it never reaches the user's
 * default server or another agent's, and sessions are addressed as `=<name>` so tmux's prefix
 * matching can never pick a neighbour.
 */

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}
export type TmuxExec = (file: string, args: string[], env: NodeJS.ProcessEnv) => Promise<ExecResult>;

export interface TmuxDriverOptions {
  /** Runs the tmux binary; tests fake it. */
  exec?: TmuxExec;
  tmuxBinary?: string;
  /** Read only when a server starts. /dev/null by default: a user's ~/.tmux.conf must not change how sessions behave. */
  configFile?: string;
  /**
   * Where the env socket and its client live (envsocket.ts); the tmux socket's directory (the 0700
   * state dir) by default. Must be owned by this user and writable by no one else.
   */
  runtimeDir?: string;
  /** How long an environment waits for its pane to fetch it (30 s by default). */
  envTtlMs?: number;
  /** Environment of the tmux processes, which becomes the server's global environment. */
  tmuxEnv?: NodeJS.ProcessEnv;
  /** Scrollback kept per pane. */
  historyLimit?: number;
  /**
   * A file tmux touches (run-shell from its `pane-died` and `session-closed` hooks) whenever a pane
   * of ours dies or a session closes: the agent watches it with inotify instead of asking tmux
   * every second. Only plain paths are accepted (tmux expands `#` formats in hook commands).
   */
  exitMarker?: string;
  /** Sends a signal to a pid (the tmux server's, see paneInfo); tests fake it. */
  signal?: (pid: number, signal: NodeJS.Signals) => void;
}

export interface NewSessionSpec {
  name: string;
  cwd: string;
  /** argv, never a shell string. */
  command: readonly string[];
  env: Readonly<Record<string, string>>;
  cols: number;
  rows: number;
}

export interface PaneInfo {
  paneId: string;
  pid: number;
  dead: boolean;
  /**
   * Set once the command has exited (remain-on-exit keeps the pane so this is observable). tmux
   * sees the pty close before it reaps the child, so `dead` can be true for a moment while this is
   * still null: wait for both before deciding stopped vs crashed.
   */
  exitStatus: number | null;
  cols: number;
  rows: number;
  inMode: boolean;
  alternateScreen: boolean;
  cursorX: number;
  cursorY: number;
}

const SESSION_NAME = /^codepiper-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** send-keys arguments are bounded so one call never nears ARG_MAX or tmux's message size limit. */
const TEXT_CHUNK = 8 * 1024;
const PANE_FORMAT = ["pid", "pane_id", "pane_pid", "pane_dead", "pane_dead_status", "pane_width", "pane_height", "pane_in_mode", "alternate_on", "cursor_x", "cursor_y"]
  .map((f) => `#{${f}}`)
  .join("\t");

export function isSessionName(name: string): boolean {
  return SESSION_NAME.test(name);
}

function defaultExec(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 15_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== "number") {
        reject(new AppError("CODEPIPER_INTERNAL", `cannot run ${file}: ${err.message}`, { cause: err }));
        return;
      }
      resolve({ stdout, stderr, code: typeof err?.code === "number" ? err.code : 0 });
    });
  });
}

/** Only what tmux needs: the agent's own environment (tokens, CLAUDECODE…) must not leak into panes via the server's global environment. */
function minimalEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of ["PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TZ"]) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  // tmux decides whether clients speak UTF-8 from the locale; default to one that does.
  if (env.LANG === undefined && env.LC_ALL === undefined && env.LC_CTYPE === undefined) env.LANG = "C.UTF-8";
  return env;
}

export class TmuxDriver {
  private readonly exec: TmuxExec;
  private readonly binary: string;
  private readonly configFile: string;
  private readonly runtimeDir: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly historyLimit: number;
  private readonly signal: (pid: number, signal: NodeJS.Signals) => void;
  private readonly exitMarker: string | null;
  /** Serves each new session's environment to its launch wrapper; listens from the first newSession until close(). */
  readonly envSocket: EnvSocket;

  constructor(
    readonly socketPath: string,
    options: TmuxDriverOptions = {},
  ) {
    this.exec = options.exec ?? defaultExec;
    this.binary = options.tmuxBinary ?? "tmux";
    this.configFile = options.configFile ?? "/dev/null";
    this.runtimeDir = options.runtimeDir ?? dirname(socketPath);
    this.envSocket = new EnvSocket(this.runtimeDir, EnvSocket.stemOf(socketPath), options.envTtlMs);
    this.env = options.tmuxEnv ?? minimalEnv();
    this.historyLimit = options.historyLimit ?? 10_000;
    this.signal = options.signal ?? ((pid, sig) => process.kill(pid, sig));
    this.exitMarker = options.exitMarker && /^\/[A-Za-z0-9_./-]+$/.test(options.exitMarker) ? options.exitMarker : null;
  }

  /** True when exits are announced through the marker file (see TmuxDriverOptions.exitMarker). */
  get announcesExits(): boolean {
    return this.exitMarker !== null;
  }

  /** The hook commands that touch the exit marker, as a command sequence (empty without a marker). */
  private exitHooks(): string[] {
    if (!this.exitMarker) return [];
    const touch = `run-shell -b "touch -- '${this.exitMarker}'"`;
    return ["set-hook", "-g", "pane-died", touch, ";", "set-hook", "-g", "session-closed", touch, ";"];
  }

  /** Installs the exit hooks on a server that is already running (a restarted agent); no server is fine. */
  async installExitHooks(): Promise<void> {
    const hooks = this.exitHooks();
    if (hooks.length === 0) return;
    const res = await this.exec(this.binary, [...this.baseArgs(), ...hooks.slice(0, -1)], this.env);
    if (res.code !== 0 && !isNoServer(res.stderr)) throw tmuxError("set-hook", res);
  }

  /** The argv prefix every tmux call starts with; control mode uses it too. */
  baseArgs(): string[] {
    return ["-S", this.socketPath, "-f", this.configFile];
  }

  processEnv(): NodeJS.ProcessEnv {
    return this.env;
  }

  async version(): Promise<string> {
    const out = await this.run(["-V"], { bare: true });
    return out.trim().replace(/^tmux\s+/, "");
  }

  /** Our sessions only: anything else on the socket (a person's scratch session) is not ours to adopt. */
  async listSessions(): Promise<string[]> {
    const res = await this.exec(this.binary, [...this.baseArgs(), "list-sessions", "-F", "#{session_name}"], this.env);
    if (res.code !== 0) {
      if (isNoServer(res.stderr)) return [];
      throw tmuxError("list-sessions", res);
    }
    return res.stdout.split("\n").filter(isSessionName);
  }

  async hasSession(name: string): Promise<boolean> {
    checkName(name);
    const res = await this.exec(this.binary, [...this.baseArgs(), "has-session", "-t", `=${name}`], this.env);
    if (res.code === 0) return true;
    if (isNoServer(res.stderr) || isMissing(res.stderr)) return false;
    throw tmuxError("has-session", res);
  }

  /**
   * Starts a detached session. The environment never touches disk or argv: it waits in memory under
   * a single-use nonce that the launch wrapper redeems over the driver's 0600 env socket
   * (envsocket.ts, launch.ts). Returns once tmux has created the pane; the pane fetches its
   * environment right after, and exits 97 without running the command if it cannot.
   */
  async newSession(spec: NewSessionSpec): Promise<void> {
    checkName(spec.name);
    if (spec.command.length === 0) throw new AppError("CODEPIPER_BAD_INPUT", "empty command");
    checkSize(spec.cols, spec.rows);
    if (!spec.cwd.startsWith("/")) throw new AppError("CODEPIPER_BAD_INPUT", `working directory must be absolute: ${spec.cwd}`);
    const ticket = await this.envSocket.offer(envFileContents(spec.env));
    try {
      // Options are set in the same command sequence as new-session, before the server's event loop
      // can reap a command that exits at once: otherwise a fast `exit 3` would lose its status.
      await this.run([
        "start-server", ";",
        "set-option", "-g", "remain-on-exit", "on", ";",
        "set-option", "-g", "history-limit", String(this.historyLimit), ";",
        ...this.exitHooks(),
        "new-session", "-d", "-s", spec.name, "-c", tmuxArg(spec.cwd), "-x", String(spec.cols), "-y", String(spec.rows),
        "--", ...launchArgv(ticket, spec.command).map(tmuxArg), ";",
        // Control-mode watchers must not shrink the window to their own (default 80x24) size. Per
        // window, not -g: with a global `window-size manual`, tmux 3.3a's server crashes on the next
        // `new-session -d` ("server exited unexpectedly"), taking every session with it.
        "set-option", "-w", "-t", `=${spec.name}:`, "window-size", "manual",
      ]);
    } catch (err) {
      // Whether or not a pane exists, nobody may redeem this environment any more.
      this.envSocket.revoke(ticket.nonce);
      throw err;
    }
  }

  /** Stops serving environments (pending ones are forgotten). Sessions and the tmux server keep running. */
  async close(): Promise<void> {
    await this.envSocket.close();
  }

  /**
   * Pane state. When the pane is dead but tmux has no exit status, the child is an unreaped zombie:
   * tmux 3.3a on Debian is built with libutempter, whose own SIGCHLD handler swallows the signal
   * when a command exits while utempter is registering the pane (tmux/tmux#311; measured here: about
   * one fast-exiting command in eight). tmux reaps every exited child on the next SIGCHLD, so we send
   * one to *our* server (its pid from `#{pid}`, never by name) and read again.
   */
  async paneInfo(name: string): Promise<PaneInfo> {
    const first = await this.readPane(name);
    if (!first.info.dead || first.info.exitStatus !== null) return first.info;
    try {
      this.signal(first.serverPid, "SIGCHLD");
    } catch {
      // The server may be gone between the two calls; the second read reports what is true now.
    }
    return (await this.readPane(name)).info;
  }

  private async readPane(name: string): Promise<{ serverPid: number; info: PaneInfo }> {
    checkName(name);
    // list-panes, not display-message: tmux 3.3a's display-message prints an empty format and
    // exits 0 for a session that does not exist.
    const out = await this.run(["list-panes", "-t", `=${name}:`, "-F", PANE_FORMAT]);
    const f = (out.split("\n")[0] ?? "").split("\t");
    if (f.length !== 11) throw new AppError("CODEPIPER_INTERNAL", `unexpected tmux pane info: ${JSON.stringify(out)}`);
    const num = (i: number): number => Number.parseInt(f[i] ?? "", 10);
    const dead = f[3] === "1";
    const info: PaneInfo = {
      paneId: f[1] ?? "",
      pid: num(2),
      dead,
      exitStatus: dead && f[4] !== "" ? num(4) : null,
      cols: num(5),
      rows: num(6),
      inMode: f[7] === "1",
      alternateScreen: f[8] === "1",
      cursorX: num(9),
      cursorY: num(10),
    };
    return { serverPid: num(0), info };
  }

  /** Types text literally (no key-name interpretation), in bounded chunks; `enter` presses Enter after it. */
  async sendText(name: string, text: string, opts: { enter?: boolean } = {}): Promise<void> {
    checkName(name);
    for (const chunk of chunkText(text, TEXT_CHUNK)) {
      await this.run(["send-keys", "-t", `=${name}:`, "-l", "--", tmuxArg(chunk)]);
    }
    if (opts.enter) await this.run(["send-keys", "-t", `=${name}:`, "Enter"]);
  }

  /** Sends raw bytes (an attached terminal's input) as hex, so no byte is reinterpreted as a key name. */
  async sendBytes(name: string, data: Buffer): Promise<void> {
    checkName(name);
    for (let i = 0; i < data.length; i += 1024) {
      const hex = [...data.subarray(i, i + 1024)].map((b) => b.toString(16).padStart(2, "0"));
      await this.run(["send-keys", "-t", `=${name}:`, "-H", ...hex]);
    }
  }

  /**
   * Every pane of our sessions on this socket in one call: how the agent notices exits without a
   * call per session. An absent server means no sessions at all (it died, or never started).
   */
  async listPanes(): Promise<Map<string, { paneId: string; dead: boolean; exitStatus: number | null }>> {
    const res = await this.exec(this.binary, [...this.baseArgs(), "list-panes", "-a", "-F", "#{session_name}\t#{pane_id}\t#{pane_dead}\t#{pane_dead_status}"], this.env);
    const out = new Map<string, { paneId: string; dead: boolean; exitStatus: number | null }>();
    if (res.code !== 0) {
      if (isNoServer(res.stderr)) return out;
      throw tmuxError("list-panes", res);
    }
    for (const line of res.stdout.split("\n")) {
      const [session, paneId, dead, status] = line.split("\t");
      if (!session || !isSessionName(session) || out.has(session)) continue;
      out.set(session, { paneId: paneId ?? "", dead: dead === "1", exitStatus: dead === "1" && status ? Number.parseInt(status, 10) : null });
    }
    return out;
  }

  /** Sends named keys (keys.ts); the whole list is validated before anything is sent. */
  async sendKeys(name: string, keys: readonly string[]): Promise<void> {
    checkName(name);
    const tmuxKeys = parseKeys(keys);
    await this.run(["send-keys", "-t", `=${name}:`, "--", ...tmuxKeys]);
  }

  /** Pane contents: the visible screen plus up to `scrollback` lines of history; `escapes` keeps colours and attributes. */
  async capture(name: string, opts: { escapes?: boolean; scrollback?: number } = {}): Promise<string> {
    checkName(name);
    const args = ["capture-pane", "-p", "-t", `=${name}:`];
    if (opts.escapes) args.push("-e");
    const scrollback = opts.scrollback ?? 0;
    if (!Number.isInteger(scrollback) || scrollback < 0) throw new AppError("CODEPIPER_BAD_INPUT", `scrollback must be a non-negative integer, got ${scrollback}`);
    if (scrollback > 0) args.push("-S", String(-scrollback));
    return this.run(args);
  }

  async resize(name: string, cols: number, rows: number): Promise<void> {
    checkName(name);
    checkSize(cols, rows);
    await this.run(["resize-window", "-t", `=${name}:`, "-x", String(cols), "-y", String(rows)]);
  }

  async kill(name: string): Promise<void> {
    checkName(name);
    await this.run(["kill-session", "-t", `=${name}`]);
  }

  /** Ends this socket's server and every session on it; a server that is not running is not an error. */
  async killServer(): Promise<void> {
    const res = await this.exec(this.binary, [...this.baseArgs(), "kill-server"], this.env);
    if (res.code !== 0 && !isNoServer(res.stderr)) throw tmuxError("kill-server", res);
  }

  private async run(args: string[], opts: { bare?: boolean } = {}): Promise<string> {
    const res = await this.exec(this.binary, opts.bare ? args : [...this.baseArgs(), ...args], this.env);
    if (res.code !== 0) throw tmuxError(args.find((a) => /^[a-z]/.test(a)) ?? "tmux", res);
    return res.stdout;
  }
}

function checkName(name: string): void {
  if (!isSessionName(name)) throw new AppError("CODEPIPER_BAD_INPUT", `not a codepiper session name: ${JSON.stringify(name.slice(0, 80))}`);
}

function checkSize(cols: number, rows: number): void {
  const ok = (n: number): boolean => Number.isInteger(n) && n >= 2 && n <= 1000;
  if (!ok(cols) || !ok(rows)) throw new AppError("CODEPIPER_BAD_INPUT", `terminal size must be 2..1000 columns and rows, got ${cols}x${rows}`);
}

function isNoServer(stderr: string): boolean {
  return /no server running|error connecting to|No such file or directory/.test(stderr);
}

function isMissing(stderr: string): boolean {
  return /can't find (session|window|pane)/.test(stderr);
}

function tmuxError(what: string, res: ExecResult): AppError {
  const detail = res.stderr.trim().slice(0, 300);
  const code = isMissing(res.stderr) || isNoServer(res.stderr) ? "CODEPIPER_NOT_FOUND" : "CODEPIPER_INTERNAL";
  return new AppError(code, `tmux ${what} failed (exit ${res.code}): ${detail}`);
}
