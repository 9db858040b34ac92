import { AppError, defaultActionSchema, POLICY_LIMITS, validatePolicyRules, type DefaultAction, type EnginePolicy, type PolicyBundle, type PolicyRule } from "@codepiper/core";
import { topics } from "../bus/bus.js";
import type { Services } from "../services.js";
import { ensureSetting } from "../settings.js";

/**
 * Policies as stored, and the bundle each host caches (DESIGN.md §4: decisions come from the
 * agent's cached copy, pushed on every change, versioned, persisted on the host).
 *
 * Every change bumps one fleet-wide version (a Setting) and tells linked hosts; an agent fetches the
 * bundle when the version it holds is older (on every link too), so a host that was offline
 * during a change catches up when it returns.
 */
const VERSION_KEY = "policy.version";
const DEFAULT_KEY = "policy.defaultAction";

export interface PolicyRow {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  priority: number;
  scopeKind: string;
  sessionId: string | null;
  rulesJson: string;
  createdAt: Date;
  updatedAt: Date;
  sets: { setId: string }[];
}

export async function policyVersion(services: Services): Promise<number> {
  return Number(await ensureSetting(services.db, VERSION_KEY, () => "0"));
}

export async function defaultAction(services: Services): Promise<DefaultAction> {
  const parsed = defaultActionSchema.safeParse(await ensureSetting(services.db, DEFAULT_KEY, () => "ask"));
  return parsed.success ? parsed.data : "ask";
}

export async function setDefaultAction(services: Services, action: DefaultAction): Promise<void> {
  await ensureSetting(services.db, DEFAULT_KEY, () => action);
  await services.db.setting.update({ where: { key: DEFAULT_KEY }, data: { value: action } });
  await policiesChanged(services);
}

/** After any change to policies, sets, their members or the default: new version, hosts told. */
export async function policiesChanged(services: Services): Promise<number> {
  await ensureSetting(services.db, VERSION_KEY, () => "0");
  // Read-modify-write under a transaction; SQLite serialises writers, PostgreSQL retries on conflict below.
  const next = await services.db.$transaction(async (tx) => {
    const row = await tx.setting.findUniqueOrThrow({ where: { key: VERSION_KEY } });
    const value = Number(row.value) + 1;
    const { count } = await tx.setting.updateMany({ where: { key: VERSION_KEY, value: row.value }, data: { value: String(value) } });
    if (count !== 1) throw new AppError("CODEPIPER_CONFLICT", "policies changed concurrently; retry");
    return value;
  });
  services.bus.publish(topics.policies, String(next));
  return next;
}

export function parseRules(json: string): PolicyRule[] {
  const checked = validatePolicyRules(JSON.parse(json) as unknown);
  // Stored rules were validated on the way in; a row that no longer validates (a newer, stricter
  // engine) is left out of bundles rather than breaking every decision on the fleet.
  return checked.ok ? checked.rules : [];
}

/** Rules from a user, validated: errors name the rule and field. */
export function checkRules(rules: unknown): PolicyRule[] {
  const checked = validatePolicyRules(rules);
  if (!checked.ok) throw new AppError("CODEPIPER_BAD_INPUT", `invalid rules: ${checked.errors.slice(0, 5).join("; ")}`);
  if (JSON.stringify(checked.rules).length > POLICY_LIMITS.rulesBytes) throw new AppError("CODEPIPER_PAYLOAD_TOO_LARGE", `rules are over ${POLICY_LIMITS.rulesBytes} bytes`);
  return checked.rules;
}

/**
 * Engine policies for stored rows. A set-scoped policy in several sets becomes one engine policy
 * per set (same id and name): the engine's order and first-match rule make duplicates harmless.
 */
export function toEnginePolicies(rows: readonly PolicyRow[]): EnginePolicy[] {
  const out: EnginePolicy[] = [];
  for (const row of rows) {
    const rules = parseRules(row.rulesJson);
    if (rules.length === 0) continue;
    const base = { id: row.id, name: row.name, priority: row.priority, enabled: row.enabled, rules };
    switch (row.scopeKind) {
      case "global":
        out.push({ ...base, scope: { kind: "global" } });
        break;
      case "session":
        if (row.sessionId) out.push({ ...base, scope: { kind: "session", sessionId: row.sessionId } });
        break;
      case "set":
        for (const { setId } of row.sets) out.push({ ...base, scope: { kind: "set", setId } });
        break;
    }
  }
  return out;
}

/** The bundle for one host: enabled policies that can apply there (global, set, its own sessions'). */
export async function bundleForHost(services: Services, hostId: string): Promise<PolicyBundle & { approvalTimeoutMs: number }> {
  const version = await policyVersion(services);
  const sessions = await services.db.session.findMany({ where: { hostId, status: { notIn: ["stopped", "crashed"] } }, select: { id: true, policySetIdsJson: true } });
  const rows = await services.db.policy.findMany({
    where: { enabled: true, OR: [{ scopeKind: { in: ["global", "set"] } }, { scopeKind: "session", sessionId: { in: sessions.map((s) => s.id) } }] },
    include: { sets: { select: { setId: true } } },
  });
  const sessionSets: Record<string, string[]> = {};
  for (const s of sessions) sessionSets[s.id] = JSON.parse(s.policySetIdsJson) as string[];
  return { version, defaultAction: await defaultAction(services), policies: toEnginePolicies(rows), sessionSets, approvalTimeoutMs: services.config.approvalTimeoutMs };
}

export async function findPolicy(services: Services, ref: string) {
  const row = await services.db.policy.findFirst({ where: { OR: [{ id: ref }, { name: ref }] }, include: { sets: { select: { setId: true } } } });
  if (!row) throw new AppError("CODEPIPER_NOT_FOUND", `no policy ${JSON.stringify(ref.slice(0, 100))}`);
  return row;
}

export async function findPolicySet(services: Services, ref: string) {
  const row = await services.db.policySet.findFirst({ where: { OR: [{ id: ref }, { name: ref }] }, include: { members: { select: { policyId: true } } } });
  if (!row) throw new AppError("CODEPIPER_NOT_FOUND", `no policy set ${JSON.stringify(ref.slice(0, 100))}`);
  return row;
}
