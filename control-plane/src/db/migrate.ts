// Applies the committed migrations (prisma/<provider>/migrations/*/migration.sql) at start-up, with no
// Prisma engine: the runtime has no schema engine at all (the CLI's native one cannot be downloaded
// offline, and the WASM one is a dev tool). Rows in `_prisma_migrations` are recorded exactly like
// `prisma migrate deploy` does (same table DDL, checksum = sha256 of migration.sql, same timestamp
// formats, applied_steps_count = 1), so Prisma's own `migrate status` / `migrate deploy` agree with us.
//
// Concurrency: on PostgreSQL the whole run holds a session-level advisory lock (the key Prisma Migrate
// itself uses), so replicas starting at once apply each migration once and the others then see it as
// applied. SQLite is the embedded, single-process deployment: there is no cross-process lock (a migration
// cannot run in one transaction there, see applyOne), so do not point two processes at one file while
// they start.
import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type BetterSqlite3 from "better-sqlite3";
import type pg from "pg";

export type Provider = "sqlite" | "postgresql";
export type LogFn = (message: string) => void;

export interface ApplyMigrationsOptions {
  /** `file:/abs/path.db` (SQLite) or `postgresql://…` / `postgres://…`. */
  url: string;
  /** Directory holding `<timestamp>_<name>/migration.sql`; default: the repo's prisma/<provider>/migrations. */
  migrationsDir?: string;
  log?: LogFn;
  /** PostgreSQL: how long to wait for another replica's migration run (advisory lock). Default 120 s. */
  lockTimeoutMs?: number;
}

export interface ApplyMigrationsResult {
  provider: Provider;
  migrationsDir: string;
  /** Migrations applied by this call, in order. */
  applied: string[];
  /** Migrations that were already recorded as applied. */
  alreadyApplied: string[];
}

/** Advisory lock key used by Prisma Migrate itself, so we also serialize with a concurrent `prisma migrate deploy`. */
const PG_ADVISORY_LOCK_KEY = 72707369;

/** The exact DDL of the history table as the Prisma schema engine creates it (observed with 7.10). */
const HISTORY_DDL: Record<Provider, string> = {
  sqlite: `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`,
  postgresql: `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`,
};

