import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { compileGlob, escapeGlob, GLOB_LIMITS, GlobError, validateGlob } from "./glob.js";

// [pattern, value, matches]
const MATCHES: Array<[string, string, boolean]> = [
  ["Bash", "Bash", true],
  ["Bash", "bash", false], // case-sensitive
  ["Bash", "Bash ", false], // anchored
  ["*", "", true],
  ["*", "any thing/at all\nnewline", true],
  ["rm *", "rm -rf /", true],
  ["rm *", "rm", false],
  ["rm *", "sudo rm -rf /", false], // anchored at the start
  ["*rm *", "sudo rm -rf /", true],
  ["/home/*", "/home/a/b/c", true], // `*` crosses `/`
  ["a**b", "a/x/b", true], // consecutive stars collapse
  ["a***", "a", true],
  ["?", "x", true],
  ["?", "", false],
  ["?", "xy", false],
  ["?", "😀", true], // one code point
  ["??", "😀", false],
  ["[abc]", "b", true],
  ["[abc]", "d", false],
  ["[a-z]x", "qx", true],
  ["[a-z]", "Q", false],
  ["[!abc]", "d", true],
  ["[!abc]", "a", false],
  ["[!a]", "\n", true],
  ["[-a]", "-", true],
  ["[a-]", "-", true],
  ["[\\]]", "]", true],
  ["[\\!a]", "!", true],
  ["[!!]", "!", false],
  ["{Bash,Edit}", "Edit", true],
  ["{Bash,Edit}", "Write", false],
  ["{a,b{c,d}}x", "bdx", true],
  ["{a,b{c,d}}x", "bx", false],
  ["x{}y", "xy", true],
  ["x{,z}y", "xy", true],
  ["x{,z}y", "xzy", true],
  ["*{xab,x}*ab*", "xab", true], // alternatives are not committed to greedily
  ["mcp__{github,linear}__*", "mcp__linear__create_issue", true],
  ["a,b}", "a,b}", true], // `,` and `}` outside braces are literal
  ["\\*", "*", true],
  ["\\*", "x", false],
  ["\\{a,b\\}", "{a,b}", true],
  ["a\\\\", "a\\", true],
  ["!rm *", "ls -la", true],
  ["!rm *", "rm -rf /", false],
  ["!!a", "!a", false], // only the first `!` negates
  ["!!a", "a", true],
  ["\\!a", "!a", true],
  ["a!", "a!", true],
  ["!{Bash,Edit}", "Read", true],
  ["!*", "anything", false],
  ["*.{ts,tsx}", "src/a.tsx", true],
  ["git {status,diff,log}*", "git log --oneline", true],
  ["git {status,diff,log}*", "git push", false],
  ["*a*a*a*a*a*a*a*a*a*b", "a".repeat(50_000), false], // would be O(n^9) with naive backtracking
  ["*a*a*a*a*a*a*a*a*a*b", `${"a".repeat(50_000)}b`, true],
  ["*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*0", "b".repeat(50_000), false],
  ["*1*2*3*", "x1y2z3w", true],
  ["*1*2*3*", "x1y3z2w", false],
];

// [pattern, message]
const INVALID: Array<[string, string]> = [
  ["", "empty pattern at 0"],
  ["!", "'!' with nothing to negate at 0"],
  ["[abc", "unclosed '[' at 0"],
  ["ls [abc", "unclosed '[' at 3"],
  ["ls {a,b", "unclosed '{' at 3"],
  ["{a,{b,c}", "unclosed '{' at 0"],
  ["{a,{b,c}}{", "unclosed '{' at 9"],
  ["[]", "empty class at 0"],
  ["x[!]", "empty class at 1"],
  ["abc\\", "trailing '\\' at 3"],
  ["[a\\", "trailing '\\' at 2"],
  ["[z-a]", "invalid range 'z-a' at 1"],
  ["{{{{{{{{{a}}}}}}}}}", `braces nested deeper than ${GLOB_LIMITS.braceDepth} at 8`],
  ["{a,b}".repeat(11), `braces expand to more than ${GLOB_LIMITS.expandedAlternatives} alternatives at 50`],
  ["x".repeat(GLOB_LIMITS.patternChars + 1), `pattern longer than ${GLOB_LIMITS.patternChars} characters at ${GLOB_LIMITS.patternChars}`],
];

