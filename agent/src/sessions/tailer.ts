import { watch, type FSWatcher } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { createParser, LIMITS, TRANSCRIPT_LIMITS, type TranscriptEvent, type TranscriptParser, type TranscriptProvider } from "@codepiper/core";
import { z } from "zod";
import type { Logger } from "../log.js";
import type { NewEvent, Outbox } from "../outbox.js";
import { fitPayload } from "./fit.js";

/**
 * Tails one session's transcript (Claude Code JSONL / Codex rollout JSONL) into the outbox
 * (DESIGN.md §3, "Transcript tailing").
 *
 * Crash safety rests on one rule: the events of a chunk and the cursor that says how far the file
 * has been consumed are committed in ONE outbox transaction (`appendWithCursor`). The saved offset
 * is always the end of the last complete line whose events are in that transaction, and the
 * parser's state (line counter, Claude's counted message ids, Codex's usage totals) rides along, so
 * a SIGKILL at any instant neither loses nor repeats a record: a restart re-reads exactly the bytes
 * after the offset, including a partial last line, with the parser as it was.
 *
 * Change notification: fs.watch on the file's directory (it survives the file being replaced and
 * works before the file exists) is only a hint that makes tailing prompt; a poll timer is the
 * safety net, since watch events can be lost, coalesced or unsupported (network file systems).
 */

export interface TranscriptTailerOptions {
  sessionId: string;
  provider: TranscriptProvider;
  outbox: Outbox;
  log: Logger;
  /** The transcript, when already known; otherwise `setPath` later (or the saved cursor's path). */
  path?: string | null;
  /** Poll interval, the safety net behind fs.watch. */
  pollMs?: number;
  /** Called after each commit with the parser's events (for session state hints). Must not throw. */
  onEvents?: (events: TranscriptEvent[]) => void;
  /** Largest JSON payload of one outbox event; longer text is cut and marked `truncated`. */
  maxEventBytes?: number;
  /** Bytes read (and committed) per chunk; default 1 MiB. Small values are for tests. */
  chunkBytes?: number;
}

export interface TranscriptTailerStatus {
  path: string | null;
  /** Committed offset: end of the last complete line that is in the outbox. */
  offset: number;
  /** File size last seen minus the committed offset (0 when the file is not there yet). */
  lagBytes: number;
}

/** The cursor saved under `transcript:<sessionId>` with every commit. */
export const transcriptCursor = z.object({
  path: z.string(),
  /** Identity of the file the offset belongs to; null until the file has been opened once. */
  dev: z.number().nullable(),
  ino: z.number().nullable(),
  offset: z.number().int().nonnegative(),
  /** `TranscriptParser.snapshot()` after the line that ends at `offset`. */
  parserState: z.unknown(),
});
export type TranscriptCursor = z.infer<typeof transcriptCursor>;

export const transcriptCursorKey = (sessionId: string): string => `transcript:${sessionId}`;

/** Default bytes read per chunk; each chunk is one transaction. */
const CHUNK_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

export class TranscriptTailer {
  private readonly opts: Required<Pick<TranscriptTailerOptions, "pollMs" | "maxEventBytes" | "chunkBytes">> & TranscriptTailerOptions;
  private readonly key: string;
  /** The last committed cursor (null: nothing known yet). In-memory reading state restarts from it after an error. */
  private cursor: TranscriptCursor | null = null;
  private parser: TranscriptParser;
  /** Bytes after the committed offset that belong to a line whose newline has not arrived (≤ lineBytes). */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** Where the next read starts: committed offset + bytes held in `carry` or skipped. */
  private readPos = 0;
  /** Inside a line longer than lineBytes: its bytes are dropped until its newline. */
  private skipping = false;
  private lastSize = 0;
  private chain: Promise<void> = Promise.resolve();
  private pumpQueued = false;
  private timer: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private started = false;
  private stopped = false;

  constructor(opts: TranscriptTailerOptions) {
    this.opts = { ...opts, pollMs: opts.pollMs ?? 250, maxEventBytes: opts.maxEventBytes ?? LIMITS.eventPayloadBytes, chunkBytes: opts.chunkBytes ?? CHUNK_BYTES };
    this.key = transcriptCursorKey(opts.sessionId);
    this.parser = createParser(opts.provider);
    this.loadCursor(opts.path ?? null);
  }

