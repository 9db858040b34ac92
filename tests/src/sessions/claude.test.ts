/**
 * The REAL Claude Code (pinned 2.1.197) as a fleet session: started and driven only through the
 * remote CLI → control plane → agent → tmux, against the fake model server (support/fake-model.ts).
 * Proves, with the real CLI: start, send, tail, hook + transcript events in logs, token usage,
 * a tool call waiting for permission answered with `keys`, model switch, stop, resume, attach.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk, Fleet, tempDir, waitFor } from "../support/index.js";
import { CLI_ENTRY } from "../support/cli.js";
import { providerBinariesInstalled } from "../support/provider-env.js";
import { getSession, runProviderHost, sessionLogs, waitPane, waitSessionStatus, type ProviderHost } from "../support/sessions.js";

const bins = providerBinariesInstalled();

describe.skipIf(!bins.claude)("real Claude Code as a fleet session", () => {
  let fleet: Fleet;
  let ph: ProviderHost;
  let id: string;

  beforeAll(async () => {
    fleet = await Fleet.start();
    ph = await runProviderHost(fleet, "claude-host");
  });
  afterAll(async () => {
    await fleet?.close();
    await ph?.fake.close();
  });

  it("start prints the id; the session becomes idle; send → reply in tail; hooks and transcript in logs; usage recorded", async () => {
    const started = expectOk(await fleet.cli([...ph.startArgs("claude-code"), "--name", "real-claude"], { timeoutMs: 90_000 }));
    id = started.stdout.trim().split("\n")[0]!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await waitSessionStatus(fleet, id, "idle", 90_000);

    expectOk(await fleet.cli(["send", id, "hello from the fleet"], { timeoutMs: 60_000 }));
    await waitPane(fleet, id, "fake reply to: hello from the fleet");
    const hooks = await waitFor(async () => {
      const ev = await sessionLogs(fleet, id, "hook");
      return ev.some((e) => e.type === "hook.stop") ? ev : undefined;
    }, { what: "Stop hook in logs", timeoutMs: 30_000 });
    expect(hooks.find((e) => e.type === "hook.stop")?.payload.channel).toBe("http");
    expect(hooks.find((e) => e.type === "hook.session_start")?.payload.channel).toBe("socket");
    const assistant = await waitFor(async () => {
      const ev = await sessionLogs(fleet, id, "transcript");
      return ev.find((e) => e.type === "transcript.message" && e.payload.text === "fake reply to: hello from the fleet");
    }, { what: "assistant message from the transcript", timeoutMs: 30_000 });
    const answer = ph.fake.requestsContaining("hello from the fleet").map((r) => r.answer).find((a) => a?.id === assistant.payload.id);
    expect(answer).toBeDefined();
    const session = await waitFor(async () => {
      const s = await getSession(fleet, id);
      return s.usage.responses >= 1 ? s : undefined;
    }, { what: "usage recorded" });
    expect(session.usage.outputTokens).toBe(answer!.outputTokens);
    expect(session.usage.inputTokens).toBe(answer!.inputTokens);
  });

  it("a tool call waits in needs_permission (no policy yet: Claude's own prompt), `keys` answers it, the command runs", async () => {
    const target = join(ph.claude.cwd, "made-by-claude.txt");
    expectOk(await fleet.cli(["send", id, `RUNTOOL RUNCMD[touch ${target}]`], { timeoutMs: 60_000 }));
    await waitSessionStatus(fleet, id, "needs_permission", 60_000);
    const hooks = await sessionLogs(fleet, id, "hook");
    expect(hooks.some((e) => e.type === "hook.permission_request")).toBe(true);
    expect(existsSync(target)).toBe(false);
    await waitPane(fleet, id, "Do you want to proceed");
    expectOk(await fleet.cli(["keys", id, "enter"]));
    await waitFor(() => existsSync(target), { what: "the approved command ran", timeoutMs: 30_000 });
    await waitSessionStatus(fleet, id, "idle", 60_000);
    const transcript = await sessionLogs(fleet, id, "transcript");
    expect(transcript.some((e) => e.type === "transcript.tool_call" && JSON.stringify(e.payload).includes("made-by-claude.txt"))).toBe(true);
  });

  it("model: shows the current model, switches with /model, and the next request uses it", async () => {
    const shown = expectOk(await fleet.cli(["model", id, "--json"])).json<{ model: string | null }>();
    expect(shown.model).toMatch(/opus|claude/);
    expectOk(await fleet.cli(["model", id, "sonnet"], { timeoutMs: 60_000 }));
    await waitPane(fleet, id, "Set model to");
    expectOk(await fleet.cli(["send", id, "which model now"], { timeoutMs: 60_000 }));
    await waitPane(fleet, id, "fake reply to: which model now");
    const turn = ph.fake.requestsContaining("which model now").find((r) => (r.body as { tools?: unknown[] }).tools?.length);
    expect((turn?.body as { model?: string }).model).toMatch(/sonnet/);
    expect((await getSession(fleet, id)).model).toBe("sonnet");
  });

  it("attach: keyboard passthrough from a real terminal reaches the session; detach leaves it running", async () => {
    // A real terminal for the attached CLI: a pane of a separate tmux server.
    const sock = join(tempDir("codepiper-attach-"), "t.sock");
    const tmux = (...args: string[]) => new Promise<string>((resolve, reject) => execFile("tmux", ["-S", sock, "-f", "/dev/null", ...args], (err, out) => (err ? reject(err) : resolve(out))));
    await tmux("new-session", "-d", "-x", "160", "-y", "40", "-e", `CODEPIPER_CONFIG_DIR=${fleet.configDir}`, process.execPath, CLI_ENTRY, "attach", id);
    try {
      await waitFor(async () => (await tmux("capture-pane", "-p")).includes("? for shortcuts"), { what: "attached terminal shows the session", timeoutMs: 30_000 });
      await tmux("send-keys", "-l", "typed through attach");
      await waitPane(fleet, id, "typed through attach");
      await tmux("send-keys", "Enter");
      await waitPane(fleet, id, "fake reply to: typed through attach");
      await tmux("send-keys", "C-]");
      // The attached CLI exits on the detach key, which ends that pane's only session and its server.
      await waitFor(() => tmux("list-sessions").then(() => false, () => true), { what: "attach exited on the detach key", timeoutMs: 10_000 });
      expect((await getSession(fleet, id)).status).not.toMatch(/stopped|crashed/);
    } finally {
      await tmux("kill-server").catch(() => undefined);
    }
  });

  it("stop ends it cleanly; resume continues the same Claude session", async () => {
    const stopped = expectOk(await fleet.cli(["stop", id, "--json"], { timeoutMs: 60_000 })).json<{ session: { status: string } }>();
    expect(stopped.session.status).toBe("stopped");
    expectOk(await fleet.cli(["resume", id], { timeoutMs: 90_000 }));
    await waitSessionStatus(fleet, id, "idle", 90_000);
    expectOk(await fleet.cli(["send", id, "still there after resume"], { timeoutMs: 60_000 }));
    await waitPane(fleet, id, "fake reply to: still there after resume");
    // The resumed conversation carries the earlier turns to the model.
    const turn = ph.fake.requestsContaining("still there after resume").find((r) => (r.body as { tools?: unknown[] }).tools?.length);
    expect(JSON.stringify(turn?.body)).toContain("hello from the fleet");
    expectOk(await fleet.cli(["kill", id]));
    await waitSessionStatus(fleet, id, "stopped");
  });
});
