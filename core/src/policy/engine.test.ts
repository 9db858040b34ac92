import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { compilePolicies, comparePolicies, evaluatePolicies, validatePolicyRules } from "./engine.js";
import { POLICY_LIMITS, type DefaultAction, type EnginePolicy, type PolicyAction, type PolicyRequest, type PolicyRule } from "./types.js";

const S1 = "2a12e0e1-b0dd-4b6f-ba11-1aa3d487567e";
const S2 = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

let seq = 0;
const policy = (rules: PolicyRule[], over: Partial<EnginePolicy> = {}): EnginePolicy => ({
  id: over.id ?? `p${++seq}`,
  name: over.name ?? `policy-${seq}`,
  priority: 0,
  enabled: true,
  scope: { kind: "global" },
  rules,
  ...over,
});
const request = (over: Partial<PolicyRequest> = {}): PolicyRequest => ({
  tool: "Bash",
  args: { command: "ls -la" },
  cwd: "/home/dev/project",
  sessionId: S1,
  setIds: ["team-a"],
  ...over,
});

interface Row {
  name: string;
  policies: EnginePolicy[];
  default?: DefaultAction;
  request?: Partial<PolicyRequest>;
  /** Expected action, and optionally which policy id and rule index decided. */
  action: PolicyAction;
  by?: [string, number] | null;
  reason?: string;
}

