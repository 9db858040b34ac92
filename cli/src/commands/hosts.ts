import type { Command } from "commander";
import { AppError, type HostView } from "@codepiper/core";
import { call } from "../client.js";
import { outputFor, withApi } from "../context.js";
import { table } from "../output.js";
import { parseDuration, parseIntArg } from "../parse.js";

function providers(h: HostView): string {
  return h.providers.map((p) => `${p.id}${p.version ? `@${p.version}` : ""}`).join(",") || "-";
}

export function registerHosts(program: Command): void {
  const hosts = program.command("hosts").description("enrolled hosts: list, join tokens, ping, revoke");

  hosts
    .command("list", { isDefault: true })
    .description("list hosts with status, versions and provider CLIs")
    // `list` is the default subcommand, so a mistyped one (`hosts pnig alpha`) lands here as
    // arguments; commander alone would only say "too many arguments for 'list'".
    .allowExcessArguments(true)
    .action(async (_opts: unknown, cmd: Command) => {
      if (cmd.args.length > 0) {
        const known = (cmd.parent?.commands ?? []).map((c) => c.name()).filter((n) => n !== "help").join(", ");
        throw new AppError("CODEPIPER_BAD_INPUT", `unknown command 'hosts ${cmd.args[0]}' (hosts commands: ${known})`);
      }
      const out = outputFor(cmd);
      const list = await withApi(cmd, (h) => call(h, (api) => api.hosts.list.query()));
      out.result(list, () =>
        list.length === 0
          ? "No hosts yet: codepiper hosts token create --ttl 15m, then codepiper agent join on the host."
          : table([
              ["NAME", "STATUS", "VERSION", "OS", "TMUX", "PROVIDERS", "LAST SEEN"],
              ...list.map((h) => [h.name, h.revoked ? "revoked" : h.status, h.version ?? "-", h.os ?? "-", h.tmuxVersion ?? "-", providers(h), h.lastSeenAt ?? "never"]),
            ]),
      );
    });

  const token = hosts.command("token").description("one-time join tokens");
  token
    .command("create")
    .description("create a one-time join token for enrolling a host")
    .option("--ttl <duration>", "how long the token stays valid (e.g. 15m, 2h)", "15m")
    .action(async (opts: { ttl: string }, cmd: Command) => {
      const out = outputFor(cmd);
      const ttlMs = parseDuration(opts.ttl, "--ttl");
      const created = await withApi(cmd, (h) => call(h, (api) => api.hosts.createJoinToken.mutate({ ttlMs })));
      out.result(created, () => `${created.token}\n(valid until ${created.expiresAt}; on the new host: codepiper agent join <url> --token <token> --name <name>)`);
    });

  hosts
    .command("ping")
    .description("round-trip a ping through the durable command stream and print the latency")
    .argument("<host>", "host name or id")
    .option("--timeout <duration>", "how long to wait for the answer", "10s")
    .option("--ttl <duration>", "how long the command stays deliverable if the host is offline", "10m")
    .option("--no-wait", "queue the ping and return at once")
    .action(async (host: string, opts: { timeout: string; ttl: string; wait: boolean }, cmd: Command) => {
      const out = outputFor(cmd);
      const timeoutMs = opts.wait ? parseDuration(opts.timeout, "--timeout") : 0;
      const ttlMs = parseDuration(opts.ttl, "--ttl");
      const result = await withApi(cmd, (h) => call(h, (api) => api.hosts.ping.mutate({ host, timeoutMs, ttlMs })));
      if (opts.wait && result.status !== "succeeded") {
        if (result.status === "failed" || result.status === "expired") {
          throw new AppError("CODEPIPER_TIMEOUT", `ping to ${result.host} ${result.status} (command ${result.commandId})`);
        }
        throw new AppError(
          "CODEPIPER_TIMEOUT",
          `no answer from ${result.host} within ${opts.timeout}; the ping stays queued as command ${result.commandId} and is delivered if the host returns within ${opts.ttl}`,
        );
      }
      out.result(result, () => (opts.wait ? `pong from ${result.host}: ${result.latencyMs} ms (command ${result.commandId})` : `queued ping as command ${result.commandId}`));
    });

  hosts
    .command("revoke")
    .description("revoke a host: its link closes at once and it can never link again")
    .argument("<host>", "host name or id")
    .action(async (host: string, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const view = await withApi(cmd, (h) => call(h, (api) => api.hosts.revoke.mutate({ host })));
      out.result(view, () => `revoked ${view.name}`);
    });

  hosts
    .command("commands")
    .description("durable commands sent to hosts, newest first")
    .argument("[host]", "only this host")
    .option("--id <id>", "one command")
    .option("--limit <n>", "how many", "100")
    .action(async (host: string | undefined, opts: { id?: string; limit: string }, cmd: Command) => {
      const out = outputFor(cmd);
      const limit = parseIntArg(opts.limit, "--limit", 1);
      const list = await withApi(cmd, (h) => call(h, (api) => api.hosts.commands.query({ host, id: opts.id, limit })));
      out.result(list, () =>
        table([["ID", "TYPE", "STATUS", "CREATED", "COMPLETED", "ERROR"], ...list.map((c) => [c.id, c.type, c.status, c.createdAt, c.completedAt ?? "-", c.error ?? ""])]),
      );
    });
}
