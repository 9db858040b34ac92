// Prisma CLI config, shared by both providers. Run the CLI through scripts/prisma.mjs, which sets:
//   CODEPIPER_DB_PROVIDER  sqlite | postgresql  -> which rendered schema + migrations directory to use
//   DATABASE_URL / SHADOW_DATABASE_URL           -> the (throwaway) databases the command works on
//   PRISMA_SCHEMA_ENGINE_BINARY                  -> scripts/prisma-engine/shim.mjs (the WASM engine, offline)
// Paths are relative to this file.
import { defineConfig } from "prisma/config";

const provider = process.env.CODEPIPER_DB_PROVIDER;
if (provider !== "sqlite" && provider !== "postgresql") {
  throw new Error(`CODEPIPER_DB_PROVIDER must be "sqlite" or "postgresql" (got ${JSON.stringify(provider)}); run the CLI via scripts/prisma.mjs`);
}

export default defineConfig({
  schema: `${provider}/schema.prisma`,
  migrations: { path: `${provider}/migrations` },
  datasource: {
    ...(process.env.DATABASE_URL ? { url: process.env.DATABASE_URL } : {}),
    ...(process.env.SHADOW_DATABASE_URL ? { shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL } : {}),
  },
});
