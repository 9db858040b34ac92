import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { AppError } from "@codepiper/core";
import { dataDir } from "../config.js";
import { parseDuration } from "../parse.js";
import { outputFor } from "../context.js";
import { onShutdown } from "../signals.js";

export function databaseUrlFor(dir: string, flag?: string): string {
  // CODEPIPER_DATABASE_URL_FILE keeps a password-bearing URL out of the environment (container secrets).
  const fromFile = process.env.CODEPIPER_DATABASE_URL_FILE ? readFileSync(process.env.CODEPIPER_DATABASE_URL_FILE, "utf8").trim() : undefined;
  const url = flag ?? process.env.CODEPIPER_DATABASE_URL ?? fromFile;
  if (url) {
    if (!/^(file:|postgres(ql)?:\/\/)/.test(url)) throw new AppError("CODEPIPER_BAD_INPUT", `the database URL must be postgresql://… or file:…, not ${url.split(":")[0]}:`);
    return url;
  }
  return `file:${join(dir, "control-plane.db")}`;
}

export function registerServer(program: Command): void {
  program
    .command("server")
    .description("run the control plane (embedded SQLite by default, PostgreSQL with --database-url)")
    .option("--data-dir <dir>", "where the control plane keeps its data (CODEPIPER_DATA_DIR)")
    .option("--listen <host:port>", "address to listen on (CODEPIPER_LISTEN)", process.env.CODEPIPER_LISTEN ?? "127.0.0.1:7077")
    .option("--database-url <url>", "postgresql://… for real fleets (CODEPIPER_DATABASE_URL)")
    .option("--approval-timeout <duration>", "how long an `ask` waits for a human before the provider's own prompt takes over, e.g. 5m (CODEPIPER_APPROVAL_TIMEOUT)", process.env.CODEPIPER_APPROVAL_TIMEOUT ?? "5m")
    .option("--web-dir <dir>", "the built dashboard to serve (CODEPIPER_WEB_DIR; default: the workspace's web/out)", process.env.CODEPIPER_WEB_DIR)
    .option("--bus <kind>", "auto|memory|postgres: how replicas on one PostgreSQL talk (LISTEN/NOTIFY); auto = postgres on PostgreSQL (CODEPIPER_BUS)", process.env.CODEPIPER_BUS ?? "auto")
    .option("--link-lease <duration>", "replicas: how long a host stays online after its replica stops renewing its link, e.g. 30s (CODEPIPER_LINK_LEASE)", process.env.CODEPIPER_LINK_LEASE ?? "30s")
    .option("--log-level <level>", "fatal|error|warn|info|debug|trace|silent", process.env.CODEPIPER_LOG_LEVEL ?? "info")
    .action(async (opts: { dataDir?: string; listen: string; databaseUrl?: string; logLevel: string; approvalTimeout: string; webDir?: string; bus: string; linkLease: string }, cmd: Command) => {
      const out = outputFor(cmd);
      const dir = dataDir(opts.dataDir);
      // Loaded on use: `agent run` and the remote commands must not pay for the control plane's modules
      // (the agent's idle RSS budget is 80 MB, DESIGN.md §7).
      const { startControlPlane } = await import("@codepiper/control-plane");
      const cp = await startControlPlane({
        dataDir: dir,
        listen: opts.listen,
        databaseUrl: databaseUrlFor(dir, opts.databaseUrl),
        logLevel: opts.logLevel as "info",
        approvalTimeoutMs: parseDuration(opts.approvalTimeout, "--approval-timeout"),
        bus: opts.bus as "auto",
        linkLeaseMs: parseDuration(opts.linkLease, "--link-lease"),
        ...(opts.webDir ? { webDir: opts.webDir } : {}),
      });
      onShutdown(() => cp.close());
      const setup = cp.setupToken;
      out.line(
        { url: cp.url, database: cp.services.database.provider, setupToken: setup?.token ?? null, setupTokenExpiresAt: setup?.expiresAt.toISOString() ?? null },
        () =>
          [
            `CodePiper control plane listening on ${cp.url} (${cp.services.database.provider}, data in ${dir})`,
            ...(setup
              ? [
                  "",
                  "No admin yet. Create the first one with this one-time setup token (valid 24 h),",
                  `in the dashboard: ${cp.url}/setup/ or with the CLI:`,
                  `  printf %s "$PASSWORD" | codepiper admin setup ${cp.url} --token ${setup.token} --email you@example.com --password-stdin`,
                  `or, on this machine: codepiper admin create --data-dir ${dir} --email you@example.com --password-stdin`,
                ]
              : []),
          ].join("\n"),
      );
      await new Promise<never>(() => undefined);
    });
}
