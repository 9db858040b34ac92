import { mkdtempSync, rmSync } from "node:fs";
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
