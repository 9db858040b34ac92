import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startHookServer, tokensEqual, type HookReply, type HookRequest, type HookServer } from "@codepiper/agent/hooks/server";
import { captureLog } from "@codepiper/agent/hooks/test-helpers";

const HERE = dirname(fileURLToPath(import.meta.url));
/** The built file the providers run (`node <abs>/cli/dist/hook-forward.js`): test what ships. */
const BUILT = resolve(HERE, "../dist/hook-forward.cjs");
const SESSION = randomUUID();
const TOKEN = randomBytes(24).toString("hex");
const DECISION = { hookSpecificOutput: { hookEventName: "PermissionRequest", decision: { behavior: "deny", message: "no" } } };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runForward(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BUILT, ...args], { env: { PATH: process.env.PATH ?? "", ...(opts.env ?? { CODEPIPER_HOOK_TOKEN: TOKEN }) }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.stdin ?? "");
  });
}

describe("hook-forward (built, as a real process)", () => {
  let dir: string;
  let socketPath: string;
  let server: HookServer | null;
  let calls: HookRequest[];
  let reply: HookReply;

  beforeAll(() => {
    const built = statSync(BUILT, { throwIfNoEntry: false });
    const source = statSync(join(HERE, "hook-forward.cts"));
    if (!built || built.mtimeMs < source.mtimeMs) throw new Error(`${BUILT} is missing or older than its source: run npx tsc -b cli/tsconfig.build.json`);
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "cp-hookfwd-"));
    socketPath = join(dir, "hooks.sock");
    calls = [];
    reply = { body: DECISION };
    server = await startHookServer({
      socketPath,
      authorize: (id, token) => id === SESSION && tokensEqual(TOKEN, token),
      handle: async (req) => {
        calls.push(req);
        return reply;
      },
      log: captureLog().log,
    });
  });
  afterEach(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const args = (event = "PermissionRequest") => ["--socket", socketPath, "--session", SESSION, "--event", event];
  const payload = JSON.stringify({ session_id: SESSION, hook_event_name: "PermissionRequest", tool_name: "Bash", tool_input: { command: "rm -rf /" } });

  it("prints the decision JSON exactly and exits 0", async () => {
    const run = await runForward(args(), { stdin: payload });
    expect(run).toEqual({ code: 0, stdout: JSON.stringify(DECISION), stderr: "" });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ sessionId: SESSION, event: "PermissionRequest", channel: "socket", payload: JSON.parse(payload) });
  });

  it("prints nothing for no decision", async () => {
    reply = { body: null };
    expect(await runForward(args("Stop"), { stdin: payload })).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("agent unreachable: empty stdout, exit 0, a message on stderr", async () => {
    await server?.close();
    server = null;
    const run = await runForward(args(), { stdin: payload });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/agent unreachable/);
    expect(run.stderr).not.toContain(TOKEN);
  });

  it("malformed stdin: empty stdout, exit 0, the server is never called", async () => {
    for (const stdin of ["{not json", "[1,2]", "", "null"]) {
      const run = await runForward(args(), { stdin });
      expect(run.code).toBe(0);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(/hook input is not/);
    }
    expect(calls).toHaveLength(0);
  });

  it("wrong or missing token, bad arguments: empty stdout, exit 0, no token or payload on stderr", async () => {
    const wrong = await runForward(args(), { stdin: payload, env: { CODEPIPER_HOOK_TOKEN: "wrong" } });
    expect(wrong).toMatchObject({ code: 0, stdout: "" });
    expect(wrong.stderr).toMatch(/agent refused: unauthorized/);
    const missing = await runForward(args(), { stdin: payload, env: {} });
    expect(missing).toMatchObject({ code: 0, stdout: "" });
    expect(missing.stderr).toMatch(/CODEPIPER_HOOK_TOKEN is not set/);
    const bad = await runForward(["--socket", socketPath, "--session", "nope", "--event", "Stop"], { stdin: payload });
    expect(bad).toMatchObject({ code: 0, stdout: "" });
    expect(bad.stderr).toMatch(/--session/);
    for (const r of [wrong, missing, bad]) expect(r.stderr).not.toContain("rm -rf");
    expect(calls).toHaveLength(0);
  });

  it("--notify takes the payload from the last argument (Codex notify)", async () => {
    reply = { body: null };
    const notification = JSON.stringify({ type: "agent-turn-complete", "thread-id": "t1", "last-assistant-message": "done" });
    const run = await runForward(["--socket", socketPath, "--session", SESSION, "--notify", notification]);
    expect(run).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(calls[0]).toMatchObject({ event: "notify", payload: JSON.parse(notification) });
  });

  it("the handler failing: empty stdout, exit 0", async () => {
    reply = { body: null };
    await server?.close();
    server = await startHookServer({
      socketPath,
      authorize: () => true,
      handle: async () => {
        throw new Error("x");
      },
      log: captureLog().log,
    });
    const run = await runForward(args(), { stdin: payload });
    expect(run).toMatchObject({ code: 0, stdout: "" });
    expect(run.stderr).toMatch(/handler failed/);
  });
});
