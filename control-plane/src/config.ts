import { join, resolve } from "node:path";
import { z } from "zod";
import { AppError } from "@codepiper/core";

/** Listen address `host:port`; IPv6 hosts in brackets: `[::1]:7077`. */
export const listenSchema = z
  .string()
  .regex(/^(\[[0-9a-f:]+\]|[a-z0-9.-]+):\d{1,5}$/i, "expected host:port, e.g. 127.0.0.1:7077")
  .transform((value) => {
    const i = value.lastIndexOf(":");
    const host = value.slice(0, i).replace(/^\[|\]$/g, "");
    const port = Number(value.slice(i + 1));
    return { host, port };
  })
  .refine((l) => l.port >= 0 && l.port <= 65535, "port must be 0–65535");

export const serverConfigSchema = z.object({
  dataDir: z.string().min(1),
  listen: listenSchema,
  databaseUrl: z
    .string()
    .regex(/^(file:|postgres(ql)?:\/\/)/, "use file:/path/to.db or postgresql://user@host/db")
    .optional(),
  /** How long `hosts ping` and other waiting calls may block, at most. */
  maxWaitMs: z.number().int().positive().default(60_000),
  /** Keepalive ping interval on idle links. */
  keepAliveMs: z.number().int().positive().default(15_000),
  /** Heartbeat interval the control plane asks agents to use. */
  heartbeatMs: z.number().int().positive().default(30_000),
  /** Default TTL of durable commands not yet acknowledged. */
  commandTtlMs: z.number().int().positive().default(10 * 60_000),
  /** How long an `ask` waits for a human before the hook falls back to the provider's own prompt. */
  approvalTimeoutMs: z.number().int().min(1000).max(24 * 3_600_000).default(5 * 60_000),
  /** Where the built dashboard (web/out) is; the workspace's own by default. */
  webDir: z.string().min(1).optional(),
  /**
   * The bus between parts of the control plane: in-process (one node), or PostgreSQL LISTEN/NOTIFY
   * so that several replicas share one database (DESIGN.md §5). `auto`: postgres on PostgreSQL.
   */
  bus: z.enum(["auto", "memory", "postgres"]).default("auto"),
  /**
   * Replicas: how long a host stays `online` after the replica holding its link stops renewing it
   * (renewed every third of this). A crashed replica's hosts go offline after this long.
   */
  linkLeaseMs: z.number().int().min(1000).max(10 * 60_000).default(30_000),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});
export type ServerConfigInput = z.input<typeof serverConfigSchema>;
export type ServerConfig = z.output<typeof serverConfigSchema> & { databaseUrl: string };

/** Parse once at start-up; fail fast with a message that names the bad field. */
export function parseServerConfig(input: ServerConfigInput): ServerConfig {
  const parsed = serverConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AppError("CODEPIPER_BAD_INPUT", `invalid server config: ${issue.path.join(".") || "value"}: ${issue.message}`);
  }
  const dataDir = resolve(parsed.data.dataDir);
  if (parsed.data.bus === "postgres" && !/^postgres(ql)?:\/\//.test(parsed.data.databaseUrl ?? "")) {
    throw new AppError("CODEPIPER_BAD_INPUT", "invalid server config: bus: postgres needs a PostgreSQL database (--database-url postgresql://…)");
  }
  return { ...parsed.data, dataDir, databaseUrl: parsed.data.databaseUrl ?? `file:${join(dataDir, "control-plane.db")}` };
}
