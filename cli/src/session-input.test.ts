import { describe, expect, it } from "vitest";
import { AppError, SESSION_LIMITS } from "@codepiper/core";
import { startInput } from "./commands/sessions.js";
import { FrameSink, splitAtDetach } from "./commands/terminal.js";
import { logLine, summarize } from "./commands/logs.js";
import { checkKeyNames, checkTextSize, parseDimension, parseEnvFlags, parseHostDir, parseModel, parseSlash, parseWorktree, readStdinText } from "./session-input.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? err.code : "not an AppError";
  }
  return undefined;
}

describe("--env", () => {
  it("takes K=V literally, splitting at the first =", () => {
    expect(parseEnvFlags(["A=1", "B=x=y", "C="], {})).toEqual({ A: "1", B: "x=y", C: "" });
  });
  it("takes a bare K from the local environment, so secrets stay out of argv", () => {
    expect(parseEnvFlags(["TOKEN"], { TOKEN: "s3cret" })).toEqual({ TOKEN: "s3cret" });
  });
  it("rejects a bare K that is not set, naming it", () => {
    expect(() => parseEnvFlags(["MISSING"], {})).toThrow(/MISSING is not set/);
  });
  it("rejects invalid names", () => {
    for (const flag of ["1A=x", "=x", "A-B=1", "has space=1", ""]) expect(codeOf(() => parseEnvFlags([flag], {}))).toBe("CODEPIPER_BAD_INPUT");
  });
  it("later flags win", () => {
    expect(parseEnvFlags(["A=1", "A=2"], {})).toEqual({ A: "2" });
  });
});

describe("-d (a directory on the host)", () => {
  it("accepts absolute paths", () => {
    expect(parseHostDir("/srv/app")).toBe("/srv/app");
  });
  it("rejects relative paths and ~, saying why", () => {
    for (const dir of ["app", "./app", "../x", "~/app", ""]) {
      expect(() => parseHostDir(dir)).toThrow(/relative path: the directory is on the host/);
    }
  });
});

describe("--worktree / --create-branch", () => {
  it("needs both", () => {
    expect(() => parseWorktree(true, undefined)).toThrow(/--worktree needs --create-branch/);
    expect(() => parseWorktree(false, "b")).toThrow(/--create-branch only makes sense with --worktree/);
    expect(parseWorktree(undefined, undefined)).toBeUndefined();
    expect(parseWorktree(true, "feat/x-1")).toEqual({ branch: "feat/x-1" });
  });
  it("rejects bad branch names", () => {
    expect(() => parseWorktree(true, "-x")).toThrow(/must not start with '-'/);
    expect(() => parseWorktree(true, "a..b")).toThrow(/'\.\.'/);
    expect(() => parseWorktree(true, "has space")).toThrow(/spaces/);
    expect(() => parseWorktree(true, "x.lock")).toThrow(/\.lock/);
  });
});

describe("start input", () => {
  const base = { provider: "codex" as const, dir: "/src", billing: "subscription" as const, env: [] };
  it("builds the server input with defaults", () => {
    const input = startInput({ ...base, env: ["K=v"], model: "opus", cols: "120", rows: "40", validate: true }, ["--search"], {});
    expect(input).toMatchObject({ provider: "codex", cwd: "/src", env: { K: "v" }, model: "opus", args: ["--search"], cols: 120, rows: 40, validateOnly: true, dangerous: false });
  });
  it("rejects bad names, models and sizes before any network call", () => {
    expect(() => startInput({ ...base, name: "-bad" }, [], {})).toThrow(/--name/);
    expect(() => startInput({ ...base, model: "op us" }, [], {})).toThrow(/--model/);
    expect(() => startInput({ ...base, cols: "5" }, [], {})).toThrow(/--cols "5"/);
    expect(() => startInput({ ...base, rows: "abc" }, [], {})).toThrow(/--rows/);
  });
});

describe("send text size", () => {
  it("accepts exactly 1 MiB and rejects one byte more", () => {
    expect(checkTextSize("a".repeat(SESSION_LIMITS.textBytes)).length).toBe(SESSION_LIMITS.textBytes);
    expect(codeOf(() => checkTextSize("a".repeat(SESSION_LIMITS.textBytes + 1)))).toBe("CODEPIPER_PAYLOAD_TOO_LARGE");
  });
  it("counts UTF-8 bytes, not characters", () => {
    expect(codeOf(() => checkTextSize("é".repeat(SESSION_LIMITS.textBytes / 2 + 1)))).toBe("CODEPIPER_PAYLOAD_TOO_LARGE");
  });
  it("reads stdin minus one trailing newline, and stops over the limit", async () => {
    async function* chunks(parts: string[]) {
      for (const p of parts) yield Buffer.from(p);
    }
    expect(await readStdinText(chunks(["hello ", "world\n"]))).toBe("hello world");
    expect(await readStdinText(chunks(["two\n\n"]))).toBe("two\n");
    await expect(readStdinText(chunks([Array(SESSION_LIMITS.textBytes / 1024 + 1).fill("x".repeat(1024)).join("")]))).rejects.toMatchObject({ code: "CODEPIPER_PAYLOAD_TOO_LARGE" });
  });
});