  get status(): TranscriptTailerStatus {
    const offset = this.cursor?.offset ?? 0;
    return { path: this.cursor?.path ?? null, offset, lagBytes: Math.max(0, this.lastSize - offset) };
  }

  /** Starts watching and polling. Reading happens on the timer/watch; use catchUp() to wait for it. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.timer = setInterval(() => {
      // The directory may have appeared since the last try (Claude creates it on first write).
      if (!this.watcher) this.rewatch();
      this.kick();
    }, this.opts.pollMs);
    this.timer.unref();
    this.rewatch();
    this.kick();
  }

  /**
   * The transcript's path became known (hook payload) or changed. The same path keeps its cursor;
   * a different one starts that file from 0 with a fresh parser. The file need not exist yet.
   */
  setPath(path: string): void {
    void this.enqueue(async () => {
      if (this.cursor?.path === path) return;
      this.opts.log.info({ sessionId: this.opts.sessionId, path, previous: this.cursor?.path ?? null }, "transcript path set");
      this.resetReading({ path, dev: null, ino: null, offset: 0, parserState: null });
      this.rewatch();
      try {
        await this.pump();
      } catch (err) {
        this.opts.log.warn({ sessionId: this.opts.sessionId, err }, "transcript tailing failed; retrying on the next poll");
      }
    });
  }

  /** Reads to the current end of file and resolves once everything read is committed. */
  catchUp(): Promise<void> {
    return this.enqueue(() => this.pump());
  }

