import { TRANSCRIPT_LIMITS, type TranscriptEvent, type TranscriptToolResult, type TranscriptWarning, type TranscriptWarningReason } from "./types.js";

/** Shared per-stream bookkeeping: the line counter used for warnings. */
export interface LineCounter {
  line: number;
}

export function warning(line: number, reason: TranscriptWarningReason, detail: string): TranscriptWarning {
  return { type: "warning", line, reason, detail: detail.slice(0, 200) };
}

function utf8Length(s: string): number {
  // Cheap bounds first: every UTF-16 unit is 1–3 UTF-8 bytes.
  if (s.length * 3 <= TRANSCRIPT_LIMITS.lineBytes) return s.length;
  return Buffer.byteLength(s, "utf8");
}

/**
 * Common front half of both parsers: count the line, reject oversized lines and bad JSON.
 * Returns the parsed value, or the events to emit (one warning; none for a blank line).
 */
export function readJsonLine(raw: string, counter: LineCounter): { value: unknown } | { events: TranscriptEvent[] } {
  counter.line += 1;
  const line = counter.line;
  if (typeof raw !== "string") return { events: [warning(line, "invalid_record", "line is not a string")] };
  if (utf8Length(raw) > TRANSCRIPT_LIMITS.lineBytes) {
    return { events: [warning(line, "oversized", `line exceeds ${TRANSCRIPT_LIMITS.lineBytes} bytes`)] };
  }
  const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
  if (text.trim() === "") return { events: [] };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return { events: [warning(line, "malformed_json", err instanceof Error ? err.message : "invalid JSON")] };
  }
}

export function toolResult(toolCallId: string, output: string, isError: boolean): TranscriptToolResult {
  const max = TRANSCRIPT_LIMITS.toolOutputChars;
  const truncated = output.length > max;
  return { type: "tool_result", toolCallId, output: truncated ? output.slice(0, max) : output, truncated, isError };
}

/** Runs a line parser's body; an unexpected exception becomes a warning (parsers never throw). */
export function guarded(line: () => number, body: () => TranscriptEvent[]): TranscriptEvent[] {
  try {
    return body();
  } catch (err) {
    return [warning(line(), "internal_error", err instanceof Error ? err.message : String(err))];
  }
}
