/**
 * Policies enforced on the REAL Claude Code (2.1.197) through its hooks, against the fake model
 * server: deny, allow, ask answered from another process, ask that times out into Claude's own
 * prompt, the default action, and the cached policies deciding while the control plane is down.
 * Every decision must leave an audit row.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trpcHttp } from "../security/raw.js";
import { expectOk, Fleet, waitFor } from "../support/index.js";
import { providerBinariesInstalled } from "../support/provider-env.js";
import { paneOf, runProviderHost, waitPane, waitSessionStatus, type ProviderHost } from "../support/sessions.js";

const bins = providerBinariesInstalled();

interface Decision {
  tool: string;
  args: string;
  decision: string;
  outcome: string;
  decider: string;
  policyName: string | null;
  approvalId: string | null;
}

describe.skipIf(!bins.claude)("policies on the real Claude Code", () => {
  let fleet: Fleet;
  let ph: ProviderHost;
  let id: string;

  const policy = async (name: string, rules: unknown[], priority = 10) => {
    expectOk(await fleet.cli(["policy", "create", "--name", name, "--priority", String(priority), "--rules", JSON.stringify(rules)]));
  };
  const audit = async (): Promise<Decision[]> => expectOk(await fleet.cli(["audit", "--session", id, "--limit", "1000", "--json"])).json<Decision[]>();
  const auditFor = (needle: string) =>
    waitFor(async () => (await audit()).find((d) => d.args.includes(needle)), { what: `audit row for ${needle}`, timeoutMs: 30_000 });
  const runTool = (command: string) => fleet.cli(["send", id, `RUNTOOL RUNCMD[${command}]`], { timeoutMs: 60_000 });

  beforeAll(async () => {
    // Short approval timeout: the "nobody answers" case must not take five minutes.
    fleet = await Fleet.start({ serverEnv: { CODEPIPER_APPROVAL_TIMEOUT: "8s" } });
    ph = await runProviderHost(fleet, "policy-host");
    id = expectOk(await fleet.cli(ph.startArgs("claude-code"), { timeoutMs: 90_000 })).stdout.trim().split("\n")[0]!;
    await waitSessionStatus(fleet, id, "idle", 90_000);
  });
  afterAll(async () => {
    await fleet?.close();
    await ph?.fake.close();
  });

  it("deny on Bash `rm *`: the tool call is stopped and the file still exists", async () => {
    const victim = join(ph.claude.cwd, "precious.txt");
    writeFileSync(victim, "keep me\n");
    await policy("no-rm", [{ action: "deny", tool: "Bash", args: { command: "rm *" }, reason: "no deleting files" }]);
    expectOk(await runTool(`rm ${victim}`));
    const row = await auditFor("precious.txt");
    expect(row).toMatchObject({ tool: "Bash", decision: "deny", outcome: "denied", decider: "policy", policyName: "no-rm" });
    await waitPane(fleet, id, "no deleting files");
    await waitSessionStatus(fleet, id, "idle", 60_000);
    expect(existsSync(victim)).toBe(true);
  });

  it("allow lets the call run without Claude's own prompt", async () => {
    const made = join(ph.claude.cwd, "allowed-by-policy.txt");
    await policy("allow-touch", [{ action: "allow", tool: "Bash", args: { command: "touch *allowed-by-policy*" } }]);
    expectOk(await runTool(`touch ${made}`));
    await waitFor(() => existsSync(made), { what: "the allowed command ran", timeoutMs: 30_000 });
    expect(await auditFor("allowed-by-policy")).toMatchObject({ decision: "allow", outcome: "allowed", decider: "policy", policyName: "allow-touch" });
    await waitSessionStatus(fleet, id, "idle", 60_000);
  });

  it("ask waits in needs_permission until `codepiper approvals allow` from another process, then proceeds", async () => {
    const made = join(ph.claude.cwd, "asked-first.txt");
    await policy("ask-touch", [{ action: "ask", tool: "Bash", args: { command: "touch *asked-*" }, reason: "touching needs a human" }]);
    expectOk(await runTool(`touch ${made}`));
    const pending = await waitFor(async () => {
      const list = expectOk(await fleet.cli(["approvals", "--json"])).json<{ id: string; tool: string; sessionId: string; reason: string | null }[]>();
      return list.find((a) => a.sessionId === id);
    }, { what: "a pending approval", timeoutMs: 30_000 });
    expect(pending.tool).toBe("Bash");
    expect(pending.reason).toBe("touching needs a human");
    await waitSessionStatus(fleet, id, "needs_permission", 5_000);
    expect(existsSync(made)).toBe(false);
    expectOk(await fleet.cli(["approvals", "allow", pending.id.slice(0, 8), "--reason", "looks fine"]));
    await waitFor(() => existsSync(made), { what: "the approved command ran", timeoutMs: 30_000 });
    expect(await auditFor("asked-first")).toMatchObject({ decision: "ask", outcome: "allowed", decider: expect.stringMatching(/^human:/), approvalId: pending.id });
    // A second answer is refused and says who decided.
    const again = await fleet.cli(["approvals", "deny", pending.id]);
    expect(again.code).toBe(6);
    expect(again.stderr).toMatch(/already allowed/);
    await waitSessionStatus(fleet, id, "idle", 60_000);
  });

  it("ask with no answer times out into Claude's own prompt; the approval is marked expired", { timeout: 120_000 }, async () => {
    const made = join(ph.claude.cwd, "asked-second.txt");
    expectOk(await runTool(`touch ${made}`));
    await waitPane(fleet, id, "Do you want to proceed", 30_000).catch(async (err: unknown) => {
      const approvals = (await fleet.cli(["approvals", "--status", "all", "--json"])).stdout;
      throw new Error(`${String(err)}\npane:\n${await paneOf(fleet, id, 60)}\napprovals: ${approvals}\naudit: ${JSON.stringify(await audit())}\nagent: ${ph.host.agent!.stderr.slice(-3000)}`);
    });
    const row = await auditFor("asked-second");
    expect(row).toMatchObject({ decision: "ask", outcome: "prompted", decider: "timeout" });
    const approval = expectOk(await fleet.cli(["approvals", "--status", "expired", "--json"])).json<{ id: string }[]>().find((a) => a.id === row.approvalId);
    expect(approval).toBeDefined();
    expect(existsSync(made)).toBe(false);
    // Answer the native prompt "No" (Escape) to end the turn.
    expectOk(await fleet.cli(["keys", id, "escape"]));
    await waitSessionStatus(fleet, id, "idle", 60_000);
    expect(existsSync(made)).toBe(false);
  });

  it("Claude's own prompt answered with a raw Escape from the terminal (sessions.input) settles to idle", { timeout: 120_000 }, async () => {
    // The dashboard's terminal and `codepiper attach` send bytes, not key names: a lone 0x1b is the
    // Escape key. Claude fires no hook for a refused prompt, so only the agent watching the pane
    // after an interrupt can end needs_permission.
    const made = join(ph.claude.cwd, "asked-raw.txt");
    expectOk(await runTool(`touch ${made}`));
    await waitPane(fleet, id, "Do you want to proceed", 30_000);
    expect(await auditFor("asked-raw")).toMatchObject({ decision: "ask", outcome: "prompted", decider: "timeout" });
    expect((await waitSessionStatus(fleet, id, ["needs_permission", "running"], 5_000)).status).not.toBe("idle");
    const token = (JSON.parse(readFileSync(join(fleet.configDir, "credentials.json"), "utf8")) as { token: string }).token;
    const res = await trpcHttp(fleet.url, "sessions.input", { type: "mutation", token, input: { session: id, data: Buffer.from("\x1b").toString("base64") } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await waitSessionStatus(fleet, id, "idle", 30_000).catch(async (err: unknown) => {
      throw new Error(`${String(err)}\npane:\n${await paneOf(fleet, id, 30)}`);
    });
    expect(existsSync(made)).toBe(false);
  });

  it("the default action applies where Claude would prompt and no rule matched: deny", async () => {
    expectOk(await fleet.cli(["policy", "default", "deny"]));
    const made = join(ph.claude.cwd, "unmatched.txt");
    expectOk(await runTool(`touch ${made}`));
    await auditFor("unmatched.txt").catch(async (err: unknown) => {
      throw new Error(`${String(err)}\npane:\n${await paneOf(fleet, id, 40)}\naudit: ${JSON.stringify(await audit())}\nhooks: ${JSON.stringify((await fleet.cli(["logs", id, "--source", "hook", "--json"])).json<{ type: string }[]>().map((e) => e.type).slice(-12))}`);
    });
    expect(await auditFor("unmatched.txt")).toMatchObject({ decision: "deny", outcome: "denied", decider: "default", policyName: null });
    await waitSessionStatus(fleet, id, "idle", 60_000);
    expect(existsSync(made)).toBe(false);
    expectOk(await fleet.cli(["policy", "default", "ask"]));
  });

  it("link down: the cached policies still deny; an ask falls back to the native prompt at once", async () => {
    const victim = join(ph.claude.cwd, "precious-offline.txt");
    writeFileSync(victim, "keep me too\n");
    await fleet.server.proc.kill();
    // Input goes straight into the pane (the CLI cannot reach a dead control plane): type it on the host.
    const tmux = join(ph.host.stateDir, "tmux.sock");
    const type = (text: string) => {
      execFileSync("tmux", ["-S", tmux, "send-keys", "-t", `=codepiper-${id}:`, "-l", text]);
      execFileSync("tmux", ["-S", tmux, "send-keys", "-t", `=codepiper-${id}:`, "Enter"]);
    };
    const pane = () => execFileSync("tmux", ["-S", tmux, "capture-pane", "-p", "-t", `=codepiper-${id}:`]).toString();
    const denials = () => ph.fake.requests.filter((r) => r.isToolResult && JSON.stringify(r.body).includes("no deleting files")).length;
    const before = denials();
    type(`RUNTOOL RUNCMD[rm ${victim}]`);
    await waitFor(() => denials() > before, { what: "the denial went back to the model", timeoutMs: 45_000 });
    expect(existsSync(victim)).toBe(true);
    // An ask cannot reach a human now: Claude's own prompt appears without waiting for the timeout.
    await waitFor(() => pane().includes("? for shortcuts"), { what: "Claude idle again", timeoutMs: 30_000 });
    const started = Date.now();
    type(`RUNTOOL RUNCMD[touch ${join(ph.claude.cwd, "asked-offline.txt")}]`);
    await waitFor(() => pane().includes("Do you want to proceed"), { what: "native prompt while offline", timeoutMs: 30_000 });
    expect(Date.now() - started).toBeLessThan(8_000);
    execFileSync("tmux", ["-S", tmux, "send-keys", "-t", `=codepiper-${id}:`, "Escape"]);
    await fleet.restartServer();
    await fleet.waitStatus("policy-host", "online", 30_000);
    expect(await auditFor("precious-offline")).toMatchObject({ decision: "deny", outcome: "denied", policyName: "no-rm" });
    expect(await auditFor("asked-offline")).toMatchObject({ decision: "ask", outcome: "prompted", decider: "offline" });
  });
});
