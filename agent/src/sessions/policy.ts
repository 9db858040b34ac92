import { z } from "zod";
import { compilePolicies, policyBundleSchema, type PolicyBundle, type PolicyDecision, type PolicyRequest } from "@codepiper/core";
import type { Logger } from "../log.js";
import type { Outbox } from "../outbox.js";

/**
 * The host's cached copy of the fleet's policies (DESIGN.md §4): fetched from the control plane
 * when its version moves, persisted in the outbox database, so decisions are local (fast) and keep
 * working while the link is down or after a restart without one.
 */
const KEY = "policy:bundle";

export const cachedBundleSchema = policyBundleSchema.extend({ approvalTimeoutMs: z.number().int().positive() });
export type CachedBundle = z.infer<typeof cachedBundleSchema>;

type Evaluator = ReturnType<typeof compilePolicies>;

export class PolicyCache {
  private bundle: CachedBundle | null = null;
  private evaluator: Evaluator | null = null;

  constructor(
    private readonly outbox: Outbox,
    private readonly log: Logger,
  ) {
    const saved = cachedBundleSchema.safeParse(outbox.getCursor(KEY));
    if (saved.success) this.install(saved.data);
  }

  get version(): number | null {
    return this.bundle?.version ?? null;
  }

  get approvalTimeoutMs(): number {
    return this.bundle?.approvalTimeoutMs ?? 5 * 60_000;
  }

  /** Installs a newer bundle (an older or equal one is ignored) and persists it. */
  update(bundle: PolicyBundle & { approvalTimeoutMs: number }): boolean {
    const parsed = cachedBundleSchema.safeParse(bundle);
    if (!parsed.success) {
      this.log.warn({ issue: parsed.error.issues[0]?.message }, "ignoring an invalid policy bundle");
      return false;
    }
    if (this.bundle && parsed.data.version <= this.bundle.version) return false;
    this.install(parsed.data);
    this.outbox.appendWithCursor([], { key: KEY, value: parsed.data });
    this.log.info({ version: parsed.data.version, policies: parsed.data.policies.length }, "policies updated");
    return true;
  }

  /**
   * The decision for a request. Before the first bundle ever arrived there is nothing to enforce:
   * the fallback is "ask" with no policy, which callers treat like the default action.
   */
  decide(request: PolicyRequest): PolicyDecision {
    if (!this.evaluator || !this.bundle) return { action: "ask", policyId: null, policyName: null, ruleIndex: null, reason: "no policies received from the control plane yet" };
    return this.evaluator.evaluate(request);
  }

  private install(bundle: CachedBundle): void {
    this.bundle = bundle;
    this.evaluator = compilePolicies(bundle.policies, bundle.defaultAction);
  }
}

/** A short, bounded text of a tool's input for approvals and the audit trail. */
export function summarizeArgs(args: Readonly<Record<string, unknown>>, max = 2000): string {
  const text = JSON.stringify(args) ?? "{}";
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The tool input as an argument map (non-objects are wrapped so rules can still name `value`). */
export function toolArgs(input: unknown): Record<string, unknown> {
  if (input && typeof input === "object" && !Array.isArray(input)) return input as Record<string, unknown>;
  return input === undefined ? {} : { value: input };
}
