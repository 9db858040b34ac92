import { afterEach, describe, expect, it, vi } from "vitest";
import { AppError } from "@codepiper/core";
import { thrown } from "../../tests/src/support/errors.js";
import { startInput } from "./commands/sessions.js";
import { main } from "./main.js";
import { argsSummary, CLI_POLICY_LIMITS, jsonErrorOffset, lineColumn, parsePolicyName, parsePriority, parseRulesFlag, parseScope, parseSinceTime, parseToolArgs, ruleLabel, ruleSummary } from "./policy-input.js";

function errorOf(fn: () => unknown): AppError {
  const err = thrown(fn);
  if (err instanceof AppError) return err;
  throw err;
}

const files: Record<string, string> = {
  "rules.json": '[{"action":"deny","tool":"Bash","args":{"command":"rm -rf *"}}]',
  "broken.json": '[\n  {"action": "deny",\n   "tool": "Bash",}\n]',
  "big.json": `[${" ".repeat(CLI_POLICY_LIMITS.rulesBytes)}]`,
  "rules.yaml": "- action: deny\n  tool: Bash\n  args:\n    command: 'rm *'\n  reason: no deleting\n",
  "rules.YML": "- {action: allow, tool: [Read, Grep]}\n",
  "bad.yaml": "- action: deny\n  tool: [Bash\n",
  "dup.yaml": "- action: deny\n  tool: Bash\n  tool: Read\n",
  "map.yaml": "action: deny\n",
};
const read = (p: string): Buffer => {
  const text = files[p];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: "ENOENT" });
  return Buffer.from(text);
};

describe("--rules", () => {
  it("takes an inline JSON array", () => {
    expect(parseRulesFlag('[{"action":"allow","tool":"Read"}]', read)).toEqual([{ action: "allow", tool: "Read" }]);
  });
  it("reads @file.json", () => {
    expect(parseRulesFlag("@rules.json", read)).toEqual([{ action: "deny", tool: "Bash", args: { command: "rm -rf *" } }]);
  });
  it("says where bad JSON is (line and column), naming the file", () => {
    const err = errorOf(() => parseRulesFlag("@broken.json", read));
    expect(err.code).toBe("CODEPIPER_BAD_INPUT");
    expect(err.message).toMatch(/^--rules broken\.json is not valid JSON at line 3, column 19 \(offset \d+\)/);
  });
  it("says where bad inline JSON is, also at the end of input", () => {
    expect(errorOf(() => parseRulesFlag('[{"action":"deny"', read)).message).toMatch(/not valid JSON at the end \(line 1, column 18\): it ends too early/);
    expect(errorOf(() => parseRulesFlag("[{action:'deny'}]", read)).message).toMatch(/^--rules is not valid JSON at line 1, column 3 \(offset 2\)/);
  });
  it("refuses over 256 KiB, inline or from a file", () => {
    expect(errorOf(() => parseRulesFlag("@big.json", read)).code).toBe("CODEPIPER_PAYLOAD_TOO_LARGE");
    expect(errorOf(() => parseRulesFlag(`[${" ".repeat(CLI_POLICY_LIMITS.rulesBytes)}]`, read)).code).toBe("CODEPIPER_PAYLOAD_TOO_LARGE");
  });
  it("reads @file.yaml / .yml; bad YAML and duplicate keys say where", () => {
    expect(parseRulesFlag("@rules.yaml", read)).toEqual([{ action: "deny", tool: "Bash", args: { command: "rm *" }, reason: "no deleting" }]);
    expect(parseRulesFlag("@rules.YML", read)).toEqual([{ action: "allow", tool: ["Read", "Grep"] }]);
    expect(errorOf(() => parseRulesFlag("@bad.yaml", read)).message).toMatch(/^--rules bad\.yaml is not valid YAML at line \d+, column \d+: Flow sequence/);
    expect(errorOf(() => parseRulesFlag("@dup.yaml", read)).message).toMatch(/not valid YAML.*line 3/);
    expect(errorOf(() => parseRulesFlag("@map.yaml", read)).message).toMatch(/expected a JSON array/);
  });
  it("refuses a missing file, an empty value, non-arrays and non-object rules", () => {
    expect(errorOf(() => parseRulesFlag("@missing.json", read)).code).toBe("CODEPIPER_NOT_FOUND");
    expect(errorOf(() => parseRulesFlag("@", read)).message).toMatch(/give a file after @/);
    expect(errorOf(() => parseRulesFlag("  ", read)).message).toMatch(/is empty/);
    expect(errorOf(() => parseRulesFlag('{"action":"deny"}', read)).message).toMatch(/expected a JSON array.*got object.*wrap a single rule/);
    expect(errorOf(() => parseRulesFlag("[]", read)).message).toMatch(/at least one rule/);
    expect(errorOf(() => parseRulesFlag('[{"action":"deny"}, "x"]', read)).message).toMatch(/rule 1 is not an object/);
  });
  it("leaves rule fields and globs to the server", () => {
    expect(parseRulesFlag('[{"action":"maybe","tool":"["}]', read)).toEqual([{ action: "maybe", tool: "[" }]);
  });
});

