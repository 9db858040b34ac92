import type { Bus } from "./bus/bus.js";
import type { ServerConfig } from "./config.js";
import type { Database, Db } from "./db/index.js";
import type { Presence } from "./hosts/presence.js";
import type { Logger } from "./log.js";
import type { RateLimiter } from "./auth/rate-limit.js";
import type { EphemeralHub } from "./link/ephemeral.js";
import type { TerminalHub } from "./terminal/hub.js";
import type { Keyring } from "./keyring.js";

/** Everything a procedure may reach, built once at start-up (see app.ts). */
export interface Services {
  readonly config: ServerConfig;
  readonly database: Database;
  readonly db: Db;
  readonly log: Logger;
  readonly bus: Bus;
  readonly presence: Presence;
  /** Best-effort request/answer traffic to linked hosts (keystrokes, terminal, pre-flight). */
  readonly ephemeral: EphemeralHub;
  readonly terminals: TerminalHub;
  /** Master keys for secrets at rest (env sets, TOTP secrets). */
  readonly keyring: Keyring;
  readonly loginLimiter: RateLimiter;
  /** Stable identity of this control plane; link JWTs must carry it as their audience. */
  readonly controlPlaneId: string;
  readonly audience: string;
}