const TABLE: Row[] = [
  // Tool globs
  { name: "literal tool matches", policies: [policy([{ action: "allow", tool: "Bash" }], { id: "a" })], action: "allow", by: ["a", 0] },
  { name: "literal tool is case-sensitive", policies: [policy([{ action: "allow", tool: "bash" }])], action: "ask", by: null },
  { name: "tool glob with *", policies: [policy([{ action: "deny", tool: "mcp__*" }], { id: "a" })], request: { tool: "mcp__github__merge" }, action: "deny", by: ["a", 0] },
  { name: "tool glob with braces", policies: [policy([{ action: "allow", tool: "{Read,Grep,Glob}" }])], request: { tool: "Grep" }, action: "allow" },
  { name: "tool list matches any pattern", policies: [policy([{ action: "allow", tool: ["Read", "Edit"] }])], request: { tool: "Edit" }, action: "allow" },
  { name: "tool list with no matching pattern", policies: [policy([{ action: "allow", tool: ["Read", "Edit"] }])], request: { tool: "Write" }, action: "ask" },
  { name: "negated tool", policies: [policy([{ action: "deny", tool: "!Read" }])], request: { tool: "Write" }, action: "deny" },
  { name: "negated tool does not match itself", policies: [policy([{ action: "deny", tool: "!Read" }])], request: { tool: "Read" }, action: "ask" },
  { name: "rule with only an action matches everything", policies: [policy([{ action: "deny" }])], request: { tool: "Anything", args: {}, cwd: null }, action: "deny" },
  // Args
  { name: "string arg glob", policies: [policy([{ action: "deny", tool: "Bash", args: { command: "rm *" } }])], request: { args: { command: "rm -rf /" } }, action: "deny" },
  { name: "string arg glob mismatch", policies: [policy([{ action: "deny", tool: "Bash", args: { command: "rm *" } }])], request: { args: { command: "ls" } }, action: "ask" },
  { name: "negated arg: allow anything but rm", policies: [policy([{ action: "allow", args: { command: "!rm *" } }])], request: { args: { command: "git status" } }, action: "allow" },
  { name: "negated arg does not match rm", policies: [policy([{ action: "allow", args: { command: "!rm *" } }])], request: { args: { command: "rm x" } }, action: "ask" },
  { name: "missing arg never matches", policies: [policy([{ action: "deny", args: { path: "*" } }])], request: { args: { command: "x" } }, action: "ask" },
  { name: "missing arg never matches, even negated", policies: [policy([{ action: "allow", args: { path: "!/etc/*" } }])], request: { args: {} }, action: "ask" },
  { name: "undefined arg counts as missing", policies: [policy([{ action: "deny", args: { path: "*" } }])], request: { args: { path: undefined } }, action: "ask" },
  { name: "inherited property is not an argument", policies: [policy([{ action: "deny", args: { constructor: "*" } }])], request: { args: {} }, action: "ask" },
  { name: "number arg as JSON text", policies: [policy([{ action: "deny", args: { timeout: "6[0-9][0-9][0-9][0-9]*" } }])], request: { args: { timeout: 600000 } }, action: "deny" },
  { name: "boolean arg as JSON text", policies: [policy([{ action: "deny", args: { run_in_background: "true" } }])], request: { args: { run_in_background: true } }, action: "deny" },
  { name: "null arg as JSON text", policies: [policy([{ action: "deny", args: { x: "null" } }])], request: { args: { x: null } }, action: "deny" },
  { name: "object arg as JSON text", policies: [policy([{ action: "deny", args: { opts: '*"force":true*' } }])], request: { args: { opts: { force: true, n: 1 } } }, action: "deny" },
  { name: "array arg as JSON text", policies: [policy([{ action: "deny", args: { files: '\\["/etc/*' } }])], request: { args: { files: ["/etc/passwd"] } }, action: "deny" },
  { name: "string that looks like JSON is matched as is", policies: [policy([{ action: "deny", args: { n: '"5"' } }])], request: { args: { n: "5" } }, action: "ask" },
  { name: "every named arg must match", policies: [policy([{ action: "deny", args: { a: "1", b: "2" } }])], request: { args: { a: 1, b: 3 } }, action: "ask" },
  { name: "arg list matches any", policies: [policy([{ action: "allow", args: { command: ["git status*", "git diff*"] } }])], request: { args: { command: "git diff HEAD" } }, action: "allow" },
  // cwd
  { name: "cwd glob", policies: [policy([{ action: "allow", cwd: "/home/dev/*" }])], action: "allow" },
  { name: "cwd mismatch", policies: [policy([{ action: "allow", cwd: "/srv/*" }])], action: "ask" },
  { name: "null cwd never matches", policies: [policy([{ action: "allow", cwd: "*" }])], request: { cwd: null }, action: "ask" },
  { name: "null cwd never matches a negated glob", policies: [policy([{ action: "allow", cwd: "!/srv/*" }])], request: { cwd: null }, action: "ask" },
  { name: "all fields must match", policies: [policy([{ action: "allow", tool: "Bash", args: { command: "ls*" }, cwd: "/srv/*" }])], action: "ask" },
  // Order
  { name: "first rule wins within a policy", policies: [policy([{ action: "deny", tool: "Bash" }, { action: "allow", tool: "*" }], { id: "a" })], action: "deny", by: ["a", 0] },
  { name: "later rule decides when earlier ones miss", policies: [policy([{ action: "deny", tool: "Edit" }, { action: "allow", tool: "*" }], { id: "a" })], action: "allow", by: ["a", 1] },
  {
    name: "higher priority wins",
    policies: [policy([{ action: "allow" }], { id: "low", priority: 1 }), policy([{ action: "deny" }], { id: "high", priority: 10 })],
    action: "deny",
    by: ["high", 0],
  },
  {
    name: "negative priority comes after zero",
    policies: [policy([{ action: "deny" }], { id: "neg", priority: -5 }), policy([{ action: "allow", tool: "Bash" }], { id: "zero" })],
    action: "allow",
    by: ["zero", 0],
  },
  {
    name: "lower-priority policy decides when higher ones do not match",
    policies: [policy([{ action: "deny", tool: "Edit" }], { id: "high", priority: 10 }), policy([{ action: "allow" }], { id: "low" })],
    action: "allow",
    by: ["low", 0],
  },
  {
    name: "tie: session scope beats set and global",
    policies: [
      policy([{ action: "deny" }], { id: "g", name: "a" }),
      policy([{ action: "ask" }], { id: "s", name: "b", scope: { kind: "set", setId: "team-a" } }),
      policy([{ action: "allow" }], { id: "x", name: "c", scope: { kind: "session", sessionId: S1 } }),
    ],
    default: "deny",
    action: "allow",
    by: ["x", 0],
  },
  {
    name: "tie: set scope beats global",
    policies: [policy([{ action: "deny" }], { id: "g", name: "a" }), policy([{ action: "allow" }], { id: "s", name: "b", scope: { kind: "set", setId: "team-a" } })],
    action: "allow",
    by: ["s", 0],
  },
  {
    name: "tie: name ascending (code units: uppercase first)",
    policies: [policy([{ action: "deny" }], { id: "1", name: "b" }), policy([{ action: "allow" }], { id: "2", name: "B" })],
    action: "allow",
    by: ["2", 0],
  },
  {
    name: "tie: id ascending",
    policies: [policy([{ action: "deny" }], { id: "id-b", name: "same" }), policy([{ action: "allow" }], { id: "id-a", name: "same" })],
    action: "allow",
    by: ["id-a", 0],
  },
  // Applicability
  { name: "disabled policy is skipped", policies: [policy([{ action: "allow" }], { enabled: false })], action: "ask", by: null },
  { name: "set scope applies when the session has the set", policies: [policy([{ action: "allow" }], { id: "s", scope: { kind: "set", setId: "team-a" } })], action: "allow", by: ["s", 0] },
  { name: "set scope does not apply otherwise", policies: [policy([{ action: "allow" }], { scope: { kind: "set", setId: "team-b" } })], action: "ask" },
  { name: "session scope applies to its session", policies: [policy([{ action: "allow" }], { scope: { kind: "session", sessionId: S1 } })], action: "allow" },
  { name: "session scope does not apply to another", policies: [policy([{ action: "allow" }], { scope: { kind: "session", sessionId: S2 } })], action: "ask" },
  // Defaults and reasons
  { name: "no policies: default ask", policies: [], action: "ask", by: null, reason: "no rule matched: default ask" },
  { name: "no policies: default deny", policies: [], default: "deny", action: "deny", by: null, reason: "no rule matched: default deny" },
  { name: "no match: default deny", policies: [policy([{ action: "allow", tool: "Read" }])], default: "deny", action: "deny", by: null },
  { name: "rule reason is used", policies: [policy([{ action: "deny", reason: "no rm, ever" }])], action: "deny", reason: "no rm, ever" },
  { name: "generated reason", policies: [policy([{ action: "deny", tool: "Edit" }, { action: "deny" }], { name: "no-rm" })], action: "deny", reason: 'rule 1 of "no-rm"' },
  { name: "input preflight tool", policies: [policy([{ action: "deny", tool: "terminal_input", args: { text: "*rm -rf*" } }])], request: { tool: "terminal_input", args: { text: "rm -rf ~\n" } }, action: "deny" },
];

