import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet, expectOk, tempDir } from "../support/index.js";

/**
 * The session commands of the CLI against bad input, end to end with real processes: a control
 * plane and one linked agent whose host "has" Claude Code (a stand-in binary) but no Codex. No
 * session is ever started, so no provider CLI or tmux session is needed. Local checks (relative
 * directory, branch names, text size, key names) must fail before any network call; host-side
 * checks (missing directory, missing provider) come back with their documented exit codes.
 */

let fleet: Fleet;
let projectDir: string;

beforeAll(async () => {
  fleet = await Fleet.start();
  projectDir = tempDir("codepiper-cli-input-");
  // The agent finds provider binaries through CODEPIPER_<ID>_BIN, else PATH (agent/src/facts.ts).
  await fleet.run("h1", { env: { CODEPIPER_CLAUDE_CODE_BIN: "/bin/true", CODEPIPER_CODEX_BIN: "/nonexistent/codepiper-test/codex" } });
});

afterAll(async () => {
  await fleet?.close();
});

async function sessionCount(): Promise<number> {
  return expectOk(await fleet.cli(["sessions", "--json"])).json<unknown[]>().length;
}

describe("codepiper start: bad input", () => {
  it("rejects a relative -d, explaining that the directory is on the host", async () => {
    const res = await fleet.cli(["start", "-p", "claude-code", "-d", "projects/app"]);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr).toContain('-d "projects/app" is a relative path: the directory is on the host');
    const json = await fleet.cli(["start", "-p", "claude-code", "-d", "~/app", "--json"]);
    expect(json.code).toBe(2);
    expect(json.error()).toMatchObject({ code: "CODEPIPER_BAD_INPUT" });
  });

  it("reports a directory missing on the host with exit 4", async () => {
    const res = await fleet.cli(["start", "-p", "claude-code", "-d", "/nonexistent/codepiper-test/dir", "--json"]);
    expect(res.code).toBe(4);
    expect(res.error()).toMatchObject({ code: "CODEPIPER_NOT_FOUND" });
    expect(res.error()?.message).toMatch(/\/nonexistent\/codepiper-test\/dir does not exist/);
    expect(await sessionCount()).toBe(0);
  });

  it.each([
    ["-x", /must not start with '-'/],
    ["a..b", /must not contain '\.\.'/],
    ["has space", /must not contain spaces/],
  ])("rejects the branch name %j", async (branch, message) => {
    const res = await fleet.cli(["start", "-p", "claude-code", "-d", projectDir, "--worktree", "--create-branch", branch, "--json"]);
    expect(res.code).toBe(2);
    expect(res.error()?.code).toBe("CODEPIPER_BAD_INPUT");
    expect(res.error()?.message).toMatch(message);
  });

  it("rejects --worktree without --create-branch", async () => {
    const res = await fleet.cli(["start", "-p", "claude-code", "-d", projectDir, "--worktree"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("--worktree needs --create-branch");
  });

  it("rejects --env NAME when NAME is not set locally", async () => {
    const res = await fleet.cli(["start", "-p", "claude-code", "-d", projectDir, "--env", "CODEPIPER_TEST_UNSET_VAR"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("CODEPIPER_TEST_UNSET_VAR is not set");
  });

  it("reports a provider missing on the host with exit 4, naming what it has", async () => {
    const res = await fleet.cli(["start", "-p", "codex", "-d", projectDir, "--json"]);
    expect(res.code).toBe(4);
    expect(res.error()?.code).toBe("CODEPIPER_PROVIDER_MISSING");
    expect(res.error()?.message).toMatch(/no codex CLI/);
    expect(res.error()?.message).toMatch(/claude-code/);
  });

  it("--validate checks everything and creates nothing", async () => {
    const res = expectOk(await fleet.cli(["start", "-p", "claude-code", "-d", projectDir, "--env", "FOO=bar", "--validate", "--json"]));
    const body = res.json<{ session: unknown; validation: { ok: boolean; cwd: string; provider: { id: string; path: string }; checks: { id: string; ok: boolean; detail: string; code: string | null }[] } }>();
    expect(body.session).toBeNull();
    expect(body.validation).toMatchObject({ ok: true, provider: { id: "claude-code", path: "/bin/true" } });
    // Every check, each with its own verdict.
    expect(body.validation.checks.map((c) => c.id)).toEqual(["host", "provider", "name", "directory", "worktree", "policySets", "envSets"]);
    expect(body.validation.checks.filter((c) => !c.ok)).toEqual([]);
    expect(body.validation.checks.find((c) => c.id === "provider")?.detail).toMatch(/claude-code .* is installed at \/bin\/true/);
    expect(body.validation.checks.find((c) => c.id === "directory")?.detail).toContain(body.validation.cwd);
    const human = expectOk(await fleet.cli(["start", "-p", "claude-code", "-d", projectDir, "--validate"]));
    expect(human.stdout).toMatch(/^✓ host +h1 is online and linked/m);
    expect(human.stdout).toMatch(/^✓ directory +/m);
    expect(human.stdout).not.toContain("✗");
    expect(human.stdout).toContain("every check passed; nothing was created");
    expect(await sessionCount()).toBe(0);
  });

  it("--validate reports every problem at once, not only the first, and exits with the first one's code", async () => {
    const res = await fleet.cli(["start", "-p", "codex", "-d", "/nonexistent/codepiper-test/dir", "--worktree", "--create-branch", "fix-1", "--policy-set", "no-such-set", "--validate", "--json"]);
    expect(res.code).toBe(4);
    expect(res.error()?.code).toBe("CODEPIPER_PROVIDER_MISSING");
    const v = res.json<{ validation: { ok: boolean; checks: { id: string; ok: boolean; skipped: boolean; code: string | null; detail: string }[] } }>().validation;
    expect(v.ok).toBe(false);
    expect(v.checks.map((c) => [c.id, c.ok, c.skipped])).toEqual([
      ["host", true, false],
      ["provider", false, false],
      ["name", true, false],
      ["directory", false, false],
      // Needs the directory: not checked, and said so.
      ["worktree", false, true],
      ["policySets", false, false],
      ["envSets", true, false],
    ]);
    expect(v.checks.find((c) => c.id === "policySets")).toMatchObject({ code: "CODEPIPER_NOT_FOUND", detail: expect.stringMatching(/no-such-set/) });
    expect(await sessionCount()).toBe(0);
  });
});

describe("input commands: bad input", () => {
  it("rejects text over 1 MiB on stdin with exit 2, before sending anything", async () => {
    const res = await fleet.cli(["send", "00000000-0000-4000-8000-000000000000", "-", "--json"], { stdin: "a".repeat(1024 * 1024 + 10) });
    expect(res.code).toBe(2);
    expect(res.error()?.code).toBe("CODEPIPER_PAYLOAD_TOO_LARGE");
    expect(res.error()?.message).toMatch(/1 MiB/);
  });

  it("rejects an unknown key name with exit 2, listing the valid ones", async () => {
    const res = await fleet.cli(["keys", "00000000", "enter", "ctrl+shift+q"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('unknown key "ctrl+shift+q"');
    expect(res.stderr).toContain("ctrl+<a-z>");
  });

  it("reports an unknown session with exit 4 from every command", async () => {
    const missing = "0badc0de";
    for (const args of [
      ["send", missing, "hello"],
      ["keys", missing, "enter"],
      ["slash", missing, "compact"],
      ["resize", missing, "100", "30"],
      ["tail", missing],
      ["logs", missing],
      ["model", missing],
      ["stop", missing],
      ["kill", missing],
      ["resume", missing],
      ["rename", missing, "new-name"],
      ["attach", missing, "--follow"],
    ]) {
      const res = await fleet.cli([...args, "--json"]);
      expect({ args, code: res.code }).toEqual({ args, code: 4 });
      expect(res.error()).toMatchObject({ code: "CODEPIPER_NOT_FOUND" });
      expect(res.error()?.message).toContain(missing);
    }
  });

  it("refuses an interactive attach without a terminal (exit 2), pointing to --follow and send/keys", async () => {
    const res = await fleet.cli(["attach", "0badc0de"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/not a terminal.*--follow.*send/);
  });

  it("rejects bad dimensions, slash commands and models locally", async () => {
    expect((await fleet.cli(["resize", "0badc0de", "0", "30"])).code).toBe(2);
    expect((await fleet.cli(["slash", "0badc0de", "rm -rf"])).code).toBe(2);
    expect((await fleet.cli(["model", "0badc0de", "opus;rm"])).code).toBe(2);
  });
});
