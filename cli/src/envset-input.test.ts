import { describe, expect, it } from "vitest";
import { messageOf } from "../../tests/src/support/errors.js";
import { parseDotenv, parseUnsetFlags, parseVarFlags } from "./envset-input.js";

const SECRET = "s3cr3t-value-xyz";

describe("parseDotenv", () => {
  it("reads KEY=VALUE lines, export prefixes, comments, blank lines and quotes", () => {
    const text = [
      "# a comment",
      "",
      "A=plain",
      "export B = spaced value  # trailing comment",
      "C='single $literal \\n kept'",
      'D="double\\nline \\"quoted\\" \\\\ end"',
      "E=",
      "F=a#b",
      'G="multi',
      'line"',
      "  export H='x' # ok",
      "I=has=equals",
    ].join("\n");
    expect(parseDotenv(text)).toEqual({
      A: "plain",
      B: "spaced value",
      C: "single $literal \\n kept",
      D: 'double\nline "quoted" \\ end',
      E: "",
      F: "a#b",
      G: "multi\nline",
      H: "x",
      I: "has=equals",
    });
  });

  it("accepts CRLF line endings and a BOM", () => {
    expect(parseDotenv("\uFEFFA=1\r\nB=2\r\n")).toEqual({ A: "1", B: "2" });
  });

  it("names the line, never the value, when a line is bad", () => {
    for (const [text, line] of [
      [`A=1\n1BAD=${SECRET}`, 2],
      [`A=1\n\nB-C=${SECRET}`, 3],
      [`${SECRET}`, 1],
      [`A='${SECRET}`, 1],
      [`A="${SECRET}`, 1],
      [`A='${SECRET}' trailing${SECRET}`, 1],
    ] as const) {
      const msg = messageOf(() => parseDotenv(text, "x.env"));
      expect(msg).toContain(`x.env, line ${line}`);
      expect(msg).not.toContain(SECRET);
    }
  });

  it("rejects values over 64 KiB without echoing them", () => {
    const big = "Z".repeat(64 * 1024 + 1);
    const msg = messageOf(() => parseDotenv(`BIG=${big}`));
    expect(msg).toContain("BIG");
    expect(msg).toContain("64 KiB");
    expect(msg).not.toContain("ZZZZZZZZ");
  });
});

describe("parseVarFlags", () => {
  it("K=V and bare K from the environment; later wins", () => {
    expect(parseVarFlags(["A=1", "B", "A=2", "C=x=y"], { B: "from-env" })).toEqual({ A: "2", B: "from-env", C: "x=y" });
  });

  it("rejects bad names and unset variables without echoing values", () => {
    const msg = messageOf(() => parseVarFlags([`1A=${SECRET}`]));
    expect(msg).toContain('"1A"');
    expect(msg).not.toContain(SECRET);
    expect(messageOf(() => parseVarFlags(["MISSING"], {}))).toContain("not set");
    expect(messageOf(() => parseVarFlags([`A=${"q".repeat(64 * 1024 + 1)}`]))).toContain("64 KiB");
  });

  it("--unset names", () => {
    expect(parseUnsetFlags(["A", "A", "B"])).toEqual(["A", "B"]);
    expect(() => parseUnsetFlags(["no-dash"])).toThrow(/not a valid variable name/);
  });
});
