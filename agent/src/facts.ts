import { execFile } from "node:child_process";
import { freemem, hostname, loadavg, release, totalmem, arch, platform } from "node:os";
import { PROTOCOL_VERSION, PROVIDER_IDS, type HostFacts, type HostLoad, type ProviderFact, type ProviderId } from "@codepiper/core";
import { adapterFor } from "./providers/index.js";

export const AGENT_VERSION = "0.1.0";

/** `CODEPIPER_CLAUDE_CODE_BIN` / `CODEPIPER_CODEX_BIN` name a binary explicitly; otherwise PATH decides. */
function binaryFor(id: ProviderId, env: NodeJS.ProcessEnv): string {
  const override = env[`CODEPIPER_${id.toUpperCase().replace(/-/g, "_")}_BIN`];
  return override && override.length > 0 ? override : adapterFor(id).binaryName;
}

/** Runs a probe command with a short timeout; resolves null when it is missing or fails. */
function probe(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; path: string } | null> {
  return new Promise((resolve) => {
    execFile("sh", ["-c", 'command -v "$0"', file], { env, timeout: 5000 }, (err, where) => {
      const path = where.trim();
      if (err || !path) return resolve(null);
      execFile(path, args, { env, timeout: 10_000 }, (err2, stdout) => resolve(err2 ? { stdout: "", path } : { stdout: String(stdout), path }));
    });
  });
}

function firstVersion(text: string): string | null {
  return /\d+\.\d+(\.\d+)?[\w.-]*/.exec(text)?.[0] ?? null;
}

/** What this host can do: sent at join and in every hello (DESIGN.md §2 "Versioning"). */
export async function gatherFacts(env: NodeJS.ProcessEnv = process.env): Promise<HostFacts> {
  const [tmux, ...providers] = await Promise.all([
    probe("tmux", ["-V"], env),
    ...PROVIDER_IDS.map((id) => probe(binaryFor(id, env), ["--version"], env)),
  ]);
  const providerFacts: ProviderFact[] = [];
  PROVIDER_IDS.forEach((id, i) => {
    const found = providers[i];
    if (found) providerFacts.push({ id, version: firstVersion(found.stdout), path: found.path, channels: [...adapterFor(id).channels] });
  });
  return {
    agentVersion: AGENT_VERSION,
    protocolVersion: PROTOCOL_VERSION,
    os: { platform: platform(), release: release(), arch: arch(), hostname: hostname() },
    tmuxVersion: tmux ? firstVersion(tmux.stdout) : null,
    providers: providerFacts,
    capabilities: ["events", "commands", "sessions", "terminal"],
  };
}

export function currentLoad(outboxPending: number): HostLoad {
  return {
    loadAvg1: loadavg()[0] ?? 0,
    memFreeBytes: freemem(),
    memTotalBytes: totalmem(),
    agentRssBytes: process.memoryUsage.rss(),
    outboxPending,
  };
}

/**
 * Provider facts, probed at most once per `maxAgeMs` (a `--version` run costs a few hundred ms;
 * validation and every start need the answer, a newly installed CLI should show up soon).
 */
export function cachedProviders(maxAgeMs = 60_000, env: NodeJS.ProcessEnv = process.env): () => Promise<ProviderFact[]> {
  let cached: { at: number; value: Promise<HostFacts> } | null = null;
  return async () => {
    if (!cached || Date.now() - cached.at > maxAgeMs) cached = { at: Date.now(), value: gatherFacts(env) };
    return (await cached.value).providers;
  };
}
