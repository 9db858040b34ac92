// Loads @prisma/schema-engine-wasm (pinned in the root package.json to the exact version matching the
// `prisma` CLI) and binds it to a Prisma driver adapter. Used by ./shim.mjs.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";

// The wasm-bindgen glue reports Rust panics through this global; it must exist before the first call.
globalThis.PRISMA_WASM_PANIC_REGISTRY ??= {
  message: "",
  get() { return this.message; },
  set_message(m) { this.message = `RuntimeError: ${m}`; },
};

let SchemaEngineClass;

async function loadWasm() {
  if (SchemaEngineClass) return SchemaEngineClass;
  const bgUrl = import.meta.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
  const bg = await import(bgUrl);
  const bytes = await readFile(path.join(path.dirname(fileURLToPath(bgUrl)), "schema_engine_bg.wasm"));
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { "./schema_engine_bg.js": bg });
  bg.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  SchemaEngineClass = bg.SchemaEngine;
  return SchemaEngineClass;
}

/**
 * @param {{ adapterFactory: import("@prisma/driver-adapter-utils").SqlMigrationAwareDriverAdapterFactory,
 *           schemaFiles: { path: string, content: string }[], debug?: (line: string) => void }} opts
 */
export async function createSchemaEngine({ adapterFactory, schemaFiles, debug }) {
  const SchemaEngine = await loadWasm();
  const bound = bindMigrationAwareSqlAdapterFactory(adapterFactory);
  const datamodels = schemaFiles.length ? schemaFiles.map((f) => [f.path, f.content]) : undefined;
  const engine = await SchemaEngine.new({ datamodels }, (line) => debug?.(line), bound);
  engine.errorRegistry = bound.errorRegistry;
  return engine;
}
