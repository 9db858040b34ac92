import { TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";
import { AppError, type ErrorCode } from "@codepiper/core";

/** One table from domain codes to tRPC codes (and so to HTTP statuses). */
const TRPC_CODE: Record<ErrorCode, TRPC_ERROR_CODE_KEY> = {
  CODEPIPER_BAD_INPUT: "BAD_REQUEST",
  CODEPIPER_UNAUTHENTICATED: "UNAUTHORIZED",
  CODEPIPER_FORBIDDEN: "FORBIDDEN",
  CODEPIPER_NOT_FOUND: "NOT_FOUND",
  CODEPIPER_CONFLICT: "CONFLICT",
  CODEPIPER_TIMEOUT: "TIMEOUT",
  CODEPIPER_UNREACHABLE: "INTERNAL_SERVER_ERROR",
  CODEPIPER_INTERNAL: "INTERNAL_SERVER_ERROR",
  CODEPIPER_PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  CODEPIPER_RATE_LIMITED: "TOO_MANY_REQUESTS",
  CODEPIPER_JOIN_TOKEN_INVALID: "UNAUTHORIZED",
  CODEPIPER_JOIN_TOKEN_EXPIRED: "UNAUTHORIZED",
  CODEPIPER_JOIN_TOKEN_USED: "UNAUTHORIZED",
  CODEPIPER_HOST_NAME_TAKEN: "CONFLICT",
  CODEPIPER_SETUP_DONE: "CONFLICT",
  CODEPIPER_LINK_TOKEN_MISSING: "UNAUTHORIZED",
  CODEPIPER_LINK_TOKEN_INVALID: "UNAUTHORIZED",
  CODEPIPER_LINK_TOKEN_EXPIRED: "UNAUTHORIZED",
  CODEPIPER_LINK_TOKEN_AUDIENCE: "UNAUTHORIZED",
  CODEPIPER_LINK_TOKEN_REPLAYED: "UNAUTHORIZED",
  CODEPIPER_HOST_UNKNOWN: "UNAUTHORIZED",
  CODEPIPER_HOST_REVOKED: "FORBIDDEN",
  CODEPIPER_PROTOCOL_TOO_OLD: "PRECONDITION_FAILED",
  CODEPIPER_AGENT_NOT_ENROLLED: "PRECONDITION_FAILED",
  CODEPIPER_AGENT_ALREADY_RUNNING: "CONFLICT",
};

/** HTTP status for refused upgrades and plain HTTP errors. */
export function httpStatusOf(code: ErrorCode): number {
  switch (TRPC_CODE[code]) {
    case "UNAUTHORIZED":
      return 401;
    case "FORBIDDEN":
      return 403;
    case "NOT_FOUND":
      return 404;
    case "BAD_REQUEST":
      return 400;
    case "CONFLICT":
      return 409;
    case "PRECONDITION_FAILED":
      return 412;
    case "PAYLOAD_TOO_LARGE":
      return 413;
    case "TOO_MANY_REQUESTS":
      return 429;
    default:
      return 500;
  }
}

/** Normalise anything thrown inside a procedure once, keeping `cause`. */
export function toTRPCError(err: unknown): TRPCError {
  if (err instanceof TRPCError) return err;
  if (err instanceof AppError) return new TRPCError({ code: TRPC_CODE[err.code], message: err.message, cause: err });
  return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "internal error", cause: err });
}

/** The domain code carried by an error, if any: surfaced to clients in `error.data.appCode`. */
export function appCodeOf(err: unknown): ErrorCode | null {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof AppError) return e.code;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}
