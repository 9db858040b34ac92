import { AppError, type TerminalFrame, type TerminalSnapshot } from "@codepiper/core";
import type { Logger } from "../log.js";
import { ControlClient } from "../tmux/control.js";
import type { TmuxDriver } from "../tmux/driver.js";

/**
 * Streams one session's terminal while the control plane has watchers (DESIGN.md §2 "Terminal
 * streaming"): a tmux control-mode client delivers the pane's exact output with sequence numbers;
 * frames are batched per event-loop turn and pushed over the link. A snapshot is taken on the same
 * control connection, so its `seq` splits the stream exactly: chunks ≤ seq are inside it.
 *
 * Overflow (the link cannot keep up): the control client drops its queue and marks the gap; we
 * push `resync` and then a fresh snapshot, so watchers never show a screen with holes in it.
 */
const SCROLLBACK_LINES = 2000;
const MAX_FRAME_BYTES = 256 * 1024;

export type FramePush = (frames: { sessionId: string; frame: TerminalFrame }[]) => Promise<void>;

export class TerminalStreamer {
  private client: ControlClient | null = null;
  private pending: TerminalFrame[] = [];
  private flushScheduled = false;
  private starting: Promise<ControlClient> | null = null;

  constructor(
    private readonly driver: TmuxDriver,
    private readonly sessionId: string,
    private readonly tmuxName: string,
    private readonly push: FramePush,
    private readonly log: Logger,
  ) {}

  get watching(): boolean {
    return this.client !== null;
  }

  /** Starts streaming if needed and returns a snapshot to begin from. */
  async watch(): Promise<TerminalSnapshot> {
    const client = await this.ensureClient();
    return this.snapshotOn(client);
  }

  unwatch(): void {
    const client = this.client;
    this.client = null;
    this.starting = null;
    client?.close();
  }

  /** The pane ended: tell watchers, then let go. */
  ended(reason: string): void {
    if (this.client) {
      this.enqueue({ kind: "ended", reason });
      this.flush();
    }
    this.unwatch();
  }

  /** Raw input bytes: over the control connection when streaming (no process spawned), else via tmux. */
  async input(data: Buffer): Promise<void> {
    if (this.client) {
      const paneId = this.paneId;
      for (let i = 0; i < data.length; i += 512) {
        const hex = [...data.subarray(i, i + 512)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
        await this.client.command(`send-keys -t ${paneId} -H ${hex}`);
      }
      return;
    }
    await this.driver.sendBytes(this.tmuxName, data);
  }

  private paneId = "";

  private ensureClient(): Promise<ControlClient> {
    if (this.client) return Promise.resolve(this.client);
    this.starting ??= (async () => {
      const pane = await this.driver.paneInfo(this.tmuxName);
      if (pane.dead) throw new AppError("CODEPIPER_SESSION_ENDED", "the session's program has exited");
      this.paneId = pane.paneId;
      const client = new ControlClient(this.driver, this.tmuxName, { paneId: pane.paneId });
      client.on("error", (err) => this.log.warn({ err, sessionId: this.sessionId }, "terminal stream error"));
      client.on("overflow", () => void this.resync(client));
      this.client = client;
      void this.pump(client);
      return client;
    })();
    const starting = this.starting;
    starting.catch(() => {
      if (this.starting === starting) this.starting = null;
    });
    return starting;
  }

  private async pump(client: ControlClient): Promise<void> {
    for await (const item of client) {
      if (this.client !== client) return;
      if (item.kind === "output") this.enqueue({ kind: "output", seq: item.seq, data: item.data.toString("base64") });
      // Overflow marks are handled by the "overflow" listener (resync + snapshot).
    }
    if (this.client === client) {
      this.client = null;
      this.starting = null;
    }
  }

  private async resync(client: ControlClient): Promise<void> {
    this.pending = [];
    this.enqueue({ kind: "resync", reason: "the host's terminal buffer overflowed" });
    try {
      this.enqueue(await this.snapshotOn(client));
    } catch (err) {
      this.log.debug({ err, sessionId: this.sessionId }, "snapshot after overflow failed");
    }
  }

  private async snapshotOn(client: ControlClient): Promise<TerminalSnapshot> {
    const format = "#{cursor_x} #{cursor_y} #{pane_width} #{pane_height} #{alternate_on}";
    // Cursor and contents must describe the same instant: read the cursor, then the contents, and
    // retry if output arrived in between (the seq moved).
    for (let attempt = 0; ; attempt++) {
      const info = await client.commandAt(`display-message -p -t ${this.paneId} '${format}'`);
      const content = await client.commandAt(`capture-pane -p -e -t ${this.paneId} -S -${SCROLLBACK_LINES}`);
      if (info.seq !== content.seq && attempt < 5) continue;
      const [x, y, cols, rows, alt] = (info.lines[0] ?? "").split(" ").map((n) => Number.parseInt(n, 10));
      let lines = content.lines;
      // capture-pane pads the screen with empty lines below the content; keep the screen's height.
      while (lines.length > (rows ?? 0) && lines[lines.length - 1] === "") lines = lines.slice(0, -1);
      const body = `\x1b[0m\x1b[H\x1b[2J\x1b[3J${lines.join("\r\n")}\x1b[0m\x1b[${(y ?? 0) + 1};${(x ?? 0) + 1}H`;
      return {
        kind: "snapshot",
        seq: content.seq,
        data: Buffer.from(body, "utf8").toString("base64"),
        cols: cols ?? 80,
        rows: rows ?? 24,
        cursorX: x ?? 0,
        cursorY: y ?? 0,
        alternateScreen: alt === 1,
      };
    }
  }

  private enqueue(frame: TerminalFrame): void {
    this.pending.push(frame);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    while (this.pending.length > 0) {
      const batch: { sessionId: string; frame: TerminalFrame }[] = [];
      let bytes = 0;
      while (this.pending.length > 0 && batch.length < 1000) {
        const frame = this.pending[0]!;
        const size = frame.kind === "output" || frame.kind === "snapshot" ? frame.data.length : 64;
        if (batch.length > 0 && bytes + size > MAX_FRAME_BYTES) break;
        batch.push({ sessionId: this.sessionId, frame });
        this.pending.shift();
        bytes += size;
      }
      void this.push(batch);
    }
  }
}