describe("policy engine: decision table", () => {
  it.each(TABLE.map((row) => [row.name, row] as const))("%s", (_name, row) => {
    const req = request(row.request);
    const decision = evaluatePolicies(row.policies, row.default ?? "ask", req);
    expect(decision.action).toBe(row.action);
    if (row.by === null) {
      expect(decision).toMatchObject({ policyId: null, policyName: null, ruleIndex: null });
      expect(decision.reason).toBe(`no rule matched: default ${row.action}`);
    } else if (row.by) {
      expect([decision.policyId, decision.ruleIndex]).toEqual(row.by);
      expect(decision.policyName).toBe(row.policies.find((p) => p.id === row.by?.[0])?.name);
    }
    if (row.reason !== undefined) expect(decision.reason).toBe(row.reason);
    // The compiled evaluator agrees and is reusable.
    const evaluator = compilePolicies(row.policies, row.default ?? "ask");
    expect(evaluator.evaluate(req)).toEqual(decision);
    expect(evaluator.evaluate(req)).toEqual(decision);
  });

  it("has at least 30 rows", () => expect(TABLE.length).toBeGreaterThanOrEqual(30));

  it("does not reorder the caller's array", () => {
    const policies = [policy([{ action: "allow" }], { priority: 1 }), policy([{ action: "deny" }], { priority: 2 })];
    const before = [...policies];
    compilePolicies(policies, "ask");
    expect(policies).toEqual(before);
  });

  it("throws on an invalid glob at compile time", () => {
    expect(() => compilePolicies([policy([{ action: "allow", tool: "[abc" }])], "ask")).toThrow("unclosed '[' at 0");
  });
});

