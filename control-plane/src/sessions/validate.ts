import { AppError, hostFactsSchema, validateResultSchema, type SessionStartInput, type ValidateCheck, type ValidateResult } from "@codepiper/core";
import { findEnvSet, openEnvSetRow } from "../envsets/store.js";
import { findPolicySet } from "../policies/store.js";
import type { Services } from "../services.js";
import { applyWorkspace } from "../workspaces/store.js";

/**
 * `sessions.start({ validateOnly: true })`: every check a real start makes, each with its own
 * verdict, so a form (or a script) sees all the problems at once. A real start still runs the
 * same checks one by one and fails on the first problem (sessions/router.ts); the order of
 * `checks` is that order, so the first failed one is the error a real start would give.
 */

interface HostRow {
  id: string;
  name: string;
  revokedAt: Date | null;
  factsJson: string;
}

type CheckId = ValidateCheck["id"];

function passed(id: CheckId, detail: string): ValidateCheck {
  return { id, ok: true, detail, code: null, skipped: false };
}

function failed(id: CheckId, err: unknown): ValidateCheck {
  const e = asAppError(err);
  return { id, ok: false, detail: e.message, code: e.code, skipped: false };
}

function skipped(id: CheckId, why: string): ValidateCheck {
  return { id, ok: false, detail: `not checked: ${why}`, code: null, skipped: true };
}

function asAppError(err: unknown): AppError {
  return err instanceof AppError ? err : new AppError("CODEPIPER_INTERNAL", err instanceof Error ? err.message : String(err));
}

