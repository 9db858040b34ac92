/**
 * A host may only write into its own sessions (issue 5 "a host pushing events for another host's
 * session"): events naming another host's session are kept (nothing a host sends is lost) but
 * without that session id, so they neither show in the session's logs nor move its state, and an
 * approval request for another host's session is refused as not found.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk, Fleet } from "../support/index.js";
import { runFakeProviderHost, sessionLogs, startSession, waitSessionStatus } from "../support/sessions.js";
import { openRawLink, readHostCredentials, type RawPeer } from "./raw.js";

describe("a host writing into another host's session", () => {
  let fleet: Fleet;
  let peer: RawPeer;
  let victim: string;

  beforeAll(async () => {
    fleet = await Fleet.start();
    const a = await runFakeProviderHost(fleet, "owner");
    victim = (await startSession(fleet, a.startArgs())).id;
    await waitSessionStatus(fleet, victim, "idle");
    // The intruder: an enrolled host speaking the link protocol directly.
    const intruder = await fleet.join("intruder");
    peer = await openRawLink(fleet.url, readHostCredentials(intruder.stateDir));
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it("stores the events without the session id: the session's state and logs are untouched", async () => {
    const hello = await peer.call("mutation", "link.hello", { facts: { agentVersion: "0", protocolVersion: 1, os: { platform: "linux", release: "x", arch: "x64", hostname: "i" }, tmuxVersion: null, providers: [], capabilities: [] } });
    const acked = (hello.result?.data as { ackedSeq: number }).ackedSeq;
    const at = new Date().toISOString();
    const answer = await peer.call("mutation", "link.pushEvents", {
      events: [
        { seq: acked + 1, type: "session.state", sessionId: victim, at, payload: { state: "crashed", reason: "forged", exitCode: 9 } },
        { seq: acked + 2, type: "transcript.usage", sessionId: victim, at, payload: { messageId: "forged", model: "m", inputTokens: 1_000_000, outputTokens: 1, cacheReadTokens: 0, cacheCreationTokens: 0 } },
      ],
    });
    expect(answer.result?.data).toEqual({ ackedSeq: acked + 2, inserted: 2 });
    const session = expectOk(await fleet.cli(["sessions", "--json"])).json<{ id: string; status: string; usage: { inputTokens: number } }[]>().find((s) => s.id === victim)!;
    expect(session.status).toBe("idle");
    expect(session.usage.inputTokens).toBe(0);
    expect((await sessionLogs(fleet, victim)).some((e) => JSON.stringify(e.payload).includes("forged"))).toBe(false);
    const stored = expectOk(await fleet.cli(["events", "--host", "intruder", "--json"])).json<{ sessionId: string | null; payload: { foreignSessionId?: string } }[]>();
    expect(stored.map((e) => [e.sessionId, e.payload.foreignSessionId])).toEqual([[null, victim], [null, victim]]);
  });

  it("refuses an approval request for another host's session as not found", async () => {
    const answer = await peer.call("mutation", "link.requestApproval", { sessionId: victim, tool: "Bash", args: {}, cwd: null, policyId: null, policyName: null, ruleIndex: null, reason: null, timeoutMs: 5000 });
    expect(answer.error?.data).toMatchObject({ appCode: "CODEPIPER_NOT_FOUND" });
    expect(expectOk(await fleet.cli(["approvals", "--json"])).json<unknown[]>()).toEqual([]);
    // Host actions are in the action log like users' (here: its enrollment).
    const actions = expectOk(await fleet.cli(["audit", "--actions", "--json"])).json<{ actor: string; action: string }[]>();
    expect(actions.some((a) => a.action === "hosts.joined" && a.actor.startsWith("host:"))).toBe(true);
  });
});
