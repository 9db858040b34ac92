import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { EventEmitter } from "node:events";
import { AppError } from "@codepiper/core";
import { isSessionName, type TmuxDriver } from "./driver.js";

/**
 * A tmux control-mode client (`tmux -S <sock> -C attach -t =<name>`): how a watched session's
 * terminal output streams from tmux itself instead of polling capture-pane (DESIGN.md §2 "Terminal
 * streaming"). Each `%output` line for the watched pane becomes one chunk with the exact bytes and a
 * per-client sequence number; a consumer pulls chunks with `next()` / `for await`.
 *
 * The queue between tmux and the consumer is bounded by `maxQueuedBytes`. When a slow consumer lets
 * it fill, the queue is dropped and an `overflow` item (and event) takes its place: the consumer
 * resyncs from a fresh snapshot. Sequence numbers keep counting across the drop, so the gap is
 * visible, and memory never grows with the consumer's lag.
 */

export interface OutputChunk {
  kind: "output";
  seq: number;
  data: Buffer;
}
export interface OverflowMark {
  kind: "overflow";
  /** Chunks with seq in [firstDroppedSeq, lastDroppedSeq] were discarded. */
  firstDroppedSeq: number;
  lastDroppedSeq: number;
  droppedBytes: number;
}
export type ControlItem = OutputChunk | OverflowMark;

export interface ControlClientOptions {
  /** The pane to stream (`%3`), from `TmuxDriver.paneInfo().paneId`. */
  paneId: string;
  maxQueuedBytes?: number;
  /** A single protocol line longer than this means a broken stream, not data we should hold. */
  maxLineBytes?: number;
  spawn?: (file: string, args: string[], env: NodeJS.ProcessEnv) => ChildProcessWithoutNullStreams;
  tmuxBinary?: string;
}

interface PendingCommand {
  resolve: (lines: string[], seq: number) => void;
  reject: (err: Error) => void;
}

/** Decodes the data part of a `%output` line: tmux escapes bytes below 0x20 and `\` as `\ooo`. */
export function decodeOctal(line: Buffer, start: number): Buffer {
  const out = Buffer.allocUnsafe(line.length - start);
  let n = 0;
  for (let i = start; i < line.length; i++) {
    const b = line[i] as number;
    if (b === 0x5c && i + 3 < line.length && isOctal(line[i + 1]) && isOctal(line[i + 2]) && isOctal(line[i + 3])) {
      out[n++] = (((line[i + 1] as number) - 48) << 6) | (((line[i + 2] as number) - 48) << 3) | ((line[i + 3] as number) - 48);
      i += 3;
    } else {
      out[n++] = b;
    }
  }
  return out.subarray(0, n);
}

function isOctal(b: number | undefined): boolean {
  return b !== undefined && b >= 0x30 && b <= 0x37;
}

const OUTPUT_PREFIX = Buffer.from("%output ");

