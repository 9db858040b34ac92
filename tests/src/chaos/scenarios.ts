import { expect } from "vitest";
import type { Fleet } from "../support/fleet.js";
import { waitFor } from "../support/wait.js";
import { BURST_TYPE, ControlPlaneView, ackedSeqInDatabase, burstDefects, burstResult, firstProgress, readBurst, startBurst, waitAcked } from "./burst.js";

export const BURST_COUNT = 10_000;

/**
 * The control-plane half of "kill either side at any moment" (DESIGN.md §2), shared by the SQLite
 * and the PostgreSQL suites: a host is linked, `agent emit` appends 10,000 events in its own
 * process, the control plane is SIGKILLed once it holds some but not all of them, and restarted on
 * the same port and data. Nobody touches the agent: it must redial by itself and finish shipping.
 * Afterwards every event is stored exactly once, in order.
 */
export async function burstAcrossControlPlaneKill(fleet: Fleet, name: string): Promise<void> {
  const host = await fleet.run(name);
  const agent = host.agent!;
  const view = new ControlPlaneView(fleet);

  const emit = startBurst(host.stateDir, { count: BURST_COUNT, batch: 10 });
  try {
    const seenBeforeKill = await firstProgress(view, name);
    const emitterRunningAtKill = emit.running;
    const killedAt = Date.now();
    const server = fleet.server.proc;
    await server.kill();
    expect(server.child.signalCode).toBe("SIGKILL");

    // What the dead control plane had committed: a genuine mid-burst kill.
    const heldAtKill = await ackedSeqInDatabase(fleet, name);
    expect(seenBeforeKill).toBeGreaterThan(0);
    expect(heldAtKill).toBeGreaterThanOrEqual(seenBeforeKill);
    expect(heldAtKill).toBeLessThan(BURST_COUNT);
    expect(emitterRunningAtKill).toBe(true);
    expect(agent.running).toBe(true);

    await fleet.restartServer();
    // The agent redials on its own (jittered backoff) and links to the new process.
    await waitFor(
      async () => {
        const h = await view.host(name);
        return h.status === "online" && h.connectedAt !== null && Date.parse(h.connectedAt) > killedAt;
      },
      { what: `${name} relinked to the restarted control plane`, timeoutMs: 20_000, intervalMs: 50 },
    );

    expect(await burstResult(emit)).toEqual({ appended: BURST_COUNT, firstSeq: 1, lastSeq: BURST_COUNT });
    await waitAcked(fleet, name, BURST_COUNT);

    const { events, beyond } = await readBurst(fleet, name, BURST_COUNT);
    expect(beyond).toEqual([]);
    expect(events).toHaveLength(BURST_COUNT);
    expect(events.every((e) => e.type === BURST_TYPE && e.hostName === name)).toBe(true);
    expect(burstDefects(events, BURST_COUNT)).toEqual({ missing: [], repeated: [], repeatedSeqs: [], outOfRange: [] });
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: BURST_COUNT }, (_, k) => k + 1));
    expect(events.map((e) => e.payload.i)).toEqual(Array.from({ length: BURST_COUNT }, (_, k) => k));

    // The same agent process did all of it: it never exited.
    expect(agent.running).toBe(true);
    expect(fleet.hosts.get(name)!.agent).toBe(agent);
    expect(agent.stderr).not.toMatch(/agent stopped/);
  } finally {
    await emit.kill();
  }
}
