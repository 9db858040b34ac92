// One-time join tokens (DESIGN.md §2 "Enrollment"): single use, TTL, stored hashed, and a failed
// join leaves nothing behind on the host. Real CLI processes against a real control plane.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Fleet, expectOk, runCli, waitFor, type CliResult } from "../support/index.js";
import { trpcHttp } from "./raw.js";

describe("join tokens", () => {
  let fleet: Fleet;
  let n = 0;
  const freshDir = () => join(fleet.root, `join-${++n}`);
  const agentJoin = (token: string, name: string, stateDir: string, json = true) =>
    runCli(["agent", "join", fleet.url, "--token", token, "--name", name, "--state-dir", stateDir, ...(json ? ["--json"] : [])]);

  /** A failed join: the exit code, the code in the --json error document, and an untouched state dir. */
  function expectFailedJoin(res: CliResult, exit: number, code: string, stateDir: string): void {
    expect({ exit: res.code, code: res.error()?.code }, res.stderr).toEqual({ exit, code });
    expect(res.stdout).toBe("");
    expect(existsSync(stateDir) ? readdirSync(stateDir) : []).toEqual([]);
  }

  async function hostNames(): Promise<string[]> {
    return (await fleet.hostList()).map((h) => h.name);
  }

  beforeAll(async () => {
    fleet = await Fleet.start();
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it("a token works once; its reuse exits 3 with CODEPIPER_JOIN_TOKEN_USED and writes nothing", async () => {
    const token = await fleet.joinToken();
    const firstDir = freshDir();
    const first = expectOk(await agentJoin(token, "used-1", firstDir));
    expect(first.json().name).toBe("used-1");
    expect(readdirSync(firstDir).sort()).toEqual(["agent.json", "keys"]);

    const againDir = freshDir();
    expectFailedJoin(await agentJoin(token, "used-2", againDir), 3, "CODEPIPER_JOIN_TOKEN_USED", againDir);
    // Without --json the message says what happened, with the code.
    const human = await agentJoin(token, "used-3", againDir, false);
    expect(human.code).toBe(3);
    expect(human.stderr).toMatch(/already used.*\[CODEPIPER_JOIN_TOKEN_USED\]/);
    expect(await hostNames()).not.toContain("used-2");
  });

  it("an expired token exits 3 with CODEPIPER_JOIN_TOKEN_EXPIRED", async () => {
    const created = expectOk(await fleet.cli(["hosts", "token", "create", "--ttl", "1s", "--json"])).json<{ token: string; expiresAt: string }>();
    const expiresAt = Date.parse(created.expiresAt);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(1000);
    // Same machine, same clock: poll until the deadline has passed instead of sleeping a guess.
    await waitFor(() => Date.now() > expiresAt, { what: "the join token's expiry", timeoutMs: 5000, intervalMs: 20 });
    const dir = freshDir();
    const res = await agentJoin(created.token, "late", dir);
    expectFailedJoin(res, 3, "CODEPIPER_JOIN_TOKEN_EXPIRED", dir);
    expect(res.error()!.message).toMatch(/expired/);
    expect(await hostNames()).not.toContain("late");
  });

  it("a garbage token exits 3 with CODEPIPER_JOIN_TOKEN_INVALID, whatever its shape", async () => {
    const apiToken = (JSON.parse(readFileSync(join(fleet.configDir, "credentials.json"), "utf8")) as { token: string }).token;
    const garbage = [
      `cpj_${randomBytes(32).toString("base64url")}`, // well-formed, never issued
      "definitely-not-a-token",
      "x", // shorter than any real token
      apiToken, // a real secret of another kind
      fleet.server.setupToken ?? "cps_unused", // a real one-time token of another kind
    ];
    for (const token of garbage) {
      const dir = freshDir();
      expectFailedJoin(await agentJoin(token, "garbage", dir), 3, "CODEPIPER_JOIN_TOKEN_INVALID", dir);
    }
    expect(await hostNames()).not.toContain("garbage");
  });

  it("a taken name exits 6 with CODEPIPER_HOST_NAME_TAKEN and does not burn the token", async () => {
    expectOk(await agentJoin(await fleet.joinToken(), "taken", freshDir()));
    const token = await fleet.joinToken();
    const dir = freshDir();
    const res = await agentJoin(token, "taken", dir);
    expectFailedJoin(res, 6, "CODEPIPER_HOST_NAME_TAKEN", dir);
    expect(res.error()!.message).toMatch(/taken/);
    // The refused join left the token unused.
    expectOk(await agentJoin(token, "taken-2", freshDir()));
  });

  it("invalid names exit 2 before anything is sent, and the token stays usable", async () => {
    const token = await fleet.joinToken();
    const cases: [string[], RegExp][] = [
      [["--name=-x"], /--name "-x"/],
      [["--name", "-x"], /--name/],
      [["--name", "a b"], /--name "a b"/],
      [["--name", "x".repeat(64)], /--name/],
      [["--name", "bad_name"], /--name "bad_name"/],
      [["--name", ""], /--name/],
    ];
    for (const [nameArgs, message] of cases) {
      const dir = freshDir();
      const res = await runCli(["agent", "join", fleet.url, "--token", token, ...nameArgs, "--state-dir", dir]);
      expect(res.code, `${nameArgs.join(" ")}: ${res.stderr}`).toBe(2);
      expect(res.stderr).toMatch(message);
      expect(existsSync(dir)).toBe(false);
    }
    const longest = "y".repeat(63);
    expectOk(await agentJoin(token, longest, freshDir()));
    expect(await hostNames()).toContain(longest);
  });

  it("the control plane itself refuses invalid names (bypassing the CLI) without burning the token", async () => {
    const token = await fleet.joinToken();
    const input = (name: string) => ({
      token,
      name,
      signingPublicKey: generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString(),
      encryptionPublicKey: generateKeyPairSync("x25519").publicKey.export({ type: "spki", format: "pem" }).toString(),
      facts: { agentVersion: "0.1.0", protocolVersion: 1, os: { platform: "linux", release: "6", arch: "x64", hostname: "h" }, tmuxVersion: null, providers: [], capabilities: [] },
    });
    for (const name of ["-x", "a b", "z".repeat(64), "", "../../etc"]) {
      const res = await trpcHttp(fleet.url, "hosts.join", { type: "mutation", input: input(name) });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error.data.appCode).toBe("CODEPIPER_BAD_INPUT");
    }
    // Keys of the wrong type are refused too.
    const swapped = { ...input("swapped"), signingPublicKey: input("x").encryptionPublicKey };
    expect((await trpcHttp(fleet.url, "hosts.join", { type: "mutation", input: swapped })).body.error.data.appCode).toBe("CODEPIPER_BAD_INPUT");
    const ok = await trpcHttp(fleet.url, "hosts.join", { type: "mutation", input: input("direct-ok") });
    expect(ok.status).toBe(200);
  });

  it("a state dir that already holds an enrollment is refused (exit 6) and left as it was", async () => {
    const dir = freshDir();
    expectOk(await agentJoin(await fleet.joinToken(), "enrolled-once", dir));
    const before = readFileSync(join(dir, "agent.json"), "utf8");
    const token = await fleet.joinToken();
    const res = await agentJoin(token, "enrolled-twice", dir);
    expect({ exit: res.code, code: res.error()?.code }).toEqual({ exit: 6, code: "CODEPIPER_CONFLICT" });
    expect(readFileSync(join(dir, "agent.json"), "utf8")).toBe(before);
    expect(await hostNames()).not.toContain("enrolled-twice");
  });

  it("a failed join into an existing empty state dir leaves it empty", async () => {
    const dir = freshDir();
    mkdirSync(dir);
    expectFailedJoin(await agentJoin(`cpj_${randomBytes(32).toString("base64url")}`, "empty-dir", dir), 3, "CODEPIPER_JOIN_TOKEN_INVALID", dir);
  });

  it("two concurrent joins with one token: exactly one wins", async () => {
    for (let round = 0; round < 2; round++) {
      const token = await fleet.joinToken();
      const names = [`race-${round}-a`, `race-${round}-b`];
      const dirs = names.map(() => freshDir());
      const results = await Promise.all(names.map((name, i) => agentJoin(token, name, dirs[i]!)));
      const winners = results.flatMap((r, i) => (r.code === 0 ? [i] : []));
      expect(winners, results.map((r) => r.stderr).join("\n")).toHaveLength(1);
      const loser = 1 - winners[0]!;
      expectFailedJoin(results[loser]!, 3, "CODEPIPER_JOIN_TOKEN_USED", dirs[loser]!);
      const listed = await hostNames();
      expect(listed).toContain(names[winners[0]!]);
      expect(listed).not.toContain(names[loser]);
    }
  });

  it("twenty concurrent join requests with one token: exactly one host is created, the rest are told the token is used", async () => {
    const token = await fleet.joinToken();
    const keys = () => ({
      signingPublicKey: generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString(),
      encryptionPublicKey: generateKeyPairSync("x25519").publicKey.export({ type: "spki", format: "pem" }).toString(),
    });
    const facts = { agentVersion: "0.1.0", protocolVersion: 1, os: { platform: "linux", release: "6", arch: "x64", hostname: "h" }, tmuxVersion: null, providers: [], capabilities: [] };
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => trpcHttp(fleet.url, "hosts.join", { type: "mutation", input: { token, name: `burst-${i}`, ...keys(), facts } })),
    );
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status !== 200);
    expect(ok).toHaveLength(1);
    expect(refused.map((r) => r.body.error.data.appCode)).toEqual(Array(19).fill("CODEPIPER_JOIN_TOKEN_USED"));
    expect((await hostNames()).filter((name) => name.startsWith("burst-"))).toEqual([ok[0]!.body.result.data.name]);
    expect(fleet.server.proc.running).toBe(true);
  });
});
