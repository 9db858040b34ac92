import type { Command } from "commander";
import type { EventView } from "@codepiper/core";
import { outputFor, withApi } from "../context.js";
import { parseIntArg } from "../parse.js";
import { printEvents } from "./event-stream.js";

function human(e: Omit<EventView, "payload"> & { payload?: unknown }): string {
  return `${e.id}\t${e.at}\t${e.hostName}\t${e.type}\t${JSON.stringify(e.payload)}`;
}

export function registerEvents(program: Command): void {
  program
    .command("events")
    .description("read the event log that hosts ship (NDJSON with --json --follow)")
    .option("--host <host>", "only this host")
    .option("--type <type>", "only this event type")
    .option("--since <id>", "only events after this id")
    .option("--limit <n>", "at most this many (without --follow)", "1000")
    .option("--follow", "keep printing new events as they arrive (from now, or after --since)")
    .action(async (opts: { host?: string; type?: string; since?: string; limit: string; follow?: boolean }, cmd: Command) => {
      const out = outputFor(cmd);
      const since = opts.since === undefined ? undefined : parseIntArg(opts.since, "--since");
      const limit = parseIntArg(opts.limit, "--limit", 1);
      await withApi(cmd, (h) => printEvents(h, out, { host: opts.host, type: opts.type }, { since, limit, follow: opts.follow ?? false, render: human, what: "events" }));
    });
}
