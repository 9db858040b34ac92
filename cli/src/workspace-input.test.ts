import { describe, expect, it } from "vitest";
import { startInput } from "./commands/sessions.js";
import { parseWorkspacePath } from "./commands/workspaces.js";

describe("start --workspace", () => {
  const base = { billing: "subscription" as const, env: [] };
  it("makes -p and -d optional; explicit flags are passed through to win on the server", () => {
    expect(startInput({ ...base, workspace: "app" }, [], {})).toMatchObject({ workspace: "app", provider: undefined, cwd: undefined });
    expect(startInput({ ...base, workspace: "app", provider: "codex", dir: "/other" }, [], {})).toMatchObject({ workspace: "app", provider: "codex", cwd: "/other" });
  });
  it("still requires -p and -d without a workspace, and refuses a relative -d either way", () => {
    expect(() => startInput({ ...base, dir: "/src" }, [], {})).toThrow(/--provider/);
    expect(() => startInput({ ...base, provider: "codex" }, [], {})).toThrow(/--dir/);
    expect(() => startInput({ ...base, workspace: "app", dir: "src" }, [], {})).toThrow(/relative path/);
  });
});

describe("workspace --path", () => {
  it("must be absolute", () => {
    expect(parseWorkspacePath("/srv/app")).toBe("/srv/app");
    expect(() => parseWorkspacePath("srv/app")).toThrow(/relative path/);
    expect(() => parseWorkspacePath("~/app")).toThrow(/relative path/);
  });
});
