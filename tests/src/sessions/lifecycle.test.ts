/**
 * Session lifecycle and faults through the real CLI, control plane and agent, with the scripted
 * fake provider (fast and deterministic; the real Claude Code and Codex run in claude.test.ts and
 * codex.test.ts): exit codes, missing provider, bad transcript lines, worktrees, terminal
 * streaming under a burst, id prefixes.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk, Fleet, listFiles, spawnCli, tempDir, waitFor } from "../support/index.js";
import { getSession, runFakeProviderHost, sessionLogs, startSession, waitPane, waitSessionStatus, type FakeProviderHost } from "../support/sessions.js";


describe("session lifecycle with the scripted provider", () => {
  let fleet: Fleet;
  let host: FakeProviderHost;

  beforeAll(async () => {
    fleet = await Fleet.start();
    host = await runFakeProviderHost(fleet, "h1");
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it("start → idle → send → reply, hook/transcript/state/terminal events in logs, usage recorded, stop, resume", async () => {
    const s = await startSession(fleet, [...host.startArgs(), "--name", "life-1"]);
    expect(s.status).toBe("starting");
    await waitSessionStatus(fleet, s.id, "idle");
    expectOk(await fleet.cli(["send", s.id.slice(0, 8), "hello lifecycle"]));
    await waitPane(fleet, s.id, "fake reply to: hello lifecycle");
    const hooks = await waitFor(async () => {
      const ev = await sessionLogs(fleet, s.id, "hook");
      return ev.some((e) => e.type === "hook.stop") ? ev : undefined;
    }, { what: "Stop hook event" });
    expect(hooks.map((e) => e.type)).toEqual(expect.arrayContaining(["hook.session_start", "hook.user_prompt_submit", "hook.stop"]));
    const transcript = await waitFor(async () => {
      const ev = await sessionLogs(fleet, s.id, "transcript");
      return ev.some((e) => e.payload.text === "fake reply to: hello lifecycle") ? ev : undefined;
    }, { what: "assistant message in the transcript events" });
    expect(transcript.some((e) => e.type === "transcript.message" && e.payload.role === "user" && e.payload.text === "hello lifecycle")).toBe(true);
    const terminal = await sessionLogs(fleet, s.id, "terminal");
    expect(terminal.some((e) => e.type === "terminal.input" && e.payload.kind === "text")).toBe(true);
    // Secrets-free input events: the text itself is not recorded there.
    expect(JSON.stringify(terminal)).not.toContain("hello lifecycle");
    const withUsage = await waitFor(async () => {
      const v = await getSession(fleet, s.id);
      return v.usage.responses === 1 ? v : undefined;
    }, { what: "usage recorded" });
    expect(withUsage.usage).toEqual({ inputTokens: 11, outputTokens: 7, cacheReadTokens: 2, cacheCreationTokens: 1, responses: 1 });

    const stopped = expectOk(await fleet.cli(["stop", "life-1", "--json"])).json<{ session: { status: string; exitCode: number | null } }>();
    expect(stopped.session.status).toBe("stopped");
    expect(stopped.session.exitCode).toBe(0);
    const sendAfter = await fleet.cli(["send", s.id, "too late"]);
    expect(sendAfter.code).toBe(6);
    expect(sendAfter.stderr).toMatch(/stopped/);

    expectOk(await fleet.cli(["resume", s.id]));
    await waitPane(fleet, s.id, "(resumed)");
    await waitSessionStatus(fleet, s.id, "idle");
    expectOk(await fleet.cli(["send", s.id, "after resume"]));
    await waitPane(fleet, s.id, "fake reply to: after resume");
    await waitFor(async () => (await getSession(fleet, s.id)).usage.responses === 2, { what: "second response counted once" });
    expectOk(await fleet.cli(["kill", s.id]));
    expect((await waitSessionStatus(fleet, s.id, "stopped")).status).toBe("stopped");
  });

  it("a provider exiting non-zero ends the session as crashed with its exit code", async () => {
    const s = await startSession(fleet, host.startArgs());
    await waitSessionStatus(fleet, s.id, "idle");
    expectOk(await fleet.cli(["send", s.id, "EXIT 3"]));
    const ended = await waitSessionStatus(fleet, s.id, "crashed");
    expect(ended.exitCode).toBe(3);
    expect(ended.error).toMatch(/status 3/);
  });

  it("a provider that is not installed on the host: the error lists what the host has", async () => {
    const res = await fleet.cli(["start", "-p", "codex", "-d", host.cwd, "--host", "h1"]);
    expect(res.code).toBe(4);
    expect(res.stderr).toMatch(/codex/);
    expect(res.stderr).toMatch(/claude-code 9\.9\.9/);
  });

  it("--validate reports every failed check at once: missing provider, taken name, missing directory", async () => {
    await startSession(fleet, [...host.startArgs(), "--name", "taken-name"]);
    const res = await fleet.cli(["start", "-p", "codex", "-d", "/nonexistent/codepiper-test/dir", "--host", "h1", "--name", "taken-name", "--env-set", "no-such-env", "--validate", "--json"]);
    // The exit code of the first failed check, i.e. what a real start would fail with (provider: 4).
    expect(res.code).toBe(4);
    expect(res.error()?.code).toBe("CODEPIPER_PROVIDER_MISSING");
    const body = res.json<{ session: null; validation: { ok: boolean; checks: { id: string; ok: boolean; detail: string; code: string | null }[] } }>();
    expect(body.session).toBeNull();
    expect(body.validation.ok).toBe(false);
    const byId = Object.fromEntries(body.validation.checks.map((c) => [c.id, c]));
    expect(body.validation.checks.map((c) => c.id)).toEqual(["host", "provider", "name", "directory", "worktree", "policySets", "envSets"]);
    expect(byId.host).toMatchObject({ ok: true });
    expect(byId.provider).toMatchObject({ ok: false, code: "CODEPIPER_PROVIDER_MISSING" });
    expect(byId.provider!.detail).toMatch(/no codex CLI/);
    expect(byId.name).toMatchObject({ ok: false, code: "CODEPIPER_CONFLICT" });
    expect(byId.name!.detail).toMatch(/taken-name/);
    expect(byId.directory).toMatchObject({ ok: false, code: "CODEPIPER_NOT_FOUND" });
    expect(byId.directory!.detail).toMatch(/\/nonexistent\/codepiper-test\/dir does not exist/);
    expect(byId.worktree).toMatchObject({ ok: true });
    expect(byId.envSets).toMatchObject({ ok: false, code: "CODEPIPER_NOT_FOUND" });
    expect(byId.policySets).toMatchObject({ ok: true });

    // The same in human form: one ✓/✗ line per check, then the first problem on stderr.
    const human = await fleet.cli(["start", "-p", "codex", "-d", "/nonexistent/codepiper-test/dir", "--host", "h1", "--name", "taken-name", "--validate"]);
    expect(human.code).toBe(4);
    expect(human.stdout).toMatch(/^✓ host +h1 is online/m);
    expect(human.stdout).toMatch(/^✗ provider +host h1 has no codex CLI/m);
    expect(human.stdout).toMatch(/^✗ name +.*taken-name/m);
    expect(human.stdout).toMatch(/^✗ directory +.*does not exist/m);
    expect(human.stdout).toContain("3 of 7 checks failed; nothing was created");
    expect(human.stderr).toMatch(/validation failed: provider: .*\[CODEPIPER_PROVIDER_MISSING\]/);

    // A real start still stops at the first problem, with the same code as before.
    const real = await fleet.cli(["start", "-p", "codex", "-d", "/nonexistent/codepiper-test/dir", "--host", "h1", "--name", "taken-name", "--json"]);
    expect(real.code).toBe(4);
    expect(real.error()?.code).toBe("CODEPIPER_PROVIDER_MISSING");
    expect(real.stdout).toBe("");
  });

  it("malformed and enormous transcript lines become warning events and tailing continues", async () => {
    const s = await startSession(fleet, host.startArgs());
    await waitSessionStatus(fleet, s.id, "idle");
    expectOk(await fleet.cli(["send", s.id, "BADLINES"]));
    const events = await waitFor(async () => {
      const ev = await sessionLogs(fleet, s.id, "transcript");
      return ev.some((e) => e.payload.text === "after the bad lines") ? ev : undefined;
    }, { what: "the line after the bad ones" });
    const warnings = events.filter((e) => e.type === "transcript.warning").map((e) => e.payload.reason);
    expect(warnings).toEqual(expect.arrayContaining(["malformed_json", "oversized"]));
  });

  it("worktree: --worktree --create-branch runs the session in a new git worktree; kill removes it", async () => {
    const repo = join(tempDir("codepiper-repo-"), "repo");
    mkdirSync(repo);
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=t@e.st", "-c", "user.name=t", ...args], { cwd: repo });
    git("init", "-q", "-b", "main");
    writeFileSync(join(repo, "README"), "hi\n");
    git("add", "README");
    git("commit", "-q", "-m", "init");
    const check = await fleet.cli([...host.startArgs({ cwd: repo }), "--worktree", "--create-branch", "feature/x", "--validate", "--json"]);
    expectOk(check);
    const checked = check.json<{ validation: { ok: boolean; checks: { id: string; ok: boolean; detail: string }[] } }>().validation;
    expect(checked.ok).toBe(true);
    expect(checked.checks.every((c) => c.ok)).toBe(true);
    expect(checked.checks.find((c) => c.id === "worktree")?.detail).toMatch(/branch feature\/x does not exist yet/);
    expect((await fleet.cli(["sessions", "--json"])).json<{ cwd: string }[]>().some((x) => x.cwd.includes("feature-x"))).toBe(false);
    const s = await startSession(fleet, [...host.startArgs({ cwd: repo }), "--worktree", "--create-branch", "feature/x"]);
    const worktree = join(`${repo}.worktrees`, "feature-x");
    await waitFor(() => existsSync(join(worktree, "README")), { what: "worktree checked out" });
    expect((await getSession(fleet, s.id)).cwd).toBe(worktree);
    expect(execFileSync("git", ["branch", "--list", "feature/x"], { cwd: repo }).toString()).toContain("feature/x");
    expectOk(await fleet.cli(["kill", s.id]));
    await waitFor(() => !existsSync(worktree), { what: "worktree removed on kill" });
    // Same branch again: it exists now, so validation says so instead of creating anything.
    const again = await fleet.cli([...host.startArgs({ cwd: repo }), "--worktree", "--create-branch", "feature/x", "--validate"]);
    expect(again.code).toBe(6);
    expect(again.stderr).toMatch(/already exists/);
    expect(again.stdout).toMatch(/^✗ worktree +branch feature\/x already exists/m);
    expect(again.stdout).toMatch(/^✓ directory /m);
  });

  it("terminal streaming: a 1 MiB burst reaches a follower whole, and input keys reach the pane", async () => {
    const s = await startSession(fleet, host.startArgs());
    await waitSessionStatus(fleet, s.id, "idle");
    const follower = spawnCli(["tail", s.id, "-f"], "tail-f", { CODEPIPER_CONFIG_DIR: fleet.configDir });
    try {
      await waitFor(() => follower.stdout.includes("? for shortcuts"), { what: "follower got the snapshot" });
      expectOk(await fleet.cli(["send", s.id, "BURST 1048576"]));
      await waitFor(() => follower.stdout.includes("BURST DONE"), { what: "burst streamed to the follower", timeoutMs: 60_000 });
      expect(follower.stdout.length).toBeGreaterThan(1_000_000);
      // Named keys: typed characters then backspace edit the composer in the pane.
      expectOk(await fleet.cli(["send", s.id, "abcX", "--no-newline"]));
      expectOk(await fleet.cli(["keys", s.id, "backspace", "enter"]));
      await waitPane(fleet, s.id, "fake reply to: abc");
      // A slash command is typed and submitted; resize changes the tmux window itself.
      expectOk(await fleet.cli(["slash", s.id, "model", "fake-next"]));
      await waitPane(fleet, s.id, "Set model to fake-next");
      expectOk(await fleet.cli(["resize", s.id, "120", "40"]));
      const size = execFileSync("tmux", ["-S", join(host.host.stateDir, "tmux.sock"), "display-message", "-p", "-t", `=codepiper-${s.id}:`, "#{window_width}x#{window_height}"]).toString().trim();
      expect(size).toBe("120x40");
      expect((await sessionLogs(fleet, s.id, "terminal")).some((e) => e.type === "terminal.resize" && e.payload.cols === 120)).toBe(true);
    } finally {
      await follower.kill();
    }
  });

  it("--env values reach the session and nothing else: not the database, the agent's state, logs, events or CLI output", async () => {
    const canary = `canary-${randomUUID()}`;
    const started = expectOk(await fleet.cli([...host.startArgs(), "--env", `CANARY_SECRET=${canary}`, "--json"], { timeoutMs: 60_000 }));
    const s = started.json<{ id: string; envNames: string[] }>();
    expect(s.envNames).toEqual(["CANARY_SECRET"]);
    await waitSessionStatus(fleet, s.id, "idle");
    expectOk(await fleet.cli(["send", s.id, "PRINTENV CANARY_SECRET"]));
    await waitPane(fleet, s.id, `env CANARY_SECRET=${canary}`);
    const outputs = [started.stdout, started.stderr, (await fleet.cli(["sessions", "--json"])).stdout, JSON.stringify(await sessionLogs(fleet, s.id))];
    for (const text of outputs) expect(text).not.toContain(canary);
    const files = [...listFiles(fleet.server.dataDir), ...listFiles(host.host.stateDir)];
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) expect(readFileSync(file).includes(canary), file).toBe(false);
    expect(fleet.server.proc.stderr + fleet.server.proc.stdout + host.host.agent!.stderr).not.toContain(canary);
  });

  it("sessions accept a unique id prefix; an unknown one is not found", async () => {
    const s = await startSession(fleet, host.startArgs());
    const view = expectOk(await fleet.cli(["model", s.id.slice(0, 6), "--json"])).json<{ sessionId: string }>();
    expect(view.sessionId).toBe(s.id);
    const missing = await fleet.cli(["model", "ffffffff-0000", "--json"]);
    expect(missing.code).toBe(4);
  });
});
