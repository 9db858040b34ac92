import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Fleet, expectOk, spawnCli, waitFor, type FleetHost, type Proc } from "../support/index.js";

interface EventView {
  id: number;
  hostName: string;
  seq: number;
  type: string;
  payload: { i: number; [k: string]: unknown };
}

describe("the event log: events, --since, --follow", () => {
  let fleet: Fleet;
  let host: FleetHost;
  const followers: Proc[] = [];
  beforeAll(async () => {
    fleet = await Fleet.start();
    host = await fleet.run("ev-host");
  });
  afterEach(async () => {
    await Promise.all(followers.splice(0).map((p) => p.kill()));
  });
  afterAll(async () => {
    await fleet?.close();
  });

  /** Appends `count` events of `type` on the host and waits until the control plane holds them. */
  async function emit(type: string, count: number, payload: Record<string, unknown> = {}): Promise<void> {
    const res = expectOk(
      await fleet.cli(["agent", "emit", "--state-dir", host.stateDir, "--type", type, "--count", String(count), "--batch", "5", "--payload", JSON.stringify(payload), "--json"]),
    ).json<{ lastSeq: number }>();
    await waitFor(async () => (await fleet.hostList()).find((h) => h.name === host.name)!.ackedSeq >= res.lastSeq, { what: `${count} ${type} events stored` });
  }

  async function list(args: string[]): Promise<EventView[]> {
    return expectOk(await fleet.cli(["events", "--host", host.name, ...args, "--json"])).json<EventView[]>();
  }

  function follow(args: string[]): Proc {
    const proc = spawnCli(["events", "--follow", "--json", ...args], "events --follow", { CODEPIPER_CONFIG_DIR: fleet.configDir });
    followers.push(proc);
    return proc;
  }

  /** The complete NDJSON lines a follower printed so far: each must be one JSON event. */
  function lines(proc: Proc): EventView[] {
    const complete = proc.stdout.slice(0, proc.stdout.lastIndexOf("\n") + 1);
    return complete
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as EventView);
  }

  it("events --follow --json streams events emitted after it started, in order, as NDJSON", async () => {
    await emit("test.history", 3);
    const follower = follow(["--host", host.name, "--type", "test.follow"]);
    // Without --since a follower starts at the current head (tail -f): wait until it has.
    await waitFor(() => follower.stderr.includes("following events after id"), { what: "the follower to start" });
    await emit("test.follow", 20);
    const seen = await waitFor(() => (lines(follower).length >= 20 ? lines(follower) : null), { what: "20 followed events" });
    expect(seen.map((e) => e.payload.i)).toEqual(Array.from({ length: 20 }, (_, k) => k));
    expect(seen.every((e) => e.type === "test.follow" && e.hostName === host.name)).toBe(true);
    const ids = seen.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(20);
    expect(follower.stdout.endsWith("\n")).toBe(true);

    // More, later: still arriving, still in order, still nothing of other types.
    await emit("test.other", 2);
    await emit("test.follow", 5, { round: 2 });
    const more = await waitFor(() => (lines(follower).length >= 25 ? lines(follower) : null), { what: "25 followed events" });
    expect(more.slice(20).map((e) => [e.payload.i, e.payload.round])).toEqual(Array.from({ length: 5 }, (_, k) => [k, 2]));
    expect(more.every((e) => e.type === "test.follow")).toBe(true);
    expect(more).toHaveLength(25);
    expect(follower.running).toBe(true);

    // Ctrl-C / SIGTERM ends a follower cleanly.
    expect(await follower.stop()).toEqual({ code: 0, signal: null });
  });

  it("events --since <id> returns only later events, and --follow --since starts after it", async () => {
    await emit("test.since", 10);
    const all = await list(["--type", "test.since"]);
    expect(all.map((e) => e.payload.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const cut = all[3]!.id;

    const later = await list(["--type", "test.since", "--since", String(cut)]);
    expect(later.map((e) => e.payload.i)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(later.every((e) => e.id > cut)).toBe(true);
    expect(await list(["--type", "test.since", "--since", String(all[9]!.id)])).toEqual([]);

    const follower = follow(["--host", host.name, "--type", "test.since", "--since", String(cut)]);
    const seen = await waitFor(() => (lines(follower).length >= 6 ? lines(follower) : null), { what: "followed events after --since" });
    expect(seen.map((e) => e.id)).toEqual(later.map((e) => e.id));
  });

  it("events --host <unknown> exits 4 (not found), with and without --follow", async () => {
    for (const extra of [[], ["--follow"]]) {
      const res = await fleet.cli(["events", "--host", "no-such-host", ...extra, "--json"]);
      expect(res.code).toBe(4);
      expect(res.error()).toEqual({ code: "CODEPIPER_NOT_FOUND", message: expect.stringMatching(/no-such-host/) });
      expect(res.stdout).toBe("");
    }
  });

  it("a follower survives a control plane restart: no event missed, none repeated", async () => {
    const follower = follow(["--host", host.name, "--type", "test.restart"]);
    await waitFor(() => follower.stderr.includes("following events after id"), { what: "the follower to start" });
    await emit("test.restart", 5);
    await waitFor(() => lines(follower).length >= 5, { what: "events before the restart" });

    await fleet.server.proc.kill();
    await fleet.restartServer();
    await fleet.waitStatus(host.name, "online");
    await emit("test.restart", 5, { after: true });

    const seen = await waitFor(() => (lines(follower).length >= 10 ? lines(follower) : null), { what: "events after the restart", timeoutMs: 30_000 });
    expect(seen.map((e) => e.payload.i)).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
    expect(seen.slice(5).every((e) => e.payload.after === true)).toBe(true);
    expect(new Set(seen.map((e) => e.id)).size).toBe(10);
    // A sentinel emitted last arrives last: nothing was replayed after the reconnect.
    await emit("test.restart", 1, { sentinel: true });
    const final = await waitFor(() => (lines(follower).some((e) => e.payload.sentinel) ? lines(follower) : null), { what: "the sentinel" });
    expect(final).toHaveLength(11);
    expect(final.slice(0, 10)).toEqual(seen);
    expect(follower.running).toBe(true);
  });
});
