import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type StartedPostgres } from "../../../tests/src/support/postgres.js";
import {
  applyMigrations,
  dateTimeForRawSql,
  defaultMigrationsDir,
  insertEventsIgnoringDuplicates,
  openDatabase,
  rawExec,
  toProviderPlaceholders,
  type Database,
  type EventInsertRow,
  type Provider,
} from "./index.js";

// Run in a non-UTC zone: DateTime handling must not depend on the process's local time.
process.env.TZ = "Asia/Kolkata";

const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

async function committedMigrations(provider: Provider): Promise<{ name: string; checksum: string }[]> {
  const dir = defaultMigrationsDir(provider);
  const out: { name: string; checksum: string }[] = [];
  for (const name of (await readdir(dir)).sort()) {
    if (!(await stat(path.join(dir, name))).isDirectory()) continue;
    out.push({ name, checksum: sha256(await readFile(path.join(dir, name, "migration.sql"))) });
  }
  return out;
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished: boolean;
  rolled_back: boolean;
  logs: string | null;
  applied_steps_count: number;
  started_text: string;
}

async function migrationRows(db: Database): Promise<MigrationRow[]> {
  const rows = await db.prisma.$queryRawUnsafe<
    { migration_name: string; checksum: string; finished: unknown; rolled_back: unknown; logs: string | null; applied_steps_count: unknown; started_text: string }[]
  >(
    `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back, logs,
            applied_steps_count, CAST(started_at AS TEXT) AS started_text
       FROM "_prisma_migrations" ORDER BY migration_name`,
  );
  return rows.map((r) => ({
    ...r,
    finished: r.finished === true || Number(r.finished) === 1,
    rolled_back: r.rolled_back === true || Number(r.rolled_back) === 1,
    applied_steps_count: Number(r.applied_steps_count),
  }));
}

function eventRows(hostId: string, seqs: readonly number[], base = Date.UTC(2026, 0, 2, 3, 4, 5, 678)): EventInsertRow[] {
  return seqs.map((s) => ({
    hostId,
    seq: BigInt(s),
    sessionId: s % 2 === 0 ? `session-${s % 3}` : null,
    type: "session.output",
    payloadJson: JSON.stringify({ s }),
    at: new Date(base + s),
  }));
}

async function createHost(db: Database, name = `host-${randomUUID()}`): Promise<string> {
  const id = randomUUID();
  await db.prisma.host.create({
    data: { id, name, signingPublicKey: "spki", encryptionPublicKey: "x25519", factsJson: JSON.stringify({ version: "0.1.0" }) },
  });
  return id;
}

