#!/usr/bin/env node
// Runs vitest with its normal report, then prints one plain closing line
// ("tests: N passed, N failed, N skipped") that CI and people can read at a glance.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const out = join("test-artifacts", "vitest.json");
mkdirSync("test-artifacts", { recursive: true });
const res = spawnSync("vitest", ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${out}`, ...process.argv.slice(2)], {
  stdio: "inherit",
  shell: false,
});
let summary = null;
try {
  const report = JSON.parse(readFileSync(out, "utf8"));
  summary = { passed: report.numPassedTests, failed: report.numFailedTests, skipped: report.numPendingTests + report.numTodoTests, total: report.numTotalTests };
} catch {
  summary = null;
}
if (summary) {
  process.stdout.write(`\ntests: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped\n`);
  if (summary.total === 0) {
    process.stderr.write("no test ran\n");
    process.exit(1);
  }
}
process.exit(res.status ?? 1);
