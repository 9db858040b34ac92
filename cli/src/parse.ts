import { z } from "zod";
import { AppError } from "@codepiper/core";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "30s", "15m", "2h", "7d" → milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (!match) throw new AppError("CODEPIPER_BAD_INPUT", `${flag} ${JSON.stringify(value)}: expected a duration like 30s, 15m, 2h or 7d`);
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}

/** Validates a control-plane URL: http(s), no credentials, no path surprises. */
export function parseUrl(value: string, what = "control plane URL"): string {
  const parsed = z.string().url().safeParse(value);
  if (!parsed.success) throw new AppError("CODEPIPER_BAD_INPUT", `${what} ${JSON.stringify(value)} is not a URL (expected e.g. http://127.0.0.1:7077)`);
  const url = new URL(parsed.data);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new AppError("CODEPIPER_BAD_INPUT", `${what} must start with http:// or https://, not ${url.protocol}`);
  if (url.username || url.password) throw new AppError("CODEPIPER_BAD_INPUT", `${what} must not contain credentials`);
  return url.origin;
}

export function parseIntArg(value: string, flag: string, min = 0): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new AppError("CODEPIPER_BAD_INPUT", `${flag} ${JSON.stringify(value)}: expected a whole number ≥ ${min}`);
  return n;
}

/** Reads a secret from stdin (for --password-stdin): all of it, minus one trailing newline, bounded. */
export async function readStdinSecret(what: string, max = 4096): Promise<string> {
  if (process.stdin.isTTY) throw new AppError("CODEPIPER_BAD_INPUT", `${what} is read from standard input: pipe it in (e.g. printf %s "$PASSWORD" | codepiper …)`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > max) throw new AppError("CODEPIPER_BAD_INPUT", `${what} on standard input is longer than ${max} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
  if (!text) throw new AppError("CODEPIPER_BAD_INPUT", `${what} on standard input is empty`);
  return text;
}