export class ControlClient extends EventEmitter<{
  overflow: [OverflowMark];
  exit: [reason: string];
  close: [code: number | null];
  error: [Error];
  notification: [line: string];
}> {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly paneId: string;
  private readonly maxQueuedBytes: number;
  private readonly maxLineBytes: number;
  private readonly queue: ControlItem[] = [];
  private queuedBytes = 0;
  private seq = 0;
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private block: { lines: string[]; ours: boolean } | null = null;
  private readonly pending: PendingCommand[] = [];
  private waiter: ((item: ControlItem | null) => void) | null = null;
  private closed = false;

  constructor(driver: TmuxDriver, session: string, options: ControlClientOptions) {
    super();
    if (!isSessionName(session)) throw new AppError("CODEPIPER_BAD_INPUT", `not a codepiper session name: ${JSON.stringify(session.slice(0, 80))}`);
    if (!/^%\d+$/.test(options.paneId)) throw new AppError("CODEPIPER_BAD_INPUT", `not a tmux pane id: ${JSON.stringify(options.paneId)}`);
    this.paneId = options.paneId;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 4 * 1024 * 1024;
    this.maxLineBytes = options.maxLineBytes ?? 16 * 1024 * 1024;
    const spawnFn = options.spawn ?? ((file, args, env) => spawn(file, args, { env, stdio: ["pipe", "pipe", "pipe"] }));
    this.child = spawnFn(options.tmuxBinary ?? "tmux", [...driver.baseArgs(), "-C", "attach-session", "-t", `=${session}`], driver.processEnv());
    // Every stream gets an error handler: an EPIPE on stdin after tmux exits must not crash the agent.
    this.child.stdin.on("error", () => undefined);
    this.child.on("error", (err) => this.emit("error", err));
    this.child.stdout.on("data", (data: Buffer) => this.onData(data));
    this.child.stderr.on("data", () => undefined);
    this.child.on("close", (code) => this.onClose(code));
  }

  /** Bytes currently queued for the consumer. */
  get queued(): number {
    return this.queuedBytes;
  }

  /** The next chunk or overflow mark, or null once tmux has gone and the queue is drained. */
  next(): Promise<ControlItem | null> {
    const item = this.queue.shift();
    if (item) {
      if (item.kind === "output") this.queuedBytes -= item.data.length;
      return Promise.resolve(item);
    }
    if (this.closed) return Promise.resolve(null);
    if (this.waiter) return Promise.reject(new AppError("CODEPIPER_CONFLICT", "control client has a single consumer"));
    return new Promise((resolve) => (this.waiter = resolve));
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ControlItem> {
    for (;;) {
      const item = await this.next();
      if (item === null) return;
      yield item;
    }
  }

  /** Runs a tmux command on this client's connection; resolves with its output lines or rejects on %error. */
  async command(cmd: string): Promise<string[]> {
    return (await this.commandAt(cmd)).lines;
  }

  /**
   * Like command(), and also returns the output seq at the moment tmux answered: tmux writes a
   * command's block in order with `%output`, so every chunk with seq ≤ `seq` happened before the
   * command ran (what a snapshot taken by the command already shows) and every later one after it.
   */
  commandAt(cmd: string): Promise<{ lines: string[]; seq: number }> {
    if (this.closed) return Promise.reject(new AppError("CODEPIPER_UNREACHABLE", "control client is closed"));
    if (/[\r\n]/.test(cmd)) return Promise.reject(new AppError("CODEPIPER_BAD_INPUT", "a control command is one line"));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve: (lines, seq) => resolve({ lines, seq }), reject });
      this.child.stdin.write(`${cmd}\n`);
    });
  }

  /** Detaches; tmux keeps the session. Closing stdin is how a control client says goodbye. */
  close(): void {
    this.child.stdin.end();
  }

  private onData(data: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, start);
      if (nl === -1) break;
      let line = data.subarray(start, nl);
      if (this.partial.length > 0) {
        line = Buffer.concat([...this.partial, line]);
        this.partial = [];
        this.partialBytes = 0;
      }
      this.onLine(line);
      start = nl + 1;
    }
    if (start < data.length) {
      const rest = data.subarray(start);
      this.partial.push(rest);
      this.partialBytes += rest.length;
      if (this.partialBytes > this.maxLineBytes) {
        this.emit("error", new AppError("CODEPIPER_PAYLOAD_TOO_LARGE", `tmux control line exceeds ${this.maxLineBytes} bytes; detaching`));
        this.partial = [];
        this.partialBytes = 0;
        this.child.kill("SIGTERM");
      }
    }
  }

  private onLine(raw: Buffer): void {
    // tmux ends lines with \n only, but be lenient about a \r from a pty-backed setup.
    const line = raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.subarray(0, -1) : raw;
    if (this.block) {
      const text = line.toString("utf8");
      if (text.startsWith("%end ") || text.startsWith("%error ")) {
        const { lines, ours } = this.block;
        this.block = null;
        // Flag 1 marks output of a command this client sent; the attach itself produces an unflagged block.
        if (ours) {
          const cb = this.pending.shift();
          if (text.startsWith("%end ")) cb?.resolve(lines, this.seq);
          else cb?.reject(new AppError("CODEPIPER_INTERNAL", `tmux: ${lines.join(" ").slice(0, 300)}`));
        }
      } else {
        this.block.lines.push(text);
      }
      return;
    }
    if (line.subarray(0, OUTPUT_PREFIX.length).equals(OUTPUT_PREFIX)) {
      const space = line.indexOf(0x20, OUTPUT_PREFIX.length);
      if (space === -1) return;
      if (line.toString("latin1", OUTPUT_PREFIX.length, space) !== this.paneId) return;
      this.push(decodeOctal(line, space + 1));
      return;
    }
    const text = line.toString("utf8");
    if (text.startsWith("%begin ")) {
      this.block = { lines: [], ours: (Number.parseInt(text.split(" ")[3] ?? "0", 10) & 1) === 1 };
    } else if (text.startsWith("%exit")) {
      this.emit("exit", text.slice("%exit".length).trim());
    } else if (text.length > 0) {
      this.emit("notification", text);
    }
  }

  private push(data: Buffer): void {
    const chunk: OutputChunk = { kind: "output", seq: ++this.seq, data };
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(chunk);
      return;
    }
    if (this.queuedBytes + data.length > this.maxQueuedBytes) {
      this.overflow(chunk);
      return;
    }
    this.queue.push(chunk);
    this.queuedBytes += data.length;
  }

  /** Replaces everything queued (and the chunk that did not fit) with one overflow mark. */
  private overflow(chunk: OutputChunk): void {
    // After an overflow the mark stays at the head until read; a second overflow widens it.
    const head = this.queue[0];
    const prev = head?.kind === "overflow" ? head : undefined;
    const dropped = this.queue.filter((i): i is OutputChunk => i.kind === "output");
    const first = prev?.firstDroppedSeq ?? dropped[0]?.seq ?? chunk.seq;
    const mark: OverflowMark = {
      kind: "overflow",
      firstDroppedSeq: first,
      lastDroppedSeq: chunk.seq,
      droppedBytes: (prev?.droppedBytes ?? 0) + this.queuedBytes + chunk.data.length,
    };
    this.queue.length = 0;
    this.queue.push(mark);
    this.queuedBytes = 0;
    this.emit("overflow", mark);
  }

  private onClose(code: number | null): void {
    if (this.partial.length > 0) this.onLine(Buffer.concat(this.partial));
    this.closed = true;
    for (const cb of this.pending.splice(0)) cb.reject(new AppError("CODEPIPER_UNREACHABLE", "tmux control client exited"));
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(null);
    }
    this.emit("close", code);
  }
}
