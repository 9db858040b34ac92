/**
 * Sessions survive the agent and the control plane (issue 3 "Persistence", "Faults"): SIGKILL the
 * agent while three sessions write their transcripts, take the control plane away for a minute,
 * kill tmux behind the agent's back. Uses the scripted fake provider (fixtures/fake-provider/claude):
 * it writes every transcript line in two halves with a pause between them, so kills land in the
 * middle of lines too.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk, Fleet, waitFor } from "../support/index.js";
import { getSession, runFakeProviderHost, sessionLogs, startSession, waitPane, waitSessionStatus, type FakeProviderHost } from "../support/sessions.js";

interface StreamEvent {
  id: number;
  type: string;
  payload: Record<string, unknown>;
}

/** Asserts the session's transcript events carry "stream 1/n" … "stream n/n" exactly once each, in order. */
function expectStream(events: StreamEvent[], n: number): void {
  const texts = events.filter((e) => e.type === "transcript.message" && e.payload.role === "assistant").map((e) => String(e.payload.text));
  const streamed = texts.filter((t) => t.startsWith("stream "));
  expect(streamed).toEqual(Array.from({ length: n }, (_, i) => `stream ${i + 1}/${n}`));
}

describe("sessions under agent SIGKILL, control-plane outage and tmux death", () => {
  let fleet: Fleet;
  let host: FakeProviderHost;

  beforeAll(async () => {
    fleet = await Fleet.start();
    host = await runFakeProviderHost(fleet, "h1");
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it("agent SIGKILLed with 3 live sessions: all re-adopted, tailing resumes with nothing lost or repeated", async () => {
    const sessions = await Promise.all([0, 1, 2].map(() => startSession(fleet, host.startArgs())));
    await Promise.all(sessions.map((s) => waitSessionStatus(fleet, s.id, "idle")));
    const N = 150;
    for (const s of sessions) expectOk(await fleet.cli(["send", s.id, `STREAM ${N} 20`]));
    // Kill once the first session's events are flowing (mid-stream), then restart at once.
    await waitFor(async () => (await sessionLogs(fleet, sessions[0]!.id, "transcript")).length >= 20, { what: "transcript events flowing", timeoutMs: 30_000 });
    await host.host.agent!.kill();
    await fleet.waitStatus("h1", "offline");
    await fleet.run("h1");
    for (const s of sessions) {
      await waitPane(fleet, s.id, `streamed ${N}`, 60_000);
      const events = await waitFor(async () => {
        const ev = await sessionLogs(fleet, s.id, "transcript");
        return ev.filter((e) => String(e.payload.text ?? "").startsWith("stream ")).length >= N ? ev : undefined;
      }, { what: `all ${N} stream events of ${s.id.slice(0, 8)}`, timeoutMs: 30_000 });
      expectStream(events, N);
      const view = await getSession(fleet, s.id);
      expect(["idle", "running"]).toContain(view.status);
      // Usage: one row per response, none counted twice across the crash.
      await waitFor(async () => (await getSession(fleet, s.id)).usage.responses === N, { what: "usage counted once per response", timeoutMs: 10_000 });
      expect((await getSession(fleet, s.id)).usage.inputTokens).toBe((N * (N + 1)) / 2);
    }
  });

  it("control plane down for a minute while sessions produce events: all arrive afterwards, in order", async () => {
    const s = await startSession(fleet, host.startArgs());
    await waitSessionStatus(fleet, s.id, "idle");
    const N = 600;
    expectOk(await fleet.cli(["send", s.id, `STREAM ${N} 100`]));
    const transcript = await waitFor(async () => (await getSession(fleet, s.id)).transcriptPath ?? undefined, { what: "transcript path known" });
    await fleet.server.proc.kill();
    // The outage lasts as long as the session takes to write all N entries (~60 s).
    await waitFor(() => readFileSync(transcript, "utf8").includes(`stream ${N}/${N}`), { what: "all entries written while the control plane is down", timeoutMs: 120_000, intervalMs: 500 });
    await fleet.restartServer();
    await fleet.waitStatus("h1", "online", 30_000);
    const events = await waitFor(async () => {
      const ev = await sessionLogs(fleet, s.id, "transcript");
      return ev.filter((e) => String(e.payload.text ?? "").startsWith("stream ")).length >= N ? ev : undefined;
    }, { what: `all ${N} events after the outage`, timeoutMs: 60_000 });
    expectStream(events, N);
    const ids = events.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  }, 240_000);

  it("tmux killed while the agent is down: the sessions are marked crashed on restart", async () => {
    const s = await startSession(fleet, host.startArgs());
    await waitSessionStatus(fleet, s.id, "idle");
    await host.host.agent!.kill();
    execFileSync("tmux", ["-S", join(host.host.stateDir, "tmux.sock"), "kill-server"]);
    await fleet.run("h1");
    const ended = await waitSessionStatus(fleet, s.id, "crashed");
    expect(ended.error).toMatch(/gone|disappeared/);
  });

  it("tmux server killed under a running agent: every session there is marked crashed", async () => {
    const s = await startSession(fleet, host.startArgs());
    await waitSessionStatus(fleet, s.id, "idle");
    execFileSync("tmux", ["-S", join(host.host.stateDir, "tmux.sock"), "kill-server"]);
    const ended = await waitSessionStatus(fleet, s.id, "crashed");
    expect(ended.error).toMatch(/disappeared|tmux/);
    const state = await sessionLogs(fleet, s.id, "state");
    expect(state.at(-1)?.payload.reason).toBe("tmux:vanished");
  });

  it("preserveSessions: a session whose tmux vanished while the agent was down is resumed through the provider", async () => {
    const s = await startSession(fleet, host.startArgs());
    await waitSessionStatus(fleet, s.id, "idle");
    expectOk(await fleet.cli(["send", s.id, "before the reboot"]));
    await waitPane(fleet, s.id, "fake reply to: before the reboot");
    await host.host.agent!.kill();
    execFileSync("tmux", ["-S", join(host.host.stateDir, "tmux.sock"), "kill-server"]);
    await fleet.run("h1", { args: ["--preserve-sessions"] });
    await waitPane(fleet, s.id, "(resumed)");
    const view = await waitSessionStatus(fleet, s.id, "idle");
    expect(view.status).toBe("idle");
    const state = await sessionLogs(fleet, s.id, "state");
    expect(state.some((e) => String(e.payload.reason).startsWith("preserve:"))).toBe(true);
    // Same provider session: the transcript continues in the same file.
    expectOk(await fleet.cli(["send", s.id, "after the reboot"]));
    await waitPane(fleet, s.id, "fake reply to: after the reboot");
    expect(readFileSync((await getSession(fleet, s.id)).transcriptPath!, "utf8")).toContain("before the reboot");
  });
});