describe.each(["sqlite", "postgresql"] as const)("database on %s", (provider) => {
  let tmp: string;
  let server: StartedPostgres | undefined;
  let db: Database;
  let dbUrl: string;
  const extra: Database[] = [];

  /** A fresh, empty database URL. */
  async function newUrl(): Promise<string> {
    if (provider === "sqlite") return `file:${path.join(tmp, "nested", "dir", `${randomUUID()}.db`)}`;
    const name = `t_${randomUUID().replace(/-/g, "")}`;
    const admin = new pg.Client({ connectionString: server!.url });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${name}"`);
    } finally {
      await admin.end();
    }
    const u = new URL(server!.url);
    u.pathname = `/${name}`;
    return u.toString();
  }

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "codepiper-db-test-"));
    if (provider === "postgresql") server = await startPostgres();
    dbUrl = await newUrl();
    db = await openDatabase({ url: dbUrl });
  });

  afterAll(async () => {
    for (const d of [db, ...extra]) await d?.close().catch(() => {});
    await server?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("applies the committed migrations, and applying them again is a no-op", async () => {
    const committed = (await committedMigrations(provider)).map((m) => m.name);
    expect(committed.length).toBeGreaterThan(0);
    expect(db.provider).toBe(provider);
    expect(db.migrations.applied).toEqual(committed);
    expect(db.migrations.alreadyApplied).toEqual([]);
    expect(await db.prisma.host.count()).toBe(0);

    const url = dbUrl;
    const logs: string[] = [];
    const again = await applyMigrations({ url, log: (m) => logs.push(m) });
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toEqual(committed);
    expect(logs.join("\n")).toContain("up to date");
    expect(logs.join("\n")).not.toContain("warning");
    expect((await migrationRows(db)).length).toBe(committed.length);

    // Opening again (a restart) is also a no-op.
    const reopened = await openDatabase({ url });
    extra.push(reopened);
    expect(reopened.migrations.applied).toEqual([]);
  });

  it("records _prisma_migrations rows exactly like Prisma (sha256 of migration.sql)", async () => {
    const committed = await committedMigrations(provider);
    const rows = await migrationRows(db);
    expect(rows.map((r) => ({ migration_name: r.migration_name, checksum: r.checksum }))).toEqual(
      committed.map((m) => ({ migration_name: m.name, checksum: m.checksum })),
    );
    for (const r of rows) {
      expect(r.finished).toBe(true);
      expect(r.rolled_back).toBe(false);
      expect(r.logs).toBeNull();
      expect(r.applied_steps_count).toBe(1);
      // SQLite: Prisma writes ISO 8601 with "+00:00"; PostgreSQL: TIMESTAMPTZ.
      if (provider === "sqlite") expect(r.started_text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    }
  });

  it("round-trips a Host and its Events through the Prisma client (BigInt ids and seqs)", async () => {
    const hostId = await createHost(db);
    const host = await db.prisma.host.findUniqueOrThrow({ where: { id: hostId } });
    expect(host.ackedSeq).toBe(0n);
    expect(host.online).toBe(false);
    expect(Math.abs(host.createdAt.getTime() - Date.now())).toBeLessThan(60_000);

    const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    const e1 = await db.prisma.event.create({ data: { hostId, seq: 1n, type: "a", payloadJson: "{}", at } });
    const e2 = await db.prisma.event.create({ data: { hostId, seq: 2n, sessionId: "s1", type: "b", payloadJson: '{"x":1}', at } });
    expect(typeof e1.id).toBe("bigint");
    expect(e2.id).toBeGreaterThan(e1.id); // autoincrement works (on SQLite too, see renderForMigrations)
    // Beyond 2^53: exact through the model API.
    const huge = 2n ** 62n + 7n;
    await db.prisma.event.create({ data: { hostId, seq: huge, type: "c", payloadJson: "{}", at } });

    const withEvents = await db.prisma.host.findUniqueOrThrow({ where: { id: hostId }, include: { events: { orderBy: { id: "asc" } } } });
    expect(withEvents.events.map((e) => e.seq)).toEqual([1n, 2n, huge]);
    expect(withEvents.events[0]!.at.toISOString()).toBe(at.toISOString());
    expect(withEvents.events[1]!.sessionId).toBe("s1");
    const byHuge = await db.prisma.event.findUniqueOrThrow({ where: { hostId_seq: { hostId, seq: huge } } });
    expect(byHuge.seq).toBe(huge);

    await db.prisma.host.update({ where: { id: hostId }, data: { ackedSeq: huge } });
    expect((await db.prisma.host.findUniqueOrThrow({ where: { id: hostId } })).ackedSeq).toBe(huge);

    // Deleting the host cascades to its events (foreign keys are enforced on both providers).
    await db.prisma.host.delete({ where: { id: hostId } });
    expect(await db.prisma.event.count({ where: { hostId } })).toBe(0);
  });

  it("insertEventsIgnoringDuplicates skips duplicates and returns the number inserted", async () => {
    const hostId = await createHost(db);
    expect(await insertEventsIgnoringDuplicates(db, [])).toBe(0);
    expect(await insertEventsIgnoringDuplicates(db, eventRows(hostId, [1, 2, 3]))).toBe(3);
    // Re-sent batch overlapping the stored rows, plus a duplicate inside the batch itself.
    expect(await insertEventsIgnoringDuplicates(db, eventRows(hostId, [2, 3, 4, 5, 5]))).toBe(2);
    expect(await insertEventsIgnoringDuplicates(db, eventRows(hostId, [1, 2, 3, 4, 5]))).toBe(0);

    const events = await db.prisma.event.findMany({ where: { hostId }, orderBy: { id: "asc" } });
    expect(events.map((e) => e.seq)).toEqual([1n, 2n, 3n, 4n, 5n]);
    for (const e of events) {
      expect(typeof e.id).toBe("bigint");
      const s = Number(e.seq);
      expect(e.at.toISOString()).toBe(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678) + s).toISOString());
      expect(e.payloadJson).toBe(JSON.stringify({ s }));
      expect(e.sessionId).toBe(s % 2 === 0 ? `session-${s % 3}` : null);
      expect(Math.abs(e.receivedAt.getTime() - Date.now())).toBeLessThan(60_000);
    }
    for (let i = 1; i < events.length; i++) expect(events[i]!.id).toBeGreaterThan(events[i - 1]!.id);

    // Raw rows are stored in exactly the format Prisma's adapter writes.
    const viaClient = await db.prisma.event.create({ data: { hostId, seq: 100n, type: "x", payloadJson: "{}", at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 679)) } });
    const texts = await db.prisma.$queryRawUnsafe<{ seq: unknown; at_text: string }[]>(
      provider === "sqlite"
        ? `SELECT seq, CAST("at" AS TEXT) AS at_text FROM "Event" WHERE "hostId" = ? AND seq IN (1, 100) ORDER BY seq`
        : `SELECT seq, to_char("at", 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS at_text FROM "Event" WHERE "hostId" = $1 AND seq IN (1, 100) ORDER BY seq`,
      hostId,
    );
    if (provider === "sqlite") {
      expect(texts.map((t) => t.at_text)).toEqual(["2026-01-02T03:04:05.679+00:00", "2026-01-02T03:04:05.679+00:00"]);
    } else {
      // TIMESTAMP(3) without time zone holding UTC, whatever the client's TZ.
      expect(texts.map((t) => t.at_text)).toEqual(["2026-01-02T03:04:05.679", "2026-01-02T03:04:05.679"]);
    }
    expect(viaClient.at.toISOString()).toBe("2026-01-02T03:04:05.679Z");
    expect(dateTimeForRawSql(provider, new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 679)))).toBe(
      provider === "sqlite" ? "2026-01-02T03:04:05.679+00:00" : "2026-01-02 03:04:05.679",
    );
  });

  it("insertEventsIgnoringDuplicates works inside an interactive transaction and rolls back with it", async () => {
    const hostId = await createHost(db);
    await expect(
      db.prisma.$transaction(async (tx) => {
        expect(await insertEventsIgnoringDuplicates(db, eventRows(hostId, [1, 2]), tx)).toBe(2);
        expect(await tx.event.count({ where: { hostId } })).toBe(2);
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    expect(await db.prisma.event.count({ where: { hostId } })).toBe(0);

    const inserted = await db.prisma.$transaction(async (tx) => {
      const n = await insertEventsIgnoringDuplicates(db, eventRows(hostId, [1, 2, 3]), tx);
      await tx.host.update({ where: { id: hostId }, data: { ackedSeq: 3n } });
      return n;
    });
    expect(inserted).toBe(3);
    expect((await db.prisma.host.findUniqueOrThrow({ where: { id: hostId } })).ackedSeq).toBe(3n);
    expect(await db.prisma.event.count({ where: { hostId } })).toBe(3);
  });

  it("a write outside a concurrent interactive transaction is not rolled back with it", async () => {
    const inTx = `in-tx-${randomUUID()}`;
    const outsideKey = `outside-${randomUUID()}`;
    let outside: Promise<string> | undefined;
    await expect(
      db.prisma.$transaction(async (tx) => {
        await tx.setting.create({ data: { key: inTx, value: "1" } });
        // Not awaited: on PostgreSQL it runs on another pooled connection; on SQLite (one connection) it
        // must wait for the transaction to end instead of silently joining it.
        outside = db.prisma.setting.create({ data: { key: outsideKey, value: "1" } }).then(() => "ok");
        for (let i = 0; i < 5; i++) await tx.setting.count(); // let the outside write reach the driver
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    expect(await outside).toBe("ok");
    expect(await db.prisma.setting.findUnique({ where: { key: inTx } })).toBeNull();
    expect(await db.prisma.setting.findUnique({ where: { key: outsideKey } })).not.toBeNull();
  });

  it("insertEventsIgnoringDuplicates chunks batches larger than the bind-parameter limit", async () => {
    const hostId = await createHost(db);
    // 7 parameters per row: 12 000 rows = 84 000 parameters, over both limits (SQLite 32 766, PostgreSQL 65 535).
    const seqs = Array.from({ length: 12_000 }, (_, i) => i + 1);
    expect(await insertEventsIgnoringDuplicates(db, eventRows(hostId, seqs))).toBe(12_000);
    expect(await insertEventsIgnoringDuplicates(db, eventRows(hostId, seqs))).toBe(0);
    expect(await insertEventsIgnoringDuplicates(db, eventRows(hostId, [...seqs, 12_001, 12_002]))).toBe(2);
    expect(await db.prisma.event.count({ where: { hostId } })).toBe(12_002);
  });

  it("rawExec takes ? placeholders on both providers", async () => {
    const key = `k-${randomUUID()}`;
    expect(await rawExec(db, `INSERT INTO "Setting" ("key", "value") VALUES (?, ?)`, [key, "it's ? fine"])).toBe(1);
    expect(await rawExec(db, `UPDATE "Setting" SET "value" = 'literal ? kept' || ? WHERE "key" = ? -- trailing ? comment`, ["!", key])).toBe(1);
    expect((await db.prisma.setting.findUniqueOrThrow({ where: { key } })).value).toBe("literal ? kept!");
    expect(toProviderPlaceholders("postgresql", `SELECT '?', "a?" FROM t WHERE x = ? /* ? */ AND y = ?`, 2)).toBe(
      `SELECT '?', "a?" FROM t WHERE x = $1 /* ? */ AND y = $2`,
    );
    expect(() => toProviderPlaceholders(provider, "SELECT ?", 2)).toThrow(/1 placeholder/);
  });

  if (provider === "postgresql") {
    it("two replicas migrating the same database at once apply each migration once (advisory lock)", async () => {
      const url = await newUrl();
      const committed = (await committedMigrations(provider)).map((m) => m.name);
      const results = await Promise.all([applyMigrations({ url }), applyMigrations({ url }), applyMigrations({ url })]);
      expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, committed.length]);
      for (const r of results) expect([...r.applied, ...r.alreadyApplied]).toEqual(committed);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "_prisma_migrations"`);
        expect(Number(rows[0]!.n)).toBe(committed.length);
      } finally {
        await client.end();
      }
    });
  }

  if (provider === "sqlite") {
    it("creates the parent directory and sets WAL, busy_timeout, synchronous=NORMAL, foreign_keys=ON", async () => {
      const file = await sqlitePathOf(db);
      expect(file.startsWith(path.join(tmp, "nested", "dir"))).toBe(true);
      expect(existsSync(file)).toBe(true);
      const pragma = async (name: string): Promise<unknown> => {
        const rows = await db.prisma.$queryRawUnsafe<Record<string, unknown>[]>(`PRAGMA ${name}`);
        return Object.values(rows[0] ?? {})[0];
      };
      expect(String(await pragma("journal_mode"))).toBe("wal");
      expect(Number(await pragma("busy_timeout"))).toBe(5000);
      expect(Number(await pragma("synchronous"))).toBe(1); // NORMAL
      expect(Number(await pragma("foreign_keys"))).toBe(1);
    });
  }
});

describe("openDatabase URL handling", () => {
  it("rejects other URL schemes with an error naming the scheme", async () => {
    await expect(openDatabase({ url: "mysql://root@localhost/db" })).rejects.toThrow(/"mysql:"/);
    await expect(openDatabase({ url: "sqlite:///tmp/x.db" })).rejects.toThrow(/"sqlite:"/);
    await expect(openDatabase({ url: "/tmp/x.db" })).rejects.toThrow(/Unsupported database URL scheme/);
  });
});

async function sqlitePathOf(db: Database): Promise<string> {
  const rows = await db.prisma.$queryRawUnsafe<{ name: string; file: string }[]>("PRAGMA database_list");
  const main = rows.find((r) => r.name === "main");
  if (!main) throw new Error("no main database");
  return main.file;
}
