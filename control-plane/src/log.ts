import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Field names whose values never reach a log line, wherever they sit in the object. Secrets are
 * also kept off the objects we log in the first place; this is the second fence.
 */
const REDACT = [
  "password",
  "token",
  "secret",
  "authorization",
  "cookie",
  "*.password",
  "*.token",
  "*.secret",
  "*.authorization",
  "*.cookie",
  "headers.authorization",
  "req.headers.authorization",
  // Node's HTTP parser errors carry the raw request bytes (headers included).
  "rawPacket",
  "*.rawPacket",
];

export function createLogger(opts: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      name: opts.name ?? "control-plane",
      level: opts.level ?? process.env.CODEPIPER_LOG_LEVEL ?? "info",
      redact: { paths: REDACT, censor: "[redacted]" },
      base: { pid: process.pid },
    },
    (opts.destination as pino.DestinationStream | undefined) ?? pino.destination({ fd: 2, sync: false }),
  );
}
