import { Option, type Command } from "commander";
import { EVENT_SOURCES, type EventSource, type EventView } from "@codepiper/core";
import { call } from "../client.js";
import { outputFor, withApi } from "../context.js";
import { parseIntArg } from "../parse.js";
import { printEvents } from "./event-stream.js";

const SUMMARY_MAX = 160;

/** One line of a payload for humans: the state change for session.* events, compact JSON otherwise. */
export function summarize(type: string, payload: unknown): string {
  const p = (payload ?? {}) as Record<string, unknown>;
  let text: string;
  if (type.startsWith("session.") && typeof p.state === "string") {
    text = `${p.state}${typeof p.reason === "string" ? ` (${p.reason})` : ""}${typeof p.exitCode === "number" ? ` exit ${p.exitCode}` : ""}${typeof p.error === "string" ? `: ${p.error}` : ""}`;
  } else if (typeof p.text === "string") {
    text = p.text;
  } else {
    text = JSON.stringify(payload) ?? "";
  }
  text = text.replace(/\s+/g, " ").trim();
  return text.length > SUMMARY_MAX ? `${text.slice(0, SUMMARY_MAX - 1)}…` : text;
}

export function logLine(e: Pick<EventView, "id" | "at" | "type"> & { payload?: unknown }): string {
  return `#${e.id} ${e.at} ${e.type} ${summarize(e.type, e.payload)}`.trimEnd();
}

export function registerLogs(program: Command): void {
  program
    .command("logs")
    .description("structured events of one session: hooks, transcript, terminal, state (NDJSON with --json -f)")
    .argument("<session>", "session id, unique id prefix, or name")
    .option("-f, --follow", "keep printing new events as they arrive (from now, or after --since)")
    .addOption(new Option("--source <source>", "only this family of events").choices(Object.keys(EVENT_SOURCES)))
    .option("--since <id>", "only events after this event id")
    .option("--limit <n>", "at most this many (without -f)", "1000")
    .action(async (ref: string, opts: { follow?: boolean; source?: EventSource; since?: string; limit: string }, cmd: Command) => {
      const out = outputFor(cmd);
      const since = opts.since === undefined ? undefined : parseIntArg(opts.since, "--since");
      const limit = parseIntArg(opts.limit, "--limit", 1);
      await withApi(cmd, async (h) => {
        // The event filters take a full id: resolve the prefix or name (and fail fast on a bad one).
        const session = await call(h, (api) => api.sessions.get.query({ session: ref }));
        const filter = { sessionId: session.id, source: opts.source };
        await printEvents(h, out, filter, { since, limit, follow: opts.follow ?? false, render: logLine, what: `events of ${session.id.slice(0, 8)}` });
      });
    });
}
