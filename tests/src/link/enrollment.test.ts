import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statSync } from "node:fs";
import { join } from "node:path";
import { Fleet, expectOk } from "../support/index.js";

describe("enrollment and the authenticated link", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start();
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it("stores the login token with mode 0600", () => {
    expect(statSync(join(fleet.configDir, "credentials.json")).mode & 0o777).toBe(0o600);
  });

  it("a joined host comes online with its facts, answers ping, and a revoked host's agent exits for good", async () => {
    const host = await fleet.run("alpha");
    const listed = (await fleet.hostList()).find((h) => h.name === "alpha")!;
    expect(listed.status).toBe("online");
    expect(listed.version).toBe("0.1.0");
    expect(listed.tmuxVersion).toMatch(/^\d+\.\d+/);
    expect(listed.os).toMatch(/linux/);
    expect(Array.isArray(listed.providers)).toBe(true);
    expect(statSync(join(host.stateDir, "keys", "signing.pem")).mode & 0o777).toBe(0o600);

    const ping = expectOk(await fleet.cli(["hosts", "ping", "alpha", "--json"])).json();
    expect(ping.status).toBe("succeeded");
    expect(ping.latencyMs).toBeGreaterThan(0);

    const revokedAt = Date.now();
    expectOk(await fleet.cli(["hosts", "revoke", "alpha"]));
    const exit = await host.agent!.exited;
    expect(Date.now() - revokedAt).toBeLessThan(3000);
    expect(exit.code).toBe(10);
    expect(host.agent!.stderr).toMatch(/revoked/);
    expect((await fleet.hostList()).find((h) => h.name === "alpha")!.status).toBe("offline");
  });
});
