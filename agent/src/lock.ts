import Database from "better-sqlite3";
import { AppError } from "@codepiper/core";

/**
 * One agent per state dir. The lock is an exclusive SQLite transaction held open for the life of
 * the process: the OS releases it when the process dies, however it dies, so a SIGKILLed agent
 * never leaves a stale lock behind (a pid file would).
 */
export function acquireStateLock(path: string): { release(): void } {
  const db = new Database(path);
  try {
    db.pragma("busy_timeout = 0");
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER, since TEXT)");
    db.exec("BEGIN EXCLUSIVE");
    db.prepare("DELETE FROM holder").run();
    db.prepare("INSERT INTO holder VALUES (?, ?)").run(process.pid, new Date().toISOString());
  } catch (err) {
    db.close();
    throw new AppError("CODEPIPER_AGENT_ALREADY_RUNNING", `another agent is already running with this state dir (${path})`, { cause: err });
  }
  return {
    release() {
      try {
        db.exec("COMMIT");
      } finally {
        db.close();
      }
    },
  };
}
