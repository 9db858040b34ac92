import { z } from "zod";
import { hostFactsSchema, hostLoadSchema } from "./host.js";

/** Claims of the per-connection link JWT (EdDSA, signed by the host's own key). */
export const linkClaimsSchema = z.object({
  sub: z.string().uuid(),
  aud: z.string(),
  iat: z.number().int(),
  exp: z.number().int(),
  jti: z.string().min(16).max(128),
});
export type LinkClaims = z.infer<typeof linkClaimsSchema>;

export const helloInputSchema = z.object({ facts: hostFactsSchema });
export const helloOutputSchema = z.object({
  hostId: z.string(),
  name: z.string(),
  ackedSeq: z.number().int().nonnegative(),
  serverTime: z.string(),
  heartbeatMs: z.number().int().positive(),
});
export type HelloOutput = z.infer<typeof helloOutputSchema>;

export const heartbeatInputSchema = z.object({ load: hostLoadSchema });

/** Enrollment: what `codepiper agent join` sends with the one-time token. */
export const joinInputSchema = z.object({
  // Only bounded here: whether it is a join token at all (and which error to give) is decided by
  // the control plane, so a short or mangled token gets CODEPIPER_JOIN_TOKEN_INVALID, not a schema error.
  token: z.string().min(1).max(200),
  name: z.string(),
  signingPublicKey: z.string().max(2000),
  encryptionPublicKey: z.string().max(2000),
  facts: hostFactsSchema,
});
export const joinOutputSchema = z.object({
  hostId: z.string(),
  name: z.string(),
  controlPlaneId: z.string(),
  audience: z.string(),
});
export type JoinOutput = z.infer<typeof joinOutputSchema>;
