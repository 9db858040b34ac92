import { compileGlob, GlobError, type CompiledGlob } from "./glob.js";
import {
  POLICY_LIMITS,
  policyRulesSchema,
  type DefaultAction,
  type EnginePolicy,
  type Globs,
  type PolicyAction,
  type PolicyDecision,
  type PolicyRequest,
  type PolicyRule,
  type PolicyScope,
} from "./types.js";

/**
 * The policy engine (DESIGN.md §4). Pure: the agent runs it on every tool call from its cached
 * bundle, the control plane runs it to preview and audit.
 *
 * Semantics:
 * 1. **Applicable policies**: enabled, and scoped `global`, or `set` with `setId` among the
 *    request's `setIds`, or `session` with `sessionId` equal to the request's.
 * 2. **Order**: priority, highest first. Ties are broken by scope specificity (session, then set,
 *    then global), then by name ascending, then by id ascending (both compared by UTF-16 code
 *    units, locale-independent). The order never depends on the order policies were given in.
 * 3. **First match wins**: rules are tried policy by policy in that order, and within a policy in
 *    their listed order; the first rule that matches decides.
 * 4. **A rule matches** when every field it names matches: `tool` against the tool name; each
 *    `args` key against that argument (a missing or `undefined` argument never matches, even a
 *    negated pattern); `cwd` against the working directory (a null cwd never matches). String
 *    arguments are matched as they are; any other value (number, boolean, null, object, array) is
 *    matched against its `JSON.stringify` text, e.g. `42`, `true`, `null`, `{"a":1}`. A field
 *    given as a list matches when any of its patterns does. A rule naming no field matches all.
 * 5. **No match**: the default action (`ask` or `deny`, never `allow`), with null policy and
 *    rule, and reason `no rule matched: default <action>`.
 * 6. **Reason**: the rule's `reason`, else `rule <ruleIndex> of "<policy name>"` (0-based, as
 *    `ruleIndex`).
 */
export interface PolicyEvaluator {
  evaluate(request: PolicyRequest): PolicyDecision;
}

type FieldMatcher = readonly CompiledGlob[];

interface CompiledRule {
  readonly action: PolicyAction;
  readonly index: number;
  readonly reason: string;
  readonly tool: FieldMatcher | null;
  readonly args: ReadonlyArray<readonly [string, FieldMatcher]>;
  readonly cwd: FieldMatcher | null;
}

interface CompiledPolicy {
  readonly policy: EnginePolicy;
  readonly rules: readonly CompiledRule[];
}

const SPECIFICITY: Record<PolicyScope["kind"], number> = { session: 2, set: 1, global: 0 };

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The evaluation order of rule 2 above, as a comparator. */
export function comparePolicies(a: EnginePolicy, b: EnginePolicy): number {
  return (
    b.priority - a.priority ||
    SPECIFICITY[b.scope.kind] - SPECIFICITY[a.scope.kind] ||
    compareCodeUnits(a.name, b.name) ||
    compareCodeUnits(a.id, b.id)
  );
}

function globList(globs: Globs): string[] {
  return typeof globs === "string" ? [globs] : globs;
}

function compileField(globs: Globs | undefined): FieldMatcher | null {
  return globs === undefined ? null : globList(globs).map(compileGlob);
}

function matchesField(matcher: FieldMatcher, value: string): boolean {
  for (const glob of matcher) if (glob.test(value)) return true;
  return false;
}

function compileRule(policy: EnginePolicy, rule: PolicyRule, index: number): CompiledRule {
  return {
    action: rule.action,
    index,
    reason: rule.reason || `rule ${index} of ${JSON.stringify(policy.name)}`,
    tool: compileField(rule.tool),
    args: Object.entries(rule.args ?? {}).map(([key, globs]) => [key, globList(globs).map(compileGlob)] as const),
    cwd: compileField(rule.cwd),
  };
}

/** The text an argument is matched against, or null when it is missing (never matches). */
function argumentText(args: PolicyRequest["args"], key: string): string | null {
  if (!Object.hasOwn(args, key)) return null;
  const value = args[key];
  if (typeof value === "string") return value;
  if (typeof value === "bigint") return value.toString();
  try {
    // undefined, functions and symbols have no JSON text: treated as missing.
    return JSON.stringify(value) ?? null;
  } catch {
    return null; // circular: cannot come from a real (JSON) tool call
  }
}

