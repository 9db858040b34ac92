import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ProviderFact } from "@codepiper/core";
import { validateStart } from "./workspace.js";

const claude: ProviderFact = { id: "claude-code", path: "/bin/true", version: "9.9.9", channels: [] };

function repo(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "codepiper-validate-")), "repo");
  mkdirSync(dir);
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=t@e.st", "-c", "user.name=t", ...args], { cwd: dir });
  git("init", "-q", "-b", "main");
  writeFileSync(join(dir, "README"), "hi\n");
  git("add", "README");
  git("commit", "-q", "-m", "init");
  git("branch", "taken");
  return realpathSync(dir);
}

describe("validateStart", () => {
  it("all: every check with its own verdict, nothing thrown", async () => {
    const v = await validateStart({ provider: "codex", cwd: "/nonexistent/codepiper-test/dir", worktree: { branch: "b" }, all: true }, [claude]);
    expect(v.ok).toBe(false);
    expect(v.checks.map((c) => [c.id, c.ok, c.skipped, c.code])).toEqual([
      ["provider", false, false, "CODEPIPER_PROVIDER_MISSING"],
      ["directory", false, false, "CODEPIPER_NOT_FOUND"],
      ["worktree", false, true, null],
    ]);
    expect(v).toMatchObject({ cwd: null, provider: null, git: null });
  });

  it("all: a taken branch fails only the worktree check", async () => {
    const dir = repo();
    const v = await validateStart({ provider: "claude-code", cwd: dir, worktree: { branch: "taken" }, all: true }, [claude]);
    expect(v.checks.map((c) => [c.id, c.ok])).toEqual([["provider", true], ["directory", true], ["worktree", false]]);
    expect(v.checks[2]).toMatchObject({ code: "CODEPIPER_CONFLICT", detail: expect.stringMatching(/branch taken already exists/) });
    expect(v.provider).toEqual({ id: "claude-code", path: "/bin/true", version: "9.9.9" });
    expect(v.cwd).toBe(dir);
  });

  it("all: a valid start passes every check", async () => {
    const dir = repo();
    const v = await validateStart({ provider: "claude-code", cwd: dir, worktree: { branch: "fresh" }, all: true }, [claude]);
    expect(v.ok).toBe(true);
    expect(v.checks.every((c) => c.ok)).toBe(true);
    expect(v.git).toEqual({ root: dir, branchExists: false });
  });

  it("without all (a real start, an older control plane): throws the first problem, as before", async () => {
    await expect(validateStart({ provider: "codex", cwd: "/nonexistent/codepiper-test/dir", worktree: null }, [claude])).rejects.toMatchObject({ code: "CODEPIPER_PROVIDER_MISSING" });
    await expect(validateStart({ provider: "claude-code", cwd: "/nonexistent/codepiper-test/dir", worktree: null }, [claude])).rejects.toMatchObject({ code: "CODEPIPER_NOT_FOUND" });
    await expect(validateStart({ provider: "claude-code", cwd: repo(), worktree: { branch: "taken" } }, [claude])).rejects.toMatchObject({ code: "CODEPIPER_CONFLICT" });
  });
});
