import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet, expectOk, waitFor, type FleetHost } from "../support/index.js";

/**
 * Durable commands (DESIGN.md §2), end to end with real processes.
 *
 * Semantics we chose for a host that is offline when a command is sent — both halves, decided by
 * the command's TTL (`--ttl`, default 10 min):
 *   - it stays `pending` and is DELIVERED ONCE when the host links again, as long as that happens
 *     before the TTL runs out;
 *   - once the TTL has run out it is `expired` (its error says so) and is NEVER delivered, even if
 *     the host comes back later: a stale "kill this session" must not fire hours afterwards.
 * Execution is at most once: the agent journals a command as `started` (committed) before running
 * it, so a redelivery — after a lost acknowledgement, a reconnect, or an agent crash — is answered
 * from the journal and never runs the command again.
 */

interface CommandView {
  id: string;
  type: string;
  status: "pending" | "delivered" | "succeeded" | "failed" | "expired";
  deliveredAt: string | null;
  completedAt: string | null;
  result: { pong?: boolean; agentTime?: string } | null;
  error: string | null;
}

interface JournalRow {
  id: string;
  type: string;
  state: "started" | "done";
  ok: number | null;
  result: string | null;
  error_message: string | null;
  received_at: string;
  finished_at: string | null;
  acked: number;
}

