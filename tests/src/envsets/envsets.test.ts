/**
 * Env sets (issue 5) through the real CLI, control plane and agent: values encrypted at rest,
 * shown masked, delivered to a session and nowhere else; bad input; master key rotation; the
 * wrong master key fails clearly without a crash or data loss.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk, Fleet, listFiles, tempDir } from "../support/index.js";
import { runFakeProviderHost, sessionLogs, startSession, waitPane, waitSessionStatus, type FakeProviderHost } from "../support/sessions.js";


interface EnvSetView {
  id: string;
  name: string;
  names: string[];
  masked: Record<string, string>;
  keyVersion: number;
}

describe("env sets", () => {
  let fleet: Fleet;
  let host: FakeProviderHost;

  beforeAll(async () => {
    fleet = await Fleet.start();
    host = await runFakeProviderHost(fleet, "h1");
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it("create / list / get / update / delete show names and masked values only", async () => {
    const token = `tok-${randomUUID()}`;
    const dir = tempDir("codepiper-dotenv-");
    const dotenv = join(dir, "app.env");
    writeFileSync(dotenv, `# app\nexport DB_URL="postgres://u:${token}@db/app"\nSHORT='abc'\n`);
    const created = expectOk(await fleet.cli(["env-set", "create", "--name", "app", "--description", "the app", "--from-dotenv", dotenv, "--var", "FROM_SHELL", "--json"], { env: { FROM_SHELL: token } }));
    const view = created.json<EnvSetView>();
    expect(view.names).toEqual(["DB_URL", "FROM_SHELL", "SHORT"]);
    expect(view.masked).toEqual({ DB_URL: "****/app", FROM_SHELL: `****${token.slice(-4)}`, SHORT: "****" });
    const list = expectOk(await fleet.cli(["env-set", "list"]));
    expect(list.stdout).toContain("app");
    expect(list.stdout).toContain("DB_URL=****/app");
    const get = expectOk(await fleet.cli(["env-set", "get", "app"]));
    expect(get.stdout).toContain("SHORT");
    for (const out of [created.stdout, created.stderr, list.stdout, get.stdout, expectOk(await fleet.cli(["env-set", "list", "--json"])).stdout]) expect(out).not.toContain(token);

    const upd = expectOk(await fleet.cli(["env-set", "update", "app", "--var", "EXTRA=1", "--unset", "SHORT", "--json"])).json<EnvSetView>();
    expect(upd.names).toEqual(["DB_URL", "EXTRA", "FROM_SHELL"]);
    const replaced = expectOk(await fleet.cli(["env-set", "update", "app", "--replace", "--var", "ONLY=one", "--json"])).json<EnvSetView>();
    expect(replaced.names).toEqual(["ONLY"]);
    expect((await fleet.cli(["env-set", "update", "app", "--unset", "NOPE"])).code).toBe(4);
    expectOk(await fleet.cli(["env-set", "delete", "app"]));
    expect((await fleet.cli(["env-set", "get", "app"])).code).toBe(4);
    const audit = expectOk(await fleet.cli(["audit", "--actions", "--json"])).stdout;
    expect(audit).toContain("envset.create");
    expect(audit).toContain("envset.delete");
    expect(audit).not.toContain(token);
  });

  it("bad input: invalid names and oversized values exit 2 and never echo the value", async () => {
    const secret = `bad-${randomUUID()}`;
    for (const args of [
      ["env-set", "create", "--name", "bad1", "--var", `1ABC=${secret}`],
      ["env-set", "create", "--name", "bad2", "--var", `A-B=${secret}`],
      ["env-set", "create", "--name", "bad3", "--var", `BIG=${secret}${"x".repeat(64 * 1024)}`],
    ]) {
      const res = await fleet.cli(args);
      expect(res.code, args[4]!.slice(0, 20)).toBe(2);
      expect(res.stdout + res.stderr).not.toContain(secret);
    }
    const dir = tempDir("codepiper-dotenv-");
    const dotenv = join(dir, "bad.env");
    writeFileSync(dotenv, `OK=1\n9NOPE=${secret}\n`);
    const fromFile = await fleet.cli(["env-set", "create", "--name", "bad4", "--from-dotenv", dotenv]);
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr).toContain("line 2");
    expect(fromFile.stderr).not.toContain(secret);
    // The server checks too (a client that skips the CLI's checks).
    const tooMany = Array.from({ length: 501 }, (_, i) => `--var=V${i}=x`);
    expect((await fleet.cli(["env-set", "create", "--name", "bad5", ...tooMany])).code).toBe(2);
    expect(expectOk(await fleet.cli(["env-set", "list", "--json"])).json<EnvSetView[]>().map((s) => s.name)).not.toContain("bad1");
  });

  it("a canary in an env set reaches the session and nothing else", async () => {
    const canary = `canary-${randomUUID()}`;
    const outputs: string[] = [];
    const created = expectOk(await fleet.cli(["env-set", "create", "--name", "canary", "--var", "CANARY_SECRET", "--json"], { env: { CANARY_SECRET: canary } }));
    outputs.push(created.stdout, created.stderr);
    const started = expectOk(await fleet.cli([...host.startArgs(), "--env-set", "canary", "--json"], { timeoutMs: 60_000 }));
    outputs.push(started.stdout, started.stderr);
    const s = started.json<{ id: string; envNames: string[] }>();
    expect(s.envNames).toEqual(["CANARY_SECRET"]);
    await waitSessionStatus(fleet, s.id, "idle");
    expectOk(await fleet.cli(["send", s.id, "PRINTENV CANARY_SECRET"]));
    // The session sees it (its terminal is the one place it may appear).
    await waitPane(fleet, s.id, `env CANARY_SECRET=${canary}`);
    for (const args of [["events", "--json", "--limit", "10000"], ["sessions", "--json"], ["env-set", "get", "canary", "--json"], ["env-set", "list", "--json"], ["audit", "--actions", "--json", "--limit", "10000"], ["logs", s.id, "--json", "--limit", "10000"]]) {
      const res = expectOk(await fleet.cli(args));
      outputs.push(res.stdout, res.stderr);
    }
    outputs.push(JSON.stringify(await sessionLogs(fleet, s.id)));
    for (const text of outputs) expect(text).not.toContain(canary);
    const files = [...listFiles(fleet.server.dataDir), ...listFiles(host.host.stateDir)];
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) expect(readFileSync(file).includes(canary), file).toBe(false);
    expect(fleet.server.proc.stderr + fleet.server.proc.stdout + host.host.agent!.stderr + host.host.agent!.stdout).not.toContain(canary);
  });

  it("keys rotate re-wraps every env set; sessions still start with them", async () => {
    expectOk(await fleet.cli(["env-set", "create", "--name", "rot", "--var", "ROT_VALUE=rotation-check-value"]));
    const before = expectOk(await fleet.cli(["keys", "status", "--json"])).json<{ currentVersion: number; envSets: Record<string, number> }>();
    const rotated = expectOk(await fleet.cli(["keys", "rotate", "--json"])).json<{ rotated: boolean; currentVersion: number; envSets: { rewrapped: number; failed: number } }>();
    expect(rotated.rotated).toBe(true);
    expect(rotated.currentVersion).toBe(before.currentVersion + 1);
    expect(rotated.envSets.failed).toBe(0);
    expect(rotated.envSets.rewrapped).toBe(Object.values(before.envSets).reduce((a, b) => a + b, 0));
    const after = expectOk(await fleet.cli(["keys", "status", "--json"])).json<{ currentVersion: number; versions: number[]; envSets: Record<string, number> }>();
    expect(Object.keys(after.envSets)).toEqual([String(after.currentVersion)]);
    expect(after.versions).toContain(before.currentVersion);
    expect(expectOk(await fleet.cli(["keys", "status"])).stdout).toContain(`current version ${after.currentVersion}`);
    const s = await startSession(fleet, [...host.startArgs(), "--env-set", "rot"]);
    await waitSessionStatus(fleet, s.id, "idle");
    expectOk(await fleet.cli(["send", s.id, "PRINTENV ROT_VALUE"]));
    await waitPane(fleet, s.id, "env ROT_VALUE=rotation-check-value");
    // `keys <session> <key…>` still presses keys.
    expectOk(await fleet.cli(["keys", s.id, "enter"]));
    expect((await fleet.cli(["audit", "--actions"])).stdout).toContain("keys.rotate");
  });

  it("the wrong master key: clear errors, the server keeps running, nothing is lost", async () => {
    const keyFile = join(fleet.server.dataDir, "master-keys.json");
    const keysBefore = readFileSync(keyFile, "utf8");
    const wrong = [1, 2, 3].map((v) => `${v}:${randomBytes(32).toString("base64")}`).join(",");
    fleet.serverEnv = { ...fleet.serverEnv, CODEPIPER_MASTER_KEY: wrong };
    await fleet.restartServer();
    // The host must be back before `start` (it is refused as offline before any env set is opened).
    await fleet.waitStatus("h1", "online", 30_000);
    try {
      const get = await fleet.cli(["env-set", "get", "rot"]);
      expect(get.code).not.toBe(0);
      expect(get.stderr).toMatch(/cannot decrypt env set rot: the master key/);
      const start = await fleet.cli([...host.startArgs(), "--env-set", "rot"], { timeoutMs: 60_000 });
      expect(start.code).not.toBe(0);
      expect(start.stderr).toContain("cannot decrypt env set rot");
      const upd = await fleet.cli(["env-set", "update", "rot", "--var", "X=1"]);
      expect(upd.code).not.toBe(0);
      // list still answers (the set is shown as undecryptable).
      const list = expectOk(await fleet.cli(["env-set", "list", "--json"])).json<{ name: string; error: string | null }[]>();
      expect(list.find((s) => s.name === "rot")?.error).toContain("cannot decrypt");
      expect((await fetch(`${fleet.url}/healthz`)).status).toBe(200);
      expect(fleet.server.proc.running).toBe(true);
    } finally {
      fleet.serverEnv = Object.fromEntries(Object.entries(fleet.serverEnv).filter(([k]) => k !== "CODEPIPER_MASTER_KEY"));
      await fleet.restartServer();
    }
    expect(readFileSync(keyFile, "utf8")).toBe(keysBefore);
    const view = expectOk(await fleet.cli(["env-set", "get", "rot", "--json"])).json<EnvSetView>();
    expect(view.names).toEqual(["ROT_VALUE"]);
    await fleet.waitStatus("h1", "online", 30_000);
    const s = await startSession(fleet, [...host.startArgs(), "--env-set", "rot"]);
    await waitSessionStatus(fleet, s.id, "idle");
    expectOk(await fleet.cli(["send", s.id, "PRINTENV ROT_VALUE"]));
    await waitPane(fleet, s.id, "env ROT_VALUE=rotation-check-value");
  });
});
