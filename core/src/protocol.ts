/** Link protocol version spoken by this build. Bump on incompatible wire changes. */
export const PROTOCOL_VERSION = 1;
/** The oldest agent protocol the control plane still accepts. */
export const MIN_PROTOCOL_VERSION = 1;

/** Paths served by the control plane. */
export const PATHS = {
  link: "/link",
  trpc: "/trpc",
  health: "/healthz",
  metrics: "/metrics",
} as const;

/** Response header carrying an ErrorCode on refused WebSocket upgrades and HTTP errors. */
export const ERROR_HEADER = "x-codepiper-error";

/** WebSocket close codes the control plane uses (4000–4999 is the application range). */
export const CLOSE_CODES = {
  revoked: 4403,
  replaced: 4409,
  shuttingDown: 4503,
} as const;

/** Audience of link JWTs: bound to one control plane's identity, not to its URL. */
export function linkAudience(controlPlaneId: string): string {
  return `codepiper:control-plane:${controlPlaneId}`;
}

/** A link JWT may live at most this long (DESIGN.md §2). */
export const LINK_TOKEN_MAX_TTL_SECONDS = 60;
