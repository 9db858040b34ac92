import { AppError, INPUT_TOOLS, type PolicyDecision, type PolicyRequest } from "@codepiper/core";
import type { HookReply } from "../hooks/server.js";
import type { ApprovalAnswer, ControlPlaneLink } from "../link/client.js";
import type { Logger } from "../log.js";
import type { Outbox } from "../outbox.js";
import { adapterFor } from "../providers/index.js";
import { fitPayload } from "./fit.js";
import { summarizeArgs, toolArgs, type PolicyCache } from "./policy.js";
import type { SessionRecord } from "./store.js";

/**
 * Where policies are enforced on the host (DESIGN.md §4), and which hook decides what:
 *
 * - **PreToolUse** (Claude Code and Codex) runs before every tool call. A call that a rule
 *   *matches* is decided here: `allow` (Claude skips its own prompt; Codex cannot be told "allow",
 *   so it is let through by saying nothing), `deny` (the call is blocked with the rule's reason),
 *   `ask` (a human anywhere in the fleet answers; the session shows `needs_permission`).
 * - **PermissionRequest** (Claude Code) runs only when the provider itself would prompt. A call
 *   no rule matched gets the **default action** here (`ask` or `deny`, never `allow`): the fleet
 *   never silently allows something the provider would have asked about, yet calls the provider
 *   considers safe (reads in the project) are not turned into approvals.
 * - An `ask` nobody answers in time, or asked while the link is down, falls back to the provider's
 *   own prompt in the terminal (the hook says nothing) — never to allow.
 * - Dangerous sessions bypass evaluation; each call is still recorded, as `dangerous`.
 * - **Input preflight**: `send`, `keys`, `slash`, paste and attached keystrokes are checked as the
 *   tools `terminal_input` (args.text) and `terminal_keys` (args.keys) against rules that match
 *   them (the default action does not apply to typing): deny → refused; ask → a human answers
 *   (raw keystrokes cannot wait, so there `ask` refuses).
 *
 * Every decision is a `policy.decision` event (the control plane's audit trail).
 */
export interface DeciderOptions {
  cache: PolicyCache;
  outbox: Outbox;
  log: Logger;
  controlPlane: () => ControlPlaneLink;
  notifyAppended: () => void;
  /** The session waits for (true) or got (false) a human answer: `needs_permission` and back. */
  waiting: (sessionId: string, waiting: boolean) => void;
}

type Outcome = "allowed" | "denied" | "prompted";

export class Decider {
  constructor(private readonly opts: DeciderOptions) {}

  async toolCall(record: SessionRecord, event: "PreToolUse" | "PermissionRequest", payload: Record<string, unknown>, signal: AbortSignal): Promise<HookReply> {
    const tool = typeof payload.tool_name === "string" ? payload.tool_name.slice(0, 200) : "unknown";
    const request: PolicyRequest = {
      tool,
      args: toolArgs(payload.tool_input),
      cwd: typeof payload.cwd === "string" ? payload.cwd : record.cwd,
      sessionId: record.id,
      setIds: record.policySetIds,
    };
    if (record.dangerous) {
      this.record(record, request, event, { action: "allow", policyId: null, policyName: null, ruleIndex: null, reason: "dangerous mode" }, "allowed", "dangerous", null);
      return { body: null };
    }
    const decision = this.opts.cache.decide(request);
    const matched = decision.policyId !== null;
    // PreToolUse decides matched calls only; PermissionRequest applies the default to the rest.
    if (event === "PreToolUse" && !matched) return { body: null };
    if (event === "PermissionRequest" && matched) return { body: null }; // PreToolUse already had its say (an ask timed out): the native prompt
    const adapter = adapterFor(record.provider);
    const decider = matched ? "policy" : "default";
    const reason = decision.reason ?? (matched ? `policy ${decision.policyName}` : "default action");
    switch (decision.action) {
      case "allow":
        this.record(record, request, event, decision, "allowed", decider, null);
        return { body: adapter.decisionOutput(event, "allow", reason) };
      case "deny":
        this.record(record, request, event, decision, "denied", decider, null);
        return { body: adapter.decisionOutput(event, "deny", `Blocked by CodePiper policy: ${reason}`) };
      case "ask": {
        const answer = await this.askHuman(record, request, decision, signal);
        if (answer.status === "allowed") {
          this.record(record, request, event, decision, "allowed", `human:${answer.decidedBy ?? "?"}`, answer.id);
          return { body: adapter.decisionOutput(event, "allow", `approved by ${answer.decidedBy ?? "an operator"}`) };
        }
        if (answer.status === "denied") {
          this.record(record, request, event, decision, "denied", `human:${answer.decidedBy ?? "?"}`, answer.id);
          const why = answer.reason ? `: ${answer.reason}` : "";
          return { body: adapter.decisionOutput(event, "deny", `Denied by ${answer.decidedBy ?? "an operator"}${why}`) };
        }
        this.record(record, request, event, decision, "prompted", answer.status === "offline" ? "offline" : "timeout", answer.id);
        return { body: null };
      }
    }
  }

