import { createClaudeParserState, parseClaudeLine } from "./claude.js";
import { createCodexParserState, parseCodexLine } from "./codex.js";
import type { TranscriptEvent, TranscriptProvider } from "./types.js";

/** A stateful line parser for one transcript file: feed it complete lines, in order. */
export interface TranscriptParser {
  readonly provider: TranscriptProvider;
  /** One complete line (without its newline). Never throws. */
  push(line: string): TranscriptEvent[];
}

export function createParser(provider: TranscriptProvider): TranscriptParser {
  switch (provider) {
    case "claude-code": {
      const state = createClaudeParserState();
      return { provider, push: (line) => parseClaudeLine(line, state) };
    }
    case "codex": {
      const state = createCodexParserState();
      return { provider, push: (line) => parseCodexLine(line, state) };
    }
  }
}
