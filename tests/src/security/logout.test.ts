import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { expectOk, Fleet } from "../support/index.js";

/** `codepiper logout` revokes the token on the control plane and forgets it; token use is recorded. */
describe("logout and token use", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start();
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it("tokens list shows when a token was last used; logout revokes it and removes it from disk", async () => {
    expectOk(await fleet.cli(["whoami"]));
    const tokens = expectOk(await fleet.cli(["tokens", "list", "--json"])).json<{ lastUsedAt: string | null; revokedAt?: string | null }[]>();
    expect(tokens.some((t) => t.lastUsedAt !== null)).toBe(true);
    const out = expectOk(await fleet.cli(["logout", "--json"])).json<{ revoked: string; forgotten: boolean }>();
    expect(out).toEqual({ revoked: "token", forgotten: true });
    expect(existsSync(join(fleet.configDir, "credentials.json"))).toBe(false);
    const after = await fleet.cli(["whoami"]);
    expect(after.code).toBe(3);
  });
});
