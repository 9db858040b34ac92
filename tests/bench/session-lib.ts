// Shared set-up for the session benchmarks (hooks, keystroke, sessions-idle). Not a benchmark itself.
//
// A control plane (Fleet) with one linked host whose `claude` is the scripted fake provider
// (tests/fixtures/fake-provider/claude), sessions started through the CLI, and direct access to
// the agent's private tmux server (<stateDir>/tmux.sock) for baselines and for reading what the
// agent handed to a session (its hook token, from the provider process's environment).
import { spawn } from "node:child_process";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { tmuxSessionName } from "@codepiper/core";
import { createApi, type ApiHandle } from "@codepiper/cli/client";
import { Fleet } from "../src/support/index.js";
import { runFakeProviderHost, startSession, waitSessionStatus, type FakeProviderHost, type SessionView } from "../src/support/sessions.js";

const run = promisify(execFile);

export interface BenchSession {
  id: string;
  tmuxName: string;
  view: SessionView;
}

export interface SessionBench {
  fleet: Fleet;
  fp: FakeProviderHost;
  stateDir: string;
  tmuxSocket: string;
  api: ApiHandle;
  start(): Promise<BenchSession>;
  tmux(args: string[]): Promise<string>;
  /** The provider process of a session (the pane's pid: the wrapper execs the provider). */
  panePid(s: BenchSession): Promise<number>;
  /** The hook token the agent gave the session (CODEPIPER_HOOK_TOKEN in the provider's environment). */
  hookToken(s: BenchSession): Promise<string>;
  close(): Promise<void>;
}

export async function startSessionBench(hostName = "bench-host"): Promise<SessionBench> {
  const fleet = await Fleet.start();
  let fp: FakeProviderHost;
  try {
    fp = await runFakeProviderHost(fleet, hostName);
  } catch (err) {
    await fleet.close();
    throw err;
  }
  const stateDir = fp.host.stateDir;
  const tmuxSocket = join(stateDir, "tmux.sock");
  const token = (JSON.parse(readFileSync(join(fleet.configDir, "credentials.json"), "utf8")) as { token: string }).token;
  const api = createApi({ url: fleet.url, token });
  const tmux = async (args: string[]) => (await run("tmux", ["-S", tmuxSocket, ...args])).stdout;
  const bench: SessionBench = {
    fleet,
    fp,
    stateDir,
    tmuxSocket,
    api,
    tmux,
    async start() {
      const view = await startSession(fleet, fp.startArgs());
      const idle = await waitSessionStatus(fleet, view.id, "idle", 60_000);
      return { id: view.id, tmuxName: tmuxSessionName(view.id), view: idle };
    },
    async panePid(s) {
      return Number((await tmux(["display-message", "-p", "-t", `=${s.tmuxName}:`, "#{pane_pid}"])).trim());
    },
    async hookToken(s) {
      const environ = readFileSync(`/proc/${await bench.panePid(s)}/environ`, "utf8").split("\0");
      const line = environ.find((l) => l.startsWith("CODEPIPER_HOOK_TOKEN="));
      if (!line) throw new Error("no CODEPIPER_HOOK_TOKEN in the provider's environment");
      return line.slice("CODEPIPER_HOOK_TOKEN=".length);
    },
    async close() {
      await api.close().catch(() => undefined);
      await fleet.close();
      // The agent was SIGKILLed: its private tmux server (and the providers in it) outlive it.
      await run("tmux", ["-S", tmuxSocket, "kill-server"]).catch(() => undefined);
    },
  };
  return bench;
}

/** A real-size Claude Code PreToolUse payload (from the reference capture), for one session. */
export function preToolUsePayload(sessionId: string, transcriptPath: string, cwd: string): Record<string, unknown> {
  return {
    session_id: sessionId,
    transcript_path: transcriptPath,
    cwd,
    prompt_id: "e17ff537-ac0f-4df8-a2e5-40ad5574ed31",
    permission_mode: "default",
    effort: { level: "high" },
    hook_event_name: "PreToolUse",
    tool_name: "Bash",
    tool_input: { command: "touch allowed-by-hook.txt", description: "spike cmd" },
    tool_use_id: "toolu_fake1",
  };
}

/** spawn → exit of a node process, stdin = `input`; rejects on a non-zero exit or stderr output. */
export function timeProcess(args: string[], input: string, env: NodeJS.ProcessEnv): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const ms = performance.now() - started;
      if (code !== 0 || stderr) reject(new Error(`${args.join(" ")} exited ${code}: ${stderr}`));
      else resolve({ ms, stdout });
    });
    child.stdin.end(input);
  });
}
