// The browser side of a live terminal (sessions.terminal), independent of React: applies frames
// to an xterm instance, batches output per animation frame, restarts the subscription when the
// stream has a hole, and sends keyboard input / resizes (operators only).
//
// Frame rules (core/src/wire/ephemeral.ts): a snapshot replaces the screen; output with
// seq ≤ snapshot.seq is already inside it; seq is contiguous (+1 per chunk), so a jump means lost
// output → ask for a fresh snapshot (resubscribe). `resync` means a snapshot follows on the same
// stream; if it does not come soon, resubscribe. `ended` closes the stream (pane gone, or the host
// could not be reached for a snapshot).
import type { Terminal } from "@xterm/xterm";
import type { FitAddon } from "@xterm/addon-fit";
import type { TerminalFrame } from "@codepiper/core/wire/ephemeral";
import { api, appCodeOf, messageOf } from "@/lib/trpc";
import { redirectToLogin } from "@/lib/hooks";

/** Raw bytes per sessions.input call: base64 of 32 KiB is 43,692 chars (server limit 90,000). */
const INPUT_CHUNK = 32 * 1024;
/** Largest single paste we pass through (the same bound as `codepiper send`). */
const MAX_PASTE = 1024 * 1024;
/** Output waiting for xterm beyond this is dropped and replaced by a fresh snapshot. */
const MAX_PENDING = 4 * 1024 * 1024;
/** Bytes handed to xterm per animation frame (xterm parses in time slices on its own). */
const WRITE_PER_FRAME = 512 * 1024;
const RESIZE_DEBOUNCE_MS = 150;
/** After `resync`, how long to wait for the snapshot before asking again. */
const RESYNC_WAIT_MS = 5000;

export type StreamPhase =
  | { kind: "connecting" }
  | { kind: "live" }
  | { kind: "resyncing"; reason: string }
  | { kind: "reconnecting"; reason: string }
  | { kind: "unavailable"; reason: string }
  | { kind: "ended"; reason: string };

export interface StreamCallbacks {
  onPhase: (phase: StreamPhase) => void;
  /** A typing/resize call failed (null: the last one worked). */
  onInputError: (message: string | null) => void;
  /** The stream said the pane ended or could not be watched: the page re-reads the session. */
  onEnded: (reason: string) => void;
}

