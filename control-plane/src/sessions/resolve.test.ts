import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../db/index.js";
import type { Services } from "../services.js";
import { resolveSession } from "./resolve.js";

/** What people type for a session: full id, unique prefix, or name; the errors say what went wrong. */
describe("resolveSession", () => {
  let tmp: string;
  let database: Database;
  let services: Services;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "codepiper-resolve-"));
    database = await openDatabase({ url: `file:${path.join(tmp, "cp.db")}` });
    services = { db: database.prisma } as unknown as Services;
    const db = database.prisma;
    for (const [id, name] of [["h1", "alpha"], ["h2", "beta"]] as const) {
      await db.host.create({ data: { id, name, signingPublicKey: "k", encryptionPublicKey: "k", factsJson: "{}" } });
    }
    const session = (id: string, hostId: string, name: string | null) =>
      db.session.create({ data: { id, hostId, name, provider: "claude-code", status: "idle", cwd: "/w", billing: "api" } });
    await session("abcd1111-0000-4000-8000-000000000001", "h1", "fix-bug");
    await session("abcd2222-0000-4000-8000-000000000002", "h1", null);
    await session("ef001111-0000-4000-8000-000000000003", "h1", "twin");
    await session("ef002222-0000-4000-8000-000000000004", "h2", "twin");
  });
  afterAll(async () => {
    await database.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("finds a full id, a unique prefix (any case) and a name", async () => {
    expect((await resolveSession(services, "abcd1111-0000-4000-8000-000000000001")).id).toBe("abcd1111-0000-4000-8000-000000000001");
    expect((await resolveSession(services, "ABCD2")).id).toBe("abcd2222-0000-4000-8000-000000000002");
    expect((await resolveSession(services, "fix-bug")).host.name).toBe("alpha");
  });

  it("an ambiguous prefix lists the candidates", async () => {
    const err = await resolveSession(services, "abcd").catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({ code: "CODEPIPER_AMBIGUOUS" });
    expect((err as { message: string }).message).toContain("abcd1111-0000-4000-8000-000000000001 (fix-bug) on alpha");
    expect((err as { message: string }).message).toContain("abcd2222-0000-4000-8000-000000000002 on alpha");
  });

  it("a name used on two hosts is ambiguous; too short or unknown refs say so", async () => {
    await expect(resolveSession(services, "twin")).rejects.toMatchObject({ code: "CODEPIPER_AMBIGUOUS" });
    await expect(resolveSession(services, "ab")).rejects.toMatchObject({ code: "CODEPIPER_BAD_INPUT", message: expect.stringMatching(/at least 4/) });
    await expect(resolveSession(services, "nope")).rejects.toMatchObject({ code: "CODEPIPER_NOT_FOUND" });
  });
});
