import { afterAll, describe, expect, it } from "vitest";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { freePort, runCli, spawnCli, startServer, tempDir, waitFor, type Proc, type ServerHandle } from "../support/index.js";

describe("first run", () => {
  const procs: Proc[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
  });

  it("codepiper server prints a one-time setup token that creates the first admin exactly once", async () => {
    const server: ServerHandle = await startServer();
    procs.push(server.proc);
    expect(server.setupToken).toMatch(/^cps_/);
    const configDir = tempDir();
    const env = { CODEPIPER_CONFIG_DIR: configDir };
    const setup = await runCli(["admin", "setup", server.url, "--token", server.setupToken!, "--email", "first@example.com", "--password-stdin", "--json"], { stdin: "first-admin-password", env });
    expect(setup.code).toBe(0);
    expect(setup.json().role).toBe("admin");
    const me = await runCli(["whoami", "--json"], { env });
    expect(me.json()).toMatchObject({ email: "first@example.com", role: "admin" });

    const again = await runCli(["admin", "setup", server.url, "--token", server.setupToken!, "--email", "second@example.com", "--password-stdin", "--json"], { stdin: "second-admin-password", env });
    expect(again.code).toBe(6);
    expect(again.error()?.code).toBe("CODEPIPER_SETUP_DONE");
    const wrong = await runCli(["login", server.url, "--email", "first@example.com", "--password-stdin", "--json"], { stdin: "not-the-password", env });
    expect(wrong.code).toBe(3);
  });

  it("codepiper up runs a control plane and an enrolled, linked local agent, and stops both on SIGTERM", async () => {
    const dataDir = tempDir();
    const configDir = join(dataDir, "config");
    const port = await freePort();
    const up = spawnCli(["up", "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`, "--name", "laptop", "--json"], "up", { CODEPIPER_CONFIG_DIR: configDir });
    procs.push(up);
    const summary = await new Promise<Record<string, unknown>>((resolve, reject) => {
      createInterface({ input: up.child.stdout! }).on("line", (line) => {
        if (line.startsWith("{")) resolve(JSON.parse(line) as Record<string, unknown>);
      });
      void up.exited.then(({ code }) => reject(new Error(`up exited ${code}: ${up.stderr}`)));
    });
    expect(summary).toMatchObject({ url: `http://127.0.0.1:${port}`, host: "laptop", hostOnline: true, admin: "admin@fleet.local" });
    expect(typeof summary.password).toBe("string");

    const hosts = await runCli(["hosts", "--json"], { env: { CODEPIPER_CONFIG_DIR: configDir } });
    expect(hosts.json()).toEqual([expect.objectContaining({ name: "laptop", status: "online" })]);
    const ping = await runCli(["hosts", "ping", "laptop", "--json"], { env: { CODEPIPER_CONFIG_DIR: configDir } });
    expect(ping.json().status).toBe("succeeded");

    const exit = await up.stop();
    expect(exit.code).toBe(0);
    await waitFor(async () => {
      try {
        await fetch(`http://127.0.0.1:${port}/healthz`);
        return false;
      } catch {
        return true;
      }
    }, { what: "the control plane started by up to stop" });
  });
});
