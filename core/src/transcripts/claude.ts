import { z } from "zod";
import { guarded, readJsonLine, toolResult, warning } from "./common.js";
import { TRANSCRIPT_LIMITS, type TranscriptEvent, type TranscriptJson } from "./types.js";

/**
 * Claude Code session transcript (`~/.claude/projects/<cwd>/<session-id>.jsonl`).
 *
 * Records used: `user` and `assistant` (a `message` with string or block content: text, tool_use,
 * tool_result). Everything else (mode, permission-mode, attachment, system, file-history-snapshot,
 * last-prompt, summary, …) is ignored without a warning. Claude splits one API message into several
 * entries that repeat the same `message.id` and the same `usage`: usage is emitted once per id.
 */
export interface ClaudeParserState {
  line: number;
  /** Assistant message ids whose usage has been counted (insertion order, bounded). */
  seenMessageIds: Set<string>;
  metaEmitted: boolean;
}

export function createClaudeParserState(): ClaudeParserState {
  return { line: 0, seenMessageIds: new Set(), metaEmitted: false };
}

const textBlock = z.object({ type: z.literal("text"), text: z.string() });
const toolUseBlock = z.object({ type: z.literal("tool_use"), id: z.string().min(1), name: z.string().min(1), input: z.unknown() });
const toolResultBlock = z.object({
  type: z.literal("tool_result"),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() })), z.null()]).optional(),
  is_error: z.boolean().optional(),
});
/** Blocks we do not map (thinking, image, server tools, …) only need a type. */
const otherBlock = z.looseObject({ type: z.string() });

const count = z.number().int().nonnegative().catch(0);
const usageSchema = z.object({
  input_tokens: count.optional(),
  output_tokens: count.optional(),
  cache_read_input_tokens: count.nullable().optional(),
  cache_creation_input_tokens: count.nullable().optional(),
});

const common = {
  sessionId: z.string().optional(),
  cwd: z.string().optional(),
  version: z.string().optional(),
};

const userRecord = z.object({
  type: z.literal("user"),
  message: z.object({
    role: z.literal("user"),
    content: z.union([z.string(), z.array(z.union([textBlock, toolResultBlock, otherBlock]))]),
  }),
  ...common,
});

const assistantRecord = z.object({
  type: z.literal("assistant"),
  message: z.object({
    id: z.string().min(1).optional(),
    role: z.literal("assistant"),
    model: z.string().optional(),
    content: z.array(z.union([textBlock, toolUseBlock, otherBlock])),
    usage: usageSchema.nullable().optional(),
  }),
  ...common,
});

const recordType = z.object({ type: z.string() });

function toolResultText(content: z.infer<typeof toolResultBlock>["content"]): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  return content
    .map((b) => (b.type === "text" && typeof b.text === "string" ? b.text : `[${b.type}]`))
    .join("\n");
}

function rememberId(state: ClaudeParserState, id: string): boolean {
  if (state.seenMessageIds.has(id)) return false;
  state.seenMessageIds.add(id);
  while (state.seenMessageIds.size > TRANSCRIPT_LIMITS.seenMessageIds) {
    const oldest = state.seenMessageIds.values().next().value;
    if (oldest === undefined) break;
    state.seenMessageIds.delete(oldest);
  }
  return true;
}

function sessionMeta(state: ClaudeParserState, rec: { sessionId?: string; cwd?: string; version?: string }, model: string | null): TranscriptEvent[] {
  if (state.metaEmitted || !rec.sessionId) return [];
  state.metaEmitted = true;
  return [{ type: "session_meta", providerSessionId: rec.sessionId, cwd: rec.cwd ?? null, model, version: rec.version ?? null }];
}

/** Parses one line of a Claude Code transcript. Never throws. */
export function parseClaudeLine(line: string, state: ClaudeParserState): TranscriptEvent[] {
  return guarded(() => state.line, () => {
    const read = readJsonLine(line, state);
    if ("events" in read) return read.events;
    const head = recordType.safeParse(read.value);
    if (!head.success) return [warning(state.line, "invalid_record", "not a JSON object with a string `type`")];

    switch (head.data.type) {
      case "user": {
        const rec = userRecord.safeParse(read.value);
        if (!rec.success) return [warning(state.line, "invalid_record", `user: ${rec.error.issues[0]?.message ?? "invalid"}`)];
        const out = sessionMeta(state, rec.data, null);
        const content = rec.data.message.content;
        if (typeof content === "string") {
          out.push({ type: "message", role: "user", text: content });
          return out;
        }
        const texts: string[] = [];
        for (const block of content) {
          if (block.type === "text" && "text" in block && typeof block.text === "string") texts.push(block.text);
          const tr = toolResultBlock.safeParse(block);
          if (tr.success) out.push(toolResult(tr.data.tool_use_id, toolResultText(tr.data.content), tr.data.is_error ?? false));
        }
        if (texts.length > 0) out.push({ type: "message", role: "user", text: texts.join("\n") });
        return out;
      }
      case "assistant": {
        const rec = assistantRecord.safeParse(read.value);
        if (!rec.success) return [warning(state.line, "invalid_record", `assistant: ${rec.error.issues[0]?.message ?? "invalid"}`)];
        const msg = rec.data.message;
        const out = sessionMeta(state, rec.data, msg.model ?? null);
        // Order within one entry: the text (one message), then its tool calls, then usage.
        const texts: string[] = [];
        const calls: TranscriptEvent[] = [];
        for (const block of msg.content) {
          if (block.type === "text" && "text" in block && typeof block.text === "string") texts.push(block.text);
          const tu = toolUseBlock.safeParse(block);
          if (tu.success) calls.push({ type: "tool_call", id: tu.data.id, name: tu.data.name, input: (tu.data.input ?? null) as TranscriptJson });
        }
        if (texts.length > 0) {
          const text = texts.join("\n");
          out.push(msg.id ? { type: "message", role: "assistant", text, id: msg.id } : { type: "message", role: "assistant", text });
        }
        out.push(...calls);
        if (msg.usage && msg.id && rememberId(state, msg.id)) {
          out.push({
            type: "usage",
            messageId: msg.id,
            model: msg.model ?? "unknown",
            inputTokens: msg.usage.input_tokens ?? 0,
            outputTokens: msg.usage.output_tokens ?? 0,
            cacheReadTokens: msg.usage.cache_read_input_tokens ?? 0,
            cacheCreationTokens: msg.usage.cache_creation_input_tokens ?? 0,
          });
        }
        return out;
      }
      default:
        return [];
    }
  });
}
