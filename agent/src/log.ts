import { pino, type Logger } from "pino";

export type { Logger };

export function createAgentLogger(opts: { level?: string } = {}): Logger {
  return pino(
    {
      name: "agent",
      level: opts.level ?? process.env.CODEPIPER_LOG_LEVEL ?? "info",
      redact: { paths: ["token", "*.token", "authorization", "*.authorization", "privateKey", "*.privateKey"], censor: "[redacted]" },
      base: { pid: process.pid },
    },
    // Synchronous: agent logs are few, and the last line before an exit (e.g. "revoked") must not be lost.
    pino.destination({ fd: 2, sync: true }),
  );
}
