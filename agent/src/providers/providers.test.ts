import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LaunchContext } from "./types.js";
import { adapterFor, PROVIDER_ADAPTERS } from "./index.js";
import { claudeOverlay, claudeProjectDirName, CLAUDE_HTTP_EVENTS, CLAUDE_MODEL_CONFIRM } from "./claude.js";
import { codexConfigOverrides, locateCodexRollout } from "./codex.js";
import { shellJoin } from "./shell.js";

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

const ctx = (over: Partial<LaunchContext> = {}): LaunchContext => ({
  sessionId: "11111111-2222-4333-8444-555555555555",
  cwd: "/work/my project",
  binary: "/usr/bin/prov",
  sessionDir: "/state/sessions/s1",
  hooks: { httpBase: "http://127.0.0.1:4000", socketPath: "/state/agent it's.sock", hookForward: ["/usr/bin/node", "/opt/cp/hook-forward.js"], tokenEnv: "CODEPIPER_HOOK_TOKEN" },
  model: null,
  dangerous: false,
  extraArgs: [],
  resumeId: null,
  env: { HOME: "/home/u" },
  ...over,
});

describe("adapterFor", () => {
  it("maps every provider id to its adapter", () => {
    for (const [id, a] of Object.entries(PROVIDER_ADAPTERS)) {
      expect(adapterFor(a.id)).toBe(a);
      expect(a.id).toBe(id);
    }
  });
});

describe("shellJoin", () => {
  it("round-trips through sh", () => {
    const argv = ["a b", "it's", "$HOME", "plain", ""];
    const out = execFileSync("sh", ["-c", `printf '%s\\n' ${shellJoin(argv)}`], { encoding: "utf8" });
    expect(out).toBe(argv.map((a) => `${a}\n`).join(""));
  });
});

describe("claude adapter", () => {
  const claude = adapterFor("claude-code");
  it("launch: session id, settings overlay, model, dangerous, extra args", () => {
    const p = claude.launch(ctx({ model: "opus", dangerous: true, extraArgs: ["--verbose"] }));
    expect(p.argv).toEqual(["/usr/bin/prov", "--session-id", ctx().sessionId, "--settings", "/state/sessions/s1/settings.json", "--model", "opus", "--dangerously-skip-permissions", "--verbose"]);
    expect(p.files.map((f) => f.path)).toEqual(["/state/sessions/s1/settings.json"]);
    expect(JSON.stringify(p)).not.toContain("Bearer t");
  });
  it("resume uses --resume", () => {
    expect(claude.resume({ ...ctx(), resumeId: "abc" }).argv.slice(0, 5)).toEqual(["/usr/bin/prov", "--resume", "abc", "--settings", "/state/sessions/s1/settings.json"]);
  });
  it("overlay: HTTP hooks with token header, SessionStart as a quoted hook-forward command", () => {
    const o = claudeOverlay(ctx());
    expect(Object.keys(o.hooks).sort()).toEqual(["SessionStart", ...CLAUDE_HTTP_EVENTS].sort());
    const pre = o.hooks.PreToolUse![0]!;
    expect(pre.matcher).toBe("*");
    expect(pre.hooks[0]).toEqual({ type: "http", url: `http://127.0.0.1:4000/hooks/${ctx().sessionId}/PreToolUse`, timeout: 600, headers: { Authorization: "Bearer $CODEPIPER_HOOK_TOKEN" }, allowedEnvVars: ["CODEPIPER_HOOK_TOKEN"] });
    // Both may wait for a human answering an `ask`; the rest are quick.
    expect(o.hooks.PermissionRequest![0]!.hooks[0]).toMatchObject({ timeout: 600 });
    expect(o.hooks.Stop![0]!.hooks[0]).toMatchObject({ timeout: 30 });
    expect(o.hooks.Stop![0]!.matcher).toBeUndefined();
    const start = o.hooks.SessionStart![0]!.hooks[0]!;
    expect(start.type).toBe("command");
    const cmd = (start as { command: string }).command;
    const words = execFileSync("sh", ["-c", `printf '%s\\n' ${cmd}`], { encoding: "utf8" }).trimEnd().split("\n");
    expect(words).toEqual(["/usr/bin/node", "/opt/cp/hook-forward.js", "--socket", "/state/agent it's.sock", "--session", ctx().sessionId, "--event", "SessionStart"]);
  });
  it("project dir: mangled, long paths cut at 200 and hashed (observed)", () => {
    expect(claudeProjectDirName("/tmp/inv/cl/project")).toBe("-tmp-inv-cl-project");
    const long = `/tmp/inv/cl/${Array.from({ length: 9 }, (_, i) => `averyverylongdirectoryname0${i + 1}`).join("/")}`;
    expect(claudeProjectDirName(long)).toBe(`${long.replace(/[^a-zA-Z0-9]/g, "-").slice(0, 200)}-foz3f`);
    expect(claude.locateTranscript({ sessionId: "s", cwd: "/a b", env: { HOME: "/h" }, providerSessionId: null, startedAt: new Date() })).toBe("/h/.claude/projects/-a-b/s.jsonl");
  });
  it("readiness and unsubmitted input on real panes", () => {
    expect(claude.isReady(fixture("claude-ready.txt"))).toBe(true);
    expect(claude.isReady(fixture("claude-unsubmitted.txt"))).toBe(false);
    expect(claude.hasUnsubmittedInput(fixture("claude-unsubmitted.txt"), "claude hello one")).toBe(true);
    expect(claude.hasUnsubmittedInput(fixture("claude-ready.txt"), "claude hello one")).toBe(false);
    expect(claude.hasUnsubmittedInput(fixture("claude-unsubmitted.txt"), "")).toBe(false);
    expect(fixture("claude-model-confirm.txt")).toContain(CLAUDE_MODEL_CONFIRM);
    expect(claude.isReady(fixture("claude-model-confirm.txt"))).toBe(false);
    expect(claude.switchModel("opus")).toEqual([{ text: "/model opus", submit: true }, { ifPaneShows: CLAUDE_MODEL_CONFIRM, keys: ["Enter"], withinMs: 2500 }]);
  });
});

