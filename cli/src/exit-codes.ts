import type { ErrorCode } from "@codepiper/core";

/**
 * Documented exit codes (README "Exit codes", `codepiper --help`). Scripts branch on these, so
 * they only ever grow.
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  unreachable: 5,
  conflict: 6,
  /** `agent run` stopped for good: host revoked or unknown, protocol too old, wrong audience. */
  linkPermanent: 10,
} as const;

export function exitCodeOf(code: ErrorCode): number {
  switch (code) {
    case "CODEPIPER_BAD_INPUT":
    case "CODEPIPER_PAYLOAD_TOO_LARGE":
    case "CODEPIPER_AMBIGUOUS":
      return EXIT.usage;
    case "CODEPIPER_UNAUTHENTICATED":
    case "CODEPIPER_FORBIDDEN":
    case "CODEPIPER_RATE_LIMITED":
    case "CODEPIPER_JOIN_TOKEN_INVALID":
    case "CODEPIPER_JOIN_TOKEN_EXPIRED":
    case "CODEPIPER_JOIN_TOKEN_USED":
    case "CODEPIPER_LINK_TOKEN_MISSING":
    case "CODEPIPER_LINK_TOKEN_INVALID":
    case "CODEPIPER_LINK_TOKEN_EXPIRED":
    case "CODEPIPER_LINK_TOKEN_REPLAYED":
    case "CODEPIPER_TOTP_REQUIRED":
      return EXIT.auth;
    case "CODEPIPER_NOT_FOUND":
    case "CODEPIPER_AGENT_NOT_ENROLLED":
    case "CODEPIPER_PROVIDER_MISSING":
      return EXIT.notFound;
    case "CODEPIPER_UNREACHABLE":
    case "CODEPIPER_TIMEOUT":
    case "CODEPIPER_HOST_OFFLINE":
      return EXIT.unreachable;
    case "CODEPIPER_CONFLICT":
    case "CODEPIPER_HOST_NAME_TAKEN":
    case "CODEPIPER_SETUP_DONE":
    case "CODEPIPER_AGENT_ALREADY_RUNNING":
    case "CODEPIPER_SESSION_ENDED":
      return EXIT.conflict;
    case "CODEPIPER_HOST_REVOKED":
    case "CODEPIPER_HOST_UNKNOWN":
    case "CODEPIPER_PROTOCOL_TOO_OLD":
    case "CODEPIPER_LINK_TOKEN_AUDIENCE":
      return EXIT.linkPermanent;
    case "CODEPIPER_INTERNAL":
      return EXIT.failure;
  }
}

export const EXIT_CODES_HELP = `
Exit codes:
  0   success
  1   unexpected failure
  2   bad usage or invalid input (incl. an ambiguous id prefix, text over 1 MiB, rules over 256 KiB)
  3   not logged in, forbidden, a bad/expired/used token, or a TOTP code needed (--totp)
  4   not found (host, session, command, enrollment, directory or provider CLI on the host,
      policy, policy set, approval, --rules @file)
  5   control plane unreachable, host offline, or timed out
  6   conflict (name taken, already set up, agent already running, session already ended,
      approval already decided)
  10  agent stopped for good (host revoked or unknown, protocol too old)
  start --validate prints every check and exits with the code of the first failed one.

Environment: CODEPIPER_URL, CODEPIPER_TOKEN, CODEPIPER_CONFIG_DIR, CODEPIPER_DATA_DIR,
CODEPIPER_STATE_DIR, CODEPIPER_DATABASE_URL, CODEPIPER_LISTEN, CODEPIPER_LOG_LEVEL.`;
