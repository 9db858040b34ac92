import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet, expectOk, spawnCli, startPostgres, waitFor, type Proc, type StartedPostgres } from "../support/index.js";
import { runFakeProviderHost, startSession, waitPane, waitSessionStatus, type FakeProviderHost } from "../support/sessions.js";

/**
 * Two control-plane replicas on one PostgreSQL (DESIGN.md §5). The agent is linked to replica A
 * only (it knows A's URL); everything below is asked of replica B, whose requests reach the host
 * through LISTEN/NOTIFY: durable command wake-ups, event and approval hints, and the ephemeral
 * relay (keystrokes, pane capture, live terminal).
 */
describe("replicas: two control planes on one PostgreSQL", () => {
  let postgres: StartedPostgres | null = null;
  let a: Fleet | null = null;
  let b: Fleet | null = null;
  let host: FakeProviderHost;
  const procs: Proc[] = [];

  beforeAll(async () => {
    postgres = await startPostgres();
    // Env sets must open on either replica: one master key for both. A short lease keeps the
    // crash case quick (a dead replica's hosts go offline after one lease).
    const serverEnv = { CODEPIPER_MASTER_KEY: `1:${randomBytes(32).toString("base64")}`, CODEPIPER_LINK_LEASE: "3s" };
    a = await Fleet.start({ databaseUrl: postgres.url, serverEnv });
    host = await runFakeProviderHost(a, "rep-h1");
    // B starts while A holds the host's link: it must not mark that host offline.
    b = await a.startReplica();
  }, 120_000);
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await b?.server.proc.kill();
    await a?.close();
    await postgres?.stop();
  });

  const status = async (fleet: Fleet) => (await fleet.hostList()).find((h) => h.name === "rep-h1")?.status;

  it("a replica that starts does not mark the other replica's hosts offline; B lists the host online", async () => {
    expect(await status(b!)).toBe("online");
    expect(await status(a!)).toBe("online");
  });

  it("hosts ping through B round-trips to the host linked to A (command wake-up over NOTIFY)", async () => {
    const res = expectOk(await b!.cli(["hosts", "ping", "rep-h1", "--timeout", "20s", "--json"])).json<{ status: string }>();
    expect(res.status).toBe("succeeded");
  });

  it("events --follow on B sees events the agent ships to A", async () => {
    const follower = spawnCli(["events", "--follow", "--json", "--host", "rep-h1", "--type", "test.replica"], "events --follow (B)", { CODEPIPER_CONFIG_DIR: b!.configDir });
    procs.push(follower);
    await waitFor(() => follower.stderr.includes("following events after id"), { what: "the follower on B to start" });
    expectOk(await a!.cli(["agent", "emit", "--state-dir", host.host.stateDir, "--type", "test.replica", "--count", "5", "--batch", "5", "--json"]));
    await waitFor(() => follower.stdout.split("\n").filter((l) => l.includes("test.replica")).length >= 5, { what: "5 followed events on B" });
    await follower.kill();
  });

  it("start, send and tail through B reach the session on A's host (ephemeral relay)", async () => {
    const s = await startSession(b!, host.startArgs());
    await waitSessionStatus(b!, s.id, "idle");
    expectOk(await b!.cli(["send", s.id, "hello across replicas"], { timeoutMs: 60_000 }));
    await waitPane(b!, s.id, "fake reply to: hello across replicas");
  });

  it("the live terminal of A's host streams to a watcher on B", async () => {
    const s = await startSession(a!, host.startArgs());
    await waitSessionStatus(a!, s.id, "idle");
    const watcher = spawnCli(["attach", s.id, "--follow"], "attach --follow (B)", { CODEPIPER_CONFIG_DIR: b!.configDir });
    procs.push(watcher);
    await waitFor(() => watcher.stderr.includes("following"), { what: "the watcher on B to start" });
    // Typed through A, seen live on B: frames cross from A to B.
    expectOk(await a!.cli(["send", s.id, "streamed to the other replica"], { timeoutMs: 60_000 }));
    await waitFor(() => watcher.stdout.includes("streamed to the other replica"), { what: "the output on B's watcher", timeoutMs: 30_000 });
    await watcher.kill();
  });

  it("an input that needs approval: requested on A, followed and allowed on B, then typed", async () => {
    expectOk(await b!.cli(["policy", "create", "--name", "ask-deploy", "--rules", JSON.stringify([{ action: "ask", tool: "terminal_input", args: { text: "*deploy*" }, reason: "deploys need a human" }])]));
    const s = await startSession(b!, host.startArgs());
    await waitSessionStatus(b!, s.id, "idle");
    const inbox = spawnCli(["approvals", "--follow", "--json"], "approvals --follow (B)", { CODEPIPER_CONFIG_DIR: b!.configDir });
    procs.push(inbox);
    // Sent through A; the host asks A; a human on B decides.
    const send = a!.cli(["send", s.id, "please deploy now"], { timeoutMs: 60_000 });
    const pending = await waitFor(async () => expectOk(await b!.cli(["approvals", "--json"])).json<{ id: string; sessionId: string }[]>().find((x) => x.sessionId === s.id), { what: "the approval, seen on B" });
    expectOk(await b!.cli(["approvals", "allow", pending.id]));
    expectOk(await send);
    await waitPane(a!, s.id, "fake reply to: please deploy now");
    const seen = await waitFor(() => {
      const mine = inbox.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id: string; status: string }).filter((l) => l.id === pending.id).map((l) => l.status);
      return mine.includes("allowed") ? mine : undefined;
    }, { what: "approvals --follow on B shows the request and its answer" });
    expect(seen).toEqual(["pending", "allowed"]);
    await inbox.kill();
    expectOk(await b!.cli(["policy", "delete", "ask-deploy"]));
  });

  it("SIGKILL of A: B shows the host offline once its lease expires; online again after A restarts", async () => {
    await a!.server.proc.kill();
    await waitFor(async () => (await status(b!)) === "offline", { what: "the host offline on B after A died", timeoutMs: 20_000 });
    await a!.restartServer();
    await waitFor(async () => (await status(b!)) === "online", { what: "the host online on B after A restarted", timeoutMs: 30_000 });
    expect(expectOk(await b!.cli(["hosts", "ping", "rep-h1", "--timeout", "20s", "--json"])).json<{ status: string }>().status).toBe("succeeded");
  });

  it("restarting B leaves A's hosts online", async () => {
    await b!.restartServer();
    expect(await status(b!)).toBe("online");
    expect(await status(a!)).toBe("online");
  });

  it("revoking through B closes the link A holds at once: the agent exits for good", async () => {
    const revokedAt = Date.now();
    expectOk(await b!.cli(["hosts", "revoke", "rep-h1"]));
    const exit = await host.host.agent!.exited;
    expect(Date.now() - revokedAt).toBeLessThan(5000);
    expect(exit.code).toBe(10);
    expect(await status(a!)).toBe("offline");
  });
});
