import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import type { AppRouter } from "@codepiper/control-plane";
import { AppError, hostNameSchema, isErrorCode, PATHS, type JoinOutput } from "@codepiper/core";
import { gatherFacts } from "./facts.js";
import { generateHostKeys, publicPem, saveHostKeys } from "./identity.js";
import { ensureStateDir, isEnrolled, statePaths, writeEnrollment, type Enrollment } from "./state.js";

/** Maps a tRPC client failure to a domain error with a code the CLI can print. */
export function toAppError(err: unknown, url: string): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof TRPCClientError) {
    const appCode = (err.data as { appCode?: unknown } | undefined)?.appCode;
    if (isErrorCode(appCode)) return new AppError(appCode, err.message);
    if (!err.data) return new AppError("CODEPIPER_UNREACHABLE", `cannot reach the control plane at ${url}: ${err.message}`, { cause: err });
    return new AppError("CODEPIPER_INTERNAL", err.message, { cause: err });
  }
  return new AppError("CODEPIPER_INTERNAL", err instanceof Error ? err.message : String(err), { cause: err });
}

/**
 * Enrolls this host (`codepiper agent join`): generates the host's key pairs, sends only the public
 * halves and the host facts with the one-time token, and writes the state dir once the control
 * plane has accepted it. Nothing is written on failure, so a failed join can simply be retried.
 */
export async function joinHost(opts: { url: string; token: string; name: string; stateDir: string }): Promise<Enrollment> {
  const name = hostNameSchema.safeParse(opts.name);
  if (!name.success) throw new AppError("CODEPIPER_BAD_INPUT", `--name ${JSON.stringify(opts.name)}: ${name.error.issues[0]?.message}`);
  const paths = statePaths(opts.stateDir);
  if (isEnrolled(paths)) {
    throw new AppError("CODEPIPER_CONFLICT", `${paths.dir} already holds an enrolled agent: use another --state-dir, or remove it to re-join`);
  }
  const keys = generateHostKeys();
  const trpc = createTRPCClient<AppRouter>({ links: [httpLink({ url: new URL(PATHS.trpc, opts.url).toString() })] });
  let joined: JoinOutput;
  try {
    joined = await trpc.hosts.join.mutate({
      token: opts.token,
      name: name.data,
      signingPublicKey: publicPem(keys.signing),
      encryptionPublicKey: publicPem(keys.encryption),
      facts: await gatherFacts(),
    });
  } catch (err) {
    throw toAppError(err, opts.url);
  }
  ensureStateDir(paths);
  saveHostKeys(paths, keys);
  const enrollment: Enrollment = {
    hostId: joined.hostId,
    name: joined.name,
    controlPlaneUrl: new URL(opts.url).origin,
    controlPlaneId: joined.controlPlaneId,
    audience: joined.audience,
    enrolledAt: new Date().toISOString(),
  };
  writeEnrollment(paths, enrollment);
  return enrollment;
}
