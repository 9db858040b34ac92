// Driver-adapter factories for the WASM schema engine, with workarounds for adapter bugs observed with
// @prisma/adapter-better-sqlite3@7.10.0 / @prisma/adapter-pg@7.10.1 + @prisma/schema-engine-wasm@7.10.0-4.
// The adapters are dependencies of @codepiper/control-plane (not of the workspace root), so they are
// resolved from that package.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const controlPlaneRequire = createRequire(new URL("../../control-plane/package.json", import.meta.url));
const importFromControlPlane = (name) => import(pathToFileURL(controlPlaneRequire.resolve(name)).href);

export const isPostgresUrl = (url) => /^postgres(ql)?:\/\//.test(url);

function pgConfig(url) {
  const u = new URL(url);
  return {
    host: decodeURIComponent(u.hostname),
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password) || undefined,
    database: decodeURIComponent(u.pathname.slice(1)),
  };
}

async function postgresFactory(url, shadowDatabaseUrl) {
  const { PrismaPg } = await importFromControlPlane("@prisma/adapter-pg");
  const cfg = pgConfig(url);
  // Workaround (1): adapter-pg throws UnsupportedNativeDataType for PostgreSQL's internal "char" type
  // (OID 18), which the engine's catalog queries return -> report it as text (OID 25).
  const patch = (adapter) => {
    const performIO = adapter.performIO.bind(adapter);
    adapter.performIO = async (q) => {
      const r = await performIO(q);
      for (const f of r.fields ?? []) if (f.dataTypeID === 18) f.dataTypeID = 25;
      return r;
    };
    return adapter;
  };
  // Workaround (2): pass discrete fields, never a connectionString: adapter-pg builds the shadow pool as
  // `{ ...config, database }`, and a connectionString would silently override that `database`.
  const base = new PrismaPg(cfg);
  return {
    provider: base.provider,
    adapterName: base.adapterName,
    connect: async () => patch(await base.connect()),
    connectToShadowDb: async () => {
      if (shadowDatabaseUrl) return patch(await new PrismaPg(pgConfig(shadowDatabaseUrl)).connect());
      // Workaround (3): adapter-pg's own connectToShadowDb drops the temporary shadow database before
      // ending its pool -> "database ... is being accessed by other users". Create/drop it ourselves, in
      // the right order (end the pool first, then DROP ... WITH (FORCE)).
      const admin = await base.connect();
      const name = `prisma_migrate_shadow_db_${globalThis.crypto.randomUUID()}`;
      await admin.executeScript(`CREATE DATABASE "${name}"`);
      const shadow = await new PrismaPg({ ...cfg, database: name }).connect();
      const dispose = shadow.dispose.bind(shadow);
      shadow.dispose = async () => {
        await dispose();
        await shadow.underlyingDriver().end().catch(() => {});
        await admin.executeScript(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await admin.dispose();
      };
      return patch(shadow);
    },
  };
}

async function sqliteFactory(url, shadowDatabaseUrl) {
  const { PrismaBetterSqlite3 } = await importFromControlPlane("@prisma/adapter-better-sqlite3");
  const base = new PrismaBetterSqlite3({ url }, shadowDatabaseUrl ? { shadowDatabaseUrl } : undefined);
  // Workaround (4): the engine replays each migration.sql on the shadow database through executeRaw(),
  // and better-sqlite3's prepare() rejects multi-statement SQL -> fall back to executeScript() (exec).
  const patch = (adapter) => {
    const executeRaw = adapter.executeRaw.bind(adapter);
    adapter.executeRaw = async (q) => {
      try {
        return await executeRaw(q);
      } catch (e) {
        const msg = String(e?.message ?? "") + String(e?.cause?.message ?? "") + String(e?.cause?.originalMessage ?? "");
        if (q.args.length === 0 && msg.includes("more than one statement")) {
          await adapter.executeScript(q.sql);
          return 0;
        }
        throw e;
      }
    };
    return adapter;
  };
  return {
    provider: base.provider,
    adapterName: base.adapterName,
    connect: async () => patch(await base.connect()),
    connectToShadowDb: async () => patch(await base.connectToShadowDb()),
  };
}

/** A SqlMigrationAwareDriverAdapterFactory for `url` (file:… or postgres(ql)://…). */
export async function migrationAdapterFor(url, { shadowDatabaseUrl } = {}) {
  return isPostgresUrl(url) ? postgresFactory(url, shadowDatabaseUrl) : sqliteFactory(url, shadowDatabaseUrl);
}

/** Workaround (5) helper: the WASM engine's `reset` leaves user tables in place on SQLite (observed), so the
 * shim empties the file itself. */
export async function resetSqlite(url) {
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(url.replace(/^file:/, ""));
  try {
    db.pragma("foreign_keys = OFF");
    const objects = db
      .prepare("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND type IN ('view','table','trigger')")
      .all()
      .sort((a, b) => (a.type === "view" ? -1 : 1) - (b.type === "view" ? -1 : 1));
    for (const o of objects) db.exec(`DROP ${o.type.toUpperCase()} IF EXISTS "${o.name.replace(/"/g, '""')}"`);
    db.exec("VACUUM");
  } finally {
    db.close();
  }
}