  /** Input preflight; throws CODEPIPER_FORBIDDEN when policy blocks the input. */
  async input(record: SessionRecord, kind: "text" | "keys" | "raw", value: string, canWait: boolean): Promise<void> {
    if (record.dangerous) return;
    const tool = kind === "keys" ? INPUT_TOOLS.keys : INPUT_TOOLS.text;
    const request: PolicyRequest = { tool, args: kind === "keys" ? { keys: value } : { text: value }, cwd: record.cwd, sessionId: record.id, setIds: record.policySetIds };
    const decision = this.opts.cache.decide(request);
    if (decision.policyId === null) return; // typing is governed by explicit rules only
    const event = `input.${kind}`;
    if (decision.action === "allow") {
      this.record(record, request, event, decision, "allowed", "policy", null);
      return;
    }
    if (decision.action === "ask" && canWait) {
      const answer = await this.askHuman(record, request, decision, AbortSignal.timeout(this.opts.cache.approvalTimeoutMs + 5000));
      if (answer.status === "allowed") {
        this.record(record, request, event, decision, "allowed", `human:${answer.decidedBy ?? "?"}`, answer.id);
        return;
      }
      this.record(record, request, event, decision, "denied", answer.status === "denied" ? `human:${answer.decidedBy ?? "?"}` : answer.status, answer.id);
      throw new AppError("CODEPIPER_FORBIDDEN", answer.status === "denied" ? `input denied by ${answer.decidedBy ?? "an operator"}${answer.reason ? `: ${answer.reason}` : ""}` : `input needs an approval, and none came (${answer.status})`);
    }
    this.record(record, request, event, decision, "denied", "policy", null);
    throw new AppError("CODEPIPER_FORBIDDEN", `input blocked by policy ${decision.policyName ?? ""}${decision.reason ? `: ${decision.reason}` : ""}`);
  }

  private async askHuman(record: SessionRecord, request: PolicyRequest, decision: PolicyDecision, signal: AbortSignal): Promise<ApprovalAnswer & { status: string; id: string | null }> {
    let link: ControlPlaneLink;
    try {
      link = this.opts.controlPlane();
    } catch {
      return { status: "offline", decidedBy: null, reason: null, id: null };
    }
    let id: string;
    try {
      ({ id } = await link.requestApproval({
        sessionId: record.id,
        tool: request.tool,
        // Long inputs are cut to fit (the approval shows what is being asked, not a full copy).
        args: fitPayload({ ...request.args }, 15 * 1024),
        cwd: request.cwd,
        policyId: decision.policyId,
        policyName: decision.policyName,
        ruleIndex: decision.ruleIndex,
        reason: decision.reason,
        timeoutMs: this.opts.cache.approvalTimeoutMs,
      }));
    } catch (err) {
      this.opts.log.warn({ err, sessionId: record.id }, "could not ask for an approval; leaving it to the provider's prompt");
      return { status: "offline", decidedBy: null, reason: null, id: null };
    }
    this.opts.waiting(record.id, true);
    try {
      const answer = await link.awaitApproval(id, signal);
      if (answer.status === "pending" || signal.aborted) {
        await link.withdrawApproval(id).catch(() => undefined);
        return { status: "withdrawn", decidedBy: null, reason: null, id };
      }
      return { ...answer, id };
    } catch (err) {
      if (signal.aborted) await link.withdrawApproval(id).catch(() => undefined);
      this.opts.log.warn({ err, sessionId: record.id, approvalId: id }, "lost the approval while waiting; leaving it to the provider's prompt");
      return { status: signal.aborted ? "withdrawn" : "offline", decidedBy: null, reason: null, id };
    } finally {
      this.opts.waiting(record.id, false);
    }
  }

  private record(record: SessionRecord, request: PolicyRequest, hookEvent: string, decision: PolicyDecision, outcome: Outcome, decider: string, approvalId: string | null): void {
    this.opts.outbox.append([
      {
        type: "policy.decision",
        sessionId: record.id,
        payload: {
          tool: request.tool,
          args: summarizeArgs(request.args),
          decision: decision.action,
          outcome,
          decider: decider.slice(0, 300),
          policyId: decision.policyId,
          policyName: decision.policyName,
          ruleIndex: decision.ruleIndex,
          approvalId,
          hookEvent,
        },
      },
    ]);
    this.opts.notifyAppended();
  }
}
