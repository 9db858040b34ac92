// Database access for the control plane: one data model (prisma/schema.prisma), two providers.
//   - SQLite (embedded default): `file:/abs/path.db`, through @prisma/adapter-better-sqlite3.
//   - PostgreSQL: `postgresql://…` / `postgres://…`, through @prisma/adapter-pg.
// openDatabase() applies the committed migrations first (./migrate.ts, no engine), then returns a Prisma
// client. Both generated clients come from the same models, so the rest of the code uses one type, `Db`.
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import type { PrismaClient as SqlitePrismaClient, Prisma } from "./generated/sqlite/client.js";
import { applyMigrations, providerOf, sqliteFilePath } from "./migrate.js";
import type { ApplyMigrationsResult, LogFn, Provider } from "./migrate.js";

export { applyMigrations, defaultMigrationsDir, providerOf, sqliteFilePath } from "./migrate.js";
export type { ApplyMigrationsOptions, ApplyMigrationsResult, LogFn, Provider } from "./migrate.js";

/** The Prisma client type used everywhere (the SQLite-generated one; see openPostgres for PostgreSQL). */
export type Db = SqlitePrismaClient;
/** The client handed to `db.$transaction(async (tx) => …)`. */
export type DbTx = Prisma.TransactionClient;

export interface Database {
  readonly prisma: Db;
  readonly provider: Provider;
  /** What openDatabase() did to the schema. */
  readonly migrations: ApplyMigrationsResult;
  /** Disconnects the client (closes the SQLite file / ends the PostgreSQL pool). */
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** `file:/abs/path.db` (SQLite; the parent directory is created) or `postgresql://…` / `postgres://…`. */
  url: string;
  /** Override the migrations directory (default: the repo's prisma/<provider>/migrations). */
  migrationsDir?: string;
  log?: LogFn;
  /** PostgreSQL: wait this long for another replica's migration run (default 120 s). */
  migrationLockTimeoutMs?: number;
}

/** SQLite busy timeout: how long a writer waits for another connection's write lock before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * Opens the database at `opts.url`, applies pending migrations, and returns the client.
 * Rejects URLs that are neither `file:` nor `postgres(ql)://`, naming the scheme.
 */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const provider = providerOf(opts.url); // throws for other schemes, before touching anything
  const log = opts.log ?? (() => {});
  if (provider === "sqlite") mkdirSync(path.dirname(sqliteFilePath(opts.url)), { recursive: true });
  const migrations = await applyMigrations({
    url: opts.url,
    log,
    ...(opts.migrationsDir !== undefined ? { migrationsDir: opts.migrationsDir } : {}),
    ...(opts.migrationLockTimeoutMs !== undefined ? { lockTimeoutMs: opts.migrationLockTimeoutMs } : {}),
  });
  const prisma = provider === "sqlite" ? await openSqlite(opts.url, log) : await openPostgres(opts.url, log);
  return {
    prisma,
    provider,
    migrations,
    close: () => prisma.$disconnect(),
  };
}

