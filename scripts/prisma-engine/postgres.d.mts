export interface StartedPostgres {
  /** `postgresql://postgres@127.0.0.1:<port>/<database>` (trust auth on loopback). */
  url: string;
  port: number;
  /** The server's directory (data, log, unix socket). */
  dir: string;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Name of the database to create (default `codepiper`). */
  database?: string;
  /** Deadline for initdb + start + readiness (default 30 s). */
  timeoutMs?: number;
}

export function startPostgres(options?: StartPostgresOptions): Promise<StartedPostgres>;
