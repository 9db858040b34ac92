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

/**
 * Makes a JSON value fit in `maxBytes` by cutting its longest strings (tool inputs and outputs
 * are where the bulk is), marking the result `truncated`. Never drops the event: an observation that
 * is too big still arrives, shortened.
 */
export function fitPayload(value: Record<string, unknown>, maxBytes = LIMITS.eventPayloadBytes - 1024): Record<string, unknown> {
  let text = JSON.stringify(value);
  if (Buffer.byteLength(text) <= maxBytes) return value;
  let copy = JSON.parse(text) as Record<string, unknown>;
  for (let limit = 8192; limit >= 64; limit = Math.floor(limit / 2)) {
    copy = cutStrings(copy, limit) as Record<string, unknown>;
    text = JSON.stringify(copy);
    if (Buffer.byteLength(text) <= maxBytes) return { ...copy, truncated: true };
  }
  return { truncated: true, note: "payload too large to keep", keys: Object.keys(value).slice(0, 50) };
}

function cutStrings(value: unknown, limit: number): unknown {
  if (typeof value === "string") return value.length > limit ? `${value.slice(0, limit)}…[cut ${value.length - limit} chars]` : value;
  if (Array.isArray(value)) return value.slice(0, 200).map((v) => cutStrings(v, limit));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = cutStrings(v, limit);
    return out;
  }
  return value;
}