describe("validatePolicyRules", () => {
  it("accepts valid rules", () => {
    const rules = [{ action: "allow", tool: ["Read", "Grep"], args: { command: "git *" }, cwd: "/home/*" }];
    expect(validatePolicyRules(rules)).toEqual({ ok: true, rules });
  });

  it("names the rule index and field of a bad glob", () => {
    const result = validatePolicyRules([
      { action: "allow" },
      { action: "deny", tool: "Bash" },
      { action: "deny", tool: ["Read", "{a"] },
      { action: "deny", args: { command: "ls [abc" }, cwd: "x\\" },
    ]);
    expect(result).toEqual({
      ok: false,
      errors: ["rules[2].tool[1]: unclosed '{' at 0", "rules[3].args.command: unclosed '[' at 3", "rules[3].cwd: trailing '\\' at 1"],
    });
  });

  it("quotes argument keys that are not identifiers", () => {
    expect(validatePolicyRules([{ action: "deny", args: { "file-path": "[]" } }])).toEqual({ ok: false, errors: ['rules[0].args["file-path"]: empty class at 0'] });
  });

  it("reports schema errors with their path", () => {
    const result = validatePolicyRules([{ action: "allow" }, { action: "maybe" }, { action: "deny", tool: "" }, { action: "deny", extra: 1 }]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.some((e) => e.startsWith("rules[1].action: "))).toBe(true);
    expect(result.errors.some((e) => e.startsWith("rules[2].tool: "))).toBe(true);
    expect(result.errors.some((e) => e.startsWith("rules[3]: "))).toBe(true);
  });

  it("rejects no rules and non-arrays", () => {
    expect(validatePolicyRules([]).ok).toBe(false);
    expect(validatePolicyRules("nope").ok).toBe(false);
  });

  it("rejects rules larger than rulesBytes serialized", () => {
    const reason = "é".repeat(POLICY_LIMITS.reasonChars); // 2 bytes per character in UTF-8
    const count = Math.ceil(POLICY_LIMITS.rulesBytes / (POLICY_LIMITS.reasonChars * 2)) + 1;
    const rules = Array.from({ length: count }, () => ({ action: "deny", reason }));
    expect(JSON.stringify(rules).length).toBeLessThan(POLICY_LIMITS.rulesBytes * 1.1);
    expect(validatePolicyRules(rules)).toEqual({ ok: false, errors: [`rules: larger than ${POLICY_LIMITS.rulesBytes} bytes serialized`] });
  });
});

