// Issue 5 (access): every tRPC procedure, called as admin, operator, viewer, a linked host and
// anonymously, answers exactly what its declared role allows. The table below IS the declaration
// check: a procedure added to appRouter without a row here fails the first test.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "@codepiper/control-plane";
import { expectOk, Fleet, runCli } from "../support/index.js";
import { attemptUpgrade, openRawLink, RawPeer, readHostCredentials, trpcHttp, wsUrl, type HostCredentials, type RpcMessage } from "./raw.js";

type Need = "public" | "host" | "viewer" | "operator" | "admin";
type Caller = "anonymous" | "host" | "viewer" | "operator" | "admin";
const CALLERS: Caller[] = ["admin", "operator", "viewer", "host", "anonymous"];
const RANK = { viewer: 0, operator: 1, admin: 2 } as const;

const LOAD = { loadAvg1: 0, memFreeBytes: 1, memTotalBytes: 2, agentRssBytes: 1, outboxPending: 0 };
const NO_SESSION = { session: "no-such-session" };
const NO_UUID = "00000000-0000-4000-8000-000000000000";

/** path → [role needed, a minimal input]. Inputs point at things that do not exist, so an allowed call has no lasting effect. */
const MATRIX: Record<string, [Need, unknown]> = {
  "auth.login": ["public", { email: "not-an-email", password: "x" }],
  "auth.setup": ["public", { token: "cps_not-a-setup-token", email: "x@example.com", password: "long-enough-password" }],
  "auth.setupPending": ["public", undefined],
  "auth.whoami": ["viewer", undefined],
  "auth.logout": ["viewer", undefined],
  "auth.totp.setup": ["viewer", undefined],
  "auth.totp.enable": ["viewer", { code: "000000" }],
  "auth.totp.disable": ["viewer", { code: "000000" }],
  "auth.totp.status": ["viewer", undefined],
  "auth.webSessions.list": ["viewer", undefined],
  "auth.webSessions.revoke": ["viewer", { id: NO_UUID }],
  "hosts.list": ["viewer", undefined],
  "hosts.live": ["viewer", undefined],
  "hosts.get": ["viewer", { host: "no-such-host" }],
  "hosts.createJoinToken": ["admin", { ttlMs: 60_000 }],
  "hosts.join": ["public", { token: "cpj_not-a-join-token" }],
  "hosts.revoke": ["admin", { host: "no-such-host" }],
  "hosts.ping": ["operator", { host: "no-such-host" }],
  "hosts.commands": ["viewer", { host: "no-such-host" }],
  "events.list": ["viewer", {}],
  "events.head": ["viewer", undefined],
  "events.follow": ["viewer", {}],
  "link.hello": ["host", {}],
  "link.heartbeat": ["host", { load: LOAD }],
  "link.pushEvents": ["host", {}],
  "link.commands": ["host", undefined],
  "link.ephemeral": ["host", undefined],
  "link.reply": ["host", {}],
  "link.terminal": ["host", {}],
  "link.policyBundle": ["host", { haveVersion: null }],
  "link.requestApproval": ["host", {}],
  "link.awaitApproval": ["host", { id: NO_UUID }],
  "link.withdrawApproval": ["host", { id: NO_UUID }],
  "link.ackCommand": ["host", {}],
  "sessions.start": ["operator", { host: "no-such-host", provider: "claude", cwd: "/tmp" }],
  "sessions.list": ["viewer", {}],
  "sessions.live": ["viewer", {}],
  "sessions.get": ["viewer", NO_SESSION],
  "sessions.watch": ["viewer", NO_SESSION],
  "sessions.send": ["operator", { ...NO_SESSION, text: "hi" }],
  "sessions.keys": ["operator", { ...NO_SESSION, keys: ["Enter"] }],
  "sessions.slash": ["operator", { ...NO_SESSION, command: "help" }],
  "sessions.input": ["operator", { ...NO_SESSION, data: "x" }],
  "sessions.resize": ["operator", { ...NO_SESSION, cols: 80, rows: 24 }],
  "sessions.capture": ["viewer", NO_SESSION],
  "sessions.terminal": ["viewer", NO_SESSION],
  "sessions.model": ["operator", { ...NO_SESSION, model: "x" }],
  "sessions.stop": ["operator", NO_SESSION],
  "sessions.kill": ["operator", NO_SESSION],
  "sessions.resume": ["operator", NO_SESSION],
  "sessions.rename": ["operator", { ...NO_SESSION, name: "matrix" }],
  "policies.list": ["viewer", undefined],
  "policies.live": ["viewer", undefined],
  "policies.get": ["viewer", { policy: "no-such-policy" }],
  "policies.create": ["admin", {}],
  "policies.update": ["admin", { policy: "no-such-policy" }],
  "policies.delete": ["admin", { policy: "no-such-policy" }],
  "policies.setDefault": ["admin", { action: "not-an-action" }],
  "policies.test": ["viewer", {}],
  "policies.inputTools": ["viewer", undefined],
  "policySets.list": ["viewer", undefined],
  "policySets.get": ["viewer", { set: "no-such-set" }],
  "policySets.create": ["admin", {}],
  "policySets.update": ["admin", { set: "no-such-set" }],
  "policySets.delete": ["admin", { set: "no-such-set" }],
  "policySets.members": ["admin", { set: "no-such-set" }],
  "policySets.setDefault": ["admin", { set: "no-such-set" }],
  "approvals.list": ["viewer", {}],
  "approvals.get": ["viewer", { id: NO_UUID }],
  "approvals.follow": ["viewer", undefined],
  "approvals.decide": ["operator", { id: NO_UUID, decision: "allow" }],
  "audit.decisions": ["viewer", {}],
  "audit.actions": ["viewer", {}],
  "users.list": ["admin", undefined],
  "users.create": ["admin", { email: "matrix-created@example.com", role: "viewer", password: "matrix-password-1" }],
  "users.update": ["admin", { user: "nobody-matrix@example.com", role: "viewer" }],
  "users.delete": ["admin", { user: "nobody-matrix@example.com" }],
  "tokens.create": ["viewer", { name: "matrix", ttlMs: 3_600_000 }],
  "tokens.list": ["viewer", {}],
  "tokens.revoke": ["viewer", { id: NO_UUID }],
  "envSets.list": ["viewer", undefined],
  "envSets.get": ["viewer", { envSet: "no-such-env-set" }],
  "envSets.create": ["admin", {}],
  "envSets.update": ["admin", { envSet: "no-such-env-set" }],
  "envSets.delete": ["admin", { envSet: "no-such-env-set" }],
  "keys.status": ["viewer", undefined],
  "keys.rotate": ["admin", {}],
  "workspaces.list": ["viewer", undefined],
  "workspaces.get": ["viewer", { workspace: "no-such-workspace" }],
  "workspaces.create": ["admin", {}],
  "workspaces.update": ["admin", { workspace: "no-such-workspace" }],
  "workspaces.delete": ["admin", { workspace: "no-such-workspace" }],
  "analytics.summary": ["viewer", { range: "today" }],
  "analytics.live": ["viewer", { range: "today" }],
};