async function openSqlite(url: string, log: LogFn): Promise<Db> {
  const [{ PrismaClient }, { PrismaBetterSqlite3 }] = await Promise.all([
    import("./generated/sqlite/client.js"),
    import("@prisma/adapter-better-sqlite3"),
  ]);
  // The adapter keeps ONE better-sqlite3 connection for the client's lifetime (transactions are serialized
  // on it by a mutex), so per-connection pragmas set once below stay in force. DateTime values are stored
  // as ISO 8601 text with a +00:00 offset (the adapter's default timestampFormat "iso8601").
  const adapter = new PrismaBetterSqlite3({ url: sqliteFilePath(url), timeout: SQLITE_BUSY_TIMEOUT_MS });
  const connect = adapter.connect.bind(adapter);
  adapter.connect = async () => isolateTransactions(await connect());
  const prisma = new PrismaClient({ adapter });
  try {
    // - WAL: readers never block the writer (and it persists in the file; migrate.ts already set it).
    // - synchronous=NORMAL: in WAL mode a commit is durable against a crash of the PROCESS (what we
    //   guarantee: the data is in the OS page cache and the WAL); only an OS crash / power loss can lose the
    //   last few transactions (never corrupt the file). FULL would fsync every commit.
    // - busy_timeout: wait for a concurrent writer (e.g. the sqlite3 CLI) instead of failing at once.
    // - foreign_keys=ON: enforce the relations (cascading deletes of a host's events/commands).
    // PRAGMAs go through $queryRawUnsafe: some return a row, which the adapter's executeRaw rejects.
    const mode = await prisma.$queryRawUnsafe<{ journal_mode: string }[]>("PRAGMA journal_mode = WAL");
    if (mode[0]?.journal_mode?.toLowerCase() !== "wal") log(`warning: SQLite did not switch to WAL (journal_mode=${mode[0]?.journal_mode})`);
    await prisma.$queryRawUnsafe(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    await prisma.$queryRawUnsafe("PRAGMA synchronous = NORMAL");
    await prisma.$queryRawUnsafe("PRAGMA foreign_keys = ON");
  } catch (e) {
    await prisma.$disconnect().catch(() => {});
    throw e;
  }
  return prisma;
}

type SqliteDriverAdapter = Awaited<ReturnType<PrismaBetterSqlite3["connect"]>>;

/**
 * Workaround for @prisma/adapter-better-sqlite3 7.10.0 (observed): it runs everything on ONE connection and
 * its mutex only serializes transactions with each other, so a query issued outside an interactive
 * `$transaction` while one is open executes INSIDE it, and is silently rolled back with it. Here,
 * non-transactional statements wait until no transaction is open (a transaction start waits too), which
 * gives them the isolation they get on PostgreSQL. Consequence: inside `$transaction(async (tx) => …)`,
 * use `tx`, never the outer client, or the statement waits for the transaction (until its timeout).
 */
function isolateTransactions(adapter: SqliteDriverAdapter): SqliteDriverAdapter {
  let open: Promise<void> | null = null; // set (synchronously) from a transaction's start until its end
  const idle = async (): Promise<void> => {
    while (open) await open;
  };
  const { queryRaw, executeRaw, executeScript, startTransaction } = adapter;
  // Each wrapper re-checks after waking up, then calls the driver synchronously (better-sqlite3 is
  // synchronous), so no transaction can begin in between.
  adapter.queryRaw = async (q) => {
    await idle();
    return queryRaw.call(adapter, q);
  };
  adapter.executeRaw = async (q) => {
    await idle();
    return executeRaw.call(adapter, q);
  };
  adapter.executeScript = async (script) => {
    await idle();
    return executeScript.call(adapter, script);
  };
  adapter.startTransaction = async (isolationLevel) => {
    await idle();
    let end!: () => void;
    const mine = new Promise<void>((resolve) => (end = resolve));
    open = mine;
    const done = (): void => {
      if (open === mine) open = null; // idempotent: commit and rollback may both be called
      end();
    };
    let tx: Awaited<ReturnType<SqliteDriverAdapter["startTransaction"]>>;
    try {
      tx = await startTransaction.call(adapter, isolationLevel);
    } catch (e) {
      done();
      throw e;
    }
    const { commit, rollback } = tx;
    tx.commit = async () => {
      try {
        await commit.call(tx);
      } finally {
        done();
      }
    };
    tx.rollback = async () => {
      try {
        await rollback.call(tx);
      } finally {
        done();
      }
    };
    return tx;
  };
  return adapter;
}

async function openPostgres(url: string, log: LogFn): Promise<Db> {
  const [{ PrismaClient }, { PrismaPg }] = await Promise.all([import("./generated/postgresql/client.js"), import("@prisma/adapter-pg")]);
  const adapter = new PrismaPg({ connectionString: url }, { onPoolError: (err) => log(`PostgreSQL pool error: ${err.message}`) });
  const prisma = new PrismaClient({ adapter });
  await prisma.$connect();
  // The one provider cast: the PostgreSQL client is generated from the same models as the SQLite one
  // (only the datasource provider differs), so its model API is identical; TypeScript just sees two
  // distinct generated declarations.
  return prisma as unknown as Db;
}

// ---------------------------------------------------------------------------------------------------------
// Raw SQL portable across both providers.

/** A value bound to a raw-SQL placeholder. Dates are converted by the adapter exactly like model writes. */
export type RawParam = string | number | bigint | boolean | null | Date;

/** Anything with a provider and a client: a Database, or `{ provider, prisma: tx }`. */
export type DbHandle = Pick<Database, "provider" | "prisma">;

/**
 * Rewrites `?` placeholders to PostgreSQL's `$1, $2, …` (SQLite takes `?` as is). `?` inside string
 * literals, quoted identifiers and comments is left alone. Throws if the count differs from `paramCount`.
 */
export function toProviderPlaceholders(provider: Provider, sql: string, paramCount: number): string {
  let n = 0;
  let out = "";
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = closingQuote(sql, i, c);
      out += sql.slice(i, end + 1);
      i = end;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      const stop = end === -1 ? sql.length - 1 : end;
      out += sql.slice(i, stop + 1);
      i = stop;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      const stop = end === -1 ? sql.length - 1 : end + 1;
      out += sql.slice(i, stop + 1);
      i = stop;
    } else if (c === "?") {
      n++;
      out += provider === "postgresql" ? `$${n}` : "?";
    } else {
      out += c;
    }
  }
  if (n !== paramCount) throw new Error(`raw SQL has ${n} placeholder(s) but ${paramCount} parameter(s)`);
  return out;
}

function closingQuote(sql: string, start: number, quote: string): number {
  for (let i = start + 1; i < sql.length; i++) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) i++; // doubled quote = escaped
      else return i;
    }
  }
  return sql.length - 1;
}

/**
 * `$executeRawUnsafe` with `?` placeholders on both providers (the adapters pass the SQL through
 * verbatim: better-sqlite3 wants `?`, pg wants `$n`). Returns the affected row count. Pass `tx` to
 * run inside an interactive transaction.
 */
