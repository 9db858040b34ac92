// Issue 5 (access): users, API tokens (scope, expiry, revocation, ownership), TOTP login, and
// dashboard cookies with the Origin check, over the wire and through the CLI.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import Database from "better-sqlite3";
import { expectOk, Fleet } from "../support/index.js";
import { totpAt, totpStep } from "../support/totp.js";
import { attemptUpgrade, trpcHttp, wsUrl } from "./raw.js";

const PASSWORD = "account-password-123";

const stepNow = () => totpStep();

interface Answer {
  status: number;
  headers: Headers;
  body: { result?: { data?: any }; error?: { message: string; data?: { code?: string; appCode?: string } } };
}

describe("accounts, tokens, TOTP and dashboard sessions", () => {
  let fleet: Fleet;
  const env = (token: string) => ({ CODEPIPER_URL: fleet.url, CODEPIPER_TOKEN: token });
  const login = async (email: string, password: string, totp?: string): Promise<Answer> => (await trpcHttp(fleet.url, "auth.login", { type: "mutation", input: { email, password, totp } })) as Answer;
  const tokenOf = async (email: string, password = PASSWORD) => {
    const res = await login(email, password);
    expect(res.status).toBe(200);
    return res.body.result!.data.token as string;
  };
  const browserLogin = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${fleet.url}/auth/login-browser`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

  beforeAll(async () => {
    fleet = await Fleet.start();
    for (const [email, role] of [["op@example.com", "operator"], ["view@example.com", "viewer"], ["totp@example.com", "operator"], ["web@example.com", "viewer"]]) {
      expectOk(await fleet.cli(["users", "create", "--email", email!, "--role", role!, "--password-stdin", "--json"], { stdin: PASSWORD }));
    }
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it("users: list, update, and the last admin / yourself are protected", async () => {
    const list = expectOk(await fleet.cli(["users", "list", "--json"])).json<{ email: string; role: string }[]>();
    expect(list.map((u) => `${u.email}:${u.role}`)).toContain("op@example.com:operator");
    expect((await fleet.cli(["users", "delete", "admin@example.com", "--json"])).code).toBe(6);
    expect((await fleet.cli(["users", "update", "admin@example.com", "--role", "viewer", "--json"])).code).toBe(6);
    expect((await fleet.cli(["users", "update", "nobody@example.com", "--disable", "--json"])).code).toBe(4);
    expectOk(await fleet.cli(["users", "create", "--email", "temp@example.com", "--role", "viewer", "--password-stdin"], { stdin: PASSWORD }));
    const tempToken = await tokenOf("temp@example.com");
    expectOk(await fleet.cli(["users", "update", "temp@example.com", "--disable"]));
    expect((await fleet.cli(["whoami", "--json"], { env: env(tempToken) })).code).toBe(3);
    expectOk(await fleet.cli(["users", "delete", "temp@example.com"]));
  });

  it("a wrong password exits 3 and gets no token", async () => {
    const res = await fleet.cli(["login", fleet.url, "--email", "op@example.com", "--password-stdin", "--json", "--config-dir", join(fleet.root, "wrong")], { stdin: "not-the-password" });
    expect(res.code).toBe(3);
    expect(res.stderr).toContain("CODEPIPER_UNAUTHENTICATED");
  });

  it("tokens: created once, listed without secrets, revoked and expired tokens stop working", async () => {
    const created = expectOk(await fleet.cli(["tokens", "create", "--name", "ci", "--role", "viewer", "--ttl", "1h", "--json"])).json<{ id: string; token: string; role: string }>();
    expect(created).toMatchObject({ role: "viewer" });
    expect(created.token).toMatch(/^cpa_/);
    expect(expectOk(await fleet.cli(["whoami", "--json"], { env: env(created.token) })).json<{ role: string }>().role).toBe("viewer");
    const listed = expectOk(await fleet.cli(["tokens", "list", "--json"])).stdout;
    expect(listed).toContain(created.id);
    expect(listed).not.toContain(created.token);
    expect(listed).not.toMatch(/tokenHash|cpa_/);
    expectOk(await fleet.cli(["tokens", "revoke", created.id]));
    expect((await fleet.cli(["whoami", "--json"], { env: env(created.token) })).code).toBe(3);

    const expiring = expectOk(await fleet.cli(["tokens", "create", "--name", "short", "--ttl", "1h", "--json"])).json<{ id: string; token: string }>();
    const db = new Database(join(fleet.server.dataDir, "control-plane.db"));
    try {
      db.prepare("UPDATE ApiToken SET expiresAt = ? WHERE id = ?").run(Date.now() - 1000, expiring.id);
    } finally {
      db.close();
    }
    const res = await fleet.cli(["whoami", "--json"], { env: env(expiring.token) });
    expect(res.code).toBe(3);
    expect(res.stderr).toContain("CODEPIPER_UNAUTHENTICATED");
  });

  it("a token cannot create a token above its own role", async () => {
    const viewerToken = await tokenOf("view@example.com");
    const res = await fleet.cli(["tokens", "create", "--name", "up", "--role", "operator", "--json"], { env: env(viewerToken) });
    expect(res.code).toBe(3);
    expect(res.stderr).toContain("CODEPIPER_FORBIDDEN");
    expect(res.stderr).toContain("at most");
    // An admin's token scoped to viewer is a viewer for this purpose too.
    const scoped = expectOk(await fleet.cli(["tokens", "create", "--name", "scoped", "--role", "viewer", "--json"])).json<{ token: string }>().token;
    expect((await fleet.cli(["tokens", "create", "--name", "escalate", "--role", "admin", "--json"], { env: env(scoped) })).code).toBe(3);
    expect((await fleet.cli(["users", "list", "--json"], { env: env(scoped) })).code).toBe(3);
  });

  it("revoking another user's token answers NOT_FOUND, and it keeps working", async () => {
    const opToken = await tokenOf("op@example.com");
    const adminTokenId = expectOk(await fleet.cli(["tokens", "create", "--name", "mine", "--json"])).json<{ id: string; token: string }>();
    const res = await fleet.cli(["tokens", "revoke", adminTokenId.id, "--json"], { env: env(opToken) });
    expect(res.code).toBe(4);
    expect(res.stderr).toContain("CODEPIPER_NOT_FOUND");
    expect((await fleet.cli(["tokens", "revoke", "00000000-0000-4000-8000-000000000000", "--json"], { env: env(opToken) })).stderr).toContain("CODEPIPER_NOT_FOUND");
    expectOk(await fleet.cli(["whoami"], { env: env(adminTokenId.token) }));
    // And an operator cannot list everyone's.
    expect((await fleet.cli(["tokens", "list", "--all", "--json"], { env: env(opToken) })).code).toBe(3);
  });

  it("TOTP: setup → enable → login needs a code; codes and recovery codes work once", async () => {
    const token = await tokenOf("totp@example.com");
    const setup = expectOk(await fleet.cli(["totp", "setup", "--json"], { env: env(token) })).json<{ secret: string; uri: string }>();
    expect(setup.uri).toMatch(/^otpauth:\/\/totp\/CodePiper%3Atotp%40example\.com\?secret=/);
    expect((await fleet.cli(["totp", "enable", "--code", "000000", "--json"], { env: env(token) })).code).toBe(2);
    const step = stepNow();
    const enabled = expectOk(await fleet.cli(["totp", "enable", "--code", totpAt(setup.secret, step), "--json"], { env: env(token) })).json<{ recoveryCodes: string[] }>();
    expect(enabled.recoveryCodes).toHaveLength(10);

    const missing = await login("totp@example.com", PASSWORD);
    expect({ status: missing.status, appCode: missing.body.error?.data?.appCode }).toEqual({ status: 401, appCode: "CODEPIPER_TOTP_REQUIRED" });
    const cliMissing = await fleet.cli(["login", fleet.url, "--email", "totp@example.com", "--password-stdin", "--json", "--config-dir", join(fleet.root, "totp")], { stdin: PASSWORD });
    expect(cliMissing.code).toBe(3);
    expect(cliMissing.stderr).toContain("CODEPIPER_TOTP_REQUIRED");
    // The step spent by `enable` cannot be replayed; the next one (±1 window) works, once.
    expect((await login("totp@example.com", PASSWORD, totpAt(setup.secret, step))).body.error?.data?.appCode).toBe("CODEPIPER_UNAUTHENTICATED");
    const next = totpAt(setup.secret, step + 1);
    const cliOk = await fleet.cli(["login", fleet.url, "--email", "totp@example.com", "--password-stdin", "--totp", next, "--json", "--config-dir", join(fleet.root, "totp")], { stdin: PASSWORD });
    expectOk(cliOk);
    expect((await login("totp@example.com", PASSWORD, next)).status).toBe(401);
    expect((await login("totp@example.com", PASSWORD, "999999")).status).toBe(401);

    const recovery = enabled.recoveryCodes[0]!;
    expect((await login("totp@example.com", PASSWORD, recovery)).status).toBe(200);
    expect((await login("totp@example.com", PASSWORD, recovery)).status).toBe(401);
    expect((await login("totp@example.com", PASSWORD, enabled.recoveryCodes[1]!.toUpperCase())).status).toBe(200);

    // Disabling needs proof; then login is password-only again.
    expect((await fleet.cli(["totp", "disable", "--code", "123456", "--json"], { env: env(token) })).code).toBe(2);
    expectOk(await fleet.cli(["totp", "disable", "--password-stdin"], { env: env(token), stdin: PASSWORD }));
    expect((await login("totp@example.com", PASSWORD)).status).toBe(200);
    // The secret was stored sealed, never in clear.
    const db = new Database(join(fleet.server.dataDir, "control-plane.db"), { readonly: true });
    try {
      const audit = db.prepare("SELECT action FROM AuditLog WHERE action LIKE 'auth.totp%' OR action = 'auth.recovery_code_used'").all() as { action: string }[];
      expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(["auth.totp_setup", "auth.totp_enable", "auth.recovery_code_used", "auth.totp_disable"]));
    } finally {
      db.close();
    }
  }, 60_000);

  it("dashboard cookie: HttpOnly SameSite session; forged/tampered cookies 401; cross-site POST and WebSocket 403", async () => {
    const own = new URL(fleet.url).origin;
    const bad = await browserLogin({ email: "web@example.com", password: "wrong-password" }, { origin: own });
    expect(bad.status).toBe(401);
    expect((await browserLogin({ email: "web@example.com", password: PASSWORD }, { origin: "https://evil.example" })).status).toBe(403);
    const res = await browserLogin({ email: "web@example.com", password: PASSWORD }, { origin: own });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/^cp_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=604800$/);
    const cookie = setCookie.split(";")[0]!;
    const value = cookie.split("=")[1]!;
    const get = (c: string) => fetch(`${fleet.url}/trpc/auth.whoami`, { headers: { cookie: c } });
    expect(((await (await get(cookie)).json()) as any).result.data.email).toBe("web@example.com");
    // Only the hash is stored.
    const db = new Database(join(fleet.server.dataDir, "control-plane.db"), { readonly: true });
    try {
      const rows = db.prepare("SELECT tokenHash FROM WebSession").all() as { tokenHash: string }[];
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.some((r) => r.tokenHash.includes(value))).toBe(false);
    } finally {
      db.close();
    }

    const tampered = `cp_session=${value.slice(0, -1)}${value.endsWith("A") ? "B" : "A"}`;
    for (const c of [tampered, "cp_session=forged", "cp_session=", `cp_session=${"x".repeat(5000)}`]) {
      const r = await get(c);
      expect({ c: c.slice(0, 60), status: r.status }).toEqual({ c: c.slice(0, 60), status: 401 });
    }
    // Behind a TLS proxy the cookie is Secure.
    expect((await browserLogin({ email: "web@example.com", password: PASSWORD }, { "x-forwarded-proto": "https" })).headers.get("set-cookie")).toMatch(/; Secure$/);

    // State-changing requests with the cookie need our Origin.
    const post = (headers: Record<string, string>) => fetch(`${fleet.url}/trpc/tokens.create`, { method: "POST", headers: { "content-type": "application/json", cookie, ...headers }, body: JSON.stringify({ name: "from-browser" }) });
    const cross = await post({ origin: "https://evil.example" });
    expect(cross.status).toBe(403);
    expect(cross.headers.get("x-codepiper-error")).toBe("CODEPIPER_FORBIDDEN");
    expect(((await cross.json()) as any).error.message).toContain("https://evil.example");
    expect((await post({})).status).toBe(403);
    expect((await post({ origin: own })).status).toBe(200);
    // A bearer token (no ambient credential) is not subject to the Origin check.
    const viewerToken = await tokenOf("view@example.com");
    const bearer = await fetch(`${fleet.url}/trpc/tokens.create`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${viewerToken}`, origin: "https://evil.example" }, body: JSON.stringify({ name: "cli" }) });
    expect(bearer.status).toBe(200);

    // WebSocket upgrades with the cookie need our Origin too.
    const foreign = await attemptUpgrade(wsUrl(fleet.url, "/trpc"), { cookie, origin: "https://evil.example" });
    if (foreign.opened) foreign.ws.terminate();
    expect(foreign).toMatchObject({ opened: false, status: 403, code: "CODEPIPER_FORBIDDEN" });
    const same = await attemptUpgrade(wsUrl(fleet.url, "/trpc"), { cookie, origin: own });
    expect(same.opened).toBe(true);
    if (same.opened) same.ws.terminate();
    const forged = await attemptUpgrade(wsUrl(fleet.url, "/trpc"), { cookie: "cp_session=forged", origin: own });
    expect(forged).toMatchObject({ opened: false, status: 401 });

    // Sessions are listed and revocable; logout ends the session and clears the cookie.
    const sessions = ((await (await fetch(`${fleet.url}/trpc/auth.webSessions.list`, { headers: { cookie } })).json()) as any).result.data as { id: string; current: boolean }[];
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    const logout = await fetch(`${fleet.url}/auth/logout`, { method: "POST", headers: { cookie, origin: own } });
    expect(logout.status).toBe(200);
    expect(logout.headers.get("set-cookie")).toContain("Max-Age=0");
    expect((await get(cookie)).status).toBe(401);
  });
});
