import { describe, expect, it } from "vitest";
import { isKeyName, KEY_NAMES, parseKeys, tmuxKeyFor } from "./keys.js";

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
