import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const created: string[] = [];
process.once("exit", () => {
  if (process.env.CODEPIPER_KEEP_TEST_DIRS) return;
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp dir, removed when the test process exits (keep with CODEPIPER_KEEP_TEST_DIRS=1). */
export function tempDir(prefix = "codepiper-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Every regular file under `dir` (sockets and the like skipped): for "is this secret anywhere on disk" checks. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path));
    else if (entry.isFile() && statSync(path).size < 256 * 1024 * 1024) out.push(path);
  }
  return out;
}