describe("policy engine: properties", () => {
  const tools = ["Bash", "Read", "Edit", "mcp__gh__merge"];
  const globs = fc.constantFrom("*", "Bash", "!Bash", "{Read,Edit}", "mcp__*", "R??d", "[BE]*", "!{Read,Edit}");
  const commandGlobs = fc.constantFrom("*", "rm *", "!rm *", "git {status,diff}*", "*sudo*", "ls*");
  const rule = (actions: fc.Arbitrary<PolicyAction>) =>
    fc.record(
      {
        action: actions,
        tool: fc.oneof(globs, fc.array(globs, { minLength: 1, maxLength: 3 })),
        args: fc.record({ command: commandGlobs }),
        cwd: fc.constantFrom("*", "/home/*", "!/srv/*"),
      },
      { requiredKeys: ["action"] },
    );
  const scope = fc.oneof(
    fc.constant({ kind: "global" as const }),
    fc.constantFrom("team-a", "team-b").map((setId) => ({ kind: "set" as const, setId })),
    fc.constantFrom(S1, S2).map((sessionId) => ({ kind: "session" as const, sessionId })),
  );
  const policies = (actions: fc.Arbitrary<PolicyAction>) =>
    fc
      .array(
        fc.record({
          name: fc.constantFrom("a", "b", "B", "c"),
          priority: fc.integer({ min: -2, max: 2 }),
          enabled: fc.boolean(),
          scope,
          rules: fc.array(rule(actions), { minLength: 1, maxLength: 4 }),
        }),
        { maxLength: 8 },
      )
      .map((ps) => ps.map((p, i): EnginePolicy => ({ ...p, id: `id-${i}` })));
  const requests = fc.record({
    tool: fc.constantFrom(...tools),
    args: fc.oneof(fc.constant({}), fc.constantFrom("rm -rf /", "git status", "sudo ls", "ls").map((command) => ({ command }))),
    cwd: fc.constantFrom(null, "/home/dev", "/srv/app"),
    sessionId: fc.constantFrom(S1, S2),
    setIds: fc.subarray(["team-a", "team-b"]),
  });
  const anyAction = fc.constantFrom<PolicyAction>("allow", "deny", "ask");
  const defaults = fc.constantFrom<DefaultAction>("ask", "deny");

  it("shuffling the policies never changes the decision", () => {
    fc.assert(
      fc.property(
        policies(anyAction).chain((ps) => fc.tuple(fc.constant(ps), fc.shuffledSubarray(ps, { minLength: ps.length, maxLength: ps.length }))),
        defaults,
        requests,
        ([ps, shuffled], def, req) => {
          expect(evaluatePolicies(shuffled, def, req)).toEqual(evaluatePolicies(ps, def, req));
        },
      ),
    );
  });

  it("never allows when no rule allows", () => {
    fc.assert(
      fc.property(policies(fc.constantFrom<PolicyAction>("deny", "ask")), defaults, requests, (ps, def, req) => {
        expect(evaluatePolicies(ps, def, req).action).not.toBe("allow");
      }),
    );
  });

  it("adding a disabled policy never changes the decision", () => {
    fc.assert(
      fc.property(policies(anyAction), policies(anyAction), defaults, requests, fc.nat(), (ps, extra, def, req, at) => {
        const disabled = extra.map((p, i) => ({ ...p, id: `disabled-${i}`, enabled: false, priority: 1_000_000 }));
        const mixed = [...ps];
        mixed.splice(at % (ps.length + 1), 0, ...disabled);
        expect(evaluatePolicies(mixed, def, req)).toEqual(evaluatePolicies(ps, def, req));
      }),
    );
  });

  it("the deciding policy applies and comes first among applicable policies with a matching rule", () => {
    fc.assert(
      fc.property(policies(anyAction), defaults, requests, (ps, def, req) => {
        const decision = evaluatePolicies(ps, def, req);
        if (decision.policyId === null) {
          expect(decision.action).toBe(def);
          return;
        }
        const decider = ps.find((p) => p.id === decision.policyId);
        expect(decider?.enabled).toBe(true);
        expect(decider?.rules[decision.ruleIndex ?? -1]?.action).toBe(decision.action);
        // Every applicable policy ordered before the decider has no matching rule: evaluating it
        // alone yields the default.
        for (const p of ps) {
          if (p === decider || !decider || comparePolicies(p, decider) >= 0) continue;
          expect(evaluatePolicies([p], def, req).policyId).toBeNull();
        }
      }),
    );
  });
});