export async function rawExec(db: DbHandle, sql: string, params: readonly RawParam[], tx?: DbTx): Promise<number> {
  const client: Db | DbTx = tx ?? db.prisma;
  return client.$executeRawUnsafe(toProviderPlaceholders(db.provider, sql, params.length), ...params);
}

// ---------------------------------------------------------------------------------------------------------
// Events: fast idempotent ingest.

export interface EventInsertRow {
  hostId: string;
  seq: bigint;
  sessionId: string | null;
  type: string;
  payloadJson: string;
  /** When the host observed the event. */
  at: Date;
}

/** One column of a multi-row insert, bound as a single PostgreSQL array parameter. */
type RawArrayParam = (string | null)[];

/** Bind-parameter limits: SQLite's SQLITE_MAX_VARIABLE_NUMBER (32766 since 3.32), PostgreSQL's 65535 (Bind uses int16). */
const MAX_BIND_PARAMS: Record<Provider, number> = { sqlite: 32766, postgresql: 65535 };
const EVENT_COLUMNS = ["hostId", "seq", "sessionId", "type", "payloadJson", "at", "receivedAt"] as const;

/**
 * A DateTime as Prisma's adapters write it, so that raw inserts read back through the client:
 * - SQLite (adapter-better-sqlite3, timestampFormat "iso8601"): `2026-01-02T03:04:05.678+00:00` (TEXT).
 * - PostgreSQL (adapter-pg, TIMESTAMP(3) without time zone holding UTC): `2026-01-02 03:04:05.678`.
 */
export function dateTimeForRawSql(provider: Provider, d: Date): string {
  if (Number.isNaN(d.getTime())) throw new Error("invalid Date");
  const iso = d.toISOString(); // always UTC, millisecond precision (Prisma's precision too)
  return provider === "sqlite" ? iso.replace("Z", "+00:00") : iso.replace("T", " ").replace("Z", "");
}

/**
 * Inserts events with `INSERT … ON CONFLICT ("hostId","seq") DO NOTHING` (PostgreSQL: one statement over
 * `unnest` of one array per column; SQLite: multi-row VALUES statements chunked under its bind-parameter
 * limit); returns how many rows were actually inserted (duplicates,
 * in the table or within `rows`, are skipped). `receivedAt` is set to now by this process (as Prisma's
 * `@default(now())` does), not by the database default, whose format/time zone differ from Prisma's.
 *
 * Pass `tx` to run inside an interactive `$transaction`. Without it, several chunks are wrapped in one
 * transaction of their own, so the insert is all-or-nothing either way.
 */
export async function insertEventsIgnoringDuplicates(db: DbHandle, rows: readonly EventInsertRow[], tx?: DbTx): Promise<number> {
  if (rows.length === 0) return 0;
  const provider = db.provider;
  const rowsPerChunk = Math.floor(MAX_BIND_PARAMS[provider] / EVENT_COLUMNS.length);
  const receivedAt = dateTimeForRawSql(provider, new Date());
  const columns = EVENT_COLUMNS.map((c) => `"${c}"`).join(", ");

  if (provider === "postgresql") {
    // One statement with one array per column (7 parameters, whatever the batch size): PostgreSQL
    // parses and plans it far faster than a VALUES list of 7 × n placeholders (measured by
    // tests/bench/ingest.ts: the per-batch time was mostly the server planning that statement).
    const cols: RawArrayParam[] = [[], [], [], [], [], [], []];
    for (const r of rows) {
      cols[0]!.push(r.hostId);
      cols[1]!.push(String(r.seq));
      cols[2]!.push(r.sessionId);
      cols[3]!.push(r.type);
      cols[4]!.push(r.payloadJson);
      cols[5]!.push(dateTimeForRawSql(provider, r.at));
      cols[6]!.push(receivedAt);
    }
    const sql =
      `INSERT INTO "Event" (${columns}) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamp(3)[], $7::timestamp(3)[]) ` +
      `ON CONFLICT ("hostId", "seq") DO NOTHING`;
    return (tx ?? db.prisma).$executeRawUnsafe(sql, ...cols);
  }

  const run = async (client: Db | DbTx): Promise<number> => {
    let inserted = 0;
    for (let start = 0; start < rows.length; start += rowsPerChunk) {
      const chunk = rows.slice(start, start + rowsPerChunk);
      const params: RawParam[] = [];
      const tuples: string[] = [];
      for (const r of chunk) {
        const values: RawParam[] = [r.hostId, r.seq, r.sessionId, r.type, r.payloadJson, dateTimeForRawSql(provider, r.at), receivedAt];
        const placeholders = values.map((v) => {
          params.push(v);
          return "?";
        });
        tuples.push(`(${placeholders.join(", ")})`);
      }
      const sql = `INSERT INTO "Event" (${columns}) VALUES ${tuples.join(", ")} ON CONFLICT ("hostId", "seq") DO NOTHING`;
      inserted += await client.$executeRawUnsafe(sql, ...params);
    }
    return inserted;
  };

  if (tx) return run(tx);
  if (rows.length <= rowsPerChunk) return run(db.prisma);
  return db.prisma.$transaction((t) => run(t), { timeout: 60_000 });
}
