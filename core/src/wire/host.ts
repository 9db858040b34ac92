import { z } from "zod";
import { LIMITS } from "../limits.js";

export const PROVIDER_IDS = ["claude-code", "codex"] as const;
export const providerIdSchema = z.enum(PROVIDER_IDS);
export type ProviderId = z.infer<typeof providerIdSchema>;

/** DNS-label-like: what a person types in `--host`. */
export const hostNameSchema = z
  .string()
  .min(1)
  .max(LIMITS.hostNameMax)
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i, "use letters, digits and '-', not starting or ending with '-'");

export const providerFactSchema = z.object({
  id: providerIdSchema,
  version: z.string().max(200).nullable(),
  path: z.string().max(4096),
  /** How this provider reports to the agent on this host: hooks:http, hooks:command, notify, transcript. */
  channels: z.array(z.string().max(50)).max(20).default([]),
});
export type ProviderFact = z.infer<typeof providerFactSchema>;

/** What an agent reports about its host, at join and in every hello. */
export const hostFactsSchema = z.object({
  agentVersion: z.string().max(100),
  protocolVersion: z.number().int().positive(),
  os: z.object({
    platform: z.string().max(50),
    release: z.string().max(200),
    arch: z.string().max(50),
    hostname: z.string().max(255),
  }),
  tmuxVersion: z.string().max(100).nullable(),
  providers: z.array(providerFactSchema).max(16),
  capabilities: z.array(z.string().max(100)).max(100),
});
export type HostFacts = z.infer<typeof hostFactsSchema>;

/** Load reported in heartbeats. */
export const hostLoadSchema = z.object({
  loadAvg1: z.number().nonnegative(),
  memFreeBytes: z.number().nonnegative(),
  memTotalBytes: z.number().nonnegative(),
  agentRssBytes: z.number().nonnegative(),
  outboxPending: z.number().int().nonnegative(),
});
export type HostLoad = z.infer<typeof hostLoadSchema>;

export const HOST_STATUSES = ["online", "offline"] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];

/** A host as users see it (`codepiper hosts --json`). */
export const hostViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(HOST_STATUSES),
  online: z.boolean(),
  revoked: z.boolean(),
  version: z.string().nullable(),
  protocolVersion: z.number().nullable(),
  os: z.string().nullable(),
  arch: z.string().nullable(),
  tmuxVersion: z.string().nullable(),
  providers: z.array(providerFactSchema),
  createdAt: z.string(),
  lastSeenAt: z.string().nullable(),
  connectedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  ackedSeq: z.number(),
  /** Sessions on this host that have not ended (not stopped or crashed); filled by hosts.list / hosts.live. */
  sessions: z.number().int().nonnegative().optional(),
  /** The load of the last heartbeat on the current link; null while offline or before the first heartbeat (kept in memory only). */
  load: hostLoadSchema.nullable().optional(),
});
export type HostView = z.infer<typeof hostViewSchema>;
