import { z } from "zod";
import { createClaudeParserState, type ClaudeParserState } from "./claude.js";
import { createCodexParserState, type CodexParserState } from "./codex.js";
import { TRANSCRIPT_LIMITS } from "./types.js";

/**
 * JSON-safe copies of the parsers' state, so a tailer can persist it next to its file offset
 * (in the same transaction as the events) and resume after a restart with the same line numbers,
 * the same usage dedupe (Claude: ids already counted) and the same usage deltas / synthetic ids
 * (Codex: last cumulative total, turn id and `#n` counter). Without it a restart would count a
 * split Claude message's usage twice or re-emit a Codex turn's whole cumulative total.
 */
const line = z.number().int().nonnegative();

export const claudeParserSnapshot = z.object({
  line,
  /** Oldest first, so eviction order survives the round trip. */
  seenMessageIds: z.array(z.string()).max(TRANSCRIPT_LIMITS.seenMessageIds),
  metaEmitted: z.boolean(),
});
export type ClaudeParserSnapshot = z.infer<typeof claudeParserSnapshot>;

const tokens = z.number().int().nonnegative();
export const codexParserSnapshot = z.object({
  line,
  model: z.string().nullable(),
  turnId: z.string().nullable(),
  usageCount: z.number().int().nonnegative(),
  lastTotal: z
    .object({ input_tokens: tokens, cached_input_tokens: tokens, cache_write_input_tokens: tokens, output_tokens: tokens })
    .nullable(),
});
export type CodexParserSnapshot = z.infer<typeof codexParserSnapshot>;

export function snapshotClaudeState(state: ClaudeParserState): ClaudeParserSnapshot {
  return { line: state.line, seenMessageIds: [...state.seenMessageIds], metaEmitted: state.metaEmitted };
}

/** A fresh state when `saved` is not a valid snapshot (a corrupt cursor must not stop tailing). */
export function restoreClaudeState(saved: unknown): ClaudeParserState {
  const parsed = claudeParserSnapshot.safeParse(saved);
  if (!parsed.success) return createClaudeParserState();
  const s = parsed.data;
  return { line: s.line, seenMessageIds: new Set(s.seenMessageIds), metaEmitted: s.metaEmitted };
}

export function snapshotCodexState(state: CodexParserState): CodexParserSnapshot {
  return {
    line: state.line,
    model: state.model,
    turnId: state.turnId,
    usageCount: state.usageCount,
    lastTotal: state.lastTotal ? { ...state.lastTotal } : null,
  };
}

/** A fresh state when `saved` is not a valid snapshot. */
export function restoreCodexState(saved: unknown): CodexParserState {
  const parsed = codexParserSnapshot.safeParse(saved);
  if (!parsed.success) return createCodexParserState();
  const s = parsed.data;
  return { line: s.line, model: s.model, turnId: s.turnId, usageCount: s.usageCount, lastTotal: s.lastTotal ? { ...s.lastTotal } : null };
}