function expected(need: Need, caller: Caller): "allowed" | "UNAUTHORIZED" | "FORBIDDEN" {
  if (need === "public") return "allowed";
  if (need === "host") return caller === "host" ? "allowed" : "UNAUTHORIZED";
  if (caller === "anonymous" || caller === "host") return "UNAUTHORIZED";
  return RANK[caller] >= RANK[need] ? "allowed" : "FORBIDDEN";
}

/** UNAUTHORIZED / FORBIDDEN, or "allowed" for anything else (data, NOT_FOUND, BAD_REQUEST, CONFLICT…). */
function outcomeOf(code: string | undefined): string {
  return code === "UNAUTHORIZED" || code === "FORBIDDEN" ? code : "allowed";
}

const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { type: "query" | "mutation" | "subscription" } }>;

/** One call on a raw tRPC WebSocket; subscriptions are stopped after their first answer. */
async function wsCall(peer: RawPeer, path: string, input: unknown): Promise<RpcMessage> {
  const type = procedures[path]!._def.type;
  if (type !== "subscription") return peer.call(type, path, input);
  const id = 1_000_000 + Math.floor(Math.random() * 1_000_000);
  const since = peer.received.length;
  await peer.sendRaw(JSON.stringify({ id, jsonrpc: "2.0", method: "subscription", params: { path, input } }));
  const first = await peer.next((m) => m.id === id, 10_000, since);
  if (!first.error) await peer.sendRaw(JSON.stringify({ id, jsonrpc: "2.0", method: "subscription.stop" }));
  return first;
}

