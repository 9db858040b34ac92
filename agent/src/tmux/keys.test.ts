import { describe, expect, it } from "vitest";
import { isInterrupt, isInterruptKey, isKeyName, KEY_NAMES, parseKeys, tmuxKeyFor } from "./keys.js";

describe("key table", () => {
  it("maps every named key", () => {
    expect(parseKeys(["enter", "escape", "tab", "backspace", "up", "down", "left", "right", "home", "end", "pageup", "pagedown", "space"])).toEqual([
      "Enter", "Escape", "Tab", "BSpace", "Up", "Down", "Left", "Right", "Home", "End", "PPage", "NPage", "Space",
    ]);
  });

  it("maps ctrl and alt letters and f1–f12, case-insensitively", () => {
    expect(tmuxKeyFor("ctrl+c")).toBe("C-c");
    expect(tmuxKeyFor(" Ctrl+C ")).toBe("C-c");
    expect(tmuxKeyFor("alt+x")).toBe("M-x");
    expect(tmuxKeyFor("f1")).toBe("F1");
    expect(tmuxKeyFor("F12")).toBe("F12");
  });

  it.each(["", "f0", "f13", "ctrl+", "ctrl+1", "ctrl+ab", "shift+a", "alt+ctrl+a", "C-c", "Enter;", "toString", "__proto__", "constructor", "q"])("rejects %j", (name) => {
    expect(tmuxKeyFor(name)).toBeUndefined();
    expect(isKeyName(name)).toBe(false);
  });

  it("rejects the whole list and names the unknown key", () => {
    expect(() => parseKeys(["enter", "ctrl+shift+z"])).toThrow(/unknown key "ctrl\+shift\+z"/);
    expect(() => parseKeys([])).toThrow(/no keys/);
  });

  it("lists what is accepted", () => {
    expect(KEY_NAMES).toContain("enter");
    expect(KEY_NAMES).toContain("ctrl+<a-z>");
  });
});

describe("interrupts", () => {
  it.each([
    ["escape", true],
    [" Escape ", true],
    ["ctrl+c", true],
    ["CTRL+C", true],
    ["enter", false],
    ["ctrl+d", false],
    ["alt+c", false],
  ])("named key %j → %s", (name, expected) => {
    expect(isInterruptKey(name)).toBe(expected);
  });

  const b = (s: string): Buffer => Buffer.from(s, "latin1");
  it.each([
    ["\x1b", true], // lone Escape (what xterm sends for the Escape key)
    ["\x03", true], // Ctrl+C
    ["abc\x03", true], // Ctrl+C inside a burst of typing
    ["\x03\x03", true],
    ["\x1b\x03", true],
    ["\x1b[A", false], // arrow up: an escape sequence, not an Escape
    ["\x1bx", false], // alt+x
    ["\x1b\x1b", false], // not exactly a lone Escape
    ["\x1b[200~pasted\x1b[201~", false], // bracketed paste
    ["\r", false],
    ["q", false],
    ["", false],
  ])("raw %j → %s", (data, expected) => {
    expect(isInterrupt(b(data))).toBe(expected);
  });

  it("accepts any Uint8Array", () => {
    expect(isInterrupt(new Uint8Array([0x1b]))).toBe(true);
    expect(isInterrupt(new Uint8Array([0x61, 0x03]))).toBe(true);
    expect(isInterrupt(new Uint8Array([]))).toBe(false);
  });
});
