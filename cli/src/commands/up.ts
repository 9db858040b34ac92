import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { AppError } from "@codepiper/core";
import { isEnrolled, joinHost, statePaths } from "@codepiper/agent";
import { call, createApi } from "../client.js";
import { configDir, dataDir, readCredentials, writeCredentials } from "../config.js";
import { globals, outputFor } from "../context.js";
import { onShutdown } from "../signals.js";
import { databaseUrlFor } from "./server.js";

const ADMIN_EMAIL = "admin@fleet.local";

function localHostName(): string {
  const name = hostname().toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63);
  return name || "local";
}

/** Spawns `codepiper <args>` as a child process (same Node, same CLI entry). */
function spawnSelf(args: string[]): ChildProcess {
  // Children log warnings and errors only, so the summary below stays readable (override with CODEPIPER_LOG_LEVEL).
  const env = { ...process.env, CODEPIPER_LOG_LEVEL: process.env.CODEPIPER_LOG_LEVEL ?? "warn" };
  return spawn(process.execPath, [process.argv[1]!, ...args], { stdio: ["ignore", "pipe", "inherit"], env });
}

function firstJsonLine(child: ChildProcess, what: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once("line", (line) => {
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        reject(new AppError("CODEPIPER_INTERNAL", `${what} printed something unexpected: ${line.slice(0, 200)}`));
      }
    });
    child.once("exit", (code) => reject(new AppError("CODEPIPER_INTERNAL", `${what} exited with code ${code} before it was ready (see its messages above)`)));
  });
}

/**
 * `codepiper up`: a whole local fleet in one command — the control plane on 127.0.0.1 with
 * embedded SQLite, an admin, a logged-in CLI, and an agent for this machine, enrolled and linked.
 * Both run as child processes, as they would in production; Ctrl-C stops them.
 */
export function registerUp(program: Command): void {
  program
    .command("up")
    .description("run a whole local fleet: control plane + embedded SQLite + a local agent, enrolled and linked")
    .option("--data-dir <dir>", "where the fleet keeps its data (CODEPIPER_DATA_DIR)")
    .option("--listen <host:port>", "control plane address (CODEPIPER_LISTEN)", process.env.CODEPIPER_LISTEN ?? "127.0.0.1:7077")
    .option("--name <name>", "name of the local host", localHostName())
    .action(async (opts: { dataDir?: string; listen: string; name: string }, cmd: Command) => {
      const out = outputFor(cmd);
      const dir = dataDir(opts.dataDir);
      const cfgDir = configDir(globals(cmd).configDir);
      const agentDir = join(dir, "agent");

      // 1. An admin, created directly in the database on first run.
      let password: string | null = null;
      const { createUser, openDatabase } = await import("@codepiper/control-plane"); // loaded on use (see server.ts)
      const database = await openDatabase({ url: databaseUrlFor(dir) });
      try {
        if ((await database.prisma.user.count()) === 0) {
          password = randomBytes(12).toString("base64url");
          await createUser(database.prisma, { email: ADMIN_EMAIL, password, role: "admin" });
        }
      } finally {
        await database.close();
      }

      // 2. The control plane.
      const children: ChildProcess[] = [];
      let stopping = false;
      const stopAll = async () => {
        stopping = true;
        for (const child of [...children].reverse()) {
          if (child.exitCode !== null) continue;
          child.kill("SIGTERM");
          await new Promise((r) => child.once("exit", r));
        }
      };
      onShutdown(stopAll);
      const server = spawnSelf(["server", "--data-dir", dir, "--listen", opts.listen, "--json"]);
      children.push(server);
      const ready = await firstJsonLine(server, "the control plane");
      const url = String(ready.url);

      // 3. A logged-in CLI.
      let creds = readCredentials(cfgDir);
      if (password) {
        const login = await call(createApi({ url, token: null }), (api) => api.auth.login.mutate({ email: ADMIN_EMAIL, password: password!, tokenName: "codepiper up" }));
        writeCredentials(cfgDir, { url, token: login.token, email: ADMIN_EMAIL, role: "admin" });
        creds = readCredentials(cfgDir);
      }
      const api = createApi({ url, token: creds && new URL(creds.url).origin === url ? creds.token : null });

      // 4. The local agent: enrolled once, then run.
      if (!isEnrolled(statePaths(agentDir))) {
        const token = await call(api, (a) => a.hosts.createJoinToken.mutate({ ttlMs: 60_000 })).catch((err: unknown) => {
          throw new AppError(
            "CODEPIPER_UNAUTHENTICATED",
            `cannot enroll the local agent: the CLI in ${cfgDir} is not logged in to ${url} as an admin (${(err as Error).message}); run codepiper login ${url} --email ${ADMIN_EMAIL} --password-stdin`,
          );
        });
        await joinHost({ url, token: token.token, name: opts.name, stateDir: agentDir });
      }
      const agent = spawnSelf(["agent", "run", "--state-dir", agentDir, "--url", url]);
      children.push(agent);
      for (const child of children) {
        child.once("exit", (code) => {
          if (stopping) return;
          process.stderr.write(`codepiper up: ${child === server ? "control plane" : "agent"} exited with code ${code}; stopping the fleet\n`);
          process.exitCode = 1;
          void stopAll().then(() => process.exit(1));
        });
      }

      // 5. Wait until the local host is online, then say how to use the fleet.
      const deadline = Date.now() + 30_000;
      let online = false;
      while (!online && Date.now() < deadline) {
        const hosts = await call(api, (a) => a.hosts.list.query()).catch(() => []);
        online = hosts.some((h) => h.name === opts.name && h.status === "online");
        if (!online) await new Promise((r) => setTimeout(r, 200));
      }
      out.line({ url, dataDir: dir, admin: ADMIN_EMAIL, password, host: opts.name, hostOnline: online, configDir: cfgDir }, () =>
        [
          "",
          "CodePiper Fleet is up.",
          `  Dashboard      ${url}/   (log in with the admin login below)`,
          `  Control plane  ${url}   (data: ${dir})`,
          password
            ? `  Admin login    ${ADMIN_EMAIL} / ${password}   (shown only now; the CLI is already logged in)`
            : `  Admin login    ${ADMIN_EMAIL} (password shown on first run; the CLI stays logged in)`,
          `  Local host     ${opts.name} ${online ? "online" : "not online yet (see agent messages above)"}`,
          "",
          "Try: npx codepiper hosts    npx codepiper hosts ping " + opts.name + "    npx codepiper events --follow",
          "Stop with Ctrl-C.",
        ].join("\n"),
      );
      await new Promise<never>(() => undefined);
    });
}