function decodeBase64(data: string): Uint8Array {
  const bin = atob(data);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function encodeBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Output up to this size is written at once when nothing is queued (keystroke echoes). */
const DIRECT_WRITE_BYTES = 4096;
const encoder = new TextEncoder();

export class TerminalStream {
  private sub: { unsubscribe(): void } | null = null;
  private generation = 0;
  private seq = -1;
  /** Output is ignored until a snapshot arrives (start, after resync). */
  private waiting = true;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private raf = 0;
  private writing = false;
  private resyncTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retries = 0;
  private resizeTimer: ReturnType<typeof setTimeout> | null = null;
  /** Set by a snapshot drawn at the pane's size: once our size is sent, take a fresh snapshot. */
  private resnapshotAfterResize = false;
  private lastSent: { cols: number; rows: number } | null = null;
  private sendQueue: Uint8Array[] = [];
  private sendScheduled = false;
  private sending: Promise<void> = Promise.resolve();
  private stopped = false;
  private lastRestart = 0;
  /** Whether anything was ever shown (the page keeps the last screen after the session ends). */
  shown = false;

  constructor(
    private readonly term: Terminal,
    private readonly fit: FitAddon,
    private readonly sessionId: string,
    private readonly interactive: boolean,
    private readonly cb: StreamCallbacks,
  ) {}

  start(): void {
    this.stopped = false;
    this.subscribe();
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.sub?.unsubscribe();
    this.sub = null;
    for (const t of [this.resyncTimer, this.retryTimer, this.resizeTimer]) if (t) clearTimeout(t);
    this.resyncTimer = this.retryTimer = this.resizeTimer = null;
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = 0;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Drops everything and asks for a fresh snapshot (a new subscription). */
  restart(): void {
    if (this.stopped) return;
    this.generation++;
    this.sub?.unsubscribe();
    this.sub = null;
    // Back to back restarts (a stream that keeps breaking) are spaced out, not looped.
    const now = Date.now();
    const soon = now - this.lastRestart < 1000;
    this.lastRestart = now;
    if (!soon) {
      this.subscribe();
      return;
    }
    this.dropPending();
    this.cb.onPhase({ kind: "resyncing", reason: "the stream keeps breaking; trying again shortly" });
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.subscribe();
    }, 1000);
  }

  private subscribe(): void {
    const gen = ++this.generation;
    this.seq = -1;
    this.waiting = true;
    this.dropPending();
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    this.resyncTimer = null;
    this.cb.onPhase({ kind: "connecting" });
    this.sub = api.sessions.terminal.subscribe(
      { session: this.sessionId },
      {
        onData: (frame) => {
          if (gen === this.generation) this.apply(frame as TerminalFrame);
        },
        onError: (err) => {
          if (gen !== this.generation) return;
          const code = appCodeOf(err);
          if (code === "CODEPIPER_UNAUTHENTICATED") redirectToLogin();
          if (code === "CODEPIPER_SESSION_ENDED") {
            this.cb.onPhase({ kind: "ended", reason: messageOf(err) });
            this.cb.onEnded(messageOf(err));
            return;
          }
          this.retryLater(messageOf(err), "reconnecting");
        },
        onConnectionStateChange: (s) => {
          if (gen !== this.generation) return;
          if (s.state === "connecting" && s.error) this.cb.onPhase({ kind: "reconnecting", reason: messageOf(s.error) });
          // On reconnect the client resubscribes by itself; the server starts with a new snapshot.
        },
        onComplete: () => {
          // The stream ends after an `ended` frame (handled in apply) or when the server closed it.
          if (gen !== this.generation || this.stopped) return;
          this.retryLater("the terminal stream closed", "reconnecting");
        },
      },
    );
  }

  private retryLater(reason: string, kind: "reconnecting" | "unavailable"): void {
    this.generation++;
    this.sub?.unsubscribe();
    this.sub = null;
    this.cb.onPhase({ kind, reason });
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.retries, 5));
    this.retries++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.subscribe();
    }, delay);
  }

  private apply(frame: TerminalFrame): void {
    switch (frame.kind) {
      case "snapshot": {
        this.seq = frame.seq;
        this.waiting = false;
        this.retries = 0;
        if (this.resyncTimer) clearTimeout(this.resyncTimer);
        this.resyncTimer = null;
        this.dropPending();
        // Full reset in-band (after anything xterm still has queued), then the screen. Both
        // provider TUIs use bracketed paste; a fresh xterm would not know, so turn it on for pastes.
        const prefix = `\x1bc${frame.alternateScreen ? "\x1b[?1049h" : ""}\x1b[?2004h`;
        // The snapshot is the pane's rows at the pane's size: draw it at that size, or rows would
        // wrap and scroll off (a blank screen for a program that does not redraw on resize).
        this.term.resize(Math.max(2, frame.cols), Math.max(2, frame.rows));
        this.enqueue(encoder.encode(prefix));
        this.enqueue(decodeBase64(frame.data));
        this.shown = true;
        this.cb.onPhase({ kind: "live" });
        if (this.interactive) {
          // Our size may differ from the pane's (first open, or another client resized it): make
          // it ours again, then take a fresh snapshot of the screen tmux reflowed to that size.
          this.lastSent = { cols: frame.cols, rows: frame.rows };
          this.resnapshotAfterResize = true;
          this.refit();
        }
        return;
      }
      case "output": {
        if (this.waiting || frame.seq <= this.seq) return;
        if (frame.seq !== this.seq + 1) {
          // A hole in the stream: the screen would be wrong. Start over from a snapshot.
          this.restart();
          return;
        }
        this.seq = frame.seq;
        this.enqueue(decodeBase64(frame.data));
        return;
      }
      case "resync": {
        this.waiting = true;
        this.dropPending();
        this.cb.onPhase({ kind: "resyncing", reason: frame.reason });
        if (this.resyncTimer) clearTimeout(this.resyncTimer);
        this.resyncTimer = setTimeout(() => {
          this.resyncTimer = null;
          if (this.waiting) this.restart();
        }, RESYNC_WAIT_MS);
        return;
      }
      case "ended": {
        this.generation++;
        this.sub?.unsubscribe();
        this.sub = null;
        this.cb.onEnded(frame.reason);
        // The page decides from the session's state whether this is final; until then, retry.
        this.retryLater(frame.reason, "unavailable");
        return;
      }
    }
  }

  // --- output: batched per animation frame, bounded ---

  private enqueue(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes > MAX_PENDING) {
      // The page cannot keep up (a huge burst, or the tab is in the background): a snapshot is cheaper.
      this.restart();
      return;
    }
    if (!this.raf && !this.writing && this.pending.length === 1 && bytes.length <= DIRECT_WRITE_BYTES) {
      // Idle and small (an echo, a prompt): hand it to xterm now rather than a frame later. xterm
      // still renders once per frame; only bursts need our own batching.
      this.flush();
      return;
    }
    this.scheduleFlush();
  }

  private dropPending(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }

  private scheduleFlush(): void {
    if (this.raf || this.writing || this.stopped) return;
    this.raf = requestAnimationFrame(() => this.flush());
  }

  private flush(): void {
    this.raf = 0;
    if (this.writing || this.pending.length === 0 || this.stopped) return;
    const take: Uint8Array[] = [];
    let bytes = 0;
    while (this.pending.length > 0 && (bytes === 0 || bytes + this.pending[0]!.length <= WRITE_PER_FRAME)) {
      const c = this.pending.shift()!;
      take.push(c);
      bytes += c.length;
    }
    this.pendingBytes -= bytes;
    this.writing = true;
    this.term.write(concat(take, bytes), () => {
      this.writing = false;
      this.scheduleFlush();
    });
  }

  // --- input (operators) ---

  /** Keys and pastes from xterm (`onData`; `onBinary` gives a byte string). */
  input(data: string, binary = false): void {
    if (!this.interactive || data.length === 0) return;
    let bytes: Uint8Array;
    if (binary) {
      bytes = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
    } else {
      bytes = encoder.encode(data);
    }
    if (bytes.length > MAX_PASTE) {
      this.cb.onInputError(`That paste is ${(bytes.length / 1048576).toFixed(1)} MiB; at most 1 MiB goes through the terminal. Use codepiper send for more.`);
      return;
    }
    this.sendQueue.push(bytes);
    if (!this.sendScheduled) {
      this.sendScheduled = true;
      queueMicrotask(() => this.flushInput());
    }
  }

  private flushInput(): void {
    this.sendScheduled = false;
    if (this.sendQueue.length === 0) return;
    const total = this.sendQueue.reduce((n, c) => n + c.length, 0);
    const batch = concat(this.sendQueue.splice(0), total);
    // Chained: keystrokes reach the session in the order they were typed.
    this.sending = this.sending.then(async () => {
      try {
        for (let i = 0; i < batch.length; i += INPUT_CHUNK) {
          await api.sessions.input.mutate({ session: this.sessionId, data: encodeBase64(batch.subarray(i, i + INPUT_CHUNK)) });
        }
        this.cb.onInputError(null);
      } catch (err) {
        if (appCodeOf(err) === "CODEPIPER_UNAUTHENTICATED") redirectToLogin();
        this.cb.onInputError(`Typing did not reach the session: ${messageOf(err)}`);
      }
    });
  }

  // --- size ---

  /** Fits xterm to its box; operators then tell the session (debounced, only real changes). */
  refit(): void {
    if (!this.interactive || this.stopped) return;
    const dims = this.fit.proposeDimensions();
    if (!dims || !Number.isFinite(dims.cols) || !Number.isFinite(dims.rows) || dims.cols < 2 || dims.rows < 2) return;
    if (dims.cols !== this.term.cols || dims.rows !== this.term.rows) this.fit.fit();
    if (this.resizeTimer) clearTimeout(this.resizeTimer);
    this.resizeTimer = setTimeout(() => {
      this.resizeTimer = null;
      const cols = Math.min(1000, Math.max(2, this.term.cols));
      const rows = Math.min(1000, Math.max(2, this.term.rows));
      if (this.waiting || (this.lastSent && this.lastSent.cols === cols && this.lastSent.rows === rows)) {
        this.resnapshotAfterResize = false;
        return;
      }
      this.lastSent = { cols, rows };
      api.sessions.resize.mutate({ session: this.sessionId, cols, rows }).then(
        () => {
          this.cb.onInputError(null);
          if (this.resnapshotAfterResize && !this.stopped) {
            this.resnapshotAfterResize = false;
            this.restart();
          }
        },
        (err: unknown) => {
          this.lastSent = null;
          if (appCodeOf(err) === "CODEPIPER_SESSION_ENDED") return;
          this.cb.onInputError(`Resizing the session's terminal failed: ${messageOf(err)}`);
        },
      );
    }, RESIZE_DEBOUNCE_MS);
  }
}
