import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet, waitFor } from "../support/index.js";
import { ControlPlaneView } from "./burst.js";
import { burstAcrossControlPlaneKill } from "./scenarios.js";

/**
 * How long a linked host may take to come back after the control plane restarts, measured from the
 * moment the new process answers /healthz. DESIGN.md §7 budgets 10 s for the whole fleet; the
 * agents' backoff is capped at 8 s with equal jitter, so a host that started redialing when the old
 * process died is never more than ~4 s (the ceiling of the attempt it is on) from its next try.
 */
const BACK_ONLINE_WITHIN_MS = 10_000;

describe("chaos: SIGKILL / restart the control plane", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start();
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it("a burst shipped across a kill -9 of the control plane arrives exactly once (SQLite)", async () => {
    await burstAcrossControlPlaneKill(fleet, "burst-cp");
  });

  it("restart the control plane with 3 hosts linked: all are back online without anyone touching them", async () => {
    const names = ["ring-a", "ring-b", "ring-c"];
    for (const name of names) await fleet.join(name);
    await Promise.all(names.map((name) => fleet.run(name)));
    const agents = names.map((name) => fleet.hosts.get(name)!.agent!);
    const view = new ControlPlaneView(fleet);

    for (const how of ["SIGKILL", "SIGTERM"] as const) {
      const downAt = Date.now();
      const server = fleet.server.proc;
      if (how === "SIGKILL") {
        await server.kill();
        expect(server.child.signalCode).toBe("SIGKILL");
      } else {
        // Graceful: the control plane closes every link (4503) and exits 0.
        const stopped = await server.stop();
        expect(stopped, `the control plane's exit (stderr tail: ${server.stderr.slice(-2000)})`).toEqual({ code: 0, signal: null });
      }
      expect(agents.every((a) => a.running)).toBe(true);

      await fleet.restartServer();
      const upAt = Date.now();
      await waitFor(
        async () => {
          const hosts = await Promise.all(names.map((name) => view.host(name)));
          return hosts.every((h) => h.status === "online" && h.connectedAt !== null && Date.parse(h.connectedAt) > downAt);
        },
        { what: `all of ${names.join(", ")} back online after a ${how} restart`, timeoutMs: BACK_ONLINE_WITHIN_MS, intervalMs: 50 },
      );
      expect(Date.now() - upAt).toBeLessThan(BACK_ONLINE_WITHIN_MS);

      // Seen through the real CLI too, and the same agent processes are still the ones linked.
      const listed = await fleet.hostList();
      expect(names.map((name) => listed.find((h) => h.name === name)?.status)).toEqual(["online", "online", "online"]);
      names.forEach((name, i) => expect(fleet.hosts.get(name)!.agent).toBe(agents[i]));
      expect(agents.every((a) => a.running)).toBe(true);
    }
    for (const agent of agents) expect(agent.stderr).not.toMatch(/agent stopped/);
  });
});