/** The provider for a database URL; throws for anything but `file:` and `postgres(ql)://`. */
export function providerOf(url: string): Provider {
  if (/^postgres(ql)?:\/\//i.test(url)) return "postgresql";
  if (/^file:/i.test(url)) return "sqlite";
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  throw new Error(
    `Unsupported database URL scheme ${scheme ? `"${scheme}:"` : "(none)"}: use file:/abs/path.db (SQLite) or postgresql://… (PostgreSQL)`,
  );
}

/**
 * The SQLite file path of a `file:` URL: `file:/abs/x.db`, `file:///abs/x.db`, or a relative
 * `file:./x.db` (resolved against the current directory). A `?query` suffix is ignored.
 */
export function sqliteFilePath(url: string): string {
  if (providerOf(url) !== "sqlite") throw new Error(`not a SQLite URL: ${url}`);
  if (/^file:\/\//i.test(url)) return fileURLToPath(url.replace(/\?.*$/, ""));
  const p = url.slice("file:".length).replace(/\?.*$/, "");
  if (!p) throw new Error(`SQLite URL has no path: ${url}`);
  if (p === ":memory:") throw new Error("in-memory SQLite is not supported: use a file:/abs/path.db URL");
  return path.resolve(p);
}

/**
 * Finds `prisma/<provider>/migrations` by walking up from this file: it is
 * control-plane/dist/db/migrate.js once compiled (control-plane/src/db/migrate.ts under vitest/tsx),
 * and the repo's prisma/ directory sits next to control-plane/.
 */
export function defaultMigrationsDir(provider: Provider): string {
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "prisma", provider, "migrations");
    if (existsSync(path.join(candidate, "migration_lock.toml"))) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  throw new Error(`cannot find prisma/${provider}/migrations above ${start}; pass migrationsDir explicitly`);
}

const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

/** Same leniency as the Prisma engine: a checkout that flipped LF <-> CRLF is not a modified migration. */
function checksumMatches(script: string, recorded: string): boolean {
  if (sha256(script) === recorded) return true;
  const lf = script.replace(/\r\n/g, "\n");
  return sha256(lf) === recorded || sha256(lf.replace(/\n/g, "\r\n")) === recorded;
}

interface LocalMigration {
  name: string;
  script: string;
  checksum: string;
}

async function readMigrations(dir: string): Promise<LocalMigration[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (e) {
    throw new Error(`cannot read migrations directory ${dir}: ${(e as Error).message}`);
  }
  const out: LocalMigration[] = [];
  for (const name of entries.sort()) {
    const full = path.join(dir, name);
    if (!(await stat(full)).isDirectory()) continue;
    let bytes: Buffer;
    try {
      bytes = await readFile(path.join(full, "migration.sql"));
    } catch {
      throw new Error(`migration ${name} has no migration.sql (in ${dir})`);
    }
    out.push({ name, script: bytes.toString("utf8"), checksum: sha256(bytes) });
  }
  return out;
}

interface HistoryRow {
  id: string;
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

/** The minimal driver surface the runner needs, for both providers. */
interface MigrationConnection {
  provider: Provider;
  exec(script: string): Promise<void>;
  history(): Promise<HistoryRow[]>;
  recordStart(id: string, name: string, checksum: string): Promise<void>;
  recordFinish(id: string): Promise<void>;
  recordFailure(id: string, logs: string): Promise<void>;
  close(): Promise<void>;
}

/** What Prisma writes in SQLite DATETIME columns: ISO 8601 with an explicit +00:00 offset. */
const sqliteNow = (): string => new Date().toISOString().replace("Z", "+00:00");

async function openSqlite(url: string): Promise<MigrationConnection> {
  const { default: Database } = await import("better-sqlite3");
  const file = sqliteFilePath(url);
  mkdirSync(path.dirname(file), { recursive: true });
  const db: BetterSqlite3.Database = new Database(file, { timeout: 5000 });
  // WAL is a property of the file (it persists); the other pragmas are per connection.
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  return {
    provider: "sqlite",
    exec: async (script) => {
      db.exec(script);
    },
    history: async () => db.prepare(`SELECT id, migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"`).all() as HistoryRow[],
    recordStart: async (id, name, checksum) => {
      db.prepare(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, ?, 0)`,
      ).run(id, checksum, name, sqliteNow());
    },
    recordFinish: async (id) => {
      db.prepare(`UPDATE "_prisma_migrations" SET finished_at = ?, applied_steps_count = 1 WHERE id = ?`).run(sqliteNow(), id);
    },
    recordFailure: async (id, logs) => {
      db.prepare(`UPDATE "_prisma_migrations" SET logs = ? WHERE id = ?`).run(logs, id);
    },
    close: async () => {
      db.close();
    },
  };
}

async function openPostgres(url: string, lockTimeoutMs: number): Promise<MigrationConnection> {
  const { default: pgModule } = await import("pg");
  const client: pg.Client = new pgModule.Client({ connectionString: url });
  // Errors of an in-flight query reject that query; this only keeps a dropped idle connection from
  // becoming an uncaught 'error' event.
  client.on("error", () => {});
  await client.connect();
  try {
    // Session-level lock: held until unlock/disconnect, across the implicit transactions of each script.
    // If this process dies, PostgreSQL drops the lock with the session.
    await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
    await client.query("SELECT pg_advisory_lock($1)", [PG_ADVISORY_LOCK_KEY]);
    await client.query("SET lock_timeout = 0");
  } catch (e) {
    await client.end().catch(() => {});
    throw new Error(`could not take the migration lock within ${lockTimeoutMs} ms: ${(e as Error).message}`);
  }
  return {
    provider: "postgresql",
    // Simple-query protocol (no parameters): a multi-statement script runs as one implicit transaction.
    exec: async (script) => {
      await client.query(script);
    },
    history: async () =>
      (await client.query<HistoryRow>(`SELECT id, migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"`)).rows,
    recordStart: async (id, name, checksum) => {
      await client.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
        [id, checksum, name],
      );
    },
    recordFinish: async (id) => {
      await client.query(`UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`, [id]);
    },
    recordFailure: async (id, logs) => {
      await client.query(`UPDATE "_prisma_migrations" SET logs = $1 WHERE id = $2`, [logs, id]);
    },
    close: async () => {
      try {
        await client.query("SELECT pg_advisory_unlock($1)", [PG_ADVISORY_LOCK_KEY]);
      } finally {
        await client.end();
      }
    },
  };
}

async function applyOne(conn: MigrationConnection, m: LocalMigration): Promise<void> {
  const id = randomUUID();
  await conn.recordStart(id, m.name, m.checksum);
  try {
    // Not wrapped in a transaction, like `prisma migrate deploy`: Prisma's SQLite table redefinitions
    // rely on `PRAGMA foreign_keys=OFF`, which is a no-op inside a transaction (DROP TABLE would then
    // cascade). On PostgreSQL the script still runs atomically (implicit transaction, see exec).
    await conn.exec(m.script);
  } catch (e) {
    const err = e as Error;
    await conn.recordFailure(id, String(err.stack ?? err.message)).catch(() => {});
    throw new Error(
      `Migration ${m.name} failed: ${err.message}. It is recorded as failed in _prisma_migrations; fix the database, ` +
        `then mark it with \`prisma migrate resolve --rolled-back ${m.name}\` (or --applied) before restarting.`,
    );
  }
  await conn.recordFinish(id);
}

/** Applies every committed migration not yet recorded in `_prisma_migrations`, in name order. */
export async function applyMigrations(opts: ApplyMigrationsOptions): Promise<ApplyMigrationsResult> {
  const provider = providerOf(opts.url);
  const log = opts.log ?? (() => {});
  const migrationsDir = opts.migrationsDir ?? defaultMigrationsDir(provider);
  const local = await readMigrations(migrationsDir);
  const conn = provider === "sqlite" ? await openSqlite(opts.url) : await openPostgres(opts.url, opts.lockTimeoutMs ?? 120_000);
  try {
    await conn.exec(HISTORY_DDL[provider]);
    const rows = await conn.history();
    const failed = rows.filter((r) => r.finished_at == null && r.rolled_back_at == null);
    if (failed.length) {
      throw new Error(
        `The database has failed migrations (${failed.map((r) => r.migration_name).join(", ")}): ` +
          "resolve them with `prisma migrate resolve` before starting (Prisma error P3009).",
      );
    }
    const done = new Map(rows.filter((r) => r.finished_at != null && r.rolled_back_at == null).map((r) => [r.migration_name, r.checksum]));
    const localNames = new Set(local.map((m) => m.name));
    for (const name of done.keys()) {
      if (!localNames.has(name)) log(`warning: migration ${name} is applied in the database but missing from ${migrationsDir}`);
    }
    const applied: string[] = [];
    const alreadyApplied: string[] = [];
    for (const m of local) {
      const recorded = done.get(m.name);
      if (recorded !== undefined) {
        if (!checksumMatches(m.script, recorded)) log(`warning: migration ${m.name} was modified after it was applied (checksum mismatch)`);
        alreadyApplied.push(m.name);
        continue;
      }
      log(`applying migration ${m.name}`);
      await applyOne(conn, m);
      applied.push(m.name);
    }
    log(applied.length ? `applied ${applied.length} migration(s): ${applied.join(", ")}` : "database schema is up to date");
    return { provider, migrationsDir, applied, alreadyApplied };
  } finally {
    await conn.close();
  }
}
