import Database from "better-sqlite3";
import type { OutboxEvent } from "@codepiper/core";

export interface NewEvent {
  type: string;
  sessionId?: string | null;
  payload: unknown;
  at?: Date;
}

export interface CommandRecord {
  id: string;
  type: string;
  state: "started" | "done";
  ok: boolean | null;
  result: unknown;
  errorCode: string | null;
  errorMessage: string | null;
  acked: boolean;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  type       TEXT NOT NULL,
  session_id TEXT,
  at         TEXT NOT NULL,
  payload    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS commands (
  id            TEXT PRIMARY KEY,
  type          TEXT NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('started', 'done')),
  ok            INTEGER,
  result        TEXT,
  error_code    TEXT,
  error_message TEXT,
  received_at   TEXT NOT NULL,
  finished_at   TEXT,
  acked         INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS cursors (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

/**
 * The durable outbox (DESIGN.md §2): every observation is appended here first, with a monotonic
 * `seq` (AUTOINCREMENT never reuses a value, even after pruning), and shipped from here. Rows are
 * deleted only once the control plane has acknowledged them.
 *
 * It also journals commands, which is what makes execution at-most-once: a command is recorded as
 * `started` in its own committed transaction before it runs, so after a crash it is never run again.
 *
 * Durability: WAL with synchronous=NORMAL. A committed append survives the agent being killed at
 * any instant (SIGKILL, OOM); only an OS crash or power cut can lose the last moments of writes.
 * Other processes (`codepiper agent emit`) may append concurrently: SQLite serialises writers.
 */
export class Outbox {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly selectAfter: Database.Statement;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 10000");
    this.db.exec(SCHEMA);
    this.insert = this.db.prepare("INSERT INTO outbox (type, session_id, at, payload) VALUES (?, ?, ?, ?)");
    this.selectAfter = this.db.prepare("SELECT seq, type, session_id, at, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?");
  }

  /** Appends events in one transaction; returns their seqs. */
  append(events: readonly NewEvent[]): number[] {
    const run = this.db.transaction((batch: readonly NewEvent[]) =>
      batch.map((e) => Number(this.insert.run(e.type, e.sessionId ?? null, (e.at ?? new Date()).toISOString(), JSON.stringify(e.payload ?? null)).lastInsertRowid)),
    );
    return run(events);
  }

  /**
   * Appends events and saves a cursor in ONE transaction: whoever produced the events from some
   * input (a transcript tailer: a file offset) records how far it got atomically with them, so after
   * a crash it resumes exactly where the committed events end, never repeating or skipping one.
   */
  appendWithCursor(events: readonly NewEvent[], cursor: { key: string; value: unknown }): number[] {
    const run = this.db.transaction(() => {
      const seqs = events.map((e) => Number(this.insert.run(e.type, e.sessionId ?? null, (e.at ?? new Date()).toISOString(), JSON.stringify(e.payload ?? null)).lastInsertRowid));
      this.db.prepare("INSERT INTO cursors (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(cursor.key, JSON.stringify(cursor.value));
      return seqs;
    });
    return run();
  }

  /** A cursor saved by appendWithCursor, or null. */
  getCursor(key: string): unknown {
    const row = this.db.prepare("SELECT value FROM cursors WHERE key = ?").get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as unknown) : null;
  }

  /** Every cursor whose key starts with `prefix`, in key order. */
  listCursors(prefix: string): { key: string; value: unknown }[] {
    const rows = this.db.prepare("SELECT key, value FROM cursors WHERE key >= ? AND key < ? ORDER BY key").all(prefix, `${prefix}\uffff`) as { key: string; value: string }[];
    return rows.map((r) => ({ key: r.key, value: JSON.parse(r.value) as unknown }));
  }

  deleteCursor(key: string): void {
    this.db.prepare("DELETE FROM cursors WHERE key = ?").run(key);
  }

  /**
   * Events after `seq`, oldest first: at most `limit` of them, and (from the second one on) no more
   * than fit in about `maxBytes` of JSON. The byte bound keeps a batch under the link's message limit
   * when events are large: a batch over it would be refused (close 1009) and re-sent forever.
   */
  readAfter(seq: number, limit: number, maxBytes = Number.POSITIVE_INFINITY): OutboxEvent[] {
    const rows = this.selectAfter.all(seq, limit) as { seq: number; type: string; session_id: string | null; at: string; payload: string }[];
    const out: OutboxEvent[] = [];
    let bytes = 0;
    for (const r of rows) {
      // The stored payload is the JSON text that will cross the link; ~150 bytes for the envelope.
      bytes += Buffer.byteLength(r.payload) + r.type.length + 150;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push({ seq: r.seq, type: r.type, sessionId: r.session_id, at: r.at, payload: JSON.parse(r.payload) as unknown });
    }
    return out;
  }

  /** Deletes acknowledged events. */
  prune(uptoSeq: number): number {
    return this.db.prepare("DELETE FROM outbox WHERE seq <= ?").run(uptoSeq).changes;
  }

  pending(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM outbox").get() as { n: number }).n;
  }

  /** Highest seq ever assigned (0 when none). */
  lastSeq(): number {
    const row = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").get() as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  /**
   * The control plane already holds seqs up to `ackedSeq` but this outbox has never assigned them:
   * the outbox was wiped or restored while the host kept its identity. Shift pending rows and the
   * sequence above `ackedSeq`, so nothing new is mistaken for an already-stored event.
   */
  rebaseAbove(ackedSeq: number): number {
    const last = this.lastSeq();
    if (last >= ackedSeq) return 0;
    return this.db.transaction(() => {
      const moved = this.db.prepare("UPDATE outbox SET seq = seq + ?").run(ackedSeq).changes;
      const top = (this.db.prepare("SELECT max(seq) AS m FROM outbox").get() as { m: number | null }).m ?? ackedSeq;
      this.db.prepare("DELETE FROM sqlite_sequence WHERE name = 'outbox'").run();
      this.db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)").run(Math.max(top, ackedSeq));
      return moved;
    })();
  }

  /** Changes whenever another connection commits: a cheap way to notice appends from other processes. */
  dataVersion(): number {
    return this.db.pragma("data_version", { simple: true }) as number;
  }

  getCommand(id: string): CommandRecord | null {
    const row = this.db.prepare("SELECT * FROM commands WHERE id = ?").get(id) as
      | { id: string; type: string; state: "started" | "done"; ok: number | null; result: string | null; error_code: string | null; error_message: string | null; acked: number }
      | undefined;
    if (!row) return null;
    return {
      id: row.id,
      type: row.type,
      state: row.state,
      ok: row.ok === null ? null : row.ok === 1,
      result: row.result === null ? undefined : (JSON.parse(row.result) as unknown),
      errorCode: row.error_code,
      errorMessage: row.error_message,
      acked: row.acked === 1,
    };
  }

  /** Records that a command is about to run. Returns false if it was already recorded (never run twice). */
  startCommand(id: string, type: string): boolean {
    const info = this.db.prepare("INSERT OR IGNORE INTO commands (id, type, state, received_at) VALUES (?, ?, 'started', ?)").run(id, type, new Date().toISOString());
    return info.changes === 1;
  }

  finishCommand(id: string, outcome: { ok: boolean; result?: unknown; errorCode?: string; errorMessage?: string }): void {
    this.db
      .prepare("UPDATE commands SET state = 'done', ok = ?, result = ?, error_code = ?, error_message = ?, finished_at = ? WHERE id = ?")
      .run(outcome.ok ? 1 : 0, outcome.result === undefined ? null : JSON.stringify(outcome.result), outcome.errorCode ?? null, outcome.errorMessage ?? null, new Date().toISOString(), id);
  }

  /** Journal entries whose outcome the control plane has not confirmed yet, oldest first. */
  unackedCommandIds(): string[] {
    return (this.db.prepare("SELECT id FROM commands WHERE acked = 0 ORDER BY received_at, rowid").all() as { id: string }[]).map((r) => r.id);
  }

  markAcked(id: string): void {
    this.db.prepare("UPDATE commands SET acked = 1 WHERE id = ?").run(id);
  }

  /** Keeps the journal bounded: acknowledged commands older than `olderThanMs` are forgotten. */
  pruneCommands(olderThanMs: number): number {
    const cutoff = new Date(Date.now() - olderThanMs).toISOString();
    return this.db.prepare("DELETE FROM commands WHERE acked = 1 AND finished_at < ?").run(cutoff).changes;
  }

  close(): void {
    this.db.close();
  }
}
