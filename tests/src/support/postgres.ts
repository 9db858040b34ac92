// A throwaway PostgreSQL server for tests: initdb on a temp dir, started on a free loopback port,
// one database created; stop() kills it and removes the dir. One implementation serves both the
// tests and scripts/prisma.mjs (which must stay plain JS), so it lives in scripts/prisma-engine/.
// As root, the PostgreSQL binaries run as $CODEPIPER_PG_USER, else `codepiper-pg`, else `nobody`.
export { startPostgres, type StartedPostgres, type StartPostgresOptions } from "../../../scripts/prisma-engine/postgres.mjs";
