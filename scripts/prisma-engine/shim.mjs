#!/usr/bin/env node
// Stand-in for Prisma's native `schema-engine` binary, which the CLI otherwise downloads from
// binaries.prisma.sh at every command (impossible offline). scripts/prisma.mjs points
// PRISMA_SCHEMA_ENGINE_BINARY at this file. It speaks the binary's JSON-RPC-over-stdio protocol and
// delegates to @prisma/schema-engine-wasm with a driver adapter built from the --datasource URL.
//
// Never replace this with a dummy binary: with one, `prisma generate` works but `migrate` and `db push`
// silently do nothing and exit 0 (observed with prisma 7.10.1).
//
// Set PRISMA_SHIM_LOG=/some/file to trace the requests.
import { appendFileSync, readFileSync } from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { createSchemaEngine } from "./schema-engine.mjs";
import { migrationAdapterFor, resetSqlite } from "./adapters.mjs";

const argv = process.argv.slice(2);
const trace = (m) => { if (process.env.PRISMA_SHIM_LOG) appendFileSync(process.env.PRISMA_SHIM_LOG, m + "\n"); };
trace(`argv ${JSON.stringify(argv)} cwd ${process.cwd()}`);
// Log lines in the native engine's format (the CLI parses them from stderr).
const log = (level, message, extra = {}) =>
  process.stderr.write(JSON.stringify({ timestamp: new Date().toISOString(), level, fields: { message, ...extra }, target: "schema_engine::logger" }) + "\n");

if (argv.includes("--version")) {
  process.stdout.write("schema-engine-cli wasm-shim\n");
  process.exit(0);
}
const options = (name) => argv.flatMap((a, i) => (a === name && argv[i + 1] !== undefined ? [argv[i + 1]] : []));
const datasourceArg = options("--datasource")[0];
const datasource = datasourceArg ? JSON.parse(datasourceArg) : {};
const schemaFiles = options("--datamodels").map((p) => ({ path: p, content: readFileSync(p, "utf8") }));

let url = datasource.url;
if (!url) {
  log("ERROR", "no datasource url (set one in the prisma config)");
  process.exit(1);
}
// The native engine resolves relative SQLite paths against the schema/config directory; the adapter
// would resolve them against its cwd, which the CLI sets to the same place.
if (url.startsWith("file:") && !path.isAbsolute(url.slice(5))) url = "file:" + path.resolve(process.cwd(), url.slice(5));

if (argv.includes("cli")) {
  // `schema-engine cli can-connect-to-database | create-database | drop-database`: for SQLite, connecting
  // creates the file; for PostgreSQL the database must already exist (scripts/prisma.mjs creates it).
  try {
    const factory = await migrationAdapterFor(url);
    const adapter = await factory.connect();
    await adapter.dispose?.();
    process.exit(0);
  } catch (e) {
    log("ERROR", String(e?.message ?? e), { error_code: "P1001" });
    process.exit(1);
  }
}

const engine = await createSchemaEngine({
  adapterFactory: await migrationAdapterFor(url, { shadowDatabaseUrl: datasource.shadowDatabaseUrl }),
  schemaFiles,
  debug: (line) => trace(`engine ${line}`),
});

const methodMap = { getDatabaseVersion: "version" };
const send = (o) => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", ...o }) + "\n");

async function handle(req) {
  if (req.method === "createDatabase") return { databaseName: "" };
  if (req.method === "reset" && url.startsWith("file:")) {
    // Workaround (5): the WASM engine's `reset` leaves user tables in place on SQLite (observed).
    await resetSqlite(url);
    return {};
  }
  const m = methodMap[req.method] ?? req.method;
  if (typeof engine[m] !== "function") throw new Error(`Method ${req.method} is not supported by the wasm shim`);
  let result;
  try {
    result = await (m === "version" ? engine.version(undefined) : engine[m](req.params ?? {}));
  } catch (e) {
    // Workaround (6): on a database without `_prisma_migrations`, devDiagnostic/diagnoseMigrationHistory
    // fail with P1014 instead of treating the history as empty. Create the (empty) history table by
    // applying an empty migration list, then retry.
    if (e?.code === "P1014" && (m === "devDiagnostic" || m === "diagnoseMigrationHistory") && req.params?.migrationsList) {
      await engine.applyMigrations({ migrationsList: { ...req.params.migrationsList, migrationDirectories: [] }, filters: req.params.filters });
      result = await engine[m](req.params);
    } else throw e;
  }
  if (m === "diff" && result?.stdout != null) {
    // The native engine prints the diff through a `print` request to the CLI; the WASM engine returns it.
    send({ id: `print-${req.id}`, method: "print", params: { content: result.stdout } });
    result = { ...result, stdout: null };
  }
  return result ?? {};
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
let queue = Promise.resolve();
rl.on("line", (line) => {
  if (!line.trim()) return;
  const req = JSON.parse(line);
  if (req.method === undefined) return; // the CLI's answer to a `print` request
  queue = queue.then(async () => {
    trace(`req ${req.method} ${JSON.stringify(req.params).slice(0, 400)}`);
    try {
      const result = await handle(req);
      trace(`res ${JSON.stringify(result).slice(0, 400)}`);
      send({ id: req.id, result });
    } catch (e) {
      trace(`err ${e?.code ?? ""} ${e?.message}`);
      send({
        id: req.id,
        error: {
          code: 4466,
          message: "An error happened. Check the data field for details.",
          data: { is_panic: false, message: String(e?.message ?? e), error_code: e?.code ?? undefined, meta: e?.meta ?? undefined },
        },
      });
    }
  });
});
rl.on("close", () => {
  queue.then(() => {
    try { engine.free(); } catch { /* already freed */ }
    process.exit(0);
  });
});