/** The agent's command journal, read-only (works whether the agent is running, stopped or killed). */
function journal(host: FleetHost): JournalRow[] {
  const db = new Database(join(host.stateDir, "outbox.db"), { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT * FROM commands ORDER BY CAST(id AS INTEGER)").all() as JournalRow[];
  } finally {
    db.close();
  }
}

describe("durable commands", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start();
  });
  afterAll(async () => {
    await fleet?.close();
  });

  async function commands(name: string): Promise<CommandView[]> {
    return expectOk(await fleet.cli(["hosts", "commands", name, "--json"])).json<CommandView[]>();
  }

  async function waitCommand(name: string, id: string, done: (c: CommandView) => boolean, what: string, timeoutMs = 20_000): Promise<CommandView> {
    return waitFor(async () => (await commands(name)).find((c) => c.id === id && done(c)), { what: `command ${id} ${what}`, timeoutMs, intervalMs: 100 });
  }

  /** A host that was linked once and whose agent is now stopped (gracefully) and seen offline. */
  async function offlineHost(name: string): Promise<FleetHost> {
    const host = await fleet.run(name);
    expect(await host.agent!.stop()).toEqual({ code: 0, signal: null });
    await fleet.waitStatus(name, "offline");
    return host;
  }

  it("a ping to a stopped host times out with exit 5, stays queued, and succeeds exactly once when the host returns", async () => {
    const host = await offlineHost("cmd-queued");

    const res = await fleet.cli(["hosts", "ping", host.name, "--timeout", "1s", "--ttl", "5m", "--json"]);
    expect(res.code).toBe(5);
    const err = res.error();
    expect(err?.code).toBe("CODEPIPER_TIMEOUT");
    expect(err?.message).toMatch(/stays queued as command \d+/);
    const id = /command (\d+)/.exec(err!.message)![1]!;
    expect((await commands(host.name)).find((c) => c.id === id)?.status).toBe("pending");
    expect(journal(host).find((r) => r.id === id)).toBeUndefined();

    await fleet.run(host.name);
    const done = await waitCommand(host.name, id, (c) => c.status === "succeeded", "succeeded");
    expect(done.result?.pong).toBe(true);
    expect(done.deliveredAt).not.toBeNull();

    // Exactly once on both sides: one command row, one journal entry, acknowledged.
    expect((await commands(host.name)).filter((c) => c.id === id)).toHaveLength(1);
    const entry = await waitFor(() => journal(host).find((r) => r.id === id && r.acked === 1), { what: "journal entry acknowledged" });
    expect(journal(host).filter((r) => r.id === id)).toHaveLength(1);
    expect(entry).toMatchObject({ type: "ping", state: "done", ok: 1 });
    expect(JSON.parse(entry.result!)).toEqual(done.result);
  });

  it("a ping whose TTL runs out while the host is offline expires, says so, and is never executed when the host returns", async () => {
    const host = await offlineHost("cmd-expired");

    const queued = expectOk(await fleet.cli(["hosts", "ping", host.name, "--ttl", "2s", "--no-wait", "--json"])).json<{ commandId: string; status: string }>();
    expect(queued.status).toBe("pending");
    const expired = await waitCommand(host.name, queued.commandId, (c) => c.status === "expired", "expired", 15_000);
    expect(expired.error).toMatch(/CODEPIPER_TIMEOUT: expired before the host acknowledged it/);
    expect(expired.deliveredAt).toBeNull();
    expect(expired.completedAt).not.toBeNull();

    // A waiting ping whose TTL is shorter than its timeout ends as soon as it expires, and says so.
    const waited = await fleet.cli(["hosts", "ping", host.name, "--timeout", "20s", "--ttl", "1s", "--json"]);
    expect(waited.code).toBe(5);
    expect(waited.error()?.message).toMatch(/^ping to cmd-expired expired \(command \d+\)$/);
    const expiredToo = /command (\d+)/.exec(waited.error()!.message)![1]!;

    // The host returns. Commands stream in id order, so once a later ping has succeeded, the
    // expired ones would have been delivered before it if they were going to be.
    await fleet.run(host.name);
    const later = expectOk(await fleet.cli(["hosts", "ping", host.name, "--timeout", "20s", "--json"])).json<{ commandId: string; status: string }>();
    expect(later.status).toBe("succeeded");

    const after = await commands(host.name);
    for (const id of [queued.commandId, expiredToo]) {
      const view = after.find((c) => c.id === id)!;
      expect(view.status).toBe("expired");
      expect(view.deliveredAt).toBeNull();
      expect(view.result).toBeNull();
    }
    expect(after.find((c) => c.id === queued.commandId)).toEqual(expired);
    // Never reached the agent: only the later ping is in its journal.
    expect(journal(host).map((r) => r.id)).toEqual([later.commandId]);
  });

  it("commands already executed are not executed again after the agent is killed with SIGKILL and restarted", async () => {
    const host = await fleet.run("cmd-once");

    // Three pings that completed while the agent was healthy.
    const before: string[] = [];
    for (let k = 0; k < 3; k++) {
      const ping = expectOk(await fleet.cli(["hosts", "ping", host.name, "--json"])).json<{ commandId: string; status: string }>();
      expect(ping.status).toBe("succeeded");
      before.push(ping.commandId);
    }
    await waitFor(() => journal(host).filter((r) => before.includes(r.id) && r.acked === 1).length === 3, { what: "first pings acknowledged" });
    const viewsBefore = (await commands(host.name)).filter((c) => before.includes(c.id));
    const journalBefore = journal(host);

    // Five more, queued one after the other by a separate chain of CLI calls. The agent is
    // SIGKILLed as soon as it has executed the first of them; the chain goes on while it is dead
    // and while it relinks, so the kill lands mid-stream.
    const queued: string[] = [];
    const chain = (async () => {
      for (let k = 0; k < 5; k++) queued.push(expectOk(await fleet.cli(["hosts", "ping", host.name, "--no-wait", "--json"])).json<{ commandId: string }>().commandId);
    })().then(
      () => null,
      (err: unknown) => err, // reported below, never an unhandled rejection
    );
    await waitFor(() => journal(host).some((r) => !before.includes(r.id)), { what: "a queued ping executed", intervalMs: 2 });
    const agent = host.agent!;
    await agent.kill();
    expect(agent.child.signalCode).toBe("SIGKILL");
    const killedAt = Date.now();
    const executedBeforeKill = journal(host).filter((r) => !before.includes(r.id));
    expect(executedBeforeKill.length).toBeGreaterThan(0);
    expect(executedBeforeKill.length).toBeLessThan(5);

    await fleet.run(host.name);
    expect(await chain).toBeNull();
    expect(queued).toHaveLength(5);
    const all = [...before, ...queued];
    await waitFor(async () => (await commands(host.name)).filter((c) => all.includes(c.id) && ["succeeded", "failed"].includes(c.status)).length === all.length, {
      what: "every command completed after the restart",
    });
    // Including one whose acknowledgement reached the control plane just before the kill: the
    // relinked agent re-sends unacknowledged outcomes, so the journal converges (and stays prunable).
    await waitFor(() => journal(host).filter((r) => all.includes(r.id) && r.acked === 1).length === all.length, { what: "every journal entry acknowledged" });

    const views = (await commands(host.name)).filter((c) => all.includes(c.id));
    const rows = journal(host);
    // One command row and one journal entry per command: nothing duplicated, nothing lost.
    expect(views.map((c) => c.id).sort()).toEqual([...all].sort());
    expect(rows.map((r) => r.id).sort()).toEqual([...all].sort());

    for (const view of views) {
      const row = rows.find((r) => r.id === view.id)!;
      expect(row.state).toBe("done");
      if (view.status === "succeeded") {
        // The control plane holds the outcome of the one execution recorded in the journal.
        expect(view.result).toEqual(JSON.parse(row.result!));
        expect(view.result?.pong).toBe(true);
      } else {
        // Killed between "started" and "done": reported as interrupted, not run again.
        expect(view.error).toMatch(/interrupted/);
        expect(row.ok).toBe(0);
      }
    }
    // Pings executed before the kill were not executed again after it: their journal entries
    // (received/finished times, result) are exactly what they were, and finished before the kill.
    for (const row of executedBeforeKill) {
      const now = rows.find((r) => r.id === row.id)!;
      expect(now.received_at).toBe(row.received_at);
      if (row.state === "done") expect(now).toMatchObject({ finished_at: row.finished_at, result: row.result });
      expect(Date.parse(now.received_at)).toBeLessThan(killedAt);
    }
    // The earlier pings are untouched on both sides.
    expect(rows.filter((r) => before.includes(r.id))).toEqual(journalBefore.filter((r) => before.includes(r.id)));
    expect(views.filter((c) => before.includes(c.id))).toEqual(viewsBefore);
  });

  it("a command whose acknowledgement was lost is answered from the journal when redelivered, not executed again", async () => {
    const host = await fleet.run("cmd-lost-ack");
    const ping = expectOk(await fleet.cli(["hosts", "ping", host.name, "--json"])).json<{ commandId: string; status: string; agentTime: string }>();
    expect(ping.status).toBe("succeeded");
    const id = ping.commandId;
    const original = await waitFor(() => journal(host).find((r) => r.id === id && r.acked === 1), { what: "ping acknowledged" });

    // The control plane dies, and its database is put back to where it would be had it died after
    // streaming the command but before committing the agent's acknowledgement.
    const killedAt = Date.now();
    await fleet.server.proc.kill();
    const cpDb = new Database(join(fleet.server.dataDir, "control-plane.db"), { fileMustExist: true });
    try {
      const rewound = cpDb.prepare(`UPDATE "Command" SET status = 'delivered', "completedAt" = NULL, "resultJson" = NULL WHERE id = ?`).run(BigInt(id));
      expect(rewound.changes).toBe(1);
    } finally {
      cpDb.close();
    }
    await fleet.restartServer();

    // The agent relinks by itself, the command is streamed again, and the journal answers it.
    const redone = await waitCommand(host.name, id, (c) => c.status === "succeeded", "acknowledged again");
    expect(Date.parse(redone.completedAt!)).toBeGreaterThan(killedAt);
    // Same outcome as the single execution (a re-run would carry a new agentTime) ...
    expect(redone.result).toEqual(JSON.parse(original.result!));
    expect(redone.result?.agentTime).toBe(ping.agentTime);
    // ... and the journal entry is the one written before the kill.
    expect(journal(host).filter((r) => r.id === id)).toEqual([original]);
    expect(host.agent!.running).toBe(true);
  });
});
