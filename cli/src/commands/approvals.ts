import { Option, type Command } from "commander";
import { AppError } from "@codepiper/core";
import { call, type ApiHandle } from "../client.js";
import { outputFor, withApi } from "../context.js";
import { table, type Output } from "../output.js";
import { parseIntArg } from "../parse.js";
import { APPROVAL_STATUS_CHOICES, argsSummary, parseReason, parseRef, ruleLabel, type ApprovalStatusChoice } from "../policy-input.js";
import { followUntilInterrupted } from "./event-stream.js";
import { age, shortId } from "./sessions.js";

/** An approval as the server sends it (approvals.list / get / follow / decide). */
export interface ApprovalLine {
  id: string;
  hostName: string;
  sessionId: string;
  tool: string;
  args?: unknown;
  policyName: string | null;
  ruleIndex: number | null;
  reason: string | null;
  status: string;
  decidedBy: string | null;
  decisionReason: string | null;
  createdAt: string;
  expiresAt: string;
}

function statusText(a: ApprovalLine): string {
  if (a.status !== "pending") return `${a.status}${a.decidedBy ? ` by ${a.decidedBy}` : ""}`;
  const left = Date.parse(a.expiresAt) - Date.now();
  // age(t) is how long ago t was; the mirror image of expiresAt says how far ahead it is.
  return left > 0 ? `pending (${age(new Date(Date.now() - left).toISOString())} left)` : "pending (expiring)";
}

function row(a: ApprovalLine): string[] {
  return [shortId(a.id), age(a.createdAt), a.hostName, shortId(a.sessionId), a.tool, argsSummary(a.args), ruleLabel(a.policyName, a.ruleIndex), statusText(a)];
}

const HEADER = ["ID", "AGE", "HOST", "SESSION", "TOOL", "ARGS", "POLICY[RULE]", "STATUS"];

/** One line per approval for `--follow`: the same columns, tab-separated. */
export function approvalLine(a: ApprovalLine): string {
  return row(a).join("\t") + (a.reason && a.status === "pending" ? `\t(${a.reason})` : "");
}

function describe(a: ApprovalLine): string {
  return [
    `approval ${a.id}: ${statusText(a)}`,
    `  host ${a.hostName}, session ${a.sessionId}, asked ${age(a.createdAt)} ago`,
    `  tool ${a.tool}: ${argsSummary(a.args, 400)}`,
    `  rule ${ruleLabel(a.policyName, a.ruleIndex)}${a.reason ? `: ${a.reason}` : ""}`,
    a.decisionReason ? `  decision reason: ${a.decisionReason}` : null,
  ]
    .filter((l) => l !== null)
    .join("\n");
}

async function follow(h: ApiHandle, out: Output, filter: { status: ApprovalStatusChoice | undefined; session: string | undefined }): Promise<void> {
  // Fail fast on a bad token or session before holding a subscription open.
  await call(h, (api) => api.approvals.list.query({ limit: 1 }));
  const sessionId = filter.session === undefined ? undefined : (await call(h, (api) => api.sessions.get.query({ session: filter.session! }))).id;
  process.stderr.write(`following approvals${sessionId ? ` of session ${shortId(sessionId)}` : ""}: pending ones now, then requests and decisions as they happen (Ctrl-C to stop)\n`);
  await followUntilInterrupted((done) =>
    h.api.approvals.follow.subscribe(undefined, {
      onData: (tracked) => {
        const a = tracked.data;
        if (sessionId && a.sessionId !== sessionId) return;
        if (filter.status && filter.status !== "all" && a.status !== filter.status) return;
        out.line(a, () => approvalLine(a));
      },
      ...done,
    }),
  );
}

export function registerApprovals(program: Command): void {
  const approvals = program.command("approvals").description("human approvals for tool calls a policy answered `ask`: list, follow, allow, deny");

  approvals
    .command("list", { isDefault: true })
    .description("list approvals, newest first (default: pending ones)")
    .addOption(new Option("--status <status>", "only this status (default pending; with --follow: everything)").choices(APPROVAL_STATUS_CHOICES))
    .option("--session <id>", "only this session (id, unique prefix or name)")
    .option("--limit <n>", "at most this many (without --follow; ≤ 1000)", "100")
    .option("--follow", "keep printing requests and decisions as they happen (NDJSON with --json)")
    .allowExcessArguments(true)
    .action(async (opts: { status?: ApprovalStatusChoice; session?: string; limit: string; follow?: boolean }, cmd: Command) => {
      if (cmd.args.length > 0) {
        const known = (cmd.parent?.commands ?? []).map((c) => c.name()).filter((n) => n !== "help").join(", ");
        throw new AppError("CODEPIPER_BAD_INPUT", `unknown command 'approvals ${cmd.args[0]}' (approvals commands: ${known})`);
      }
      const out = outputFor(cmd);
      const limit = parseIntArg(opts.limit, "--limit", 1);
      if (limit > 1000) throw new AppError("CODEPIPER_BAD_INPUT", `--limit ${limit}: at most 1000`);
      const session = opts.session === undefined ? undefined : parseRef(opts.session, "--session");
      if (opts.follow) {
        await withApi(cmd, (h) => follow(h, out, { status: opts.status, session }));
        return;
      }
      const status = opts.status ?? "pending";
      const list = await withApi(cmd, (h) => call(h, (api) => api.approvals.list.query({ status: status === "all" ? undefined : status, session, limit })));
      out.result(list, () =>
        list.length === 0
          ? status === "pending"
            ? "No pending approvals (codepiper approvals --status all: every one)"
            : `No ${status === "all" ? "" : `${status} `}approvals`
          : table([HEADER, ...list.map(row)]),
      );
    });

  approvals
    .command("get")
    .description("show one approval")
    .argument("<id>", "approval id or unique id prefix (≥ 4 characters)")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const a = await withApi(cmd, (h) => call(h, (api) => api.approvals.get.query({ id: parseRef(id, "approval") })));
      out.result(a, () => describe(a));
    });

  for (const [verb, past] of [
    ["allow", "allowed"],
    ["deny", "denied"],
  ] as const) {
    approvals
      .command(verb)
      .description(`${verb} a pending request (operator); the first answer wins, a later one fails with exit 6`)
      .argument("<id>", "approval id or unique id prefix (≥ 4 characters)")
      .option("--reason <text>", `why (shown to the agent${verb === "deny" ? " as the denial reason" : ""}; ≤ 500 characters)`)
      .action(async (id: string, opts: { reason?: string }, cmd: Command) => {
        const out = outputFor(cmd);
        const input = { id: parseRef(id, "approval"), decision: verb, reason: parseReason(opts.reason) };
        const a = await withApi(cmd, (h) => call(h, (api) => api.approvals.decide.mutate(input)));
        out.result(a, () => `${past} ${a.tool} ${argsSummary(a.args)} for session ${shortId(a.sessionId)} on ${a.hostName} (approval ${shortId(a.id)})`);
      });
  }
}
