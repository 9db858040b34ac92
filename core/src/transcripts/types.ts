/**
 * Normalized transcript events (DESIGN.md §3, transcript tailing). Both provider parsers
 * (claude.ts, codex.ts) turn one JSONL line into zero or more of these; they never throw.
 */

/** Any JSON value (tool inputs are passed through as parsed). */
export type TranscriptJson = null | boolean | number | string | TranscriptJson[] | { [key: string]: TranscriptJson };

export type TranscriptProvider = "claude-code" | "codex";

export const TRANSCRIPT_LIMITS = {
  /** A line longer than this (UTF-8 bytes) is not parsed: one `warning` instead. */
  lineBytes: 1024 * 1024,
  /** Tool output text kept in a `tool_result` (characters); the rest is cut and `truncated` is set. */
  toolOutputChars: 16 * 1024,
  /** How many assistant message ids the Claude parser remembers for usage dedupe (oldest evicted). */
  seenMessageIds: 1000,
} as const;

export interface TranscriptMessage {
  type: "message";
  role: "user" | "assistant";
  text: string;
  /** Provider message id when the record has one (Claude: `msg_…`, repeated across split entries). */
  id?: string;
}

export interface TranscriptToolCall {
  type: "tool_call";
  id: string;
  name: string;
  /** Parsed JSON input; for Codex arguments that are not valid JSON, the raw string. */
  input: TranscriptJson;
}

export interface TranscriptToolResult {
  type: "tool_result";
  toolCallId: string;
  /** Output text, at most TRANSCRIPT_LIMITS.toolOutputChars characters. */
  output: string;
  truncated: boolean;
  isError: boolean;
}

/**
 * Token usage of one model response, counted once.
 * `inputTokens` are the *uncached* input tokens on both providers (Claude's `input_tokens`;
 * Codex's `input_tokens - cached_input_tokens`), so input + cacheRead + cacheCreation is the whole prompt.
 */
export interface TranscriptUsage {
  type: "usage";
  /** Claude: the assistant message id. Codex: `<turn id>#<n>` (token_count carries no message id). */
  messageId: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
}

export interface TranscriptSessionMeta {
  type: "session_meta";
  providerSessionId: string;
  cwd: string | null;
  model: string | null;
  version: string | null;
}

export type TranscriptWarningReason = "oversized" | "malformed_json" | "invalid_record" | "internal_error";

export interface TranscriptWarning {
  type: "warning";
  /** 1-based line number within what this parser has been fed. */
  line: number;
  reason: TranscriptWarningReason;
  detail: string;
}

export type TranscriptEvent =
  | TranscriptMessage
  | TranscriptToolCall
  | TranscriptToolResult
  | TranscriptUsage
  | TranscriptSessionMeta
  | TranscriptWarning;

export type TranscriptEventType = TranscriptEvent["type"];
