/**
 * Policies on the REAL Codex CLI (0.169.0) through its native hooks (per-session `-c hooks.*` →
 * hook-forward): a deny rule blocks the exec_command (seen by hooks as tool `Bash`), an allow rule
 * lets it run; and input preflight refuses a `send` a rule denies, before it reaches the pane.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk, Fleet, waitFor } from "../support/index.js";
import { providerBinariesInstalled } from "../support/provider-env.js";
import { paneOf, runProviderHost, waitPane, waitSessionStatus, type ProviderHost } from "../support/sessions.js";

const bins = providerBinariesInstalled();

describe.skipIf(!bins.codex)("policies on the real Codex CLI", () => {
  let fleet: Fleet;
  let ph: ProviderHost;
  let id: string;

  const audit = async () => expectOk(await fleet.cli(["audit", "--session", id, "--json"])).json<{ args: string; decision: string; outcome: string; tool: string; policyName: string | null }[]>();

  beforeAll(async () => {
    fleet = await Fleet.start();
    ph = await runProviderHost(fleet, "codex-policy-host");
    expectOk(await fleet.cli(["policy", "create", "--name", "codex-deny", "--priority", "10", "--rules", JSON.stringify([{ action: "deny", tool: "Bash", args: { command: "*codex-denied*" }, reason: "not this one" }])]));
    expectOk(await fleet.cli(["policy", "create", "--name", "codex-allow", "--priority", "5", "--rules", JSON.stringify([{ action: "allow", tool: "Bash", args: { command: "*codex-allowed*" } }])]));
    expectOk(await fleet.cli(["policy", "create", "--name", "no-secrets-typed", "--rules", JSON.stringify([{ action: "deny", tool: "terminal_input", args: { text: "*TOP-SECRET*" }, reason: "never type secrets" }])]));
    id = expectOk(await fleet.cli(ph.startArgs("codex"), { timeoutMs: 90_000 })).stdout.trim().split("\n")[0]!;
    await waitSessionStatus(fleet, id, "idle", 90_000);
  });
  afterAll(async () => {
    await fleet?.close();
    await ph?.fake.close();
  });

  it("a deny rule blocks the command through Codex's PreToolUse hook", async () => {
    const target = join(ph.claude.cwd, "codex-denied.txt");
    expectOk(await fleet.cli(["send", id, `RUNTOOL RUNCMD[touch ${target}]`], { timeoutMs: 60_000 }));
    const row = await waitFor(async () => (await audit()).find((d) => d.args.includes("codex-denied")), { what: "deny recorded", timeoutMs: 45_000 });
    expect(row).toMatchObject({ tool: "Bash", decision: "deny", outcome: "denied", policyName: "codex-deny" });
    await waitFor(() => ph.fake.requestsContaining("codex-denied").some((r) => r.isToolResult), { what: "the blocked result went back to the model", timeoutMs: 30_000 });
    await waitSessionStatus(fleet, id, "idle", 60_000);
    expect(existsSync(target)).toBe(false);
    // Codex tells the model why: "Command blocked by PreToolUse hook: <our reason>".
    expect(ph.fake.requests.some((r) => r.isToolResult && JSON.stringify(r.body).includes("not this one"))).toBe(true);
  });

  it("an allow rule lets it run", async () => {
    const target = join(ph.claude.cwd, "codex-allowed.txt");
    expectOk(await fleet.cli(["send", id, `RUNTOOL RUNCMD[touch ${target}]`], { timeoutMs: 60_000 }));
    await waitFor(() => existsSync(target), { what: "allowed command ran", timeoutMs: 45_000 });
    const row = await waitFor(async () => (await audit()).find((d) => d.args.includes("codex-allowed")), { what: "allow recorded", timeoutMs: 30_000 });
    expect(row).toMatchObject({ decision: "allow", outcome: "allowed", policyName: "codex-allow" });
    await waitSessionStatus(fleet, id, "idle", 60_000);
  });

  it("input preflight: a denied `send` is refused before anything reaches the pane", async () => {
    const res = await fleet.cli(["send", id, "here is the TOP-SECRET plan"]);
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/never type secrets/);
    expect(await paneOf(fleet, id)).not.toContain("TOP-SECRET");
    const row = await waitFor(async () => (await audit()).find((d) => d.tool === "terminal_input"), { what: "preflight decision recorded", timeoutMs: 30_000 });
    expect(row).toMatchObject({ decision: "deny", outcome: "denied", policyName: "no-secrets-typed" });
    // Other text still goes through.
    expectOk(await fleet.cli(["send", id, "an ordinary prompt"], { timeoutMs: 60_000 }));
    await waitPane(fleet, id, "fake reply to: an ordinary prompt");
  });
});
