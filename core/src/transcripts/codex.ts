import { z } from "zod";
import { guarded, readJsonLine, toolResult, warning } from "./common.js";
import type { TranscriptEvent, TranscriptJson } from "./types.js";

/**
 * Codex CLI rollout (`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl`): lines are
 * `{timestamp, type, payload}`.
 *
 * Used: `session_meta`; `turn_context` / `event_msg task_started` (current model and turn id, no
 * event); `response_item` message (user/assistant; developer/system roles and user messages whose items
 * are all provenance "harness" — the injected <environment_context> — are skipped), function_call,
 * function_call_output; `event_msg token_count`. Everything else (world_state, token_usage_record,
 * item_completed, task_complete, …) is ignored: `token_usage_record` repeats what token_count says
 * and is not counted a second time.
 *
 * Usage: token_count carries the cumulative `total_token_usage`. The parser emits the **delta**
 * against the last total it saw, once per growth (repeated token_count lines with an unchanged
 * total yield nothing). If the total ever shrinks (a new file/thread), the delta restarts from zero
 * and `last_token_usage` is used. Codex's `input_tokens` includes cached input; the event's
 * `inputTokens` is the uncached part (input − cached), `cacheReadTokens` the cached part.
 */
export interface CodexParserState {
  line: number;
  model: string | null;
  turnId: string | null;
  /** Usage events emitted so far (suffix of the synthetic message id). */
  usageCount: number;
  lastTotal: CodexTokenUsage | null;
}

export function createCodexParserState(): CodexParserState {
  return { line: 0, model: null, turnId: null, usageCount: 0, lastTotal: null };
}

const count = z.number().int().nonnegative().catch(0);
const tokenUsage = z.object({
  input_tokens: count.default(0),
  cached_input_tokens: count.default(0),
  cache_write_input_tokens: count.default(0),
  output_tokens: count.default(0),
});
export type CodexTokenUsage = z.infer<typeof tokenUsage>;

const envelope = z.object({ type: z.string(), payload: z.unknown() });

const sessionMetaPayload = z.object({
  id: z.string().min(1).optional(),
  session_id: z.string().min(1).optional(),
  cwd: z.string().optional(),
  cli_version: z.string().optional(),
  model: z.string().optional(),
});

const turnContextPayload = z.object({ turn_id: z.string().optional(), model: z.string().optional() });

const contentItem = z.looseObject({ type: z.string(), text: z.string().optional() });
const responseItem = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("message"),
    id: z.string().optional(),
    role: z.string(),
    content: z.array(contentItem),
    internal_chat_message_metadata_passthrough: z
      .object({ content_item_metadata: z.array(z.object({ provenance: z.object({ type: z.string() }) })) })
      .optional()
      .catch(undefined),
  }),
  z.object({ type: z.literal("function_call"), name: z.string().min(1), arguments: z.string().default(""), call_id: z.string().min(1) }),
  z.object({
    type: z.literal("function_call_output"),
    call_id: z.string().min(1),
    output: z.union([z.string(), z.object({ content: z.string().default(""), success: z.boolean().optional() })]),
  }),
]);
const responseItemType = z.object({ type: z.string() });

const eventMsg = z.object({ type: z.string() });
const tokenCount = z.object({
  type: z.literal("token_count"),
  info: z.object({ total_token_usage: tokenUsage, last_token_usage: tokenUsage.optional() }).nullable().optional(),
});
const taskStarted = z.object({ type: z.literal("task_started"), turn_id: z.string().optional() });

function parseArguments(args: string): TranscriptJson {
  try {
    return JSON.parse(args) as TranscriptJson;
  } catch {
    return args;
  }
}

function usageEvent(state: CodexParserState, d: CodexTokenUsage): TranscriptEvent[] {
  const cached = Math.min(d.cached_input_tokens, d.input_tokens);
  if (d.input_tokens === 0 && d.output_tokens === 0 && d.cache_write_input_tokens === 0) return [];
  state.usageCount += 1;
  return [{
    type: "usage",
    messageId: `${state.turnId ?? "turn"}#${state.usageCount}`,
    model: state.model ?? "unknown",
    inputTokens: d.input_tokens - cached,
    outputTokens: d.output_tokens,
    cacheReadTokens: cached,
    cacheCreationTokens: d.cache_write_input_tokens,
  }];
}

