/**
 * Policies end to end with the scripted provider (its `TOOL <command>` goes through PreToolUse and
 * PermissionRequest like Claude Code): the CLI surface, `policy test`, policy sets, session scope,
 * dangerous mode, input preflight with an approval, pushes reaching the host, and bad input.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk, Fleet, spawnCli, waitFor } from "../support/index.js";
import { runFakeProviderHost, startSession, waitPane, waitSessionStatus, type FakeProviderHost } from "../support/sessions.js";

interface Decision {
  tool: string;
  args: string;
  decision: string;
  outcome: string;
  decider: string;
  policyName: string | null;
}

describe("policies with the scripted provider", () => {
  let fleet: Fleet;
  let host: FakeProviderHost;

  const create = (name: string, rules: unknown, extra: string[] = []) => fleet.cli(["policy", "create", "--name", name, "--rules", JSON.stringify(rules), ...extra]);
  const decisions = async (sessionId: string) => expectOk(await fleet.cli(["audit", "--session", sessionId, "--json"])).json<Decision[]>();

  beforeAll(async () => {
    fleet = await Fleet.start();
    host = await runFakeProviderHost(fleet, "h1");
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it("policy test prints the decision and the rule that made it; priorities and sets decide", async () => {
    expectOk(await create("base-deny-rm", [{ action: "deny", tool: "Bash", args: { command: "rm *" } }], ["--priority", "1"]));
    expectOk(await create("trusted-rm-tmp", [{ action: "allow", tool: "Bash", args: { command: "rm /tmp/*" } }], ["--priority", "5", "--scope", "set"]));
    expectOk(await fleet.cli(["policy-set", "create", "--name", "trusted", "--policy", "trusted-rm-tmp"]));
    const plain = expectOk(await fleet.cli(["policy", "test", "--policy-set", "trusted", "--tool", "Bash", "--arg", "command=rm -rf /", "--json"])).json<{ action: string; policyName: string; ruleIndex: number; rule: unknown }>();
    expect(plain).toMatchObject({ action: "deny", policyName: "base-deny-rm", ruleIndex: 0 });
    const tmp = expectOk(await fleet.cli(["policy", "test", "--policy-set", "trusted", "--tool", "Bash", "--arg", "command=rm /tmp/x", "--json"])).json<{ action: string; policyName: string }>();
    expect(tmp).toMatchObject({ action: "allow", policyName: "trusted-rm-tmp" });
    // Without the set, the set-scoped policy does not apply.
    const noSet = expectOk(await fleet.cli(["policy", "test", "--policy-set", "trusted", "--tool", "Read", "--json"])).json<{ action: string; policyName: string | null }>();
    expect(noSet).toMatchObject({ action: "ask", policyName: null });
    const human = expectOk(await fleet.cli(["policy", "test", "--policy-set", "trusted", "--tool", "Bash", "--arg", "command=rm -rf /"]));
    expect(human.stdout).toMatch(/deny/);
    expect(human.stdout).toMatch(/base-deny-rm/);
  });

  it("a session started with --policy-set decides with that set; changes reach the running host", async () => {
    const s = await startSession(fleet, [...host.startArgs(), "--policy-set", "trusted"]);
    await waitSessionStatus(fleet, s.id, "idle");
    // No rule matches `touch …`: where the provider would prompt, the default (ask) asks a human.
    const tmpFile = join("/tmp", `codepiper-policy-${s.id}`);
    expectOk(await fleet.cli(["send", s.id, `TOOL touch ${tmpFile}`]));
    const pending = await waitFor(async () => expectOk(await fleet.cli(["approvals", "--json"])).json<{ id: string; sessionId: string }[]>().find((a) => a.sessionId === s.id), { what: "default ask → approval" });
    expectOk(await fleet.cli(["approvals", "deny", pending.id, "--reason", "not now"]));
    await waitPane(fleet, s.id, "BLOCKED: Denied by");
    expect(existsSync(tmpFile)).toBe(false);
    expectOk(await fleet.cli(["send", s.id, `TOOL rm /tmp/codepiper-nothing-${s.id}`]));
    await waitPane(fleet, s.id, `RAN: rm /tmp/codepiper-nothing-${s.id}`);
    // A new deny, pushed while the session runs: the next call is blocked.
    expectOk(await create("no-rm-tmp-now", [{ action: "deny", tool: "Bash", args: { command: "rm /tmp/*" }, reason: "changed my mind" }], ["--priority", "50"]));
    await waitFor(async () => {
      expectOk(await fleet.cli(["send", s.id, `TOOL rm /tmp/codepiper-again-${s.id}`]));
      const rows = await decisions(s.id);
      return rows.some((d) => d.policyName === "no-rm-tmp-now") ? true : undefined;
    }, { what: "the pushed policy decides", timeoutMs: 20_000, intervalMs: 500 });
    await waitPane(fleet, s.id, "BLOCKED: Blocked by CodePiper policy: changed my mind");
    expectOk(await fleet.cli(["policy", "delete", "no-rm-tmp-now"]));
  });

  it("a session-scoped policy applies to that session only", async () => {
    const a = await startSession(fleet, host.startArgs());
    const b = await startSession(fleet, host.startArgs());
    await Promise.all([waitSessionStatus(fleet, a.id, "idle"), waitSessionStatus(fleet, b.id, "idle")]);
    const made = (s: string) => join(host.cwd, `scoped-${s}.txt`);
    expectOk(await create("only-a", [{ action: "allow", tool: "Bash", args: { command: "touch *scoped-*" } }], ["--scope", `session:${a.id}`]));
    for (const s of [a, b]) expectOk(await fleet.cli(["send", s.id, `TOOL touch ${made(s.id)}`]));
    await waitPane(fleet, a.id, "RAN: touch");
    // For b nothing matched: the default action (ask) raised an approval instead.
    const pending = await waitFor(async () => expectOk(await fleet.cli(["approvals", "--json"])).json<{ id: string; sessionId: string }[]>().find((x) => x.sessionId === b.id), { what: "b's call went to a human" });
    expectOk(await fleet.cli(["approvals", "deny", pending.id]));
    await waitPane(fleet, b.id, "BLOCKED");
    expect(existsSync(made(a.id))).toBe(true);
    expect(existsSync(made(b.id))).toBe(false);
  });

  it("dangerous mode bypasses evaluation and is recorded as such", async () => {
    const s = await startSession(fleet, [...host.startArgs(), "--dangerous"]);
    await waitSessionStatus(fleet, s.id, "idle");
    expectOk(await fleet.cli(["send", s.id, "TOOL rm -f /tmp/codepiper-does-not-exist"]));
    const row = await waitFor(async () => (await decisions(s.id)).find((d) => d.tool === "Bash"), { what: "dangerous decision recorded" });
    expect(row).toMatchObject({ decider: "dangerous", outcome: "allowed" });
  });

  it("input preflight with ask: `send` waits for a human, then types", async () => {
    expectOk(await create("ask-deploy", [{ action: "ask", tool: "terminal_input", args: { text: "*deploy*" }, reason: "deploys need a human" }]));
    const s = await startSession(fleet, host.startArgs());
    await waitSessionStatus(fleet, s.id, "idle");
    const inbox = spawnCli(["approvals", "--follow", "--json"], "approvals-follow", { CODEPIPER_CONFIG_DIR: fleet.configDir });
    const send = fleet.cli(["send", s.id, "please deploy now"], { timeoutMs: 60_000 });
    const pending = await waitFor(async () => expectOk(await fleet.cli(["approvals", "--json"])).json<{ id: string; sessionId: string; tool: string }[]>().find((a) => a.sessionId === s.id), { what: "input approval pending" });
    expect(pending.tool).toBe("terminal_input");
    expectOk(await fleet.cli(["approvals", "allow", pending.id]));
    expectOk(await send);
    await waitPane(fleet, s.id, "fake reply to: please deploy now");
    // The live inbox saw the request arrive and then its answer, as NDJSON.
    const seen = await waitFor(() => {
      const lines = inbox.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id: string; status: string });
      const mine = lines.filter((l) => l.id === pending.id).map((l) => l.status);
      return mine.includes("allowed") ? mine : undefined;
    }, { what: "approvals --follow shows the request and its answer" });
    expect(seen).toEqual(["pending", "allowed"]);
    await inbox.kill();
    expectOk(await fleet.cli(["policy", "delete", "ask-deploy"]));
  });

  describe("bad input", () => {
    it("invalid glob, unknown action, unknown fields: exit 2 naming the rule and field", async () => {
      const glob = await create("bad-glob", [{ action: "deny", tool: "Ba[sh" }]);
      expect(glob.code).toBe(2);
      expect(glob.stderr).toMatch(/rules\[0\]\.tool/);
      const action = await create("bad-action", [{ action: "maybe", tool: "Bash" }]);
      expect(action.code).toBe(2);
      expect(action.stderr).toMatch(/action/);
      const field = await create("bad-field", [{ action: "deny", tool: "Bash", comand: "x" }]);
      expect(field.code).toBe(2);
      const notJson = await fleet.cli(["policy", "create", "--name", "nj", "--rules", "[{action: deny}"]);
      expect(notJson.code).toBe(2);
      expect((await fleet.cli(["policy", "list", "--json"])).json<{ policies: { name: string }[] }>().policies.map((p) => p.name)).not.toContain("bad-glob");
    });

    it("rules over the size limit are refused", async () => {
      const huge = Array.from({ length: 1001 }, () => ({ action: "deny", tool: "Bash" }));
      expect((await create("too-many", huge)).code).toBe(2);
      const long = [{ action: "deny", tool: "x".repeat(2000) }];
      expect((await create("too-long", long)).code).toBe(2);
    });

    it("a policy for a session that does not exist, an unknown approval, an unknown policy: not found", async () => {
      expect((await create("ghost", [{ action: "deny" }], ["--scope", "session:ffffffff-ffff-4fff-8fff-ffffffffffff"])).code).toBe(4);
      expect((await fleet.cli(["approvals", "allow", "deadbeef-0000-4000-8000-000000000000"])).code).toBe(4);
      expect((await fleet.cli(["policy", "get", "no-such-policy"])).code).toBe(4);
    });
  });
});
