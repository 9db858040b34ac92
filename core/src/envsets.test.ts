import { describe, expect, it } from "vitest";
import { parseDotenv } from "./envsets.js";

const SECRET = "s3cr3t-in-a-dotenv";

describe("parseDotenv (shared by the CLI and the dashboard)", () => {
  it("reports every bad line with its number, keeps the good ones, and never echoes a value", () => {
    const text = [`GOOD=1`, `1BAD=${SECRET}`, `NOEQUALS ${SECRET}`, `Q='${SECRET}' tail${SECRET}`, `BIG=${"Z".repeat(64 * 1024 + 1)}`, `LATER=2`, `GOOD=3`].join("\n");
    const { vars, problems } = parseDotenv(text);
    expect(vars).toEqual([
      { name: "LATER", value: "2", line: 6 },
      { name: "GOOD", value: "3", line: 7 },
    ]);
    expect(problems.map((p) => p.line)).toEqual([2, 3, 4, 5]);
    expect(problems[0]!.message).toContain("not a valid variable name");
    expect(problems[3]!.message).toContain("64 KiB");
    for (const p of problems) {
      expect(p.message).not.toContain(SECRET);
      expect(p.message).not.toContain("ZZZZZZZZ");
    }
  });

  it("an unterminated double quote is reported at its line and ends the parse", () => {
    const { vars, problems } = parseDotenv(`A=1\nB="${SECRET}\nC=2`);
    expect(vars).toEqual([{ name: "A", value: "1", line: 1 }]);
    expect(problems).toEqual([{ line: 2, message: "B: unterminated double quote" }]);
  });

  it("a multi-line double-quoted value keeps its first line's number", () => {
    expect(parseDotenv(`X="a\nb"\nY=2`).vars).toEqual([
      { name: "X", value: "a\nb", line: 1 },
      { name: "Y", value: "2", line: 3 },
    ]);
  });
});
