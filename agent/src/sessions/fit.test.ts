import { describe, expect, it } from "vitest";
import { fitPayload } from "./fit.js";

const bytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v), "utf8");

describe("fitPayload", () => {
  it("returns the payload itself, unmarked, when it fits", () => {
    const flat = { text: "hello", n: 1, ok: true, none: null };
    expect(fitPayload(flat, 1000)).toBe(flat);
    const nested = { tool_input: { command: "ls", args: ["-l", "-a"] }, tool_name: "Bash" };
    expect(fitPayload(nested, bytes(nested))).toBe(nested);
    expect(fitPayload(nested, bytes(nested))).not.toHaveProperty("truncated");
  });

  it.each([
    ["ASCII", "x"],
    ["2-byte UTF-8", "é"],
    ["3-byte UTF-8", "€"],
    ["4-byte UTF-8 (surrogate pairs)", "😀"],
    ["6-byte JSON escapes", "\u0001"],
  ])("respects the byte budget for %s", (_name, unit) => {
    for (const max of [100, 1_000, 4_096, 60_000]) {
      const out = fitPayload({ text: unit.repeat(100_000), id: "m1" }, max);
      expect(bytes(out)).toBeLessThanOrEqual(max);
      expect(out).toMatchObject({ truncated: true, id: "m1" });
      const text = out.text as string;
      expect(text).toMatch(/…\[cut \d+ chars\]$/);
      // Never a lone surrogate: the cut text survives a UTF-8 round trip unchanged.
      expect(Buffer.from(text, "utf8").toString("utf8")).toBe(text);
      // A large budget keeps most of it (only strings are cut, as little as needed).
      if (max === 60_000) expect(bytes(out)).toBeGreaterThan(max - 200);
    }
  });

  it("cuts nested strings in objects and arrays, the longest first, and says how much was cut", () => {
    const long = "a".repeat(50_000);
    const payload = { tool_name: "Write", tool_input: { file_path: "/tmp/x", content: long, edits: [{ old: "b".repeat(30_000), new: "short" }] } };
    const out = fitPayload(payload, 20_000) as { tool_name: string; truncated: boolean; tool_input: { file_path: string; content: string; edits: { old: string; new: string }[] } };
    expect(bytes(out)).toBeLessThanOrEqual(20_000);
    expect(out.truncated).toBe(true);
    expect(out.tool_name).toBe("Write");
    expect(out.tool_input.file_path).toBe("/tmp/x");
    expect(out.tool_input.edits[0]!.new).toBe("short");
    const cutCount = (s: string): number => Number(/…\[cut (\d+) chars\]$/.exec(s)?.[1]);
    expect(out.tool_input.content.startsWith("aaaa")).toBe(true);
    expect(cutCount(out.tool_input.content)).toBe(50_000 - out.tool_input.content.indexOf("…"));
    expect(out.tool_input.edits[0]!.old.startsWith("bbbb")).toBe(true);
    expect(cutCount(out.tool_input.edits[0]!.old)).toBe(30_000 - out.tool_input.edits[0]!.old.indexOf("…"));
    // The original is untouched.
    expect(payload.tool_input.content).toBe(long);
  });

  it("does not cut short strings when cutting a long one is enough", () => {
    const out = fitPayload({ a: "x".repeat(10_000), b: "y".repeat(3_000), c: "keep" }, 8_000);
    expect(bytes(out)).toBeLessThanOrEqual(8_000);
    expect(out.b).toBe("y".repeat(3_000));
    expect(out.c).toBe("keep");
    expect(out.a).toMatch(/^x+…\[cut \d+ chars\]$/);
  });

  it("turns `asText` keys into their JSON text before cutting", () => {
    const out = fitPayload({ id: "t", name: "Write", input: { content: "\u0001".repeat(60_000) } }, 10_000, { asText: ["input"] });
    expect(bytes(out)).toBeLessThanOrEqual(10_000);
    expect(out).toMatchObject({ id: "t", name: "Write", truncated: true, input: expect.stringMatching(/^\{"content":"\\u0001/) });
    // …but only when something has to be cut.
    const small = { input: { a: 1 } };
    expect(fitPayload(small, 1_000, { asText: ["input"] })).toBe(small);
  });

  it("shortens long arrays when cutting strings is not enough", () => {
    const out = fitPayload({ tool_name: "Read", lines: Array.from({ length: 50_000 }, (_, i) => i) }, 10_000);
    expect(bytes(out)).toBeLessThanOrEqual(10_000);
    expect(out).toMatchObject({ tool_name: "Read", truncated: true });
    expect((out.lines as number[]).slice(0, 3)).toEqual([0, 1, 2]);
  });

  it("falls back to a summary that still fits when nothing can be cut enough", () => {
    const many = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`key${i}`, i]));
    const out = fitPayload(many, 1_000);
    expect(bytes(out)).toBeLessThanOrEqual(1_000);
    expect(out).toMatchObject({ truncated: true, note: "payload too large to keep" });
    expect((out.keys as string[])[0]).toBe("key0");
    expect(bytes(fitPayload(many, 20))).toBeLessThanOrEqual(20);
  });
});
