// Builds the readable conversation from a session's `transcript.*` events (agent/src/sessions/
// tailer.ts: type `transcript.<kind>`, payload = the parser event without `type`; see
// core/src/transcripts/types.ts). Payloads are read defensively: they are bounded and may be cut
// (`truncated: true`, a tool input then becomes its JSON text).
import type { EventView } from "./useSessionEvents";

export interface ToolResultItem {
  output: string;
  truncated: boolean;
  isError: boolean;
  at: string;
}

export type TranscriptItem =
  | { kind: "message"; key: string; at: string; role: "user" | "assistant"; text: string; truncated: boolean }
  | { kind: "tool"; key: string; at: string; callId: string; name: string; input: unknown; truncated: boolean; result: ToolResultItem | null }
  | { kind: "orphan_result"; key: string; at: string; callId: string; result: ToolResultItem }
  | { kind: "note"; key: string; at: string; text: string; tone: "muted" | "warn" };

type Payload = Record<string, unknown>;

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

export function buildTranscript(events: readonly EventView[]): TranscriptItem[] {
  const items: TranscriptItem[] = [];
  const calls = new Map<string, Extract<TranscriptItem, { kind: "tool" }>>();
  for (const e of events) {
    if (!e.type.startsWith("transcript.")) continue;
    const p = (e.payload && typeof e.payload === "object" ? e.payload : {}) as Payload;
    const key = String(e.id);
    switch (e.type) {
      case "transcript.message": {
        const role = p.role === "user" ? "user" : "assistant";
        const text = str(p.text) ?? "";
        if (!text.trim()) break;
        items.push({ kind: "message", key, at: e.at, role, text, truncated: p.truncated === true });
        break;
      }
      case "transcript.tool_call": {
        const item: Extract<TranscriptItem, { kind: "tool" }> = { kind: "tool", key, at: e.at, callId: str(p.id) ?? key, name: str(p.name) ?? "unknown tool", input: p.input ?? null, truncated: p.truncated === true, result: null };
        calls.set(item.callId, item);
        items.push(item);
        break;
      }
      case "transcript.tool_result": {
        const callId = str(p.toolCallId) ?? "";
        const result: ToolResultItem = { output: str(p.output) ?? "", truncated: p.truncated === true, isError: p.isError === true, at: e.at };
        const call = calls.get(callId);
        if (call && !call.result) call.result = result;
        else items.push({ kind: "orphan_result", key, at: e.at, callId, result });
        break;
      }
      case "transcript.session_meta": {
        const parts = [str(p.model) ? `model ${str(p.model)}` : null, str(p.version) ? `version ${str(p.version)}` : null, str(p.cwd) ? `in ${str(p.cwd)}` : null].filter(Boolean);
        items.push({ kind: "note", key, at: e.at, text: `Provider session ${str(p.providerSessionId) ?? ""} started${parts.length ? ` (${parts.join(", ")})` : ""}`, tone: "muted" });
        break;
      }
      case "transcript.warning":
        items.push({ kind: "note", key, at: e.at, text: `A transcript line could not be read (line ${String(p.line ?? "?")}: ${str(p.reason) ?? "unknown"}${str(p.detail) ? `, ${str(p.detail)}` : ""})`, tone: "warn" });
        break;
      case "transcript.reset":
        items.push({ kind: "note", key, at: e.at, text: `The transcript file was ${str(p.reason) ?? "reset"}: reading it again from the start`, tone: "warn" });
        break;
      default:
        // transcript.usage and future kinds: not part of the conversation.
        break;
    }
  }
  return items;
}

/** One line that says what a tool call does: its command, file, pattern or URL, else compact JSON. */
export function summarizeInput(input: unknown): string {
  if (typeof input === "string") return oneLine(input);
  if (Array.isArray(input)) return oneLine(input.map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(" "));
  if (input && typeof input === "object") {
    const o = input as Payload;
    for (const k of ["command", "cmd", "file_path", "path", "pattern", "url", "query", "description", "prompt"]) {
      const v = o[k];
      if (typeof v === "string" && v) return oneLine(v);
      if (Array.isArray(v) && v.length) return oneLine(v.map(String).join(" "));
    }
    return oneLine(JSON.stringify(input));
  }
  return input === null || input === undefined ? "" : oneLine(String(input));
}

function oneLine(s: string, max = 160): string {
  const flat = s.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function prettyJson(v: unknown): string {
  if (typeof v === "string") {
    try {
      return JSON.stringify(JSON.parse(v), null, 2);
    } catch {
      return v;
    }
  }
  return JSON.stringify(v, null, 2) ?? String(v);
}
