import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { CLI_ENTRY, cleanEnv } from "./cli.js";
import { freePort } from "./ports.js";
import { tempDir } from "./tmp.js";
import { waitFor } from "./wait.js";

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** A codepiper process started by a test, with its output captured. */
export class Proc {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout = "";
  stderr = "";

  constructor(readonly child: ChildProcess, readonly label: string) {
    live.add(child);
    child.stdout?.on("data", (d: Buffer) => (this.stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => {
      this.stderr += d.toString();
      if (this.stderr.length > 1_000_000) this.stderr = this.stderr.slice(-500_000);
    });
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL: the crash case. Resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.running) this.child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM: the graceful case. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill("SIGTERM");
    return this.exited;
  }
}

export function spawnCli(args: string[], label: string, env: Record<string, string | undefined> = {}): Proc {
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], { env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  return new Proc(child, label);
}

export interface ServerHandle {
  url: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  setupToken: string | null;
  proc: Proc;
}

/** Starts `codepiper server` on a free loopback port; resolves once /healthz answers 200. */
export async function startServer(opts: { dataDir?: string; databaseUrl?: string; port?: number; env?: Record<string, string> } = {}): Promise<ServerHandle> {
  const dataDir = opts.dataDir ?? tempDir("codepiper-cp-");
  const port = opts.port ?? (await freePort());
  const args = ["server", "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`, "--json"];
  if (opts.databaseUrl) args.push("--database-url", opts.databaseUrl);
  const proc = spawnCli(args, `server:${port}`, opts.env);
  const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const rl = createInterface({ input: proc.child.stdout! });
    rl.once("line", (line) => resolve(JSON.parse(line) as Record<string, unknown>));
    void proc.exited.then(({ code }) => reject(new Error(`server exited (${code}) before it was ready:\n${proc.stderr}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/healthz`)).ok, { what: "control plane /healthz" });
  return { url, port, dataDir, databaseUrl: opts.databaseUrl, setupToken: (first.setupToken as string | null) ?? null, proc };
}

/** Starts `codepiper agent run` for an enrolled state dir. */
export function startAgentProcess(stateDir: string, env: Record<string, string> = {}, args: string[] = []): Proc {
  return spawnCli(["agent", "run", "--state-dir", stateDir, ...args], `agent:${stateDir}`, env);
}

export function agentStateDir(root: string, name: string): string {
  return join(root, `agent-${name}`);
}