function applies(policy: EnginePolicy, request: PolicyRequest): boolean {
  const { scope } = policy;
  switch (scope.kind) {
    case "global":
      return true;
    case "set":
      return request.setIds.includes(scope.setId);
    case "session":
      return scope.sessionId === request.sessionId;
  }
}

function defaultDecision(action: DefaultAction): PolicyDecision {
  return { action, policyId: null, policyName: null, ruleIndex: null, reason: `no rule matched: default ${action}` };
}

/**
 * Compiles policies once (globs compiled, disabled policies dropped, order fixed) for repeated
 * evaluation. Throws {@link GlobError} on an invalid glob: store only rules that passed
 * {@link validatePolicyRules}.
 */
export function compilePolicies(policies: readonly EnginePolicy[], defaultAction: DefaultAction): PolicyEvaluator {
  const ordered: CompiledPolicy[] = policies
    .filter((p) => p.enabled)
    .sort(comparePolicies)
    .map((policy) => ({ policy, rules: policy.rules.map((rule, i) => compileRule(policy, rule, i)) }));
  const fallback = defaultDecision(defaultAction);

  return {
    evaluate(request: PolicyRequest): PolicyDecision {
      // Argument texts are computed at most once per request (JSON.stringify can be costly).
      let texts: Map<string, string | null> | undefined;
      const textOf = (key: string): string | null => {
        texts ??= new Map();
        let text = texts.get(key);
        if (text === undefined) {
          text = argumentText(request.args, key);
          texts.set(key, text);
        }
        return text;
      };

      for (const { policy, rules } of ordered) {
        if (!applies(policy, request)) continue;
        ruleLoop: for (const rule of rules) {
          if (rule.tool && !matchesField(rule.tool, request.tool)) continue;
          if (rule.cwd && (request.cwd === null || !matchesField(rule.cwd, request.cwd))) continue;
          for (const [key, matcher] of rule.args) {
            const text = textOf(key);
            if (text === null || !matchesField(matcher, text)) continue ruleLoop;
          }
          return { action: rule.action, policyId: policy.id, policyName: policy.name, ruleIndex: rule.index, reason: rule.reason };
        }
      }
      return { ...fallback };
    },
  };
}

/** One-off evaluation; prefer {@link compilePolicies} on a hot path. */
export function evaluatePolicies(policies: readonly EnginePolicy[], defaultAction: DefaultAction, request: PolicyRequest): PolicyDecision {
  return compilePolicies(policies, defaultAction).evaluate(request);
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "rules";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key)) out += `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/**
 * Validates one policy's rules as stored: serialized size (POLICY_LIMITS.rulesBytes), the schema,
 * and every glob. Errors name the place, e.g. `rules[3].args.command: unclosed '[' at 4`.
 */
export function validatePolicyRules(rules: unknown): { ok: true; rules: PolicyRule[] } | { ok: false; errors: string[] } {
  let serialized: string | undefined;
  try {
    serialized = JSON.stringify(rules);
  } catch {
    return { ok: false, errors: ["rules: not serializable as JSON"] };
  }
  if (serialized !== undefined && utf8Length(serialized) > POLICY_LIMITS.rulesBytes) {
    return { ok: false, errors: [`rules: larger than ${POLICY_LIMITS.rulesBytes} bytes serialized`] };
  }
  const parsed = policyRulesSchema.safeParse(rules);
  if (!parsed.success) {
    return { ok: false, errors: parsed.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`) };
  }
  const errors: string[] = [];
  const check = (path: PropertyKey[], globs: Globs | undefined): void => {
    if (globs === undefined) return;
    const list = globList(globs);
    list.forEach((pattern, i) => {
      try {
        compileGlob(pattern);
      } catch (err) {
        if (!(err instanceof GlobError)) throw err;
        errors.push(`${formatPath(typeof globs === "string" ? path : [...path, i])}: ${err.message}`);
      }
    });
  };
  parsed.data.forEach((rule, r) => {
    check([r, "tool"], rule.tool);
    for (const [key, globs] of Object.entries(rule.args ?? {})) check([r, "args", key], globs);
    check([r, "cwd"], rule.cwd);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, rules: parsed.data };
}