describe("codex adapter", () => {
  const codex = adapterFor("codex");
  it("launch: --no-daemon, hook trust bypass, model, dangerous, notify and hooks via -c", () => {
    const p = codex.launch(ctx({ model: "gpt-6-luna", dangerous: true, extraArgs: ["--search"] }));
    expect(p.argv.slice(0, 7)).toEqual(["/usr/bin/prov", "--no-daemon", "--dangerously-bypass-hook-trust", "-m", "gpt-6-luna", "--dangerously-bypass-approvals-and-sandbox", "-c"]);
    expect(p.argv.at(-1)).toBe("--search");
    expect(p.files).toEqual([]);
  });
  it("resume: codex resume <thread> --no-daemon …", () => {
    expect(codex.resume({ ...ctx(), resumeId: "th-1" }).argv.slice(0, 4)).toEqual(["/usr/bin/prov", "resume", "th-1", "--no-daemon"]);
  });
  it("-c overrides: notify argv as a TOML array, one hooks.<Event> per event", () => {
    const o = codexConfigOverrides(ctx());
    const values = o.filter((_, i) => i % 2 === 1);
    expect(values[0]).toBe(`notify=["/usr/bin/node","/opt/cp/hook-forward.js","--socket","/state/agent it's.sock","--session","${ctx().sessionId}","--notify"]`);
    const pre = values.find((v) => v.startsWith("hooks.PreToolUse="))!;
    expect(pre).toContain('matcher="*"');
    expect(pre).toContain(`--event PreToolUse`);
    expect(values.find((v) => v.startsWith("hooks.Stop="))).not.toContain("matcher");
  });
  it("locates the rollout by thread id; null without one", () => {
    const home = mkdtempSync(join(tmpdir(), "cp-codex-"));
    const d = new Date();
    const dir = join(home, "sessions", String(d.getFullYear()), String(d.getMonth() + 1).padStart(2, "0"), String(d.getDate()).padStart(2, "0"));
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "rollout-2026-11-24T16-16-03-01a20e57-c697-78b1-8e4a-eea564d66ffd.jsonl");
    writeFileSync(file, "");
    const env = { CODEX_HOME: home };
    expect(locateCodexRollout({ env, providerSessionId: "01a20e57-c697-78b1-8e4a-eea564d66ffd", startedAt: d })).toBe(file);
    expect(codex.locateTranscript({ sessionId: "s", cwd: "/", env, providerSessionId: null, startedAt: d })).toBeNull();
    expect(locateCodexRollout({ env, providerSessionId: "other", startedAt: d })).toBeNull();
  });
  it("readiness and unsubmitted input on real panes", () => {
    expect(codex.isReady(fixture("codex-ready.txt"))).toBe(true);
    expect(codex.isReady(fixture("codex-unsubmitted.txt"))).toBe(false);
    expect(codex.hasUnsubmittedInput(fixture("codex-unsubmitted.txt"), "please refactor the parser module")).toBe(true);
    // "after switch hello" is in the scrollback of the ready pane, not in the composer.
    expect(codex.hasUnsubmittedInput(fixture("codex-ready.txt"), "after switch hello")).toBe(false);
    expect(codex.switchModel("gpt-6-luna")).toEqual([{ text: "/model gpt-6-luna", submit: true }]);
  });
});
