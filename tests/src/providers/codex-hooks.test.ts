/**
 * Codex 0.169.0 native hooks, notify and resume, proven with the REAL CLI in tmux (private socket)
 * against the fake model server. What this pins down (see agent/src/providers/codex.ts):
 *  - hooks given per invocation with `-c hooks.<Event>=[…]` + `--dangerously-bypass-hook-trust`
 *    run (nothing written to CODEX_HOME); payloads carry session_id (= thread id), turn_id and
 *    transcript_path (the rollout); exec_command reaches PreToolUse as tool_name "Bash".
 *  - PreToolUse `permissionDecision: "deny"` (with a reason) stops the command; printing nothing lets it run.
 *  - `-c notify=[…]` delivers agent-turn-complete with the JSON as the last argv element.
 *  - `codex resume <thread> --no-daemon` continues the same thread and rollout file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir, waitFor } from "../support/index.js";
import { startFakeModel, type FakeModel } from "../support/fake-model.js";
import { prepareCodexEnv, providerBinariesInstalled, type CodexEnv } from "../support/provider-env.js";

const bins = providerBinariesInstalled();
const READY = "Ask Codex to do anything";

interface HookRecord {
  event: string;
  body: Record<string, unknown>;
}

function tmux(sock: string, env: Record<string, string>, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("tmux", ["-S", sock, ...args], { env, timeout: 10_000 }, (err, stdout, stderr) => (err ? reject(new Error(`tmux ${args[0]}: ${err.message} ${stderr}`)) : resolve(stdout)));
  });
}

const toml = (s: string): string => JSON.stringify(s);

describe.skipIf(!bins.codex)("real Codex: native hooks, notify, resume", () => {
  let fake: FakeModel;
  let env: CodexEnv;
  let dir: string;
  let sock: string;
  let hookLog: string;
  let notifyLog: string;
  let hookArgs: string[];
  const name = "cx";

  const hooks = (): HookRecord[] =>
    existsSync(hookLog) ? readFileSync(hookLog, "utf8").split("\n").filter(Boolean).map((l) => {
      const [event, json] = [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)];
      return { event, body: JSON.parse(json) as Record<string, unknown> };
    }) : [];
  const notifies = (): Record<string, unknown>[] =>
    existsSync(notifyLog) ? readFileSync(notifyLog, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  const pane = (): Promise<string> => tmux(sock, env.env, ["capture-pane", "-p", "-J", "-S", "-200", "-t", name]);

  async function start(argv: string[]): Promise<void> {
    await tmux(sock, env.env, ["-f", "/dev/null", "new-session", "-d", "-s", name, "-x", "200", "-y", "50", "-c", env.cwd, "--", ...argv]);
    await tmux(sock, env.env, ["set-option", "-t", name, "remain-on-exit", "on"]);
  }

  /** Types a prompt once the composer is idle and presses Enter (again if the first was swallowed). */
  async function prompt(text: string): Promise<void> {
    await waitFor(async () => (await pane()).includes(READY), { what: "codex composer ready", timeoutMs: 30_000 });
    await tmux(sock, env.env, ["send-keys", "-t", name, "-l", text]);
    await waitFor(async () => (await pane()).includes(text.slice(0, 40)), { what: "prompt echoed", timeoutMs: 10_000 });
    await tmux(sock, env.env, ["send-keys", "-t", name, "Enter"]);
    const sent = (): boolean => fake.requestsContaining(text).length > 0;
    try {
      await waitFor(sent, { what: "prompt submitted", timeoutMs: 4_000 });
    } catch {
      await tmux(sock, env.env, ["send-keys", "-t", name, "Enter"]);
      await waitFor(sent, { what: "prompt submitted after a second Enter", timeoutMs: 10_000 });
    }
  }

  beforeAll(async () => {
    dir = tempDir("codepiper-codex-hooks-");
    fake = await startFakeModel();
    env = await prepareCodexEnv({ baseUrl: fake.url, root: dir });
    sock = join(dir, "tmux.sock");
    hookLog = join(dir, "hooks.log");
    notifyLog = join(dir, "notify.log");
    // A stand-in for hook-forward: records "<Event> <payload>" and denies any command mentioning "denied".
    const hook = join(dir, "hook.sh");
    writeFileSync(hook, [
      "#!/bin/sh",
      `in=$(cat | tr -d '\\n'); printf '%s %s\\n' "$1" "$in" >> ${JSON.stringify(hookLog)}`,
      `case "$1:$in" in PreToolUse:*denied*) printf '%s' '{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"denied by codepiper"}}';; esac`,
      "exit 0", ""].join("\n"));
    const notify = join(dir, "notify.sh");
    writeFileSync(notify, `#!/bin/sh\nfor last; do :; done\nprintf '%s\\n' "$last" | tr -d '\\n' >> ${JSON.stringify(notifyLog)}; echo >> ${JSON.stringify(notifyLog)}\n`);
    chmodSync(hook, 0o755);
    chmodSync(notify, 0o755);
    hookArgs = ["--no-daemon", "--dangerously-bypass-hook-trust", "-c", `notify=[${toml(notify)},"--notify"]`];
    for (const ev of ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd"]) {
      const matcher = ev.endsWith("ToolUse") ? 'matcher="*",' : "";
      hookArgs.push("-c", `hooks.${ev}=[{${matcher}hooks=[{type="command",command=${toml(`'${hook}' ${ev}`)}}]}]`);
    }
    await start([env.bin, ...hookArgs]);
  });

  afterAll(async () => {
    if (sock) await tmux(sock, env.env, ["kill-server"]).catch(() => undefined);
    await fake?.close();
  });

  let threadId = "";
  let rollout = "";

  it("PreToolUse sees exec_command as Bash with session/turn/transcript; deny stops it, silence allows it", async () => {
    const denied = join(env.cwd, "denied.txt");
    await prompt(`RUNTOOL RUNCMD[touch ${denied}]`);
    const pre = await waitFor(() => hooks().find((h) => h.event === "PreToolUse" && JSON.stringify(h.body).includes("denied.txt")), { what: "PreToolUse for denied.txt", timeoutMs: 30_000 });
    expect(pre.body).toMatchObject({ hook_event_name: "PreToolUse", tool_name: "Bash", tool_input: { command: `touch ${denied}` }, cwd: env.cwd });
    threadId = pre.body.session_id as string;
    rollout = pre.body.transcript_path as string;
    expect(typeof pre.body.turn_id).toBe("string");
    expect(rollout.startsWith(join(env.codexHome, "sessions"))).toBe(true);
    expect(rollout.endsWith(`${threadId}.jsonl`)).toBe(true);
    const start = hooks().find((h) => h.event === "SessionStart");
    expect(start?.body).toMatchObject({ session_id: threadId, source: "startup", transcript_path: rollout });
    await waitFor(() => hooks().some((h) => h.event === "Stop"), { what: "Stop after the denied call", timeoutMs: 30_000 });
    expect((await pane()).includes("Blocked by hook")).toBe(true);
    expect(existsSync(denied)).toBe(false);
    expect(fake.requests.some((r) => r.isToolResult && JSON.stringify(r.body).includes("Command blocked by PreToolUse hook: denied by codepiper"))).toBe(true);

    const allowed = join(env.cwd, "allowed.txt");
    await prompt(`RUNTOOL RUNCMD[touch ${allowed}]`);
    await waitFor(() => existsSync(allowed), { what: "allowed.txt created", timeoutMs: 30_000 });
    await waitFor(() => hooks().some((h) => h.event === "PostToolUse" && JSON.stringify(h.body).includes("allowed.txt")), { what: "PostToolUse for allowed.txt", timeoutMs: 20_000 });
  });

  it("notify set with -c delivers agent-turn-complete for the thread (and for the title side thread)", async () => {
    const n = await waitFor(() => notifies().find((x) => x["thread-id"] === threadId && JSON.stringify(x["input-messages"]).includes("allowed.txt")), { what: "notify for the allowed turn", timeoutMs: 20_000 });
    expect(n).toMatchObject({ type: "agent-turn-complete", client: "codex-tui", cwd: env.cwd });
    expect(typeof n["turn-id"]).toBe("string");
    // The title-generation request runs on another thread and notifies too: filter by thread id.
    expect(notifies().some((x) => x["thread-id"] !== threadId)).toBe(true);
  });

  it("codex resume <thread> continues the same thread and rollout file", async () => {
    // Keep the tmux server alive across the kill: killing its last session makes it exit, and a
    // new-session racing that exit fails with "server exited unexpectedly".
    await tmux(sock, env.env, ["new-session", "-d", "-s", "keep", "--", "sleep", "600"]);
    await tmux(sock, env.env, ["kill-session", "-t", name]);
    await start([env.bin, "resume", threadId, ...hookArgs]);
    await prompt("after resume hello");
    const started = await waitFor(() => hooks().find((h) => h.event === "SessionStart" && h.body.source === "resume"), { what: "SessionStart source=resume", timeoutMs: 20_000 });
    expect(started.body).toMatchObject({ session_id: threadId, transcript_path: rollout });
    await waitFor(() => readFileSync(rollout, "utf8").includes("fake reply to: after resume hello"), { what: "reply appended to the same rollout", timeoutMs: 20_000 });
    expect(readFileSync(rollout, "utf8")).toContain("allowed.txt");
  });
});
