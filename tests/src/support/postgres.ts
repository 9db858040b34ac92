// A throwaway PostgreSQL server for tests: initdb on a temp dir, started on a free loopback port (its unix
// socket in the temp dir too), with one database created. stop() kills it (`pg_ctl stop -m immediate`)
// and removes the dir. scripts/prisma-engine/postgres.mjs is the plain-JS twin used by scripts/prisma.mjs.
//
// initdb refuses to run as root. When the tests run as root, every PostgreSQL binary runs as an
// unprivileged user instead: $CODEPIPER_PG_USER, else `codepiper-pg` if it exists, else `nobody`; the temp
// dir is chowned to it (so os.tmpdir() must be traversable by that user, as /tmp is).
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { chown, mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";

export interface StartedPostgres {
  /** `postgresql://postgres@127.0.0.1:<port>/<database>` (trust auth on loopback). */
  url: string;
  port: number;
  /** The server's directory (data, log, unix socket). */
  dir: string;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Name of the database to create (default `codepiper`). */
  database?: string;
  /** Deadline for initdb + start + readiness (default 30 s). */
  timeoutMs?: number;
}

interface ServerUser {
  name: string;
  uid: number;
  gid: number;
}

/** Servers still running, stopped synchronously if the process exits without calling stop() (e.g. a
 * test failed before its cleanup). After a SIGKILL, stop a leftover with `pg_ctl -D <dir>/data stop`. */
const running = new Map<string, () => void>();
process.once("exit", () => {
  for (const stopNow of running.values()) stopNow();
});

function findBin(name: string): string {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  // Debian/Ubuntu keep the server binaries (initdb, pg_ctl, postgres) off the PATH.
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    for (const version of readdirSync(base).sort((a, b) => Number(b) - Number(a))) {
      const candidate = path.join(base, version, "bin", name);
      if (existsSync(candidate)) return candidate;
    }
  }
  throw new Error(`PostgreSQL binary "${name}" not found on PATH or under /usr/lib/postgresql/*/bin`);
}

function lookupUser(name: string): ServerUser | undefined {
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name && uid !== undefined && gid !== undefined) return { name, uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

function serverUser(): ServerUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const wanted = process.env.CODEPIPER_PG_USER;
  const user = wanted ? lookupUser(wanted) : (lookupUser("codepiper-pg") ?? lookupUser("nobody"));
  if (!user) throw new Error(`running as root and the unprivileged user for PostgreSQL (${wanted ?? "codepiper-pg / nobody"}) does not exist`);
  return user;
}

interface RunOptions {
  user: ServerUser | undefined;
  cwd: string;
}

function run(file: string, args: string[], opts: RunOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: opts.cwd,
        env: { ...process.env, LC_ALL: "C", PGTZ: "UTC" },
        // Node drops the supplementary groups when it switches uid/gid as root.
        ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
        maxBuffer: 16 << 20,
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${path.basename(file)} ${args.join(" ")} failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("could not get a free port"))));
    });
  });
}

/** Polls `probe` until it succeeds or `deadline` passes (short exponential backoff between attempts). */
async function pollUntil(probe: () => Promise<unknown>, deadline: number, what: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await probe();
      return;
    } catch (e) {
      if (Date.now() >= deadline) throw new Error(`${what} not ready before the deadline: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, Math.min(10 * 2 ** attempt, 200)));
    }
  }
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<StartedPostgres> {
  const database = options.database ?? "codepiper";
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const user = serverUser();
  const initdb = findBin("initdb");
  const pgCtl = findBin("pg_ctl");
  const pgIsReady = findBin("pg_isready");
  const dir = await mkdtemp(path.join(os.tmpdir(), "codepiper-pg-"));
  if (user) await chown(dir, user.uid, user.gid);
  const dataDir = path.join(dir, "data");
  const logFile = path.join(dir, "server.log");
  const opts: RunOptions = { user, cwd: dir };
  let started = false;
  const pgCtlStop = ["-D", dataDir, "-m", "immediate", "-w", "stop"];
  running.set(dir, () => {
    try {
      if (started) execFileSync(pgCtl, pgCtlStop, { cwd: dir, stdio: "ignore", ...(user ? { uid: user.uid, gid: user.gid } : {}) });
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const stop = async (): Promise<void> => {
    if (started) {
      started = false;
      await run(pgCtl, pgCtlStop, opts).catch(() => {});
    }
    running.delete(dir);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await run(initdb, ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"], opts);
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      // Durability is irrelevant for a throwaway server: fsync=off etc. make it start and run faster.
      const serverOptions = `-h 127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c timezone=UTC`;
      try {
        // pg_ctl -w polls the postmaster's state with a deadline (-t) and fails fast if it exits (e.g. the
        // port was taken meanwhile); pg_isready then confirms that TCP connections are accepted.
        const seconds = String(Math.max(1, Math.ceil((deadline - Date.now()) / 1000)));
        await run(pgCtl, ["-D", dataDir, "-l", logFile, "-o", serverOptions, "-w", "-t", seconds, "start"], opts);
        started = true;
        await pollUntil(() => run(pgIsReady, ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-t", "2"], opts), deadline, "PostgreSQL");
        break;
      } catch (e) {
        const log = await readFile(logFile, "utf8").catch(() => "");
        if (started) {
          started = false;
          await run(pgCtl, pgCtlStop, opts).catch(() => {});
        }
        if (attempt < 5 && /could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(log)) continue;
        throw new Error(`${(e as Error).message}\n--- server.log ---\n${log}`);
      }
    }
    const admin = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
    } finally {
      await admin.end();
    }
    return { url: `postgresql://postgres@127.0.0.1:${port}/${encodeURIComponent(database)}`, port, dir, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
