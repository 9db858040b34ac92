import { execFile } from "node:child_process";
import { existsSync, mkdirSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { AppError, branchNameSchema, type ProviderId, type ValidateCheck, type ValidateResult } from "@codepiper/core";
import type { ProviderFact } from "@codepiper/core";

/**
 * Where a session runs: the requested directory, checked on the host, or a git worktree made for
 * it (DESIGN.md §3 "Worktrees").
 *
 * Worktrees live next to the repository, never inside it (that would dirty the checkout):
 *   <repo parent>/<repo name>.worktrees/<branch, '/' → '-'>
 * The branch is created with the worktree (`git worktree add -b <branch> -- <path>`); names are
 * validated twice (our own rules in core, then `git check-ref-format --branch`) and every path is
 * passed after `--`, so no value can be read as an option. Killing the session removes the
 * worktree (`git worktree remove --force`); the branch is kept, since its commits may matter.
 */

function git(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("git", args, { cwd, timeout: 30_000, env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 127) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** The directory must exist, be a directory, and be given as an absolute path. Returns its real path. */
export function checkDirectory(cwd: string): string {
  if (!cwd.startsWith("/")) throw new AppError("CODEPIPER_BAD_INPUT", `directory must be an absolute path, got ${JSON.stringify(cwd.slice(0, 200))}`);
  let stat;
  try {
    stat = statSync(cwd);
  } catch {
    throw new AppError("CODEPIPER_NOT_FOUND", `directory ${cwd} does not exist on this host`);
  }
  if (!stat.isDirectory()) throw new AppError("CODEPIPER_BAD_INPUT", `${cwd} is not a directory`);
  return realpathSync(cwd);
}

export function findProvider(id: ProviderId, installed: readonly ProviderFact[]): ProviderFact {
  const found = installed.find((p) => p.id === id);
  if (found) return found;
  const has = installed.length ? installed.map((p) => `${p.id} ${p.version ?? "(unknown version)"} at ${p.path}`).join(", ") : "no provider CLI";
  throw new AppError("CODEPIPER_PROVIDER_MISSING", `the ${id} CLI is not installed on this host (it has: ${has})`);
}

export function worktreePathFor(repoRoot: string, branch: string): string {
  return join(dirname(repoRoot), `${basename(repoRoot)}.worktrees`, branch.replaceAll("/", "-"));
}

interface GitPlan {
  root: string;
  branchExists: boolean;
  path: string;
}

async function planWorktree(cwd: string, branch: string): Promise<GitPlan> {
  const parsed = branchNameSchema.safeParse(branch);
  if (!parsed.success) throw new AppError("CODEPIPER_BAD_INPUT", parsed.error.issues[0]?.message ?? "invalid branch name");
  const top = await git(["rev-parse", "--show-toplevel"], cwd);
  if (top.code !== 0) throw new AppError("CODEPIPER_BAD_INPUT", `${cwd} is not inside a git repository: a worktree needs one`);
  const root = realpathSync(top.stdout.trim());
  const check = await git(["check-ref-format", "--branch", branch], root);
  if (check.code !== 0) throw new AppError("CODEPIPER_BAD_INPUT", `git rejects the branch name ${JSON.stringify(branch)}`);
  const exists = await git(["show-ref", "--verify", "--quiet", `refs/heads/${branch}`], root);
  const path = worktreePathFor(root, branch);
  const rel = relative(dirname(root), path);
  if (rel.startsWith("..")) throw new AppError("CODEPIPER_BAD_INPUT", "worktree path escapes the repository's parent directory");
  return { root, branchExists: exists.code === 0, path };
}

function passed(id: ValidateCheck["id"], detail: string): ValidateCheck {
  return { id, ok: true, detail, code: null, skipped: false };
}

function failed(id: ValidateCheck["id"], err: unknown): ValidateCheck {
  const e = err instanceof AppError ? err : new AppError("CODEPIPER_INTERNAL", err instanceof Error ? err.message : String(err));
  return { id, ok: false, detail: e.message, code: e.code, skipped: false };
}

/**
 * Everything `codepiper start --validate` checks on the host, creating nothing: the provider CLI,
 * the directory and (when asked for) the worktree, each with its own verdict. With `all: false`
 * (a real start, or an older control plane) the first problem is thrown instead, as before.
 */
export async function validateStart(input: { provider: ProviderId; cwd: string; worktree: { branch: string } | null; all?: boolean }, installed: readonly ProviderFact[]): Promise<ValidateResult> {
  const checks: ValidateCheck[] = [];
  let provider: ValidateResult["provider"] = null;
  try {
    const found = findProvider(input.provider, installed);
    provider = { id: found.id, path: found.path, version: found.version };
    checks.push(passed("provider", `${found.id} ${found.version ?? "(version unknown)"} is installed at ${found.path}`));
  } catch (err) {
    checks.push(failed("provider", err));
  }
  let cwd: string | null = null;
  try {
    cwd = checkDirectory(input.cwd);
    checks.push(passed("directory", cwd !== input.cwd ? `${input.cwd} exists and is a directory (real path ${cwd})` : `${cwd} exists and is a directory`));
  } catch (err) {
    checks.push(failed("directory", err));
  }
  let gitInfo: ValidateResult["git"] = null;
  if (!input.worktree) {
    checks.push(passed("worktree", "no worktree requested"));
  } else if (cwd === null) {
    checks.push({ id: "worktree", ok: false, detail: "not checked: the directory must exist first", code: null, skipped: true });
  } else {
    const branch = input.worktree.branch;
    try {
      const plan = await planWorktree(cwd, branch);
      gitInfo = { root: plan.root, branchExists: plan.branchExists };
      if (plan.branchExists) throw new AppError("CODEPIPER_CONFLICT", `branch ${branch} already exists in ${plan.root}: pick a new branch name`);
      if (existsSync(plan.path)) throw new AppError("CODEPIPER_CONFLICT", `${plan.path} already exists: remove it or pick another branch name`);
      checks.push(passed("worktree", `${plan.root} is a git repository; branch ${branch} does not exist yet and will be created, with its worktree at ${plan.path}`));
    } catch (err) {
      checks.push(failed("worktree", err));
    }
  }
  const problem = checks.find((c) => !c.ok && !c.skipped);
  if (problem && !input.all) throw new AppError(problem.code ?? "CODEPIPER_INTERNAL", problem.detail);
  return { ok: checks.every((c) => c.ok), checks, cwd, provider, git: gitInfo };
}

export async function createWorktree(cwd: string, branch: string): Promise<{ path: string; branch: string; repo: string }> {
  const plan = await planWorktree(checkDirectory(cwd), branch);
  if (plan.branchExists) throw new AppError("CODEPIPER_CONFLICT", `branch ${branch} already exists in ${plan.root}`);
  mkdirSync(dirname(plan.path), { recursive: true });
  const res = await git(["worktree", "add", "-b", branch, "--", plan.path], plan.root);
  if (res.code !== 0) throw new AppError("CODEPIPER_INTERNAL", `git worktree add failed: ${res.stderr.trim().slice(0, 300)}`);
  return { path: realpathSync(plan.path), branch, repo: plan.root };
}

export async function removeWorktree(worktree: { path: string; repo: string }): Promise<void> {
  if (!existsSync(worktree.path)) return;
  const res = await git(["worktree", "remove", "--force", "--", worktree.path], worktree.repo);
  if (res.code !== 0) throw new AppError("CODEPIPER_INTERNAL", `git worktree remove failed: ${res.stderr.trim().slice(0, 300)}`);
}
