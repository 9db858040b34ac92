import { execFile } from "node:child_process";
import { join } from "node:path";
import { runCli, type CliResult } from "./cli.js";
import { startAgentProcess, startServer, type Proc, type ServerHandle } from "./processes.js";
import { tempDir } from "./tmp.js";
import { waitFor } from "./wait.js";

export const ADMIN = { email: "admin@example.com", password: "fleet-test-password" };

export interface FleetHost {
  name: string;
  stateDir: string;
  hostId: string;
  agent: Proc | null;
  /** Extra environment of this host's agent process (kept for restarts). */
  env: Record<string, string>;
}

/**
 * A control plane with an admin and a logged-in CLI config dir, plus helpers to enroll and run
 * agents as separate processes. Every suite that needs a running fleet builds on this.
 */
export class Fleet {
  readonly hosts = new Map<string, FleetHost>();
  readonly root: string;
  readonly configDir: string;

  private constructor(public server: ServerHandle, root: string) {
    this.root = root;
    this.configDir = join(root, "config");
  }

  /** Environment of the control plane process (e.g. CODEPIPER_APPROVAL_TIMEOUT), kept for restarts. */
  serverEnv: Record<string, string> = {};

  static async start(opts: { databaseUrl?: string; serverEnv?: Record<string, string> } = {}): Promise<Fleet> {
    const root = tempDir("codepiper-fleet-");
    const server = await startServer({ dataDir: join(root, "cp"), databaseUrl: opts.databaseUrl, env: opts.serverEnv });
    const fleet = new Fleet(server, root);
    fleet.serverEnv = opts.serverEnv ?? {};
    const args = ["admin", "create", "--data-dir", server.dataDir, "--email", ADMIN.email, "--password-stdin"];
    if (opts.databaseUrl) args.push("--database-url", opts.databaseUrl);
    expectOk(await runCli(args, { stdin: ADMIN.password }));
    expectOk(await fleet.cli(["login", server.url, "--email", ADMIN.email, "--password-stdin"], { stdin: ADMIN.password }));
    return fleet;
  }

  /**
   * Another control-plane replica on this fleet's PostgreSQL (DESIGN.md §5): its own data dir, port
   * and logged-in CLI config, the same server environment (master key); it shares this fleet's hosts
   * (their agents stay linked to whichever replica they were enrolled with). Close it with
   * `replica.server.proc.kill()`: `close()` would stop the shared agents too.
   */
  async startReplica(): Promise<Fleet> {
    if (!this.server.databaseUrl) throw new Error("replicas need a PostgreSQL fleet: Fleet.start({ databaseUrl })");
    const root = tempDir("codepiper-replica-");
    const server = await startServer({ dataDir: join(root, "cp"), databaseUrl: this.server.databaseUrl, env: this.serverEnv });
    const replica = new Fleet(server, root);
    replica.serverEnv = this.serverEnv;
    for (const [name, host] of this.hosts) replica.hosts.set(name, host);
    expectOk(await replica.cli(["login", server.url, "--email", ADMIN.email, "--password-stdin"], { stdin: ADMIN.password }));
    return replica;
  }

  get url(): string {
    return this.server.url;
  }

  /** Runs the CLI as the logged-in admin. */
  cli(args: string[], opts: { stdin?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<CliResult> {
    return runCli(args, { ...opts, env: { CODEPIPER_CONFIG_DIR: this.configDir, ...opts.env } });
  }

  async joinToken(ttl = "15m"): Promise<string> {
    const res = expectOk(await this.cli(["hosts", "token", "create", "--ttl", ttl, "--json"]));
    return res.json<{ token: string }>().token;
  }

  /** Enrolls a host (without running it). */
  async join(name: string): Promise<FleetHost> {
    const stateDir = join(this.root, `agent-${name}`);
    const token = await this.joinToken();
    const res = expectOk(await this.cli(["agent", "join", this.url, "--token", token, "--name", name, "--state-dir", stateDir, "--json"]));
    const host: FleetHost = { name, stateDir, hostId: res.json<{ hostId: string }>().hostId, agent: null, env: {} };
    this.hosts.set(name, host);
    return host;
  }

  /** Starts (or restarts) a host's agent process and waits until the host is online. */
  async run(name: string, opts: { waitOnline?: boolean; env?: Record<string, string>; args?: string[] } = {}): Promise<FleetHost> {
    const host = this.hosts.get(name) ?? (await this.join(name));
    if (opts.env) host.env = opts.env;
    host.agent = startAgentProcess(host.stateDir, host.env, opts.args);
    if (opts.waitOnline !== false) await this.waitStatus(name, "online");
    return host;
  }

  async hostList(): Promise<{ name: string; status: string; ackedSeq: number; [k: string]: unknown }[]> {
    return expectOk(await this.cli(["hosts", "--json"])).json();
  }

  async waitStatus(name: string, status: "online" | "offline", timeoutMs = 20_000): Promise<void> {
    await waitFor(async () => (await this.hostList()).some((h) => h.name === name && h.status === status), { what: `${name} ${status}`, timeoutMs });
  }

  /** Restarts the control plane on the same port and data (after a kill or a stop). */
  async restartServer(): Promise<void> {
    if (this.server.proc.running) await this.server.proc.stop();
    this.server = await startServer({ dataDir: this.server.dataDir, port: this.server.port, databaseUrl: this.server.databaseUrl, env: this.serverEnv });
  }

  async close(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((h) => h.agent?.kill()));
    await this.server.proc.kill();
    // Sessions outlive their agent by design (tmux keeps them); a test's must not outlive the test.
    await Promise.all(
      [...this.hosts.values()].map(
        (h) => new Promise<void>((resolve) => execFile("tmux", ["-S", join(h.stateDir, "tmux.sock"), "kill-server"], () => resolve())),
      ),
    );
  }
}

export function expectOk(res: CliResult): CliResult {
  if (res.code !== 0) throw new Error(`codepiper exited ${res.code}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`);
  return res;
}
