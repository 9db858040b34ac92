import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../../tests/src/support/wait.js";
import { InProcessBus } from "../bus/bus.js";
import { openDatabase, type Database } from "../db/index.js";
import type { Services } from "../services.js";
import { FOLLOW_READ_CHUNK, followApprovals } from "./follow.js";
import { decideApproval, expireApprovals, requestApproval, withdrawApproval, type ApprovalView } from "./service.js";

interface Read {
  model: string;
  ids: number | null; // how many ids the query named (null: not a read by id)
  rows: number;
}

/**
 * followApprovals over a real (SQLite) database and the in-process bus. The follower gets its own
 * client, wrapped by a Prisma query extension that records every query it makes (and can hold one
 * back), so the reads per wake-up are counted, not assumed.
 */
describe("followApprovals", () => {
  let tmp: string;
  let database: Database;
  let services: Services;
  const hostId = randomUUID();
  const sessionId = randomUUID();

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "codepiper-follow-"));
    database = await openDatabase({ url: `file:${path.join(tmp, "cp.db")}` });
    services = { db: database.prisma, database, bus: new InProcessBus() } as unknown as Services;
    await database.prisma.host.create({ data: { id: hostId, name: "alpha", signingPublicKey: "k", encryptionPublicKey: "k", factsJson: "{}" } });
    await database.prisma.session.create({ data: { id: sessionId, hostId, provider: "claude-code", status: "running", cwd: "/w", billing: "api" } });
  });
  afterAll(async () => {
    await database.close();
    await rm(tmp, { recursive: true, force: true });
  });

  const ask = (tool = "Bash") => requestApproval(services, hostId, { sessionId, tool, args: {}, cwd: null, policyId: null, policyName: null, ruleIndex: null, reason: null, timeoutMs: 3_600_000 });

  /** A follower on a counting client; `hold` (when set) is awaited before its next query runs. */
  function follower() {
    const reads: Read[] = [];
    const gate: { hold: Promise<void> | null } = { hold: null };
    const db = database.prisma.$extends({
      query: {
        async $allOperations({ model, args, query }) {
          if (gate.hold) {
            const hold = gate.hold;
            gate.hold = null;
            await hold;
          }
          const result = await query(args);
          const where = (args as { where?: { id?: { in?: unknown[] } } }).where;
          reads.push({ model: model ?? "raw", ids: model === "Approval" ? (where?.id?.in?.length ?? null) : null, rows: Array.isArray(result) ? result.length : 1 });
          return result;
        },
      },
    });
    const stop = new AbortController();
    const received: ApprovalView[] = [];
    const gen = followApprovals({ ...services, db } as unknown as Services, stop.signal);
    // Consumed from now on: the generator subscribes before its first read.
    const done = (async () => {
      for await (const view of gen) received.push(view);
    })();
    return { reads, gate, received, stop: async () => (stop.abort(), await done) };
  }

  it("300 approvals requested and decided while connected: each final status arrives exactly once, reads only the changed rows", async () => {
    const before = await ask("Read");
    const f = follower();
    await waitFor(() => f.received.some((v) => v.id === before.id), { what: "the pending inbox", intervalMs: 5 });
    expect(f.received.map((v) => `${v.id}:${v.status}`)).toEqual([`${before.id}:pending`]);
    const initialReads = f.reads.length;

    // 300 at once, each requested then answered: allowed, denied, withdrawn by the host or expired.
    const outcomes = ["allowed", "denied", "withdrawn", "expired"] as const;
    const ids = await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const { id } = await ask();
        const outcome = outcomes[i % 4]!;
        if (outcome === "allowed" || outcome === "denied") await decideApproval(services, id, outcome === "allowed" ? "allow" : "deny", "op@example.com", null);
        else if (outcome === "withdrawn") await withdrawApproval(services, hostId, id);
        else await database.prisma.approval.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1000) } });
        return { id, outcome };
      }),
    );
    expect(await expireApprovals(services)).toBe(75);
    await decideApproval(services, before.id, "deny", "op@example.com", null);
    const publishes = 1 + 300 * 2; // every request and every decision publishes its id once

    const finals = new Map<string, string>([...ids.map(({ id, outcome }) => [id, outcome] as const), [before.id, "denied"]]);
    const last = new Map<string, string>();
    await waitFor(() => {
      for (const v of f.received) last.set(v.id, v.status);
      return [...finals].every(([id, status]) => last.get(id) === status);
    }, { what: "every final status", intervalMs: 5 });
    await f.stop();

    // Exactly once: no (id, status) twice, the final one always, nothing after it.
    const keys = f.received.map((v) => `${v.id}:${v.status}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const [id, status] of finals) {
      const mine = f.received.filter((v) => v.id === id).map((v) => v.status);
      expect(mine.at(-1)).toBe(status);
      expect(mine.filter((s) => s !== "pending")).toEqual([status]);
    }
    expect(f.received.findLast((v) => v.id === ids[0]!.id)).toMatchObject({ hostName: "alpha", sessionId, decidedBy: "op@example.com" });

    // Bounded reads: after the inbox, every approval query reads named ids only (≤ one chunk), at
    // most one host lookup follows each, and all of them together read no more rows than there
    // were publishes (the old follower read the newest 200 rows on every wake-up: ≥ 200 × passes).
    const later = f.reads.slice(initialReads);
    const approvalReads = later.filter((r) => r.model === "Approval");
    expect(later.every((r) => r.model === "Approval" || r.model === "Host")).toBe(true);
    expect(approvalReads.every((r) => r.ids !== null && r.ids >= 1 && r.ids <= FOLLOW_READ_CHUNK && r.rows <= r.ids)).toBe(true);
    expect(later.length - approvalReads.length).toBeLessThanOrEqual(approvalReads.length);
    const rowsRead = approvalReads.reduce((n, r) => n + r.rows, 0);
    expect(rowsRead).toBeLessThanOrEqual(publishes);
    expect(approvalReads.length).toBeLessThanOrEqual(publishes);
  });

  it("an id published while a read runs is read in the next pass; a burst is read in chunks", async () => {
    const f = follower();
    await waitFor(() => f.reads.length >= 1, { what: "the inbox read", intervalMs: 5 });
    let release!: () => void;
    f.gate.hold = new Promise<void>((r) => (release = r));
    const first = await ask();
    await waitFor(() => f.gate.hold === null, { what: "the read of the first id to start", intervalMs: 5 });
    // Published while that read is held back: nothing may be lost.
    const burst = await Promise.all(Array.from({ length: FOLLOW_READ_CHUNK + 1 }, () => ask()));
    release();
    const want = new Set([first.id, ...burst.map((b) => b.id)]);
    await waitFor(() => f.received.filter((v) => want.has(v.id)).length === want.size, { what: "every request", intervalMs: 5 });
    await f.stop();
    const byId = f.reads.filter((r) => r.model === "Approval" && r.ids !== null).map((r) => r.ids);
    expect(byId).toEqual([1, FOLLOW_READ_CHUNK, 1]);
    expect(f.received.filter((v) => want.has(v.id)).every((v) => v.status === "pending")).toBe(true);
  });
});
