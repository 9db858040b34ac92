import type { Command } from "commander";
import { AppError } from "@codepiper/core";
import { call, createApi } from "../client.js";
import { configDir, dataDir, writeCredentials } from "../config.js";
import { globals, outputFor } from "../context.js";
import { parseUrl, readStdinSecret } from "../parse.js";
import { databaseUrlFor } from "./server.js";

export function registerAdmin(program: Command): void {
  const admin = program.command("admin").description("bootstrap administrators");

  admin
    .command("create")
    .description("create a user directly in the database (works whether or not the server is running)")
    .option("--data-dir <dir>", "control plane data dir (CODEPIPER_DATA_DIR)")
    .option("--database-url <url>", "PostgreSQL URL instead of the embedded SQLite (CODEPIPER_DATABASE_URL)")
    .requiredOption("--email <email>", "the user's email")
    .option("--password-stdin", "read the password from standard input (required)")
    .option("--role <role>", "admin | operator | viewer", "admin")
    .action(async (opts: { dataDir?: string; databaseUrl?: string; email: string; passwordStdin?: boolean; role: string }, cmd: Command) => {
      const out = outputFor(cmd);
      if (!opts.passwordStdin) throw new AppError("CODEPIPER_BAD_INPUT", "pass the password on standard input with --password-stdin");
      if (!["admin", "operator", "viewer"].includes(opts.role)) throw new AppError("CODEPIPER_BAD_INPUT", `--role ${opts.role}: expected admin, operator or viewer`);
      const password = await readStdinSecret("the password");
      const { createUser, openDatabase } = await import("@codepiper/control-plane"); // loaded on use (see server.ts)
      const database = await openDatabase({ url: databaseUrlFor(dataDir(opts.dataDir), opts.databaseUrl) });
      try {
        const user = await createUser(database.prisma, { email: opts.email, password, role: opts.role as "admin" });
        out.result({ id: user.id, email: user.email, role: user.role }, () => `Created ${user.role} ${user.email}.`);
      } finally {
        await database.close();
      }
    });

  admin
    .command("setup")
    .description("create the first admin with the one-time setup token printed by `codepiper server`, and log in")
    .argument("<url>", "control plane URL")
    .requiredOption("--token <setup-token>", "the setup token")
    .requiredOption("--email <email>", "the admin's email")
    .option("--password-stdin", "read the password from standard input (required)")
    .action(async (rawUrl: string, opts: { token: string; email: string; passwordStdin?: boolean }, cmd: Command) => {
      const out = outputFor(cmd);
      if (!opts.passwordStdin) throw new AppError("CODEPIPER_BAD_INPUT", "pass the password on standard input with --password-stdin");
      const url = parseUrl(rawUrl);
      const password = await readStdinSecret("the password");
      const result = await call(createApi({ url, token: null }), (api) => api.auth.setup.mutate({ token: opts.token, email: opts.email, password }));
      const path = writeCredentials(configDir(globals(cmd).configDir), { url, token: result.token, email: result.user.email, role: result.user.role });
      out.result({ url, email: result.user.email, role: result.user.role, credentials: path }, () => `Created admin ${result.user.email} and logged in (token in ${path}).`);
    });
}
