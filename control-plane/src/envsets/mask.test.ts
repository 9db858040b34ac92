import { describe, expect, it } from "vitest";
import { messageOf } from "../../../tests/src/support/errors.js";
import { checkVars, maskValue } from "./mask.js";

const SECRET = "very-secret-value-1234";

describe("maskValue", () => {
  it("shows the last 4 characters of values of 12 characters or more", () => {
    expect(maskValue(SECRET)).toBe("****1234");
    expect(maskValue("abcdefghijkl")).toBe("****ijkl");
  });
  it("shows **** alone for short values (at most a third of a value is ever revealed)", () => {
    for (const v of ["", "a", "abcd", "abcde", "abcdefghijk"]) expect(maskValue(v)).toBe("****");
  });
  it("does not split a surrogate pair", () => {
    expect(maskValue("0123456789ab😀")).toBe("****9ab😀");
  });
});

describe("checkVars", () => {
  it("accepts valid names and sizes", () => {
    expect(checkVars({ A: "1", _b2: "x".repeat(64 * 1024) })).toEqual({ A: "1", _b2: "x".repeat(64 * 1024) });
  });
  it("rejects bad names, oversized values, too many variables, too large a total; never echoing a value", () => {
    const cases: Record<string, string>[] = [{ "1A": SECRET }, { "A-B": SECRET }, { "": SECRET }, { BIG: `${SECRET}${"x".repeat(64 * 1024)}` }, { A: `${SECRET}\0` }];
    for (const vars of cases) {
      const msg = messageOf(() => checkVars(vars));
      expect(msg).not.toContain(SECRET);
    }
    expect(messageOf(() => checkVars(Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`V${i}`, "x"]))))).toContain("at most 500");
    const five = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`V${i}`, `${SECRET}${"y".repeat(60 * 1024)}`]));
    const msg = messageOf(() => checkVars(five));
    expect(msg).toContain("256 KiB");
    expect(msg).not.toContain(SECRET);
  });
});
