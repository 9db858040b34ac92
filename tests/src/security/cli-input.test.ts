// Bad CLI input: every mistake exits non-zero with the documented exit code and a message that names
// the problem; with --json the error is one {error:{code,message}} document on stderr.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EXIT } from "@codepiper/cli/exit-codes";
import { Fleet, expectOk, freePort, runCli, spawnCli, tempDir, type CliResult } from "../support/index.js";

/** The --json error contract: stderr is exactly one JSON document, stdout is empty. */
function jsonError(res: CliResult): { code: string; message: string } {
  expect(res.stdout).toBe("");
  let doc: unknown;
  try {
    doc = JSON.parse(res.stderr);
  } catch {
    throw new Error(`stderr is not one JSON document:\n${res.stderr}`);
  }
  expect(doc).toEqual({ error: { code: expect.stringMatching(/^CODEPIPER_[A-Z_]+$/), message: expect.any(String) } });
  return (doc as { error: { code: string; message: string } }).error;
}

describe("bad CLI input", () => {
  let fleet: Fleet;
  let deadUrl: string;

  beforeAll(async () => {
    fleet = await Fleet.start();
    // Nothing listens here: the port was free a moment ago and is not handed to anyone by us.
    deadUrl = `http://127.0.0.1:${await freePort()}`;
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it("--help lists every exit code", async () => {
    const res = expectOk(await runCli(["--help"]));
    const listed = new Map([...res.stdout.matchAll(/^ {2}(\d+) +(\S.*)$/gm)].map((m) => [Number(m[1]), m[2]!]));
    for (const code of Object.values(EXIT)) expect(listed.has(code), `exit code ${code} in --help`).toBe(true);
    expect(listed.get(EXIT.usage)).toMatch(/usage|invalid/);
    expect(listed.get(EXIT.auth)).toMatch(/token|logged in/);
    expect(listed.get(EXIT.notFound)).toMatch(/not found/);
    expect(listed.get(EXIT.unreachable)).toMatch(/unreachable/);
    expect(listed.get(EXIT.conflict)).toMatch(/conflict/);
  });

  it("an unknown host for ping or revoke exits 4 and names the host", async () => {
    for (const args of [["hosts", "ping", "no-such-host"], ["hosts", "revoke", "no-such-host"], ["hosts", "commands", "no-such-host"]]) {
      const res = await fleet.cli(args);
      expect({ args, code: res.code }).toEqual({ args, code: EXIT.notFound });
      expect(res.stderr).toMatch(/no-such-host.*\[CODEPIPER_NOT_FOUND\]/);
      expect(jsonError(await fleet.cli([...args, "--json"]))).toMatchObject({ code: "CODEPIPER_NOT_FOUND" });
    }
  });

  it("a malformed URL exits 2 (not 1) for --url, login and agent join, and names the URL", async () => {
    const bad = ["not-a-url", "ftp://127.0.0.1:7077", "http://user:secret@127.0.0.1:7077", "http://[bad", "localhost:7077", ""];
    for (const url of bad) {
      const stateDir = join(fleet.root, "never-written");
      const runs: [string, Promise<CliResult>][] = [
        ["--url", fleet.cli(["hosts", "--url", url])],
        ["--url=", fleet.cli(["hosts", `--url=${url}`])],
        ["CODEPIPER_URL", runCli(["hosts"], { env: { CODEPIPER_URL: url || "x", CODEPIPER_CONFIG_DIR: join(fleet.root, "nocfg") } })],
        ["login", runCli(["login", url, "--email", "a@example.com", "--password-stdin"], { stdin: "whatever-password" })],
        ["agent join", runCli(["agent", "join", url, "--token", "cpj_x", "--name", "n", "--state-dir", stateDir])],
      ];
      for (const [what, run] of runs) {
        const res = await run;
        expect({ url, what, code: res.code }, res.stderr).toEqual({ url, what, code: EXIT.usage });
        expect(res.stderr).toMatch(/URL/);
        expect(res.stderr).toMatch(/\[CODEPIPER_BAD_INPUT\]/);
      }
      expect(existsSync(stateDir)).toBe(false);
    }
  });

  it("an unreachable control plane exits 5 and says it cannot reach it", async () => {
    const stateDir = join(fleet.root, "unreachable-join");
    const runs = [
      fleet.cli(["hosts", "--url", deadUrl]),
      fleet.cli(["hosts", "ping", "x", "--url", deadUrl]),
      runCli(["login", deadUrl, "--email", "a@example.com", "--password-stdin"], { stdin: "whatever-password" }),
      runCli(["agent", "join", deadUrl, "--token", "cpj_whatever", "--name", "n", "--state-dir", stateDir]),
    ];
    for (const res of await Promise.all(runs)) {
      expect(res.code, res.stderr).toBe(EXIT.unreachable);
      expect(res.stderr).toContain(`cannot reach the control plane at ${deadUrl}`);
      expect(res.stderr).toMatch(/\[CODEPIPER_UNREACHABLE\]/);
    }
    expect(existsSync(stateDir)).toBe(false);
    expect(jsonError(await fleet.cli(["hosts", "--url", deadUrl, "--json"]))).toMatchObject({ code: "CODEPIPER_UNREACHABLE", message: expect.stringMatching(/cannot reach/) });
  });

  it("bad durations exit 2 and name the flag", async () => {
    const cases: [string[], RegExp][] = [
      [["hosts", "token", "create", "--ttl", "15x"], /--ttl "15x"/],
      [["hosts", "token", "create", "--ttl", ""], /--ttl/],
      [["hosts", "token", "create", "--ttl", "-5m"], /--ttl/],
      [["hosts", "token", "create", "--ttl", "1.5.5h"], /--ttl "1.5.5h"/],
      [["hosts", "token", "create", "--ttl", "15"], /--ttl "15"/],
      [["hosts", "token", "create", "--ttl", "0s"], /ttl/i],
      [["hosts", "token", "create", "--ttl", "30d"], /ttl/i],
      [["hosts", "ping", "x", "--timeout", "soon"], /--timeout "soon"/],
      [["hosts", "ping", "x", "--ttl", "10 minutes"], /--ttl "10 minutes"/],
    ];
    for (const [args, message] of cases) {
      const res = await fleet.cli(args);
      expect({ args, code: res.code }, res.stderr).toEqual({ args, code: EXIT.usage });
      expect(res.stderr).toMatch(message);
    }
    // None of them created a token.
    const ok = expectOk(await fleet.cli(["hosts", "token", "create", "--ttl", "90s", "--json"])).json<{ expiresAt: string }>();
    expect(Date.parse(ok.expiresAt) - Date.now()).toBeGreaterThan(80_000);
  });

  it("an unknown command or option exits 2 and names it", async () => {
    const cases: [string[], RegExp][] = [
      [["frobnicate"], /unknown command 'frobnicate'/],
      [["hosts", "frobnicate"], /frobnicate/],
      [["hosts", "--frobnicate"], /unknown option '--frobnicate'/],
      [["--frobnicate"], /unknown option '--frobnicate'/],
      [["hosts", "ping"], /missing required argument 'host'/],
      [["agent", "join", fleet.url, "--token", "t"], /--name/],
      [["hosts", "token", "create", "--ttl"], /--ttl/],
    ];
    for (const [args, message] of cases) {
      const res = await fleet.cli(args);
      expect({ args, code: res.code }, res.stderr).toEqual({ args, code: EXIT.usage });
      expect(res.stderr).toMatch(message);
      const json = jsonError(await fleet.cli([...args, "--json"]));
      expect(json.code).toBe("CODEPIPER_BAD_INPUT");
      expect(json.message).toMatch(message);
    }
  });

  it("agent run with an empty or missing state dir exits 4 (not enrolled)", async () => {
    const empty = tempDir("codepiper-empty-state-");
    for (const dir of [empty, join(empty, "does-not-exist")]) {
      const res = await runCli(["agent", "run", "--state-dir", dir], { timeoutMs: 15_000 });
      expect(res.code, res.stderr).toBe(EXIT.notFound);
      expect(res.stderr).toMatch(/no enrollment in .*agent join.*\[CODEPIPER_AGENT_NOT_ENROLLED\]/);
    }
    expect(readdirSync(empty)).toEqual([]);
    expect(jsonError(await runCli(["agent", "run", "--state-dir", empty, "--json"]))).toMatchObject({ code: "CODEPIPER_AGENT_NOT_ENROLLED" });
  });

  it("a corrupt agent.json or credentials.json exits 2 and says which file is corrupt", async () => {
    const stateDir = tempDir("codepiper-corrupt-state-");
    writeFileSync(join(stateDir, "agent.json"), "{not json");
    for (const args of [["agent", "run", "--state-dir", stateDir], ["agent", "status", "--state-dir", stateDir]]) {
      const res = await runCli(args);
      expect(res.code, res.stderr).toBe(EXIT.usage);
      expect(res.stderr).toContain(`${join(stateDir, "agent.json")} is corrupt`);
    }
    const configDir = tempDir("codepiper-corrupt-config-");
    writeFileSync(join(configDir, "credentials.json"), "{oops");
    const res = await runCli(["hosts"], { env: { CODEPIPER_CONFIG_DIR: configDir } });
    expect(res.code, res.stderr).toBe(EXIT.usage);
    expect(res.stderr).toMatch(/credentials\.json is corrupt: run codepiper login/);
  });

  it("a second agent run on the same state dir exits 6 and leaves the first one running", async () => {
    const host = await fleet.run("cli-solo");
    const second = spawnCli(["agent", "run", "--state-dir", host.stateDir, "--json"], "second agent");
    const exit = await Promise.race([second.exited, new Promise<null>((r) => setTimeout(() => r(null), 20_000).unref())]);
    if (exit === null) await second.kill();
    expect(exit?.code, second.stderr).toBe(EXIT.conflict);
    expect(JSON.parse(second.stderr)).toEqual({ error: { code: "CODEPIPER_AGENT_ALREADY_RUNNING", message: expect.stringMatching(/already running/) } });
    expect(host.agent!.running).toBe(true);
    const ping = expectOk(await fleet.cli(["hosts", "ping", "cli-solo", "--json"])).json<{ status: string }>();
    expect(ping.status).toBe("succeeded");
  });

  it("admin create without --password-stdin exits 2 and says how to pass it", async () => {
    const dataDir = tempDir("codepiper-admin-");
    const res = await runCli(["admin", "create", "--data-dir", dataDir, "--email", "x@example.com"]);
    expect(res.code).toBe(EXIT.usage);
    expect(res.stderr).toMatch(/--password-stdin/);
    expect(jsonError(await runCli(["admin", "create", "--data-dir", dataDir, "--email", "x@example.com", "--json"]))).toMatchObject({ code: "CODEPIPER_BAD_INPUT" });
    // Nor does a too-short password or a bad role get through.
    const short = await runCli(["admin", "create", "--data-dir", dataDir, "--email", "x@example.com", "--password-stdin"], { stdin: "short" });
    expect(short.code).toBe(EXIT.usage);
    expect(short.stderr).toMatch(/password must be at least/);
    const role = await runCli(["admin", "create", "--data-dir", dataDir, "--email", "x@example.com", "--password-stdin", "--role", "god"], { stdin: "long-enough-password" });
    expect(role.code).toBe(EXIT.usage);
    expect(role.stderr).toMatch(/--role god/);
  });

  it("--json errors are one {error:{code,message}} document on stderr, wherever --json sits", async () => {
    const cases: [string[], string][] = [
      [["--json", "hosts", "ping", "nope"], "CODEPIPER_NOT_FOUND"],
      [["hosts", "ping", "nope", "--json"], "CODEPIPER_NOT_FOUND"],
      [["--json", "hosts", "token", "create", "--ttl", "15x"], "CODEPIPER_BAD_INPUT"],
      [["--json", "nope"], "CODEPIPER_BAD_INPUT"],
      [["hosts", "--json", "--nope"], "CODEPIPER_BAD_INPUT"],
      [["--json", "hosts", "--url", "nope"], "CODEPIPER_BAD_INPUT"],
    ];
    for (const [args, code] of cases) {
      expect({ args, ...jsonError(await fleet.cli(args)) }).toMatchObject({ args, code });
    }
    const noLogin = await runCli(["hosts", "--json"], { env: { CODEPIPER_CONFIG_DIR: join(fleet.root, "nobody"), CODEPIPER_URL: fleet.url } });
    expect(noLogin.code).toBe(EXIT.auth);
    expect(jsonError(noLogin)).toMatchObject({ code: "CODEPIPER_UNAUTHENTICATED", message: expect.stringMatching(/codepiper login/) });
  });
});