  /** Stops timers and watchers and waits for a read in progress to commit. The outbox stays open. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.watcher?.close();
    this.watcher = null;
    await this.chain;
  }

  private loadCursor(path: string | null): void {
    const saved = transcriptCursor.safeParse(this.opts.outbox.getCursor(this.key));
    if (saved.success && (path === null || saved.data.path === path)) {
      this.resetReading(saved.data);
    } else if (path !== null) {
      this.resetReading({ path, dev: null, ino: null, offset: 0, parserState: null });
    }
  }

  /** Makes `cursor` the committed position and restarts in-memory reading from it. */
  private resetReading(cursor: TranscriptCursor): void {
    this.cursor = cursor;
    this.parser = createParser(this.opts.provider, cursor.parserState ?? undefined);
    this.carry = [];
    this.carryBytes = 0;
    this.readPos = cursor.offset;
    this.skipping = false;
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.chain.then(task);
    // The chain itself never rejects, so one failed task does not block the next.
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** A hint that the file may have grown: one pump, unless one is already waiting to run. */
  private kick(): void {
    if (this.stopped || this.pumpQueued) return;
    this.pumpQueued = true;
    void this.enqueue(async () => {
      this.pumpQueued = false;
      if (this.stopped) return;
      try {
        await this.pump();
      } catch (err) {
        this.opts.log.warn({ sessionId: this.opts.sessionId, err }, "transcript tailing failed; retrying on the next poll");
      }
    });
  }

  private rewatch(): void {
    if (!this.started || this.stopped) return;
    this.watcher?.close();
    this.watcher = null;
    const path = this.cursor?.path;
    if (!path) return;
    const name = basename(path);
    try {
      this.watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
        if (file === null || file === name) this.kick();
      });
      this.watcher.on("error", () => {
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      // Directory missing or watching unsupported: the poll timer still covers it.
      this.watcher = null;
    }
  }

  /** Reads from the read position to EOF, committing chunk by chunk. On error, falls back to the last commit. */
  private async pump(): Promise<void> {
    const cursor = this.cursor;
    if (!cursor) return;
    let fh: FileHandle;
    try {
      fh = await open(cursor.path, "r");
    } catch (err) {
      if (isNotFound(err)) return; // not there yet (or gone for a moment): wait
      throw err;
    }
    try {
      const st = await fh.stat();
      this.lastSize = st.size;
      this.checkIdentity(cursor, st.dev, st.ino, st.size);
      // Shrunk below a partial line held in memory (but not below the commit): re-read that line.
      if (st.size < this.readPos && this.cursor) this.resetReading(this.cursor);
      const buf = Buffer.allocUnsafe(this.opts.chunkBytes);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.readPos);
        if (bytesRead === 0) break;
        this.lastSize = Math.max(this.lastSize, this.readPos + bytesRead);
        this.consume(buf.subarray(0, bytesRead));
        // Bounded by the size seen at the start, so a busy writer cannot keep catchUp() going forever.
        if (this.readPos >= st.size) break;
      }
    } catch (err) {
      if (this.cursor) this.resetReading(this.cursor); // parser/carry may be ahead of what was committed
      throw err;
    } finally {
      await fh.close();
    }
  }

  /**
   * Adopts a file seen for the first time, or detects that the one the offset belongs to was
   * replaced (other inode) or truncated (shorter than the offset): then a `transcript.reset` event
   * and the rewound cursor are committed together and reading starts over at 0 with a fresh parser.
   */
  private checkIdentity(cursor: TranscriptCursor, dev: number, ino: number, size: number): void {
    const known = cursor.dev !== null && cursor.ino !== null;
    const replaced = known && (cursor.dev !== dev || cursor.ino !== ino);
    const truncated = !replaced && size < cursor.offset;
    if (!known && !truncated) {
      this.commit([], { ...cursor, dev, ino });
      return;
    }
    if (!replaced && !truncated) return;
    const reason = replaced ? "replaced" : "truncated";
    this.opts.log.warn({ sessionId: this.opts.sessionId, path: cursor.path, reason, offset: cursor.offset, size }, "transcript reset");
    const fresh: TranscriptCursor = { path: cursor.path, dev, ino, offset: 0, parserState: createParser(this.opts.provider).snapshot() };
    const reset: NewEvent = {
      type: "transcript.reset",
      sessionId: this.opts.sessionId,
      payload: { path: cursor.path, reason, previousOffset: cursor.offset, size },
    };
    this.opts.outbox.appendWithCursor([reset], { key: this.key, value: fresh });
    this.resetReading(fresh);
  }

  /** Parses the complete lines in `data` (after any carried partial line) and commits them. */
  private consume(data: Buffer): void {
    const start = this.readPos;
    this.readPos += data.length;
    const events: TranscriptEvent[] = [];
    let pos = 0;
    if (this.skipping) {
      const nl = data.indexOf(NEWLINE);
      if (nl < 0) return; // still inside the oversized line: nothing to commit
      events.push(...this.parser.skipOversized());
      this.skipping = false;
      pos = nl + 1;
    }
    const lastNl = data.lastIndexOf(NEWLINE);
    if (lastNl >= pos) {
      const head = this.carryBytes > 0 ? Buffer.concat([...this.carry, data.subarray(pos, lastNl)]) : data.subarray(pos, lastNl);
      this.carry = [];
      this.carryBytes = 0;
      // Splitting decoded text is safe: "\n" never occurs inside a UTF-8 multi-byte sequence.
      for (const line of head.toString("utf8").split("\n")) events.push(...this.parser.push(line));
      pos = lastNl + 1;
    }
    const committedTo = pos > 0 ? start + pos : null;
    const rest = data.subarray(pos);
    if (rest.length > 0) {
      if (this.carryBytes + rest.length > TRANSCRIPT_LIMITS.lineBytes) {
        this.carry = [];
        this.carryBytes = 0;
        this.skipping = true;
      } else {
        // Copy: `data` is the reused read buffer.
        this.carry.push(Buffer.from(rest));
        this.carryBytes += rest.length;
      }
    }
    if (committedTo === null || !this.cursor) return;
    this.commit(events, { ...this.cursor, offset: committedTo, parserState: this.parser.snapshot() });
  }

  private commit(events: TranscriptEvent[], cursor: TranscriptCursor): void {
    const rows = events.map((e) => toOutboxEvent(this.opts.sessionId, e, this.opts.maxEventBytes));
    this.opts.outbox.appendWithCursor(rows, { key: this.key, value: cursor });
    this.cursor = cursor;
    if (events.length > 0 && this.opts.onEvents) {
      try {
        this.opts.onEvents(events);
      } catch (err) {
        this.opts.log.warn({ sessionId: this.opts.sessionId, err }, "transcript onEvents handler threw");
      }
    }
  }
}

function isNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && "code" in err && (err.code === "ENOENT" || err.code === "ENOTDIR");
}

/** The outbox row for one parser event: `transcript.<type>`, payload = the event minus `type`, bounded. */
export function toOutboxEvent(sessionId: string, event: TranscriptEvent, maxEventBytes: number): NewEvent {
  const { type, ...payload } = event;
  // A structured tool input that is too big becomes (a prefix of) its JSON text.
  return { type: `transcript.${type}`, sessionId, payload: fitPayload(payload, maxEventBytes, { asText: ["input"] }) };
}
