import type { AppError } from "@codepiper/core";

/** Where command output goes. `--json` makes every command print one JSON document (or NDJSON when following). */
export interface Output {
  readonly json: boolean;
  result(value: unknown, human: () => string): void;
  line(value: unknown, human: () => string): void;
  info(message: string): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    result(value, human) {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
    },
    line(value, human) {
      process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
    },
    info(message) {
      if (!json) process.stderr.write(`${message}\n`);
    },
  };
}

export function printError(err: AppError, json: boolean): void {
  if (json) process.stderr.write(`${JSON.stringify({ error: { code: err.code, message: err.message } })}\n`);
  else process.stderr.write(`codepiper: ${err.message} [${err.code}]\n`);
}

/** A fixed-width table for human output. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return "";
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}
