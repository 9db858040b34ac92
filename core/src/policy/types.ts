import { z } from "zod";

/**
 * Permission policies (DESIGN.md §4, issue 4): the shapes both ends validate. The engine that
 * evaluates them (engine.ts) is pure code; the control plane stores policies, the agent caches a
 * versioned bundle of them and decides locally on every tool call.
 */
export const POLICY_ACTIONS = ["allow", "deny", "ask"] as const;
export const policyActionSchema = z.enum(POLICY_ACTIONS);
export type PolicyAction = z.infer<typeof policyActionSchema>;

/** With no matching rule: never `allow`. */
export const DEFAULT_ACTIONS = ["ask", "deny"] as const;
export const defaultActionSchema = z.enum(DEFAULT_ACTIONS);
export type DefaultAction = z.infer<typeof defaultActionSchema>;

export const POLICY_LIMITS = {
  rulesPerPolicy: 1000,
  patternsPerField: 64,
  patternChars: 1024,
  argKeys: 32,
  reasonChars: 500,
  /** Serialized rules of one policy. */
  rulesBytes: 256 * 1024,
  nameMax: 100,
  descriptionMax: 2000,
} as const;

/**
 * A glob: `*` any run of characters (including `/` and spaces), `?` one character, `[abc]` /
 * `[a-z]` / `[!abc]` a class, `{a,b}` alternatives, `\` escapes the next character. A leading `!`
 * negates the whole pattern. Matching is case-sensitive and anchored (the whole value).
 */
export const globSchema = z.string().min(1).max(POLICY_LIMITS.patternChars);
export const globsSchema = z.union([globSchema, z.array(globSchema).min(1).max(POLICY_LIMITS.patternsPerField)]);
export type Globs = z.infer<typeof globsSchema>;

/**
 * One rule. Every field it names must match (tool, each listed argument, cwd); a field given as a
 * list matches when any pattern in it matches. Non-string argument values are matched against
 * their JSON text. A rule naming nothing but its action matches every request.
 */
export const policyRuleSchema = z
  .object({
    action: policyActionSchema,
    tool: globsSchema.optional(),
    args: z
      .record(z.string().min(1).max(200), globsSchema)
      .refine((a) => Object.keys(a).length <= POLICY_LIMITS.argKeys, `at most ${POLICY_LIMITS.argKeys} argument keys`)
      .optional(),
    cwd: globsSchema.optional(),
    reason: z.string().max(POLICY_LIMITS.reasonChars).optional(),
  })
  .strict();
export type PolicyRule = z.infer<typeof policyRuleSchema>;

export const policyRulesSchema = z.array(policyRuleSchema).min(1).max(POLICY_LIMITS.rulesPerPolicy);

export const policyScopeSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("global") }),
  z.object({ kind: z.literal("set"), setId: z.string().min(1).max(100) }),
  z.object({ kind: z.literal("session"), sessionId: z.string().uuid() }),
]);
export type PolicyScope = z.infer<typeof policyScopeSchema>;

/** A policy as the engine sees it. */
export const enginePolicySchema = z.object({
  id: z.string().min(1).max(100),
  name: z.string().min(1).max(POLICY_LIMITS.nameMax),
  priority: z.number().int().min(-1_000_000).max(1_000_000),
  enabled: z.boolean(),
  scope: policyScopeSchema,
  rules: policyRulesSchema,
});
export type EnginePolicy = z.infer<typeof enginePolicySchema>;

/** What is being decided: a tool call, or input typed into a session (`terminal_input` / `terminal_keys`). */
export interface PolicyRequest {
  tool: string;
  args: Readonly<Record<string, unknown>>;
  cwd: string | null;
  sessionId: string;
  /** Policy sets attached to the session. */
  setIds: readonly string[];
}

export interface PolicyDecision {
  action: PolicyAction;
  /** Null when the default action decided. */
  policyId: string | null;
  policyName: string | null;
  /** 0-based index of the matching rule in its policy. */
  ruleIndex: number | null;
  reason: string | null;
}

/** What the agent caches: everything needed to decide for any session on the host. */
export const policyBundleSchema = z.object({
  version: z.number().int().nonnegative(),
  defaultAction: defaultActionSchema,
  policies: z.array(enginePolicySchema).max(10_000),
  /** Policy sets attached to each live session of this host. */
  sessionSets: z.record(z.string().uuid(), z.array(z.string().max(100)).max(100)),
});
export type PolicyBundle = z.infer<typeof policyBundleSchema>;

/** Tool names for input preflight: what `send`, `keys`, paste and dashboard keystrokes are checked as. */
export const INPUT_TOOLS = { text: "terminal_input", keys: "terminal_keys" } as const;
