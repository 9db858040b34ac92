/**
 * Named workspaces end to end (issue 5) with the scripted provider: `codepiper workspace …` and
 * `codepiper start --workspace <w>` (the workspace fills in host, directory, provider and policy
 * set; explicit flags win), and bad input with its documented exit codes.
 */
import { mkdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk, Fleet, tempDir } from "../support/index.js";
import { runFakeProviderHost, startSession, waitSessionStatus, type FakeProviderHost } from "../support/sessions.js";

interface WorkspaceView {
  id: string;
  name: string;
  description: string;
  host: string;
  hostId: string;
  path: string;
  provider: string | null;
  envSets: string[];
  policySet: string | null;
}

describe("workspaces", () => {
  let fleet: Fleet;
  let host: FakeProviderHost;

  beforeAll(async () => {
    fleet = await Fleet.start();
    host = await runFakeProviderHost(fleet, "ws-h1");
    expectOk(await fleet.cli(["policy-set", "create", "--name", "ws-set"]));
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it("create, get and list show names; start --workspace starts there with its defaults", async () => {
    const created = expectOk(
      await fleet.cli(["workspace", "create", "--name", "app", "--host", "ws-h1", "--path", host.cwd, "--provider", "claude-code", "--policy-set", "ws-set", "--description", "the app", "--validate", "--json"]),
    ).json<WorkspaceView>();
    expect(created).toMatchObject({ name: "app", host: "ws-h1", hostId: host.host.hostId, path: host.cwd, provider: "claude-code", envSets: [], policySet: "ws-set", description: "the app" });

    const got = expectOk(await fleet.cli(["workspace", "get", "app", "--json"])).json<WorkspaceView>();
    expect(got).toEqual(created);
    const byId = expectOk(await fleet.cli(["workspace", "get", created.id, "--json"])).json<WorkspaceView>();
    expect(byId.name).toBe("app");
    const human = expectOk(await fleet.cli(["workspace", "get", "app"]));
    expect(human.stdout).toContain(host.cwd);
    expect(human.stdout).toContain("ws-set");
    const list = expectOk(await fleet.cli(["workspace", "list", "--json"])).json<WorkspaceView[]>();
    expect(list.map((w) => w.name)).toContain("app");
    expect(expectOk(await fleet.cli(["workspace", "list"])).stdout).toMatch(/app\s+ws-h1/);

    const s = await startSession(fleet, ["start", "--workspace", "app"]);
    expect(s).toMatchObject({ hostName: "ws-h1", cwd: host.cwd, provider: "claude-code" });
    expect(s.policySets).toEqual(["ws-set"]);
    await waitSessionStatus(fleet, s.id, "idle");
    expectOk(await fleet.cli(["kill", s.id]));
  });

  it("explicit flags override the workspace: -d and --name", async () => {
    const other = join(tempDir("codepiper-ws-other-"), "elsewhere");
    mkdirSync(other, { recursive: true });
    const otherReal = realpathSync(other);
    const s = await startSession(fleet, ["start", "--workspace", "app", "-d", otherReal, "--name", "ws-override"]);
    expect(s).toMatchObject({ hostName: "ws-h1", cwd: otherReal, provider: "claude-code", name: "ws-override" });
    expect(s.policySets).toEqual(["ws-set"]);
    await waitSessionStatus(fleet, s.id, "idle");
    expectOk(await fleet.cli(["kill", s.id]));
    // Still local and clear: a relative -d is refused even with a workspace.
    const rel = await fleet.cli(["start", "--workspace", "app", "-d", "relative/dir"]);
    expect(rel.code).toBe(2);
    expect(rel.stderr).toMatch(/relative path/);
  });

  it("update changes only what is given; --no-* clears; delete removes it", async () => {
    expectOk(await fleet.cli(["workspace", "create", "--name", "tmp-ws", "--host", "ws-h1", "--path", "/does/not/exist/yet", "--policy-set", "ws-set"]));
    const renamed = expectOk(await fleet.cli(["workspace", "update", "tmp-ws", "--name", "tmp-ws2", "--description", "moved", "--provider", "codex", "--json"])).json<WorkspaceView>();
    expect(renamed).toMatchObject({ name: "tmp-ws2", description: "moved", provider: "codex", path: "/does/not/exist/yet", policySet: "ws-set", host: "ws-h1" });
    const cleared = expectOk(await fleet.cli(["workspace", "update", "tmp-ws2", "--no-policy-set", "--no-provider", "--path", host.cwd, "--json"])).json<WorkspaceView>();
    expect(cleared).toMatchObject({ name: "tmp-ws2", provider: null, policySet: null, path: host.cwd, description: "moved" });
    expect((await fleet.cli(["workspace", "update", "tmp-ws2"])).code).toBe(2);
    // Without a provider from the workspace, start needs -p… which the server asks for.
    const noProvider = await fleet.cli(["start", "--workspace", "tmp-ws2"]);
    expect(noProvider.code).toBe(2);
    expect(noProvider.stderr).toMatch(/provider/);
    const del = expectOk(await fleet.cli(["workspace", "delete", "tmp-ws2", "--json"])).json<{ name: string }>();
    expect(del.name).toBe("tmp-ws2");
    expect((await fleet.cli(["workspace", "get", "tmp-ws2"])).code).toBe(4);
    expect((await fleet.cli(["workspace", "delete", "tmp-ws2"])).code).toBe(4);
  });

  it("bad input fails with the documented exit codes and creates nothing", async () => {
    const base = (name: string) => ["workspace", "create", "--name", name, "--host", "ws-h1", "--path", host.cwd];
    const unknownHost = await fleet.cli(["workspace", "create", "--name", "b1", "--host", "nope", "--path", host.cwd]);
    expect(unknownHost.code).toBe(4);
    expect(unknownHost.stderr).toMatch(/no host "nope"/);
    const relative = await fleet.cli(["workspace", "create", "--name", "b2", "--host", "ws-h1", "--path", "src/app"]);
    expect(relative.code).toBe(2);
    expect(relative.stderr).toMatch(/relative path/);
    expect((await fleet.cli([...base("b3"), "--env-set", "no-such-env"])).code).toBe(4);
    expect((await fleet.cli([...base("b4"), "--policy-set", "no-such-set"])).code).toBe(4);
    expect((await fleet.cli([...base("bad name!")])).code).toBe(2);
    const dup = await fleet.cli(base("app"));
    expect(dup.code).toBe(6);
    expect(dup.stderr).toMatch(/exists already/);
    // --validate asks the host: a directory that is not there is refused now.
    const missing = await fleet.cli(["workspace", "create", "--name", "b5", "--host", "ws-h1", "--path", "/no/such/dir/here", "--validate"]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/does not exist/);
    const names = expectOk(await fleet.cli(["workspace", "list", "--json"])).json<WorkspaceView[]>().map((w) => w.name);
    expect(names.filter((n) => n.startsWith("b"))).toEqual([]);

    const unknownWs = await fleet.cli(["start", "--workspace", "no-such-ws"]);
    expect(unknownWs.code).toBe(4);
    expect(unknownWs.stderr).toMatch(/no workspace/);
    // Without a workspace, -p and -d stay required (checked locally).
    const noP = await fleet.cli(["start", "-d", host.cwd]);
    expect(noP.code).toBe(2);
    expect(noP.stderr).toMatch(/--provider/);
    const noD = await fleet.cli(["start", "-p", "claude-code"]);
    expect(noD.code).toBe(2);
    expect(noD.stderr).toMatch(/--dir/);
  });
});
