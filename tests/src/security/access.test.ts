// Who may call what: anonymous callers, users and hosts each reach only their own procedures; bad
// or revoked API tokens and wrong passwords exit 3; repeated login failures are rate limited; and no
// secret used here ever reaches the server's (debug-level) log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { expectOk, runCli, startServer, tempDir, type CliResult, type ServerHandle } from "../support/index.js";
import { attemptUpgrade, openRawLink, RawPeer, readHostCredentials, trpcHttp, validLinkJwt, wsUrl, type HostCredentials } from "./raw.js";

const EMAIL = "root@example.com";
const OTHER_EMAIL = "viewer@example.com";
const PASSWORD = `correct-horse-${randomBytes(6).toString("hex")}`;
const LOAD = { loadAvg1: 0, memFreeBytes: 1, memTotalBytes: 2, agentRssBytes: 1, outboxPending: 0 };

describe("access control", () => {
  let server: ServerHandle;
  let root: string;
  let configDir: string;
  let adminToken: string;
  let host: HostCredentials;
  /** Every secret this suite handles; none may appear in the server's log. */
  const secrets = new Set<string>();
  /** Failed logins for EMAIL so far (the limiter counts per email and per source address). */
  let accountFailures = 0;

  /** auth.login over HTTP from a chosen loopback address (Linux routes all of 127/8 locally). */
  const loginFrom = (localAddress: string, email: string, password: string): Promise<{ status: number; body: any }> => {
    secrets.add(password);
    return new Promise((resolve, reject) => {
      const body = JSON.stringify({ email, password });
      const req = httpRequest(`${server.url}/trpc/auth.login`, { method: "POST", localAddress, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on("error", reject);
      req.end(body);
    });
  };

  const cli = (args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> =>
    runCli(args, { stdin: opts.stdin, env: { CODEPIPER_CONFIG_DIR: configDir, ...opts.env } });
  const tokenIn = (dir: string) => (JSON.parse(readFileSync(join(dir, "credentials.json"), "utf8")) as { token: string }).token;

  beforeAll(async () => {
    root = tempDir("codepiper-access-");
    configDir = join(root, "config");
    server = await startServer({ dataDir: join(root, "cp"), env: { CODEPIPER_LOG_LEVEL: "debug" } });
    expect(server.setupToken).toMatch(/^cps_/);
    secrets.add(server.setupToken!);
    secrets.add(PASSWORD);
    // The first admin is created over the wire with the one-time setup token: the token and the
    // password both cross the server, which is what the log check at the end is about.
    expectOk(await cli(["admin", "setup", server.url, "--token", server.setupToken!, "--email", EMAIL, "--password-stdin"], { stdin: PASSWORD }));
    adminToken = tokenIn(configDir);
    secrets.add(adminToken);

    const joinToken = expectOk(await cli(["hosts", "token", "create", "--json"])).json<{ token: string }>().token;
    secrets.add(joinToken);
    const stateDir = join(root, "agent");
    expectOk(await cli(["agent", "join", server.url, "--token", joinToken, "--name", "access-host", "--state-dir", stateDir]));
    host = readHostCredentials(stateDir);
    // Replaying the used join token puts it on the wire once more.
    expect((await cli(["agent", "join", server.url, "--token", joinToken, "--name", "access-again", "--state-dir", join(root, "again")])).code).toBe(3);
  });
  afterAll(async () => {
    await server?.proc.kill();
  });

  it("anonymous HTTP calls to user procedures are UNAUTHORIZED", async () => {
    const calls: [string, "query" | "mutation", unknown][] = [
      ["hosts.list", "query", undefined],
      ["events.list", "query", {}],
      ["hosts.createJoinToken", "mutation", { ttlMs: 60_000 }],
      ["hosts.revoke", "mutation", { host: "access-host" }],
      ["hosts.ping", "mutation", { host: "access-host" }],
      ["auth.whoami", "query", undefined],
    ];
    for (const [path, type, input] of calls) {
      const res = await trpcHttp(server.url, path, { type, input });
      expect({ path, status: res.status, code: res.body.error?.data?.code }).toEqual({ path, status: 401, code: "UNAUTHORIZED" });
      expect(res.body.result).toBeUndefined();
    }
    // Nothing happened: the host is still there and not revoked.
    const hosts = expectOk(await cli(["hosts", "--json"])).json<{ name: string; revoked: boolean }[]>();
    expect(hosts.find((h) => h.name === "access-host")?.revoked).toBe(false);
  });

  it("anonymous and garbage-token WebSocket upgrades on /trpc are refused with 401", async () => {
    for (const headers of [{}, { authorization: "Bearer cpa_not-a-real-token" }, { authorization: "Bearer nonsense" }] as Record<string, string>[]) {
      const outcome = await attemptUpgrade(wsUrl(server.url, "/trpc"), headers);
      if (outcome.opened) outcome.ws.terminate();
      expect(outcome).toMatchObject({ opened: false, status: 401, code: "CODEPIPER_UNAUTHENTICATED" });
    }
  });

  it("a host cannot call user procedures over its link", async () => {
    const peer = await openRawLink(server.url, host);
    try {
      const calls: ["query" | "mutation", string, unknown][] = [
        ["query", "hosts.list", undefined],
        ["query", "events.list", {}],
        ["query", "auth.whoami", undefined],
        ["mutation", "hosts.createJoinToken", { ttlMs: 60_000 }],
        ["mutation", "hosts.revoke", { host: "access-host" }],
      ];
      for (const [method, path, input] of calls) {
        const answer = await peer.call(method, path, input);
        expect({ path, code: answer.error?.data?.code, result: answer.result }).toEqual({ path, code: "UNAUTHORIZED", result: undefined });
      }
      // Its own procedures work on the same socket (so the refusals above are about identity).
      expect((await peer.call("mutation", "link.heartbeat", { load: LOAD })).result?.data).toEqual({ ok: true });
    } finally {
      await peer.close();
    }
    const hosts = expectOk(await cli(["hosts", "--json"])).json<{ name: string; revoked: boolean }[]>();
    expect(hosts.find((h) => h.name === "access-host")?.revoked).toBe(false);
  });

  it("a user (even an admin) cannot call link procedures, over HTTP or WebSocket", async () => {
    const event = { seq: 1, type: "forged.event", sessionId: null, at: new Date().toISOString(), payload: {} };
    const calls: [string, "query" | "mutation", unknown][] = [
      ["link.pushEvents", "mutation", { events: [event] }],
      ["link.heartbeat", "mutation", { load: LOAD }],
      ["link.ackCommand", "mutation", { id: "1", ok: true }],
    ];
    for (const [path, type, input] of calls) {
      const res = await trpcHttp(server.url, path, { type, input, token: adminToken });
      expect({ path, status: res.status, code: res.body.error?.data?.code }).toEqual({ path, status: 401, code: "UNAUTHORIZED" });
    }
    const outcome = await attemptUpgrade(wsUrl(server.url, "/trpc"), { authorization: `Bearer ${adminToken}` });
    expect(outcome.opened).toBe(true);
    if (!outcome.opened) return;
    const peer = new RawPeer(outcome.ws);
    try {
      expect((await peer.call("mutation", "link.pushEvents", { events: [event] })).error?.data?.code).toBe("UNAUTHORIZED");
      expect((await peer.call("query", "auth.whoami")).result?.data).toMatchObject({ email: EMAIL, role: "admin" });
    } finally {
      await peer.close();
    }
    expect(expectOk(await cli(["events", "--json"])).json()).toEqual([]);
  });

  it("a garbage, revoked or expired API token exits 3", async () => {
    for (const token of ["cpa_garbage", "garbage", `cpa_${randomBytes(32).toString("base64url")}`, "x".repeat(500)]) {
      const res = await cli(["hosts", "--json"], { env: { CODEPIPER_TOKEN: token } });
      expect({ token: token.slice(0, 20), code: res.code, error: res.error()?.code }).toEqual({ token: token.slice(0, 20), code: 3, error: "CODEPIPER_UNAUTHENTICATED" });
    }

    // Two more tokens for the same admin, one then revoked and one expired (no API for either yet:
    // written straight into the database, in the format the rows already use).
    const issue = async (name: string) => {
      const dir = join(root, name);
      expectOk(await runCli(["login", server.url, "--email", EMAIL, "--password-stdin"], { stdin: PASSWORD, env: { CODEPIPER_CONFIG_DIR: dir } }));
      const token = tokenIn(dir);
      secrets.add(token);
      const me = expectOk(await cli(["whoami", "--json"], { env: { CODEPIPER_TOKEN: token } })).json<{ tokenId: string }>();
      return { token, id: me.tokenId };
    };
    const revoked = await issue("revoked");
    const expired = await issue("expired");
    const db = new Database(join(server.dataDir, "control-plane.db"));
    try {
      db.pragma("busy_timeout = 5000");
      expect(db.prepare(`UPDATE "ApiToken" SET "revokedAt" = "createdAt" WHERE "id" = ?`).run(revoked.id).changes).toBe(1);
      expect(db.prepare(`UPDATE "ApiToken" SET "expiresAt" = "createdAt" WHERE "id" = ?`).run(expired.id).changes).toBe(1);
    } finally {
      db.close();
    }
    for (const { token } of [revoked, expired]) {
      const res = await cli(["hosts", "token", "create", "--json"], { env: { CODEPIPER_TOKEN: token } });
      expect({ code: res.code, error: res.error()?.code }).toEqual({ code: 3, error: "CODEPIPER_UNAUTHENTICATED" });
      const human = await cli(["whoami"], { env: { CODEPIPER_TOKEN: token } });
      expect(human.code).toBe(3);
      expect(human.stderr).toMatch(/invalid, expired or revoked.*codepiper login/);
      // Over plain HTTP it is a 401 too, not a server error.
      expect((await trpcHttp(server.url, "auth.whoami", { type: "query", token })).status).toBe(401);
    }
    // The original token is unaffected.
    expect(expectOk(await cli(["whoami", "--json"])).json()).toMatchObject({ email: EMAIL });
  });

  it("a wrong password exits 3 with 'wrong email or password', and so does an unknown email", async () => {
    for (const [email, password] of [
      [EMAIL, `wrong-${randomBytes(6).toString("hex")}`],
      ["nobody@example.com", `wrong-${randomBytes(6).toString("hex")}`],
    ] as const) {
      secrets.add(password);
      const res = await runCli(["login", server.url, "--email", email, "--password-stdin"], { stdin: password, env: { CODEPIPER_CONFIG_DIR: join(root, "wrong") } });
      expect(res.code).toBe(3);
      expect(res.stderr).toMatch(/wrong email or password/);
      expect(res.stdout).toBe("");
    }
    accountFailures++;
  });

  it("after 5 failed logins the account is rate limited (CODEPIPER_RATE_LIMITED), even with the right password and from anywhere", async () => {
    // The limiter counts per email and per source address. Each failure below comes from its own
    // loopback address, so no address reaches the limit: what locks is the account.
    let source = 10;
    while (accountFailures < 5) {
      const res = await loginFrom(`127.0.0.${source++}`, EMAIL, `wrong-${randomBytes(6).toString("hex")}`);
      accountFailures++;
      expect({ status: res.status, code: res.body.error?.data?.appCode }).toEqual({ status: 401, code: "CODEPIPER_UNAUTHENTICATED" });
    }
    const dir = join(root, "limited");
    const limited = await runCli(["login", server.url, "--email", EMAIL, "--password-stdin", "--json"], { stdin: PASSWORD, env: { CODEPIPER_CONFIG_DIR: dir } });
    expect({ code: limited.code, error: limited.error()?.code }).toEqual({ code: 3, error: "CODEPIPER_RATE_LIMITED" });
    expect(limited.error()!.message).toMatch(/try again in \d+ s/);
    expect(existsSync(join(dir, "credentials.json"))).toBe(false);
    const fresh = await loginFrom("127.0.0.99", EMAIL, PASSWORD);
    expect({ status: fresh.status, code: fresh.body.error?.data?.appCode }).toEqual({ status: 429, code: "CODEPIPER_RATE_LIMITED" });
    // The lockout is about password logins to this account: an existing API token keeps working,
    // and another account can still log in from the same address.
    expect(expectOk(await cli(["whoami", "--json"])).json()).toMatchObject({ email: EMAIL });
    expectOk(await runCli(["admin", "create", "--data-dir", server.dataDir, "--email", OTHER_EMAIL, "--role", "viewer", "--password-stdin"], { stdin: PASSWORD }));
    const other = await loginFrom("127.0.0.1", OTHER_EMAIL, PASSWORD);
    expect(other.status).toBe(200);
    secrets.add(other.body.result.data.token);
  });

  it("after 5 failed logins from one address, that address is rate limited for every account", async () => {
    for (let i = 0; i < 5; i++) {
      const res = await loginFrom("127.0.0.200", `guess-${i}@example.com`, `wrong-${randomBytes(6).toString("hex")}`);
      expect(res.body.error?.data?.appCode).toBe("CODEPIPER_UNAUTHENTICATED");
    }
    const blocked = await loginFrom("127.0.0.200", OTHER_EMAIL, PASSWORD);
    expect({ status: blocked.status, code: blocked.body.error?.data?.appCode }).toEqual({ status: 429, code: "CODEPIPER_RATE_LIMITED" });
    expect((await loginFrom("127.0.0.201", OTHER_EMAIL, PASSWORD)).status).toBe(200);
  });

  it("secrets never reach the server's log, even at debug level", async () => {
    // More bait: secrets in places a careless log line would pick up.
    const jwt = validLinkJwt(host);
    secrets.add(jwt);
    await trpcHttp(server.url, "hosts.list", { type: "query", token: jwt });
    const onLink = await attemptUpgrade(wsUrl(server.url, "/link"), { authorization: `Bearer ${adminToken}` });
    expect(onLink.opened).toBe(false);
    const reusedSetup = await cli(["admin", "setup", server.url, "--token", server.setupToken!, "--email", "second@example.com", "--password-stdin"], { stdin: PASSWORD });
    expect(reusedSetup.code).toBe(6);
    // A malformed HTTP request carrying a token (the server's clientError path).
    await new Promise<void>((resolve) => {
      const socket = connect(server.port, "127.0.0.1", () => {
        socket.end(`GET /trpc/hosts.list HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\nBad Header Without Colon\r\n\r\n`);
      });
      socket.on("data", () => undefined);
      socket.on("close", () => resolve());
      socket.on("error", () => resolve());
    });

    // A graceful stop flushes the log.
    const exit = await server.proc.stop();
    expect(exit.code).toBe(0);
    const log = server.proc.stderr;
    // The log is really at debug level and saw the refusals above.
    expect(log).toMatch(/"level":20/);
    expect(log).toMatch(/refused upgrade/);
    expect(secrets.size).toBeGreaterThanOrEqual(10);
    for (const secret of secrets) {
      const forms = [secret, Buffer.from(secret).toString("base64"), Buffer.from(secret).toString("hex"), JSON.stringify([...Buffer.from(secret)]).slice(1, -1)];
      for (const form of forms) expect(log.includes(form), `a secret (${secret.slice(0, 6)}…) is in the server log`).toBe(false);
    }
  });
});
