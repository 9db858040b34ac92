import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { AppError, eventTypeSchema, LIMITS, jsonBytes } from "@codepiper/core";
import { appendToOutbox, joinHost, outboxStatus, readEnrollment, startAgent, statePaths } from "@codepiper/agent";
import { stateDir } from "../config.js";
import { outputFor } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { parseIntArg, parseUrl } from "../parse.js";
import { onShutdown } from "../signals.js";

export function registerAgent(program: Command): void {
  const agent = program.command("agent").description("the per-host daemon: join, run, status");

  agent
    .command("join")
    .description("enroll this host with a one-time join token (keys are generated here and never leave it)")
    .argument("<url>", "control plane URL")
    .option("--token <join-token>", "the one-time join token (or CODEPIPER_JOIN_TOKEN)")
    .requiredOption("--name <name>", "this host's name in the fleet")
    .option("--state-dir <dir>", "where this agent keeps its state (CODEPIPER_STATE_DIR)")
    .action(async (rawUrl: string, opts: { token?: string; name: string; stateDir?: string }, cmd: Command) => {
      const out = outputFor(cmd);
      const url = parseUrl(rawUrl);
      const token = opts.token ?? process.env.CODEPIPER_JOIN_TOKEN;
      if (!token) throw new AppError("CODEPIPER_BAD_INPUT", "pass the join token with --token <t> (from codepiper hosts token create)");
      const enrollment = await joinHost({ url, token, name: opts.name, stateDir: stateDir(opts.stateDir) });
      out.result(
        { hostId: enrollment.hostId, name: enrollment.name, controlPlaneUrl: enrollment.controlPlaneUrl, stateDir: statePaths(stateDir(opts.stateDir)).dir },
        () => `Joined as ${enrollment.name} (${enrollment.hostId}). Start it with: codepiper agent run --state-dir ${statePaths(stateDir(opts.stateDir)).dir}`,
      );
    });

  agent
    .command("run")
    .description("run the agent: keep the link to the control plane up until stopped (SIGTERM/SIGINT)")
    .option("--state-dir <dir>", "the agent's state dir (CODEPIPER_STATE_DIR)")
    .option("--url <url>", "override the control plane URL recorded at join")
    .option("--preserve-sessions", "on start, resume (through the provider) sessions whose tmux vanished while the agent was down, e.g. after a reboot (CODEPIPER_PRESERVE_SESSIONS=1)")
    .action(async (opts: { stateDir?: string; url?: string; preserveSessions?: boolean }, cmd: Command) => {
      const out = outputFor(cmd);
      const running = await startAgent({
        stateDir: stateDir(opts.stateDir),
        controlPlaneUrl: opts.url ? parseUrl(opts.url) : undefined,
        // hook-forward runs on every tool call: plain node on the prebuilt file, no loader.
        hookForward: [process.execPath, fileURLToPath(new URL("../hook-forward.cjs", import.meta.url))],
        preserveSessions: opts.preserveSessions ?? process.env.CODEPIPER_PRESERVE_SESSIONS === "1",
      });
      onShutdown(async () => {
        await running.stop();
      });
      out.info(`agent ${running.name} running (host id ${running.hostId})`);
      const exit = await running.done;
      if (exit.kind === "permanent") {
        // A permanent refusal: retrying cannot help, so stop with a message that says why.
        throw new AppError(exit.code, `agent stopped: ${exit.message}`);
      }
      process.exitCode = EXIT.ok;
    });

  agent
    .command("status")
    .description("show this agent's enrollment and outbox (works while it runs)")
    .option("--state-dir <dir>", "the agent's state dir (CODEPIPER_STATE_DIR)")
    .action((opts: { stateDir?: string }, cmd: Command) => {
      const out = outputFor(cmd);
      const dir = stateDir(opts.stateDir);
      const enrollment = readEnrollment(statePaths(dir));
      const outbox = outboxStatus(dir);
      out.result({ ...enrollment, stateDir: dir, outbox }, () =>
        `${enrollment.name} (${enrollment.hostId}) → ${enrollment.controlPlaneUrl}\noutbox: ${outbox.pending} pending, last seq ${outbox.lastSeq}`,
      );
    });

  agent
    .command("emit")
    .description("append synthetic events to this agent's outbox (diagnostics, tests, benchmarks)")
    .option("--state-dir <dir>", "the agent's state dir (CODEPIPER_STATE_DIR)")
    .option("--type <type>", "event type", "agent.synthetic")
    .option("--count <n>", "how many events", "1")
    .option("--batch <n>", "events per transaction", "100")
    .option("--payload <json>", "JSON payload; each event also gets its index as `i`", "{}")
    .action((opts: { stateDir?: string; type: string; count: string; batch: string; payload: string }, cmd: Command) => {
      const out = outputFor(cmd);
      const type = eventTypeSchema.safeParse(opts.type);
      if (!type.success) throw new AppError("CODEPIPER_BAD_INPUT", `--type ${opts.type}: ${type.error.issues[0]?.message}`);
      const count = parseIntArg(opts.count, "--count", 1);
      const batch = parseIntArg(opts.batch, "--batch", 1);
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(opts.payload) as Record<string, unknown>;
      } catch {
        throw new AppError("CODEPIPER_BAD_INPUT", "--payload is not valid JSON");
      }
      if (typeof payload !== "object" || payload === null || Array.isArray(payload)) throw new AppError("CODEPIPER_BAD_INPUT", "--payload must be a JSON object");
      if (jsonBytes(payload) > LIMITS.eventPayloadBytes - 100) throw new AppError("CODEPIPER_BAD_INPUT", `--payload is over ${LIMITS.eventPayloadBytes} bytes`);
      const dir = stateDir(opts.stateDir);
      let first = 0;
      let last = 0;
      for (let i = 0; i < count; i += batch) {
        const n = Math.min(batch, count - i);
        const seqs = appendToOutbox(dir, Array.from({ length: n }, (_, k) => ({ type: type.data, payload: { ...payload, i: i + k } })));
        if (i === 0) first = seqs[0]!;
        last = seqs[seqs.length - 1]!;
        if (!out.json && count > batch) process.stderr.write(`\r${i + n}/${count}`);
      }
      if (!out.json && count > batch) process.stderr.write("\n");
      out.result({ appended: count, firstSeq: first, lastSeq: last }, () => `appended ${count} events (seq ${first}–${last})`);
    });
}
