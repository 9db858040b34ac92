// What "Validate" on /sessions/new/ shows: the checks sessions.start({ validateOnly: true }) runs,
// each with its own verdict as the control plane and the host report it (every problem at once,
// in the order a real start runs them).
import type { Outputs } from "@/lib/types";

type Validation = Outputs["sessions"]["start"]["validation"];
export type CheckId = Validation["checks"][number]["id"];
export type CheckState = "ok" | "problem" | "skipped";
export interface Check {
  id: CheckId;
  label: string;
  state: CheckState;
  detail: string;
}

const LABELS: Record<CheckId, string> = {
  workspace: "Workspace",
  host: "Host",
  provider: "Provider CLI",
  name: "Name",
  directory: "Directory",
  worktree: "Worktree",
  policySets: "Policy sets",
  envSets: "Env sets",
};

/** The server's checks, as rows: ok, a problem (with the server's words), or not checked because an earlier one failed. */
export function checksOf(v: Validation): Check[] {
  return v.checks.map((c) => ({
    id: c.id,
    label: LABELS[c.id] ?? c.id,
    state: c.ok ? "ok" : c.skipped ? "skipped" : "problem",
    detail: c.detail,
  }));
}