describe("access matrix: every procedure × every kind of caller", () => {
  let fleet: Fleet;
  let host: HostCredentials;
  const tokens: Partial<Record<"admin" | "operator" | "viewer", string>> = {};

  beforeAll(async () => {
    fleet = await Fleet.start();
    for (const role of ["operator", "viewer"] as const) {
      expectOk(await fleet.cli(["users", "create", "--email", `${role}@example.com`, "--role", role, "--password-stdin"], { stdin: `${role}-password-123` }));
    }
    const login = async (email: string, password: string) => {
      const res = await trpcHttp(fleet.url, "auth.login", { type: "mutation", input: { email, password, tokenName: "matrix" } });
      expect(res.status).toBe(200);
      return (res.body as { result: { data: { token: string } } }).result.data.token;
    };
    tokens.admin = await login("admin@example.com", "fleet-test-password");
    tokens.operator = await login("operator@example.com", "operator-password-123");
    tokens.viewer = await login("viewer@example.com", "viewer-password-123");
    const joined = await fleet.join("matrix-host");
    host = readHostCredentials(joined.stateDir);
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it("has exactly one row per procedure of appRouter", () => {
    const missing = Object.keys(procedures).filter((p) => !(p in MATRIX));
    const stale = Object.keys(MATRIX).filter((p) => !(p in procedures));
    expect({ missing, stale }).toEqual({ missing: [], stale: [] });
  });

  it("answers each caller as the procedure's role says", async () => {
    // auth.logout ends the caller's own credential: call it last.
    const paths = Object.keys(MATRIX).sort((a, b) => Number(a === "auth.logout") - Number(b === "auth.logout"));
    const got: string[] = [];
    const want: string[] = [];
    for (const caller of CALLERS) {
      let peer: RawPeer | null = null;
      if (caller === "host") peer = await openRawLink(fleet.url, host);
      else if (caller !== "anonymous") {
        const outcome = await attemptUpgrade(wsUrl(fleet.url, "/trpc"), { authorization: `Bearer ${tokens[caller]}` });
        if (!outcome.opened) throw new Error(`${caller} could not open /trpc: ${outcome.status}`);
        peer = new RawPeer(outcome.ws);
      }
      try {
        for (const path of paths) {
          const [need, input] = MATRIX[path]!;
          const type = procedures[path]!._def.type;
          let code: string | undefined;
          if (peer) {
            code = (await wsCall(peer, path, input)).error?.data?.code;
          } else if (type === "subscription") {
            // Anonymous callers cannot even open the user WebSocket.
            const outcome = await attemptUpgrade(wsUrl(fleet.url, "/trpc"), {});
            if (outcome.opened) outcome.ws.terminate();
            code = outcome.opened ? undefined : outcome.status === 401 ? "UNAUTHORIZED" : String(outcome.status);
          } else {
            const res = await trpcHttp(fleet.url, path, { type, input });
            code = (res.body as { error?: { data?: { code?: string } } }).error?.data?.code;
          }
          got.push(`${caller} ${path}: ${outcomeOf(code)}`);
          want.push(`${caller} ${path}: ${expected(need, caller)}`);
        }
      } finally {
        await peer?.close();
      }
    }
    expect(got).toEqual(want);
  }, 120_000);

  it("a viewer attempting every mutation gets FORBIDDEN (or UNAUTHORIZED for host-only ones), over the CLI too", async () => {
    const viewerToken = (await trpcHttp(fleet.url, "auth.login", { type: "mutation", input: { email: "viewer@example.com", password: "viewer-password-123" } })).body as { result: { data: { token: string } } };
    const env = { CODEPIPER_URL: fleet.url, CODEPIPER_TOKEN: viewerToken.result.data.token };
    for (const args of [["hosts", "token", "create"], ["users", "list"], ["policy", "default", "deny"], ["approvals", "allow", NO_UUID]]) {
      const res = await runCli([...args, "--json"], { env });
      expect({ args, code: res.code }).toEqual({ args, code: 3 });
    }
  });
});