/** Runs every check of a start, creating nothing. `pickHost` is the start procedure's own host lookup. */
export async function validateStartInput(services: Services, raw: SessionStartInput, pickHost: (services: Services, ref: string | undefined) => Promise<HostRow>): Promise<ValidateResult> {
  const checks: ValidateCheck[] = [];

  let input = raw;
  if (raw.workspace) {
    try {
      input = await applyWorkspace(services, raw);
      checks.push(passed("workspace", `workspace ${raw.workspace} found; its host, directory, provider, env sets and policy set were applied`));
    } catch (err) {
      checks.push(failed("workspace", err));
    }
  }

  // Host: known, not revoked, linked now.
  let host: HostRow | null = null;
  let reachable = false;
  try {
    host = await pickHost(services, input.host);
    if (host.revokedAt) throw new AppError("CODEPIPER_CONFLICT", `host ${host.name} is revoked`);
    if (!(await services.ephemeral.isReachable(host.id))) throw new AppError("CODEPIPER_HOST_OFFLINE", `host ${host.name} is offline: its agent must be running and linked`);
    reachable = true;
    checks.push(passed("host", `${host.name} is online and linked`));
  } catch (err) {
    checks.push(failed("host", err));
  }
  const hostIndex = checks.length - 1;

  // Provider: first from the facts the host reported when it linked; the host itself confirms below.
  const providerIndex = checks.length;
  let providerFromHost = false;
  if (!input.provider) {
    checks.push(failed("provider", new AppError("CODEPIPER_BAD_INPUT", "which provider? pass -p claude-code|codex (or a workspace that sets one)")));
  } else if (!host) {
    checks.push(skipped("provider", "no host to look on"));
  } else {
    const facts = hostFactsSchema.safeParse(JSON.parse(host.factsJson));
    const providers = facts.success ? facts.data.providers : [];
    const fact = providers.find((p) => p.id === input.provider);
    if (!fact) {
      const has = providers.length ? providers.map((p) => `${p.id} ${p.version ?? ""}`.trim()).join(", ") : "no provider CLI at all";
      checks.push(failed("provider", new AppError("CODEPIPER_PROVIDER_MISSING", `host ${host.name} has no ${input.provider} CLI installed; it has: ${has}`)));
    } else {
      providerFromHost = reachable;
      checks.push(passed("provider", `${fact.id} ${fact.version ?? "(version unknown)"} was installed at ${fact.path} when ${host.name} last linked`));
    }
  }

  // Name: free on that host.
  if (!input.name) {
    checks.push(passed("name", "no name given: the session is known by its id"));
  } else if (!host) {
    checks.push(skipped("name", "no host to look on"));
  } else if (await services.db.session.findFirst({ where: { hostId: host.id, name: input.name }, select: { id: true } })) {
    checks.push(failed("name", new AppError("CODEPIPER_CONFLICT", `host ${host.name} already has a session named ${input.name}: pick another name`)));
  } else {
    checks.push(passed("name", `no other session on ${host.name} is named ${input.name}`));
  }

  // Directory and worktree: on the host.
  let result: Pick<ValidateResult, "cwd" | "provider" | "git"> = { cwd: null, provider: null, git: null };
  if (!input.cwd) {
    checks.push(failed("directory", new AppError("CODEPIPER_BAD_INPUT", "which directory? pass -d <absolute dir on the host> (or a workspace)")));
    checks.push(input.worktree ? skipped("worktree", "no directory") : passed("worktree", "no worktree requested"));
  } else if (!host || !reachable) {
    checks.push(skipped("directory", "the host must be online"));
    checks.push(input.worktree ? skipped("worktree", "the host must be online") : passed("worktree", "no worktree requested"));
  } else {
    try {
      const answer = validateResultSchema.parse(
        await services.ephemeral.request(host.id, "session.validate", { provider: input.provider ?? "claude-code", cwd: input.cwd, worktree: input.worktree ?? null, all: true }, 30_000),
      );
      result = { cwd: answer.cwd, provider: answer.provider, git: answer.git };
      const byId = new Map(answer.checks.map((c) => [c.id, c]));
      // An agent from before per-check answers only answers when everything passed.
      checks.push(byId.get("directory") ?? passed("directory", `${answer.cwd ?? input.cwd} exists and is a directory`));
      checks.push(byId.get("worktree") ?? passed("worktree", input.worktree ? `branch ${input.worktree.branch} will be created` : "no worktree requested"));
      const fromHost = byId.get("provider");
      if (providerFromHost && fromHost) checks[providerIndex] = fromHost;
    } catch (err) {
      const e = asAppError(err);
      if (e.code === "CODEPIPER_HOST_OFFLINE" || e.code === "CODEPIPER_TIMEOUT" || e.code === "CODEPIPER_RATE_LIMITED") {
        checks[hostIndex] = failed("host", e);
        checks.push(skipped("directory", "the host did not answer"));
      } else {
        // An older agent stops at its first problem.
        checks.push(failed("directory", e));
      }
      checks.push(input.worktree ? skipped("worktree", "the host did not finish its checks") : passed("worktree", "no worktree requested"));
    }
  }

  // Policy sets: each one exists (the default set, if any, always applies).
  const defaultSet = await services.db.policySet.findFirst({ where: { isDefault: true }, select: { name: true } });
  const always = defaultSet ? `; the default set ${defaultSet.name} always applies` : "";
  if (input.policySets.length === 0) {
    checks.push(passed("policySets", defaultSet ? `only the default set ${defaultSet.name}` : "no policy sets: the global policies apply"));
  } else {
    const problems: AppError[] = [];
    const found: string[] = [];
    for (const ref of input.policySets) {
      try {
        found.push((await findPolicySet(services, ref)).name);
      } catch (err) {
        problems.push(asAppError(err));
      }
    }
    checks.push(problems.length ? { id: "policySets", ok: false, detail: problems.map((p) => p.message).join("; "), code: problems[0]!.code, skipped: false } : passed("policySets", `${found.join(", ")} exist${always}`));
  }

  // Env sets: each one exists and can be opened (decrypted) here.
  if (input.envSets.length === 0) {
    checks.push(passed("envSets", "no env sets"));
  } else {
    const problems: AppError[] = [];
    const opened: string[] = [];
    for (const ref of input.envSets) {
      try {
        const row = await findEnvSet(services, ref);
        const names = Object.keys(openEnvSetRow(services, row));
        opened.push(`${row.name} (${names.length} variable${names.length === 1 ? "" : "s"})`);
      } catch (err) {
        problems.push(asAppError(err));
      }
    }
    checks.push(problems.length ? { id: "envSets", ok: false, detail: problems.map((p) => p.message).join("; "), code: problems[0]!.code, skipped: false } : passed("envSets", `opened ${opened.join(", ")}`));
  }

  return { ok: checks.every((c) => c.ok), checks, ...result };
}
