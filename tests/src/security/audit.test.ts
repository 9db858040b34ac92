// The audit trail's paging and filters: `audit.actions` / `audit.decisions` page newest first with a
// `beforeId` cursor (no overlap, no gaps), `audit.actions` filters by action exactly or by a `.*`
// prefix, and bad cursors or filters are BAD_REQUEST naming the field — through the API and the CLI.
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "@codepiper/cli/exit-codes";
import { ADMIN, expectOk, Fleet } from "../support/index.js";
import { trpcHttp } from "./raw.js";

interface ActionRow { id: number; action: string; target: string | null }
interface DecisionRow { id: number; tool: string; args: string }

describe("audit paging and filters", () => {
  let fleet: Fleet;
  let token: string;
  const tokenNames: string[] = [];

  const query = async <T>(path: "audit.actions" | "audit.decisions", input: Record<string, unknown>): Promise<T> => {
    const res = await trpcHttp(fleet.url, path, { type: "query", input, token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return (res.body as { result: { data: T } }).result.data;
  };
  const badRequest = async (path: "audit.actions" | "audit.decisions", input: Record<string, unknown>): Promise<string> => {
    const res = await trpcHttp(fleet.url, path, { type: "query", input, token });
    const err = (res.body as { error?: { message: string; data: { code: string } } }).error;
    expect({ input, status: res.status, code: err?.data.code }).toEqual({ input, status: 400, code: "BAD_REQUEST" });
    return err!.message;
  };
  /** Every page of `limit` rows, following the cursor until a short page. */
  const allPages = async <T extends { id: number }>(path: "audit.actions" | "audit.decisions", input: Record<string, unknown>, limit: number): Promise<T[][]> => {
    const pages: T[][] = [];
    let beforeId: string | undefined;
    for (;;) {
      const page = await query<T[]>(path, { ...input, limit, beforeId });
      pages.push(page);
      if (page.length < limit) return pages;
      beforeId = String(page[page.length - 1]!.id);
    }
  };

  beforeAll(async () => {
    fleet = await Fleet.start();
    const login = await trpcHttp(fleet.url, "auth.login", { type: "mutation", input: { email: ADMIN.email, password: ADMIN.password, tokenName: "audit-test" } });
    expect(login.status).toBe(200);
    token = (login.body as { result: { data: { token: string } } }).result.data.token;
    // 25 audited actions of one kind (tokens.create), 3 of another (envset.create).
    for (let i = 0; i < 25; i++) {
      const name = `audit-page-${String(i).padStart(2, "0")}`;
      const res = await trpcHttp(fleet.url, "tokens.create", { type: "mutation", input: { name, ttlMs: 3_600_000 }, token });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      tokenNames.push(name);
    }
    for (const name of ["audit-a", "audit-b", "audit-c"]) expectOk(await fleet.cli(["env-set", "create", "--name", name, "--var", "K=v"]));
    // 25 policy decisions (written as the control plane stores them; no host needs to run a tool).
    const db = new Database(join(fleet.server.dataDir, "control-plane.db"));
    try {
      const insert = db.prepare("INSERT INTO PolicyDecision (hostId, sessionId, at, tool, argsSummary, decision, outcome, decider) VALUES (?, NULL, ?, 'Bash', ?, ?, ?, 'policy')");
      for (let i = 0; i < 25; i++) {
        const at = new Date(Date.UTC(2026, 0, 2, 3, 4, i)).toISOString().replace("Z", "+00:00");
        insert.run("audit-test-host", at, `command="echo ${i}"`, i % 2 ? "deny" : "allow", i % 2 ? "denied" : "allowed");
      }
    } finally {
      db.close();
    }
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it("audit.actions pages with beforeId: 25 actions at 10 a page are 10 + 10 + 5, newest first, no overlap or gap", async () => {
    const pages = await allPages<ActionRow>("audit.actions", { action: "tokens.create" }, 10);
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
    const rows = pages.flat();
    expect(rows.map((r) => r.action)).toEqual(Array(25).fill("tokens.create"));
    const ids = rows.map((r) => r.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(25);
    // The same rows, in the same order, as one unpaged query.
    expect(ids).toEqual((await query<ActionRow[]>("audit.actions", { action: "tokens.create", limit: 1000 })).map((r) => r.id));

    // Unfiltered, too: paging the whole log gives exactly the whole log.
    const whole = await query<ActionRow[]>("audit.actions", { limit: 1000 });
    expect(whole.length).toBeGreaterThan(28);
    expect((await allPages<ActionRow>("audit.actions", {}, 10)).flat().map((r) => r.id)).toEqual(whole.map((r) => r.id));

    // Past the oldest row: an empty page. Without beforeId: unchanged behaviour (newest first, default limit).
    expect(await query<ActionRow[]>("audit.actions", { beforeId: String(whole[whole.length - 1]!.id), limit: 10 })).toEqual([]);
    expect((await query<ActionRow[]>("audit.actions", {})).map((r) => r.id)).toEqual(whole.slice(0, 100).map((r) => r.id));
  });

  it("audit.actions filters by exact action or by a .* prefix", async () => {
    const exact = await query<ActionRow[]>("audit.actions", { action: "envset.create", limit: 1000 });
    expect(exact.map((r) => r.action)).toEqual(["envset.create", "envset.create", "envset.create"]);
    const tokens = await query<ActionRow[]>("audit.actions", { action: "tokens.*", limit: 1000 });
    expect(tokens.length).toBeGreaterThanOrEqual(25);
    expect(tokens.every((r) => r.action.startsWith("tokens."))).toBe(true);
    const envsets = await query<ActionRow[]>("audit.actions", { action: "envset.*", limit: 1000 });
    expect(envsets.map((r) => r.action).sort()).toEqual(["envset.create", "envset.create", "envset.create"]);
    // A prefix keeps its dot (no `envsetx.…`), and `_` is a literal character, not a wildcard.
    expect(await query<ActionRow[]>("audit.actions", { action: "envse.*" })).toEqual([]);
    expect(await query<ActionRow[]>("audit.actions", { action: "token_.*" })).toEqual([]);
    expect(await query<ActionRow[]>("audit.actions", { action: "tokens" })).toEqual([]);
    // Combined with the cursor.
    expect((await allPages<ActionRow>("audit.actions", { action: "tokens.*" }, 7)).flat().map((r) => r.id)).toEqual(tokens.map((r) => r.id));
  });

  it("audit.decisions pages with beforeId too, and keeps its filters", async () => {
    const whole = await query<DecisionRow[]>("audit.decisions", { limit: 1000 });
    expect(whole).toHaveLength(25);
    const pages = await allPages<DecisionRow>("audit.decisions", {}, 10);
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
    expect(pages.flat().map((r) => r.id)).toEqual(whole.map((r) => r.id));
    expect(pages[0]![0]!.args).toBe('command="echo 24"');
    const denies = await allPages<DecisionRow & { decision: string }>("audit.decisions", { decision: "deny" }, 5);
    expect(denies.map((p) => p.length)).toEqual([5, 5, 2]);
    expect(denies.flat().every((r) => r.decision === "deny")).toBe(true);
  });

  it("a bad cursor or action filter is BAD_REQUEST naming the field", async () => {
    for (const beforeId of ["abc", "-1", "0", "1.5", "12e3", "", " 12", "99999999999999999999", "9223372036854775808"]) {
      expect(await badRequest("audit.actions", { beforeId })).toMatch(/beforeId/);
      expect(await badRequest("audit.decisions", { beforeId })).toMatch(/beforeId/);
    }
    expect(await badRequest("audit.actions", { beforeId: 12 })).toMatch(/beforeId/);
    for (const action of ["", "*", ".*", "envset.", "envset*", "envset.%", "Envset.create", "envset.*.x", "a b", "x".repeat(101), "tokens.create;drop"]) {
      expect(await badRequest("audit.actions", { action })).toMatch(/action/);
    }
    // The largest id is a valid cursor.
    expect(await query<ActionRow[]>("audit.actions", { beforeId: "9223372036854775807", action: "envset.create" })).toHaveLength(3);
  });

  it("the CLI: --action and --before page and filter; bad values exit 2 naming the flag", async () => {
    const first = expectOk(await fleet.cli(["audit", "--actions", "--action", "tokens.create", "--limit", "10", "--json"])).json<ActionRow[]>();
    expect(first).toHaveLength(10);
    const next = expectOk(await fleet.cli(["audit", "--actions", "--action", "tokens.create", "--limit", "10", "--before", String(first[9]!.id), "--json"])).json<ActionRow[]>();
    expect(next).toHaveLength(10);
    expect(next[0]!.id).toBeLessThan(first[9]!.id);
    const human = expectOk(await fleet.cli(["audit", "--actions", "--action", "tokens.create", "--limit", "10"])).stdout;
    expect(human).toContain(`--before ${first[9]!.id}`);
    const prefix = expectOk(await fleet.cli(["audit", "--actions", "--action", "envset.*", "--json"])).json<ActionRow[]>();
    expect(prefix.map((r) => r.action)).toEqual(["envset.create", "envset.create", "envset.create"]);
    const decisions = expectOk(await fleet.cli(["audit", "--limit", "10", "--before", "1000000", "--json"])).json<DecisionRow[]>();
    expect(decisions).toHaveLength(10);

    for (const [args, flag] of [
      [["audit", "--actions", "--action", "Bad Action"], "--action"],
      [["audit", "--actions", "--action", "envset.%"], "--action"],
      [["audit", "--actions", "--before", "abc"], "--before"],
      [["audit", "--before", "-5"], "--before"],
      [["audit", "--action", "envset.*"], "--action"],
    ] as const) {
      const res = await fleet.cli([...args]);
      expect({ args, code: res.code }).toEqual({ args, code: EXIT.usage });
      expect(res.stderr).toContain(flag);
      const json = await fleet.cli([...args, "--json"]);
      expect(json.code).toBe(EXIT.usage);
      expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: "CODEPIPER_BAD_INPUT" } });
    }
    const help = expectOk(await fleet.cli(["audit", "--help"])).stdout;
    expect(help).toContain("--action <name|prefix.*>");
    expect(help).toContain("--before <id>");
  });
});
