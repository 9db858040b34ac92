import { Option, type Command } from "commander";
import { AppError } from "@codepiper/core";
import { call } from "../client.js";
import { outputFor, withApi } from "../context.js";
import { table } from "../output.js";
import { parseIntArg } from "../parse.js";
import { argsSummary, parseRef, parseSinceTime, ruleLabel } from "../policy-input.js";
import { shortId } from "./sessions.js";

const DECISIONS = ["allow", "deny", "ask"] as const;

interface AuditOptions {
  actions?: boolean;
  session?: string;
  decision?: (typeof DECISIONS)[number];
  actor?: string;
  since?: string;
  action?: string;
  before?: string;
  limit: string;
}

/** Same rules as the control plane's `action` filter: an action, or a prefix ending in `.*`. */
const ACTION_FILTER = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*(\.\*)?$/;
const MAX_ROW_ID = 9_223_372_036_854_775_807n;

function parseActionFilter(value: string): string {
  const v = value.trim();
  if (v.length > 100 || !ACTION_FILTER.test(v)) {
    throw new AppError("CODEPIPER_BAD_INPUT", `--action ${JSON.stringify(value)}: expected an action (e.g. envset.create) or a prefix ending in .* (e.g. envset.*): lowercase letters, digits, _ and - separated by dots, at most 100 characters`);
  }
  return v;
}

function parseBeforeId(value: string): string {
  const v = value.trim();
  if (!/^[1-9][0-9]{0,18}$/.test(v) || BigInt(v) > MAX_ROW_ID) {
    throw new AppError("CODEPIPER_BAD_INPUT", `--before ${JSON.stringify(value)}: expected a row id (a positive whole number, the "id" of a row in --json output)`);
  }
  return v;
}

/** Human output: after a full page, how to ask for the next (older) one. */
function nextPageHint(rows: readonly { id: number }[], limit: number): string {
  const last = rows[rows.length - 1];
  return rows.length >= limit && last ? `\n(older entries: add --before ${last.id})` : "";
}

/** `2026-11-24T17:03:12.345Z` → `2026-11-24 17:03:12` (UTC, as stored). */
function when(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "");
}

export function registerAudit(program: Command): void {
  program
    .command("audit")
    .description("the audit trail: policy decisions hosts made, or (--actions) what users, tokens and hosts changed")
    .option("--actions", "mutating actions instead of policy decisions")
    .option("--session <id>", "decisions: only this session")
    .addOption(new Option("--decision <decision>", "decisions: only this policy decision").choices(DECISIONS))
    .option("--actor <actor>", "--actions: only this actor, as shown in the ACTOR column (user:<id>, token:<id>, host:<id>)")
    .option("--since <time>", "--actions: from this ISO time (2026-11-24T17:00:00Z) or this long ago (2h, 7d)")
    .option("--action <name|prefix.*>", "--actions: only this action (envset.create), or every action under a prefix ending in .* (envset.*)")
    .option("--before <id>", "only entries older than this row id (the next page: the id of the last row shown)")
    .option("--limit <n>", "at most this many, newest first (≤ 10000)", "100")
    .addHelpText(
      "after",
      "\nTimes are UTC. Decisions show `decision → outcome`: what the policy said, then what happened (allowed, denied, or\nprompted: nobody answered an `ask` in time and the provider's own prompt took over).\n\nPaging: each row has an id (in --json output). To read further back, repeat the command with --before <the last\nrow's id>; a page with fewer than --limit rows is the last one. For example:\n  codepiper audit --actions --action 'envset.*' --limit 50\n  codepiper audit --actions --action 'envset.*' --limit 50 --before 1234",
    )
    .action(async (opts: AuditOptions, cmd: Command) => {
      const out = outputFor(cmd);
      const limit = parseIntArg(opts.limit, "--limit", 1);
      if (limit > 10_000) throw new AppError("CODEPIPER_BAD_INPUT", `--limit ${limit}: at most 10000`);
      if (opts.actions) {
        if (opts.session !== undefined || opts.decision !== undefined) throw new AppError("CODEPIPER_BAD_INPUT", "--session and --decision filter policy decisions; with --actions use --actor, --action and --since");
        const input = {
          actor: opts.actor === undefined ? undefined : parseRef(opts.actor, "--actor"),
          since: opts.since === undefined ? undefined : parseSinceTime(opts.since),
          action: opts.action === undefined ? undefined : parseActionFilter(opts.action),
          beforeId: opts.before === undefined ? undefined : parseBeforeId(opts.before),
          limit,
        };
        const rows = await withApi(cmd, (h) => call(h, (api) => api.audit.actions.query(input)));
        out.result(rows, () =>
          rows.length === 0
            ? "No recorded actions"
            : table([["TIME", "ACTOR", "ACTION", "TARGET", "SOURCE", "DETAILS"], ...rows.map((r) => [when(r.at), r.actor, r.action, r.target ?? "-", r.source ?? "-", r.details === null ? "-" : argsSummary(r.details, 80)])]) + nextPageHint(rows, limit),
        );
        return;
      }
      if (opts.actor !== undefined || opts.since !== undefined || opts.action !== undefined) throw new AppError("CODEPIPER_BAD_INPUT", "--actor, --action and --since filter actions: add --actions (decisions filter by --session and --decision)");
      const input = {
        session: opts.session === undefined ? undefined : parseRef(opts.session, "--session"),
        decision: opts.decision,
        beforeId: opts.before === undefined ? undefined : parseBeforeId(opts.before),
        limit,
      };
      const rows = await withApi(cmd, (h) => call(h, (api) => api.audit.decisions.query(input)));
      out.result(rows, () =>
        rows.length === 0
          ? "No recorded policy decisions"
          : table([
              ["TIME", "SESSION", "TOOL", "ARGS", "DECISION", "DECIDER", "POLICY[RULE]"],
              ...rows.map((r) => [when(r.at), r.sessionId ? shortId(r.sessionId) : "-", r.tool, argsSummary(r.args), `${r.decision} → ${r.outcome}`, r.decider, ruleLabel(r.policyName, r.ruleIndex)]),
            ]) + nextPageHint(rows, limit),
      );
    });
}
