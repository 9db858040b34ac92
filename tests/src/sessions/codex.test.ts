/**
 * The REAL Codex CLI (pinned 0.169.0) as a fleet session, driven only through the remote CLI,
 * against the fake model server: native hooks through hook-forward (per-session `-c hooks.*`),
 * notify, rollout tailing with usage, a tool call, model switch, stop and `codex resume`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk, Fleet, waitFor } from "../support/index.js";
import { providerBinariesInstalled } from "../support/provider-env.js";
import { getSession, paneOf, runProviderHost, sessionLogs, waitPane, waitSessionStatus, type ProviderHost } from "../support/sessions.js";

const bins = providerBinariesInstalled();

describe.skipIf(!bins.codex)("real Codex CLI as a fleet session", () => {
  let fleet: Fleet;
  let ph: ProviderHost;
  let id: string;

  beforeAll(async () => {
    fleet = await Fleet.start();
    ph = await runProviderHost(fleet, "codex-host");
  });
  afterAll(async () => {
    await fleet?.close();
    await ph?.fake.close();
  });

  it("start → idle → send → reply in tail; hook and rollout events in logs; thread id learnt; usage recorded", async () => {
    const started = expectOk(await fleet.cli(ph.startArgs("codex"), { timeoutMs: 90_000 }));
    id = started.stdout.trim().split("\n")[0]!;
    await waitSessionStatus(fleet, id, "idle", 90_000);
    expectOk(await fleet.cli(["send", id, "hello codex fleet"], { timeoutMs: 60_000 }));
    await waitPane(fleet, id, "fake reply to: hello codex fleet");
    const hooks = await waitFor(async () => {
      const ev = await sessionLogs(fleet, id, "hook");
      return ev.some((e) => e.type === "hook.stop") ? ev : undefined;
    }, { what: "Codex Stop hook in logs", timeoutMs: 30_000 });
    expect(hooks.map((e) => e.type)).toEqual(expect.arrayContaining(["hook.session_start", "hook.user_prompt_submit", "hook.stop"]));
    expect(hooks.every((e) => e.payload.channel === "socket")).toBe(true);
    await waitFor(async () => (await sessionLogs(fleet, id, "hook")).some((e) => e.type === "hook.notify"), { what: "notify forwarded", timeoutMs: 20_000 });
    const session = await waitFor(async () => {
      const s = await getSession(fleet, id);
      return s.providerSessionId && s.transcriptPath && s.usage.responses >= 1 ? s : undefined;
    }, { what: "thread id, rollout path and usage", timeoutMs: 30_000 });
    expect(session.transcriptPath).toContain(session.providerSessionId!);
    const answers = ph.fake.requestsContaining("hello codex fleet").map((r) => r.answer).filter((a) => a !== undefined);
    expect(answers.some((a) => a.outputTokens === session.usage.outputTokens)).toBe(true);
    const transcript = await sessionLogs(fleet, id, "transcript");
    expect(transcript.some((e) => e.type === "transcript.message" && e.payload.text === "fake reply to: hello codex fleet")).toBe(true);
  });

  it("a tool call goes through the PreToolUse hook (tool Bash) and runs", async () => {
    const target = join(ph.claude.cwd, "made-by-codex.txt");
    expectOk(await fleet.cli(["send", id, `RUNTOOL RUNCMD[touch ${target}]`], { timeoutMs: 60_000 }));
    await waitFor(() => existsSync(target), { what: "codex ran the command", timeoutMs: 45_000 });
    const pre = await waitFor(async () => (await sessionLogs(fleet, id, "hook")).find((e) => e.type === "hook.pre_tool_use"), { what: "PreToolUse hook event", timeoutMs: 20_000 });
    expect(pre.payload.tool_name).toBe("Bash");
    expect(JSON.stringify(pre.payload.tool_input)).toContain("made-by-codex.txt");
    await waitSessionStatus(fleet, id, "idle", 60_000);
  });

  it("model switch with /model <slug>: the next request uses it", async () => {
    expectOk(await fleet.cli(["model", id, "gpt-6-luna"], { timeoutMs: 60_000 }));
    await waitPane(fleet, id, "Model changed to gpt-6-luna").catch(async (err: unknown) => {
      throw new Error(`${String(err)}\npane:\n${await paneOf(fleet, id)}`);
    });
    expectOk(await fleet.cli(["send", id, "after the codex switch"], { timeoutMs: 60_000 }));
    await waitPane(fleet, id, "fake reply to: after the codex switch");
    const models = ph.fake.requestsContaining("after the codex switch").map((r) => (r.body as { model?: string }).model);
    expect(models).toContain("gpt-6-luna");
  });

  it("stop, then resume continues the same thread (same rollout)", async () => {
    const before = await getSession(fleet, id);
    const stopped = expectOk(await fleet.cli(["stop", id, "--json"], { timeoutMs: 60_000 })).json<{ session: { status: string } }>();
    expect(stopped.session.status).toBe("stopped");
    expectOk(await fleet.cli(["resume", id], { timeoutMs: 90_000 }));
    await waitSessionStatus(fleet, id, "idle", 90_000);
    expectOk(await fleet.cli(["send", id, "codex after resume"], { timeoutMs: 60_000 }));
    await waitPane(fleet, id, "fake reply to: codex after resume");
    const after = await waitFor(async () => {
      const ev = await sessionLogs(fleet, id, "transcript");
      return ev.some((e) => e.payload.text === "fake reply to: codex after resume") ? getSession(fleet, id) : undefined;
    }, { what: "resumed turn tailed from the rollout", timeoutMs: 30_000 });
    expect(after.providerSessionId).toBe(before.providerSessionId);
    expect(after.transcriptPath).toBe(before.transcriptPath);
    expectOk(await fleet.cli(["kill", id]));
  });
});
