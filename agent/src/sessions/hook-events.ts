import { LIMITS, type SessionState } from "@codepiper/core";

/**
 * What a provider hook means for a session's state (DESIGN.md §3: states are driven by hooks and
 * tmux, not by reading the screen). `null` = the hook says nothing about the state.
 * Claude Code and Codex use the same event names for the events both have.
 */
export function stateForHook(event: string, payload: Record<string, unknown>): SessionState | null {
  switch (event) {
    case "SessionStart":
      // Claude sends it before its TUI takes input; Codex only with the first prompt. Readiness
      // (the pane's input marker) ends `starting`, not this hook.
      return null;
    case "UserPromptSubmit":
    case "PreToolUse":
    case "PostToolUse":
      return "running";
    case "PermissionRequest":
      return "needs_permission";
    case "Notification": {
      const type = typeof payload.notification_type === "string" ? payload.notification_type : "";
      if (type === "permission_prompt") return "needs_permission";
      if (type === "idle_prompt" || type === "elicitation_dialog") return "needs_input";
      return null;
    }
    case "Stop":
      return "idle";
    case "notify":
      return payload.type === "agent-turn-complete" ? "idle" : null;
    default:
      return null;
  }
}

/** Event type for a hook: `hook.PreToolUse` → `hook.pre_tool_use` (event types are dotted lower-case). */
export function hookEventType(event: string): string {
  const snake = event
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9_]/g, "_")
    .toLowerCase();
  return `hook.${snake || "unknown"}`;
}

/** Budget for a hook event's payload (room left for the event's envelope); see `fitPayload`. */
export const HOOK_PAYLOAD_BYTES = LIMITS.eventPayloadBytes - 1024;
