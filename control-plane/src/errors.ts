import { TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";
import { ZodError } from "zod";
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
  CODEPIPER_TOTP_REQUIRED: "UNAUTHORIZED",
  CODEPIPER_LINK_TOKEN_MISSING: "UNAUTHORIZED",
  CODEPIPER_LINK_TOKEN_INVALID: "UNAUTHORIZED",
  CODEPIPER_LINK_TOKEN_EXPIRED: "UNAUTHORIZED",
  CODEPIPER_LINK_TOKEN_AUDIENCE: "UNAUTHORIZED",
  CODEPIPER_LINK_TOKEN_REPLAYED: "UNAUTHORIZED",
  CODEPIPER_HOST_UNKNOWN: "UNAUTHORIZED",
  CODEPIPER_HOST_REVOKED: "FORBIDDEN",
  CODEPIPER_PROTOCOL_TOO_OLD: "PRECONDITION_FAILED",
  CODEPIPER_AGENT_NOT_ENROLLED: "PRECONDITION_FAILED",
  CODEPIPER_HOST_OFFLINE: "PRECONDITION_FAILED",
  CODEPIPER_AMBIGUOUS: "BAD_REQUEST",
  CODEPIPER_PROVIDER_MISSING: "PRECONDITION_FAILED",
  CODEPIPER_SESSION_ENDED: "CONFLICT",
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
  if (err instanceof TRPCError) {
    // tRPC wraps anything thrown in a procedure as INTERNAL_SERVER_ERROR with the thrown value as
    // its cause: a domain error is mapped by its code; anything else stays internal, with a message
    // that leaks nothing (the wrapper would repeat the cause's message, e.g. a database error's).
    // Every other TRPCError (input validation → BAD_REQUEST, the auth middlewares…) says what it is.
    if (err.cause instanceof AppError) return toTRPCError(err.cause);
    if (err.code === "INTERNAL_SERVER_ERROR") return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "internal error", cause: err.cause ?? err });
    return err;
  }
  if (err instanceof AppError) return new TRPCError({ code: TRPC_CODE[err.code], message: err.message, cause: err });
  return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "internal error", cause: err });
}

/** The domain code clients see for a tRPC error that carries none of its own. */
const APP_CODE_OF_TRPC: Partial<Record<TRPC_ERROR_CODE_KEY, ErrorCode>> = {
  PARSE_ERROR: "CODEPIPER_BAD_INPUT",
  BAD_REQUEST: "CODEPIPER_BAD_INPUT",
  UNAUTHORIZED: "CODEPIPER_UNAUTHENTICATED",
  FORBIDDEN: "CODEPIPER_FORBIDDEN",
  NOT_FOUND: "CODEPIPER_NOT_FOUND",
  CONFLICT: "CODEPIPER_CONFLICT",
  TIMEOUT: "CODEPIPER_TIMEOUT",
  PAYLOAD_TOO_LARGE: "CODEPIPER_PAYLOAD_TOO_LARGE",
  TOO_MANY_REQUESTS: "CODEPIPER_RATE_LIMITED",
};

/**
 * What clients get in `error.data.appCode`: the domain code if there is one, else the one implied
 * by the tRPC code (input validation, role checks, body limits), so every client — the CLI, the
 * agent, scripts — can branch on a stable code instead of on the transport's vocabulary.
 */
export function clientAppCodeOf(err: TRPCError): ErrorCode | null {
  return appCodeOf(err) ?? APP_CODE_OF_TRPC[err.code] ?? null;
}

/** A readable message for an input that failed its schema (tRPC's default is the issues as JSON). */
export function inputErrorMessage(err: TRPCError): string | null {
  if (err.code !== "BAD_REQUEST" || !(err.cause instanceof ZodError)) return null;
  const issues = err.cause.issues.slice(0, 3).map((i) => `${i.path.map(String).join(".") || "input"}: ${i.message}`);
  const more = err.cause.issues.length > 3 ? ` (and ${err.cause.issues.length - 3} more)` : "";
  return `invalid input: ${issues.join("; ")}${more}`;
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
