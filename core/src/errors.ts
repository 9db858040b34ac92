/**
 * Stable error codes. The CLI prints them, tests assert them, and the link uses them as close
 * reasons and in the `x-codepiper-error` header of refused upgrades. Add codes; never rename them.
 */
export const ERROR_CODES = [
  "CODEPIPER_BAD_INPUT",
  "CODEPIPER_UNAUTHENTICATED",
  "CODEPIPER_FORBIDDEN",
  "CODEPIPER_NOT_FOUND",
  "CODEPIPER_CONFLICT",
  "CODEPIPER_TIMEOUT",
  "CODEPIPER_UNREACHABLE",
  "CODEPIPER_INTERNAL",
  "CODEPIPER_PAYLOAD_TOO_LARGE",
  "CODEPIPER_RATE_LIMITED",
  // enrollment
  "CODEPIPER_JOIN_TOKEN_INVALID",
  "CODEPIPER_JOIN_TOKEN_EXPIRED",
  "CODEPIPER_JOIN_TOKEN_USED",
  "CODEPIPER_HOST_NAME_TAKEN",
  "CODEPIPER_SETUP_DONE",
  // access (issue 5): the password was right, the account also needs a TOTP or recovery code
  "CODEPIPER_TOTP_REQUIRED",
  // link authentication (refused at the HTTP upgrade)
  "CODEPIPER_LINK_TOKEN_MISSING",
  "CODEPIPER_LINK_TOKEN_INVALID",
  "CODEPIPER_LINK_TOKEN_EXPIRED",
  "CODEPIPER_LINK_TOKEN_AUDIENCE",
  "CODEPIPER_LINK_TOKEN_REPLAYED",
  "CODEPIPER_HOST_UNKNOWN",
  "CODEPIPER_HOST_REVOKED",
  "CODEPIPER_PROTOCOL_TOO_OLD",
  // sessions (issue 3)
  "CODEPIPER_HOST_OFFLINE",
  "CODEPIPER_AMBIGUOUS",
  "CODEPIPER_PROVIDER_MISSING",
  "CODEPIPER_SESSION_ENDED",
  // agent-local
  "CODEPIPER_AGENT_NOT_ENROLLED",
  "CODEPIPER_AGENT_ALREADY_RUNNING",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

/**
 * Link errors after which an agent must stop instead of reconnecting: retrying cannot help and a
 * fleet of agents hammering the control plane in a loop would only hide the problem.
 */
export const PERMANENT_LINK_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "CODEPIPER_HOST_REVOKED",
  "CODEPIPER_HOST_UNKNOWN",
  "CODEPIPER_PROTOCOL_TOO_OLD",
  "CODEPIPER_LINK_TOKEN_AUDIENCE",
]);

/** The one domain error. `message` must be safe to show to the caller: never put secrets in it. */
export class AppError extends Error {
  override readonly name = "AppError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