function handleResponseItem(payload: unknown, state: CodexParserState): TranscriptEvent[] {
  const head = responseItemType.safeParse(payload);
  if (!head.success) return [warning(state.line, "invalid_record", "response_item without a payload type")];
  if (!["message", "function_call", "function_call_output"].includes(head.data.type)) return [];
  const item = responseItem.safeParse(payload);
  if (!item.success) return [warning(state.line, "invalid_record", `response_item ${head.data.type}: ${item.error.issues[0]?.message ?? "invalid"}`)];
  const it = item.data;
  switch (it.type) {
    case "message": {
      if (it.role !== "user" && it.role !== "assistant") return [];
      // Context Codex injects as a "user" message (<environment_context>…) is marked provenance "harness".
      const provenance = it.internal_chat_message_metadata_passthrough?.content_item_metadata ?? [];
      if (provenance.length > 0 && provenance.every((m) => m.provenance.type === "harness")) return [];
      const text = it.content.flatMap((c) => (typeof c.text === "string" ? [c.text] : [])).join("\n");
      if (text === "") return [];
      return [it.id ? { type: "message", role: it.role, text, id: it.id } : { type: "message", role: it.role, text }];
    }
    case "function_call":
      return [{ type: "tool_call", id: it.call_id, name: it.name, input: parseArguments(it.arguments) }];
    case "function_call_output":
      return typeof it.output === "string"
        ? [toolResult(it.call_id, it.output, false)]
        : [toolResult(it.call_id, it.output.content, it.output.success === false)];
  }
}

function handleEventMsg(payload: unknown, state: CodexParserState): TranscriptEvent[] {
  const head = eventMsg.safeParse(payload);
  if (!head.success) return [warning(state.line, "invalid_record", "event_msg without a payload type")];
  if (head.data.type === "task_started") {
    const ts = taskStarted.safeParse(payload);
    if (ts.success && ts.data.turn_id) state.turnId = ts.data.turn_id;
    return [];
  }
  if (head.data.type !== "token_count") return [];
  const tc = tokenCount.safeParse(payload);
  if (!tc.success) return [warning(state.line, "invalid_record", `token_count: ${tc.error.issues[0]?.message ?? "invalid"}`)];
  const info = tc.data.info;
  if (!info) return [];
  const total = info.total_token_usage;
  const prev = state.lastTotal;
  state.lastTotal = total;
  if (!prev) return usageEvent(state, total);
  const shrank =
    total.input_tokens < prev.input_tokens ||
    total.output_tokens < prev.output_tokens ||
    total.cached_input_tokens < prev.cached_input_tokens ||
    total.cache_write_input_tokens < prev.cache_write_input_tokens;
  if (shrank) return info.last_token_usage ? usageEvent(state, info.last_token_usage) : [];
  return usageEvent(state, {
    input_tokens: total.input_tokens - prev.input_tokens,
    cached_input_tokens: total.cached_input_tokens - prev.cached_input_tokens,
    cache_write_input_tokens: total.cache_write_input_tokens - prev.cache_write_input_tokens,
    output_tokens: total.output_tokens - prev.output_tokens,
  });
}

/** Parses one line of a Codex rollout. Never throws. */
export function parseCodexLine(line: string, state: CodexParserState): TranscriptEvent[] {
  return guarded(() => state.line, () => {
    const read = readJsonLine(line, state);
    if ("events" in read) return read.events;
    const env = envelope.safeParse(read.value);
    if (!env.success) return [warning(state.line, "invalid_record", "not a rollout line ({type, payload})")];
    const payload = env.data.payload;
    switch (env.data.type) {
      case "session_meta": {
        const meta = sessionMetaPayload.safeParse(payload);
        const id = meta.success ? (meta.data.id ?? meta.data.session_id) : undefined;
        if (!meta.success || !id) return [warning(state.line, "invalid_record", "session_meta without a session id")];
        if (meta.data.model) state.model = meta.data.model;
        return [{ type: "session_meta", providerSessionId: id, cwd: meta.data.cwd ?? null, model: meta.data.model ?? null, version: meta.data.cli_version ?? null }];
      }
      case "turn_context": {
        const tc = turnContextPayload.safeParse(payload);
        if (tc.success) {
          if (tc.data.model) state.model = tc.data.model;
          if (tc.data.turn_id) state.turnId = tc.data.turn_id;
        }
        return [];
      }
      case "response_item":
        return handleResponseItem(payload, state);
      case "event_msg":
        return handleEventMsg(payload, state);
      default:
        return [];
    }
  });
}
