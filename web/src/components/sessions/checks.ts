// What "Validate" on /sessions/new/ shows: the checks sessions.start({ validateOnly: true }) runs,
// in the order the control plane and the host run them. The server stops at the first problem and
// says which one through its error code and message; the checks before it passed, the ones after it
// were not reached.
import { appCodeOf, messageOf } from "@/lib/trpc";
import type { Outputs } from "@/lib/types";

export type CheckId = "workspace" | "host" | "provider" | "name" | "directory" | "worktree";
export type CheckState = "ok" | "problem" | "skipped";
export interface Check {
  id: CheckId | "other";
  label: string;
  state: CheckState;
  detail: string;
}

export interface CheckPlan {
  workspace: string | null;
  host: string | null;
  provider: string | null;
  name: string | null;
  cwd: string | null;
  branch: string | null;
}

type Validation = Outputs["sessions"]["start"]["validation"];

const LABELS: Record<CheckId, string> = {
  workspace: "Workspace",
  host: "Host",
  provider: "Provider CLI",
  name: "Name",
  directory: "Directory",
  worktree: "Worktree",
};

function steps(plan: CheckPlan): CheckId[] {
  const out: CheckId[] = [];
  if (plan.workspace) out.push("workspace");
  out.push("host", "provider");
  if (plan.name) out.push("name");
  out.push("directory");
  if (plan.branch) out.push("worktree");
  return out;
}

/** Which check a server error belongs to, from its stable code (and, where one code covers several checks, its message). */
export function failedCheck(code: string | null, message: string): CheckId | null {
  const m = message.toLowerCase();
  switch (code) {
    case "CODEPIPER_HOST_OFFLINE":
    case "CODEPIPER_HOST_REVOKED":
    case "CODEPIPER_HOST_UNKNOWN":
      return "host";
    case "CODEPIPER_PROVIDER_MISSING":
      return "provider";
    case "CODEPIPER_NOT_FOUND":
      if (m.includes("workspace")) return "workspace";
      if (m.includes("no host")) return "host";
      if (m.includes("directory")) return "directory";
      return null;
    case "CODEPIPER_CONFLICT":
      if (m.includes("session named")) return "name";
      if (m.includes("revoked")) return "host";
      if (m.includes("branch") || m.includes("already exists")) return "worktree";
      return null;
    case "CODEPIPER_BAD_INPUT":
      if (m.includes("which provider")) return "provider";
      if (m.includes("which directory")) return "directory";
      if (m.includes("several hosts")) return "host";
      if (m.includes("git") || m.includes("branch") || m.includes("worktree")) return "worktree";
      if (m.includes("directory") || m.includes("absolute path")) return "directory";
      return null;
    default:
      return null;
  }
}

/** Every check passed: say what each one found. */
export function passedChecks(plan: CheckPlan, v: Validation): Check[] {
  const detail: Record<CheckId, string> = {
    workspace: `workspace ${plan.workspace ?? ""} found; its settings were applied`,
    host: plan.host ? `${plan.host} is online and linked` : "the only online host was picked",
    provider: `${v.provider.id} ${v.provider.version ?? "(version unknown)"} is installed at ${v.provider.path}`,
    name: `no other session on the host is named ${plan.name ?? ""}`,
    directory: plan.cwd && plan.cwd !== v.cwd ? `${plan.cwd} exists (real path ${v.cwd})` : `${v.cwd} exists and is a directory`,
    worktree: v.git
      ? `${v.git.root} is a git repository; branch ${plan.branch ?? ""} ${v.git.branchExists ? "already exists" : "does not exist yet and will be created, with its worktree next to the repository"}`
      : "no worktree requested",
  };
  return steps(plan).map((id) => ({ id, label: LABELS[id], state: "ok", detail: detail[id] }));
}

/** The server refused: the checks before the failing one passed, the failing one has the server's words, the rest were not reached. */
export function failedChecks(plan: CheckPlan, err: unknown): Check[] {
  const message = messageOf(err);
  const failed = failedCheck(appCodeOf(err), message);
  const all = steps(plan);
  if (failed === null || !all.includes(failed)) {
    return [
      { id: "other", label: "Validation", state: "problem", detail: message },
      ...all.map((id): Check => ({ id, label: LABELS[id], state: "skipped", detail: "not checked" })),
    ];
  }
  const at = all.indexOf(failed);
  return all.map((id, i): Check => {
    if (i < at) return { id, label: LABELS[id], state: "ok", detail: "passed" };
    if (i === at) return { id, label: LABELS[id], state: "problem", detail: message };
    return { id, label: LABELS[id], state: "skipped", detail: "not checked (an earlier check failed)" };
  });
}
