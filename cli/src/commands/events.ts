import type { Command } from "commander";
import type { EventView } from "@codepiper/core";
import { call } from "../client.js";
import { outputFor, withApi } from "../context.js";
import { parseIntArg } from "../parse.js";

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
      await withApi(cmd, async (h) => {
        if (!opts.follow) {
          const page = await call(h, (api) => api.events.list.query({ host: opts.host, type: opts.type, since, limit }));
          out.result(page.events, () => page.events.map(human).join("\n") || "(no events)");
          return;
        }
        // Fail fast on a bad host name or token before holding a subscription open.
        await call(h, (api) => api.events.list.query({ host: opts.host, type: opts.type, since, limit: 1 }));
        // Like tail -f: without --since, only what arrives from now on.
        const from = since ?? (await call(h, (api) => api.events.head.query())).lastId;
        process.stderr.write(`following events after id ${from} (Ctrl-C to stop)\n`);
        await new Promise<void>((resolve, reject) => {
          const sub = h.api.events.follow.subscribe(
            { host: opts.host, type: opts.type, since: from },
            {
              onData: (tracked) => out.line(tracked.data, () => human(tracked.data)),
              onError: (err) => reject(err),
              onComplete: () => resolve(),
            },
          );
          const stop = () => {
            sub.unsubscribe();
            resolve();
          };
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
        });
      });
    });
}