describe("keys", () => {
  it("accepts known names, case-insensitively, normalized", () => {
    expect(checkKeyNames(["Ctrl+C", "enter", "escape", "up", "f12", "alt+x"])).toEqual(["ctrl+c", "enter", "escape", "up", "f12", "alt+x"]);
  });
  it("rejects an unknown name (and the whole list with it), listing the valid ones", () => {
    expect(() => checkKeyNames(["enter", "ctrl+shift+x"])).toThrow(/unknown key "ctrl\+shift\+x": expected one of enter/);
    expect(() => checkKeyNames(["MouseDown1Pane"])).toThrow(/unknown key/);
  });
  it("rejects too many keys in one call", () => {
    expect(() => checkKeyNames(Array(SESSION_LIMITS.keysPerCall + 1).fill("up"))).toThrow(/at most/);
  });
});

describe("slash, model, resize", () => {
  it("slash", () => {
    expect(parseSlash("/model", ["opus"])).toEqual({ command: "model", args: "opus" });
    expect(parseSlash("compact", [])).toEqual({ command: "compact", args: "" });
    expect(() => parseSlash("rm -rf", [])).toThrow(/slash command/);
    expect(() => parseSlash("x", ["a\nb"])).toThrow(/one line/);
  });
  it("model", () => {
    expect(parseModel("claude-opus-4-1[1m]")).toBe("claude-opus-4-1[1m]");
    expect(() => parseModel("opus; rm")).toThrow(/model alias/);
  });
  it("dimensions", () => {
    expect(parseDimension("80", "cols", 2)).toBe(80);
    for (const v of ["1", "1001", "8.5", "-3", "x", ""]) expect(codeOf(() => parseDimension(v, "cols", 2))).toBe("CODEPIPER_BAD_INPUT");
  });
});

describe("attach plumbing", () => {
  it("splits keyboard input at the detach key (ctrl+])", () => {
    expect(splitAtDetach(Buffer.from("ab"))).toEqual({ send: Buffer.from("ab"), detach: false });
    const r = splitAtDetach(Buffer.from("ab\x1dcd"));
    expect(r.detach).toBe(true);
    expect(r.send.toString()).toBe("ab");
  });
  it("writes a snapshot, then newer output; after resync waits for the next snapshot", () => {
    const sink = new FrameSink(false);
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    expect(sink.apply({ kind: "output", seq: 1, data: b64("early") }).write).toBeNull();
    expect(sink.apply({ kind: "snapshot", seq: 2, data: b64("SCREEN"), cols: 80, rows: 24, cursorX: 0, cursorY: 0, alternateScreen: false }).write?.toString()).toBe("SCREEN");
    expect(sink.apply({ kind: "output", seq: 2, data: b64("dup") }).write).toBeNull();
    expect(sink.apply({ kind: "output", seq: 3, data: b64("new") }).write?.toString()).toBe("new");
    expect(sink.apply({ kind: "resync", reason: "overflow" }).write).toBeNull();
    expect(sink.apply({ kind: "output", seq: 4, data: b64("lost") }).write).toBeNull();
    expect(sink.apply({ kind: "snapshot", seq: 5, data: b64("S2"), cols: 80, rows: 24, cursorX: 0, cursorY: 0, alternateScreen: false }).write?.toString()).toBe("S2");
    expect(sink.apply({ kind: "ended", reason: "exited" })).toEqual({ write: null, ended: "exited" });
  });
});

describe("logs lines", () => {
  it("formats #id time type summary", () => {
    expect(logLine({ id: 7, at: "2025-01-01T00:00:00.000Z", type: "session.state", payload: { state: "idle", reason: "hook:Stop" } })).toBe("#7 2025-01-01T00:00:00.000Z session.state idle (hook:Stop)");
    expect(summarize("hook.Notification", { a: 1 })).toBe('{"a":1}');
    expect(summarize("x", { text: "a".repeat(500) }).length).toBe(160);
  });
});
