// Throwaway PostgreSQL server for scripts/prisma.mjs (`migrate` needs a dev + shadow database, `check` a
// shadow database): initdb on a temp dir, started on a free loopback port (unix socket in the temp dir too),
// one database created. stop() kills it (`pg_ctl stop -m immediate`) and removes the dir.
// The tests use this same implementation (tests/src/support/postgres.ts re-exports it; types in postgres.d.mts).
//
// initdb refuses to run as root. When we are root, every PostgreSQL binary runs as an unprivileged user
// instead: $CODEPIPER_PG_USER, else `codepiper-pg` if it exists, else `nobody`; the temp dir is chowned to
// it (so os.tmpdir() must be traversable by that user, as /tmp is).
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { chown, mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/** Servers still running, stopped synchronously if the process exits without calling stop(). */
const running = new Map();
process.once("exit", () => {
  for (const stopNow of running.values()) stopNow();
});

function findBin(name) {
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

function lookupUser(name) {
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name && uid !== undefined && gid !== undefined) return { name, uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

function serverUser() {
  if (process.getuid?.() !== 0) return undefined;
  const wanted = process.env.CODEPIPER_PG_USER;
  const user = wanted ? lookupUser(wanted) : (lookupUser("codepiper-pg") ?? lookupUser("nobody"));
  if (!user) throw new Error(`running as root and the unprivileged user for PostgreSQL (${wanted ?? "codepiper-pg / nobody"}) does not exist`);
  return user;
}

function run(file, args, { user, cwd }) {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      // Node drops the supplementary groups when it switches uid/gid as root.
      { cwd, env: { ...process.env, LC_ALL: "C", PGTZ: "UTC" }, ...(user ? { uid: user.uid, gid: user.gid } : {}), maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${path.basename(file)} ${args.join(" ")} failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it succeeds or `deadline` passes (short exponential backoff between attempts). */
async function pollUntil(probe, deadline, what) {
  for (let attempt = 0; ; attempt++) {
    try {
      await probe();
      return;
    } catch (e) {
      if (Date.now() >= deadline) throw new Error(`${what} not ready before the deadline: ${e.message}`);
      await new Promise((r) => setTimeout(r, Math.min(10 * 2 ** attempt, 200)));
    }
  }
}

/** @returns {Promise<{ url: string, port: number, dir: string, stop(): Promise<void> }>} */
export async function startPostgres({ database = "codepiper", timeoutMs = 30_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  const user = serverUser();
  const [initdb, pgCtl, pgIsReady] = ["initdb", "pg_ctl", "pg_isready"].map(findBin);
  const dir = await mkdtemp(path.join(os.tmpdir(), "codepiper-pg-"));
  if (user) await chown(dir, user.uid, user.gid);
  const dataDir = path.join(dir, "data");
  const logFile = path.join(dir, "server.log");
  const opts = { user, cwd: dir };
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

  const stop = async () => {
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
        throw new Error(`${e.message}\n--- server.log ---\n${log}`);
      }
    }
    const { default: pg } = await import("pg");
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