describe("glob dialect", () => {
  it.each(MATCHES)("%j on %j → %s", (pattern, value, expected) => {
    expect(validateGlob(pattern)).toBeNull();
    expect(compileGlob(pattern).test(value)).toBe(expected);
  });

  it.each(INVALID)("%j is invalid: %s", (pattern, message) => {
    expect(validateGlob(pattern)).toBe(message);
    let thrown: unknown;
    try {
      compileGlob(pattern);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GlobError);
    const err = thrown as GlobError;
    expect(err.message).toBe(message);
    expect(err.pattern).toBe(pattern);
    expect(message.endsWith(` at ${err.position}`)).toBe(true);
  });

  it("caches compiled globs", () => {
    expect(compileGlob("cache-me-*")).toBe(compileGlob("cache-me-*"));
  });

  it("keeps the cache bounded", () => {
    for (let i = 0; i < GLOB_LIMITS.cacheEntries + 10; i++) compileGlob(`bulk-${i}-*`);
    expect(compileGlob("bulk-0-*").test("bulk-0-x")).toBe(true); // evicted and recompiled
  });
});

describe("glob properties", () => {
  const text = fc.string({ unit: "binary", maxLength: 200 });
  const specials = fc.string({ unit: fc.constantFrom("*", "?", "[", "]", "{", "}", ",", "!", "\\", "-", "a", "b", " "), maxLength: 30 });

  it("an escaped literal matches exactly itself", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", minLength: 1, maxLength: 200 }), text, (literal, other) => {
        const glob = compileGlob(escapeGlob(literal));
        expect(glob.test(literal)).toBe(true);
        expect(glob.test(other)).toBe(other === literal);
      }),
    );
  });

  it("escaping never produces an invalid glob", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", minLength: 1, maxLength: 500 }), (s) => validateGlob(escapeGlob(s)) === null));
  });

  it("`!p` matches exactly when `p` does not", () => {
    fc.assert(
      fc.property(specials, text, (p, value) => {
        fc.pre(validateGlob(p) === null && !p.startsWith("!"));
        expect(compileGlob(`!${p}`).test(value)).toBe(!compileGlob(p).test(value));
      }),
    );
  });

  it("`*` matches every string; `a*` every string starting with a", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", minLength: 1, maxLength: 20 }), text, (a, value) => {
        expect(compileGlob("*").test(value)).toBe(true);
        const prefix = compileGlob(`${escapeGlob(a)}*`);
        expect(prefix.test(a + value)).toBe(true);
        expect(prefix.test(value)).toBe(value.startsWith(a));
      }),
    );
  });

  it("validateGlob(p) === null exactly when compileGlob(p) does not throw", () => {
    fc.assert(
      fc.property(fc.oneof(specials, fc.string({ maxLength: 40 })), (p) => {
        let threw = false;
        try {
          compileGlob(p);
        } catch (err) {
          expect(err).toBeInstanceOf(GlobError);
          threw = true;
        }
        expect(validateGlob(p) === null).toBe(!threw);
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees with a reference matcher on `*`/`?`/literal patterns", () => {
    // Reference: dynamic programming over code points, no RegExp.
    const reference = (pattern: string, value: string): boolean => {
      const p = [...pattern];
      const v = [...value];
      let row = Array<boolean>(v.length + 1).fill(false);
      row[0] = true;
      for (const c of p) {
        const next = Array<boolean>(v.length + 1).fill(false);
        if (c === "*") {
          for (let j = 0; j <= v.length; j++) next[j] = (row[j] ?? false) || (j > 0 && (next[j - 1] ?? false));
        } else {
          for (let j = 1; j <= v.length; j++) next[j] = (row[j - 1] ?? false) && (c === "?" || c === v[j - 1]);
        }
        row = next;
      }
      return row[v.length] ?? false;
    };
    const abc = fc.string({ unit: fc.constantFrom("a", "b", "*", "?"), minLength: 1, maxLength: 12 });
    const value = fc.string({ unit: fc.constantFrom("a", "b", "c"), maxLength: 14 });
    fc.assert(fc.property(abc, value, (p, v) => compileGlob(p).test(v) === reference(p, v)), { numRuns: 3000 });
  });
});