describe("jsonErrorOffset", () => {
  it("agrees with JSON.parse on what is valid", () => {
    const valid = ['[]', '{}', ' [1, -2.5e3, "a\\u00e9\\n", true, false, null, {"k": [{}]}] ', '"x"', "0"];
    const invalid = ["", "[", "[1,]", "{'a':1}", "[01]", '"\\x"', "[1] 2", "nul", '{"a" 1}', '["\\u12"]', "[.5]"];
    for (const t of valid) expect([t, jsonErrorOffset(t)]).toEqual([t, null]);
    for (const t of invalid) {
      expect(() => JSON.parse(t)).toThrow();
      expect([t, jsonErrorOffset(t)]).not.toEqual([t, null]);
    }
    expect(jsonErrorOffset("[1,]")).toBe(3);
    expect(jsonErrorOffset("[1")).toBe(2);
  });
});

describe("lineColumn", () => {
  it("is 1-based", () => {
    expect(lineColumn("ab\ncd", 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
  });
});

describe("--arg / --arg-json", () => {
  it("values are strings, split at the first '='", () => {
    expect(parseToolArgs(["command=rm -rf /", "query=a=b&c=d", "empty="])).toEqual({ command: "rm -rf /", query: "a=b&c=d", empty: "" });
  });
  it("a value that looks like JSON stays a string with --arg", () => {
    expect(parseToolArgs(["n=42", "flag=true"])).toEqual({ n: "42", flag: "true" });
  });
  it("--arg-json parses the value as JSON", () => {
    expect(parseToolArgs([], ["n=42", "flag=true", 'edits=[{"old":"a=b"}]'])).toEqual({ n: 42, flag: true, edits: [{ old: "a=b" }] });
    expect(errorOf(() => parseToolArgs([], ["n={oops"])).message).toMatch(/^--arg-json n is not valid JSON at line 1, column 2/);
  });
  it("rejects a missing '=', an empty key and a key given twice", () => {
    expect(errorOf(() => parseToolArgs(["command"])).message).toMatch(/expected key=value/);
    expect(errorOf(() => parseToolArgs(["=x"])).message).toMatch(/key before '=' is empty/);
    expect(errorOf(() => parseToolArgs(["a=1"], ["a=2"])).message).toMatch(/given twice/);
  });
});

describe("--scope", () => {
  it("global, set, session:<id>", () => {
    expect(parseScope("global")).toBe("global");
    expect(parseScope("set")).toBe("set");
    expect(parseScope("session:3f2a9c1e")).toEqual({ session: "3f2a9c1e" });
  });
  it("rejects anything else, saying what is accepted", () => {
    expect(errorOf(() => parseScope("session:")).message).toMatch(/give the session after 'session:'/);
    expect(errorOf(() => parseScope("host:alpha")).message).toMatch(/expected global .* set .* or session:<id>/);
    expect(errorOf(() => parseScope("set:ci")).code).toBe("CODEPIPER_BAD_INPUT");
  });
});

describe("names, priority, --since", () => {
  it("policy names follow the server's rule", () => {
    expect(parsePolicyName("no-rm.v2_x")).toBe("no-rm.v2_x");
    for (const n of ["", "-x", "has space", "a/b", "x".repeat(101)]) expect(errorOf(() => parsePolicyName(n)).code).toBe("CODEPIPER_BAD_INPUT");
  });
  it("priority is a bounded whole number", () => {
    expect(parsePriority("-5")).toBe(-5);
    expect(parsePriority("1000000")).toBe(1_000_000);
    for (const p of ["1.5", "x", "", "1000001", "1e3"]) expect(errorOf(() => parsePriority(p)).code).toBe("CODEPIPER_BAD_INPUT");
  });
  it("--since takes an ISO time with a zone or a duration back", () => {
    expect(parseSinceTime("2026-11-24T17:00:00Z")).toBe("2026-11-24T17:00:00Z");
    expect(parseSinceTime("2026-11-24T17:00:00+02:00")).toBe("2026-11-24T17:00:00+02:00");
    expect(parseSinceTime("2h", Date.parse("2026-01-01T12:00:00Z"))).toBe("2026-01-01T10:00:00.000Z");
    expect(errorOf(() => parseSinceTime("2026-11-24 17:00")).message).toMatch(/expected an ISO time with a zone/);
    expect(errorOf(() => parseSinceTime("yesterday")).code).toBe("CODEPIPER_BAD_INPUT");
  });
});

describe("human summaries", () => {
  it("args on one bounded line", () => {
    expect(argsSummary({ command: "rm -rf /" })).toBe('command="rm -rf /"');
    expect(argsSummary({ a: "x\ny" })).toBe('a="x\\ny"');
    expect(argsSummary({})).toBe("-");
    expect(argsSummary({ content: "y".repeat(200) }, 20)).toHaveLength(20);
    expect(argsSummary("already a summary")).toBe("already a summary");
  });
  it("rules and the rule that decided", () => {
    expect(ruleSummary({ action: "deny", tool: "Bash", args: { command: "rm -rf *" }, reason: "no" })).toBe('deny tool="Bash" command="rm -rf *" — no');
    expect(ruleSummary({ action: "allow", tool: ["Read", "Grep"] })).toBe('allow tool=["Read","Grep"]');
    expect(ruleSummary({ action: "ask" })).toBe("ask (everything)");
    expect(ruleLabel("no-rm", 2)).toBe("no-rm[2]");
    expect(ruleLabel(null, null)).toBe("default");
  });
});

describe("start --policy-set", () => {
  it("becomes policySets", () => {
    const input = startInput({ provider: "claude-code", dir: "/src", billing: "subscription", env: [], policySet: ["ci", " strict "] }, []);
    expect(input.policySets).toEqual(["ci", "strict"]);
    expect(startInput({ provider: "codex", dir: "/src", billing: "subscription", env: [] }, []).policySets).toEqual([]);
  });
});

describe("input is checked before any network call", () => {
  afterEach(() => vi.restoreAllMocks());
  // The URL points nowhere: any of these reaching the network would exit 5 (unreachable), not 2.
  const run = async (...args: string[]) => {
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const code = await main(["node", "codepiper", "--json", "--url", "http://127.0.0.1:9", ...args]);
    const text = err.mock.calls.map((c) => String(c[0])).join("");
    return { code, message: text ? (JSON.parse(text.trim().split("\n").pop()!) as { error: { message: string } }).error.message : "" };
  };
  it.each([
    [["policy", "create", "--name", "x", "--rules", "[oops"], /not valid JSON at line 1, column 2/],
    [["policy", "create", "--name", "x", "--rules", "[]", "--scope", "host:a"], /--rules: the array is empty/],
    [["policy", "create", "--name", "x", "--rules", '[{"action":"deny"}]', "--scope", "host:a"], /--scope "host:a"/],
    [["policy", "update", "p", "--scope", "global"], /--scope cannot be changed/],
    [["policy", "update", "p"], /nothing to change/],
    [["policy", "test", "--tool", "Bash"], /give --session <id>.* or --policy-set/],
    [["policy", "test", "--session", "a", "--policy-set", "b", "--tool", "Bash"], /not both/],
    [["policy", "test", "--session", "abcd", "--tool", "Bash", "--arg", "command"], /expected key=value/],
    [["policy", "default", "allow"], /allow/],
    [["policy-set", "default"], /--none/],
    [["policy-set", "create", "--name", "bad name"], /--name "bad name"/],
    [["approvals", "--status", "maybe"], /maybe/],
    [["approvals", "allow", "abcd", "--reason", "x".repeat(501)], /--reason is 501 characters/],
    [["approvals", "nope"], /unknown command 'approvals nope'/],
    [["audit", "--actor", "x"], /add --actions/],
    [["audit", "--actions", "--since", "yesterday"], /--since "yesterday"/],
    [["audit", "--actions", "--decision", "deny"], /with --actions use --actor, --action and --since/],
    [["start", "-p", "codex", "-d", "/src", "--policy-set", " "], /--policy-set/],
  ])("%j", async (args, message) => {
    const res = await run(...args);
    expect(res.message).toMatch(message);
    expect(res.code).toBe(2);
  });
});
