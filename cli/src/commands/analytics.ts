import { Option, type Command } from "commander";
import { call } from "../client.js";
import { outputFor, withApi } from "../context.js";
import { table } from "../output.js";

const RANGES = ["today", "7d", "30d"] as const;

const usd = (n: number) => `$${n.toFixed(2)}`;
const count = (n: number) => n.toLocaleString("en-US");

export function registerAnalytics(program: Command): void {
  program
    .command("analytics")
    .description("fleet usage over a range: tokens and estimated cost per model, sessions, tool calls")
    .addOption(new Option("--range <range>", "today (since 00:00 UTC), or the last 7 / 30 UTC days").choices(RANGES).default("7d"))
    .addHelpText("after", "\nCosts are estimates from list prices per model family (unknown models count as $0, marked *), not a bill.")
    .action(async (opts: { range: (typeof RANGES)[number] }, cmd: Command) => {
      const out = outputFor(cmd);
      const s = await withApi(cmd, (h) => call(h, (api) => api.analytics.summary.query({ range: opts.range })));
      out.result(s, () => {
        const lines = [
          `${s.range}: ${s.from} → ${s.to} (UTC)`,
          `Sessions started: ${count(s.totals.sessions)}   Tool calls: ${count(s.totals.toolCalls)}   Tokens in/out: ${count(s.totals.inputTokens)}/${count(s.totals.outputTokens)}   Estimated cost: ${usd(s.totals.costUsd)}`,
          "",
          s.tokensByModel.length === 0
            ? "No token usage"
            : table([
                ["MODEL", "INPUT", "OUTPUT", "CACHE READ", "CACHE WRITE", "COST"],
                ...s.tokensByModel.map((m) => [m.model, count(m.inputTokens), count(m.outputTokens), count(m.cacheReadTokens), count(m.cacheCreationTokens), `${usd(m.costUsd)}${m.priced ? "" : "*"}`]),
              ]),
          "",
          s.toolUsage.length === 0 ? "No tool calls" : table([["TOOL", "CALLS", "DENIED"], ...s.toolUsage.map((t) => [t.tool, count(t.count), count(t.denied)])]),
        ];
        return lines.join("\n");
      });
    });
}
