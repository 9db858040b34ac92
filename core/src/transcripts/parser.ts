import { parseClaudeLine } from "./claude.js";
import { parseCodexLine } from "./codex.js";
import { warning } from "./common.js";
import {
  restoreClaudeState,
  restoreCodexState,
  snapshotClaudeState,
  snapshotCodexState,
  type ClaudeParserSnapshot,
  type CodexParserSnapshot,
} from "./snapshot.js";
import { TRANSCRIPT_LIMITS, type TranscriptEvent, type TranscriptProvider } from "./types.js";

/** What `snapshot()` returns: JSON-safe, accepted back by `createParser(provider, saved)`. */
export type TranscriptParserSnapshot = ClaudeParserSnapshot | CodexParserSnapshot;

/** A stateful line parser for one transcript file: feed it complete lines, in order. */
export interface TranscriptParser {
  readonly provider: TranscriptProvider;
  /** One complete line (without its newline). Never throws. */
  push(line: string): TranscriptEvent[];
  /**
   * Counts a line the caller did not buffer because it is longer than TRANSCRIPT_LIMITS.lineBytes
   * and returns its `oversized` warning (the same one `push` would give for that line), so a reader
   * can skip a huge line without ever holding it in memory.
   */
  skipOversized(): TranscriptEvent[];
  /** The parser's state as plain JSON (a copy): persist it and pass it to createParser to resume. */
  snapshot(): TranscriptParserSnapshot;
}

function oversized(counter: { line: number }): TranscriptEvent[] {
  counter.line += 1;
  return [warning(counter.line, "oversized", `line exceeds ${TRANSCRIPT_LIMITS.lineBytes} bytes`)];
}

/**
 * `saved`: a snapshot from an earlier parser of the same provider; anything invalid (or absent)
 * starts a fresh parser.
 */
export function createParser(provider: TranscriptProvider, saved?: unknown): TranscriptParser {
  switch (provider) {
    case "claude-code": {
      const state = restoreClaudeState(saved);
      return { provider, push: (line) => parseClaudeLine(line, state), skipOversized: () => oversized(state), snapshot: () => snapshotClaudeState(state) };
    }
    case "codex": {
      const state = restoreCodexState(saved);
      return { provider, push: (line) => parseCodexLine(line, state), skipOversized: () => oversized(state), snapshot: () => snapshotCodexState(state) };
    }
  }
}
