import { initTRPC, TRPCError } from "@trpc/server";
import { appCodeOf, clientAppCodeOf, inputErrorMessage, toTRPCError } from "./errors.js";
import { roleAtLeast, type Identity, type Role } from "./identity.js";
import type { Services } from "./services.js";

export interface Context {
  readonly services: Services;
  readonly identity: Identity;
  /** Remote address of the caller, recorded in the audit log. */
  readonly source: string | null;
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    // Clients (the CLI, tests) branch on the stable domain code, not on message text.
    return { ...shape, message: inputErrorMessage(error) ?? shape.message, data: { ...shape.data, appCode: clientAppCodeOf(error), stack: undefined } };
  },
});

export const router = t.router;
export const middleware = t.middleware;

/**
 * Domain errors thrown anywhere below become their mapped tRPC error exactly once. A subscription's
 * generator runs after this middleware has returned, so its throws are normalised by wrapping the
 * iterable (as tRPC's own error middlewares do): an unknown session in sessions.watch was
 * INTERNAL_SERVER_ERROR (with appCode CODEPIPER_NOT_FOUND) where sessions.get says NOT_FOUND.
 */
const normaliseErrors = t.middleware(async function normaliseErrors(opts) {
  const normalise = (err: unknown): TRPCError => {
    const normalised = toTRPCError(err);
    if (normalised.code === "INTERNAL_SERVER_ERROR" && !appCodeOf(normalised)) {
      opts.ctx.services.log.error({ err: err instanceof TRPCError ? (err.cause ?? err) : err, path: opts.path }, "procedure failed");
    }
    return normalised;
  };
  const result = await opts.next();
  if (!result.ok) {
    (result as { error: TRPCError }).error = normalise(result.error);
  } else if (opts.type === "subscription" && isAsyncIterable(result.data)) {
    (result as { data: unknown }).data = normalisedIterable(result.data, normalise);
  }
  return result;
});

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}

/** `yield*` forwards `return()` (the client stopping), so cancellation reaches the source. */
async function* normalisedIterable<T>(source: AsyncIterable<T>, normalise: (err: unknown) => TRPCError): AsyncGenerator<T, void, undefined> {
  try {
    yield* source;
  } catch (err) {
    throw normalise(err);
  }
}

export const publicProcedure = t.procedure.use(normaliseErrors);

function requireRole(need: Role) {
  return t.middleware(async function isUserWithRole(opts) {
    const identity = opts.ctx.identity;
    if (identity.kind !== "user") {
      throw new TRPCError({ code: "UNAUTHORIZED", message: "log in first: this call needs a user (codepiper login)" });
    }
    if (!roleAtLeast(identity.role, need)) {
      throw new TRPCError({ code: "FORBIDDEN", message: `this call needs the ${need} role; you are ${identity.role}` });
    }
    return opts.next({ ctx: { ...opts.ctx, identity } });
  });
}

const isHost = t.middleware(async function isHost(opts) {
  const identity = opts.ctx.identity;
  if (identity.kind !== "host") throw new TRPCError({ code: "UNAUTHORIZED", message: "this call is for linked hosts only" });
  return opts.next({ ctx: { ...opts.ctx, identity } });
});

export const viewerProcedure = publicProcedure.use(requireRole("viewer"));
export const operatorProcedure = publicProcedure.use(requireRole("operator"));
export const adminProcedure = publicProcedure.use(requireRole("admin"));
export const hostProcedure = publicProcedure.use(isHost);
