import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";

/**
 * A scripted fake model server for running the real Claude Code and Codex CLIs offline.
 * Speaks the Anthropic Messages API (POST /v1/messages, SSE and JSON; count_tokens; models) and the
 * OpenAI Responses API (POST /v1/responses, SSE). Default reply: `fake reply to: <last user text>`.
 * A user text containing `RUNTOOL RUNCMD[<cmd>]` yields a Bash (Anthropic) / shell (Responses) tool
 * call; once the tool result arrives the next turn answers with text.
 */

export const MAX_BODY_BYTES = 8 * 1024 * 1024;

export type ApiKind = "anthropic" | "responses";

export interface RecordedRequest {
  method: string;
  path: string;
  api: ApiKind | "other";
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined when absent/invalid. */
  body: unknown;
  /** Text of the last `role: "user"` message (tool results excluded), "" when none. */
  lastUserText: string;
  /** True when the last user turn carries a tool result. */
  isToolResult: boolean;
  model: string | undefined;
  stream: boolean;
  status: number;
  at: number;
  /** What the fake answered (message/response id and the usage it reported), for model turns. */
  answer?: { id: string; kind: FakeReply["kind"]; inputTokens: number; outputTokens: number };
}

export type FakeReply =
  | { kind: "text"; text: string }
  | { kind: "tool"; command: string };

export interface ScriptContext {
  api: ApiKind;
  lastUserText: string;
  isToolResult: boolean;
  /** Text of the tool result when isToolResult. */
  toolResultText: string;
  model: string | undefined;
  body: Record<string, unknown>;
}

/** A rule: return a reply to take the turn, or undefined to fall through to later rules/defaults. */
export type ScriptRule = (ctx: ScriptContext) => FakeReply | undefined;

export interface FakeModel {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Adds a rule checked before earlier-added rules and the defaults. */
  script(rule: ScriptRule): void;
  /** Requests (to either API) whose last user text contains `needle`. */
  requestsContaining(needle: string): RecordedRequest[];
  close(): Promise<void>;
}

const RUNCMD = /RUNTOOL\s+RUNCMD\[([^\]]*)\]/;

function id(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString("hex")}`;
}

/** Rough token estimate (~4 chars per token), at least 1. */
export function estimateTokens(value: unknown): number {
  const s = typeof value === "string" ? value : JSON.stringify(value ?? "");
  return Math.max(1, Math.ceil(s.length / 4));
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Claude Code prepends <system-reminder> blocks to the user's turn, and after a local slash command
 * (`/model`) it sends that command's transcript (<local-command-caveat>, <command-name>,
 * <local-command-stdout>…) in the same user message: none of it is the user's words.
 */
function stripReminders(text: string): string {
  return text
    .replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, "")
    .replace(/<(local-command-caveat|command-name|command-message|command-args|local-command-stdout|local-command-stderr)>[\s\S]*?<\/\1>/g, "")
    .trim();
}

function textOfContent(content: unknown, part: "text" | "tool_result"): string {
  if (typeof content === "string") return part === "text" ? stripReminders(content) : "";
  if (!Array.isArray(content)) return "";
  const out: string[] = [];
  for (const c of content) {
    if (!isObj(c)) continue;
    if (part === "text" && (c.type === "text" || c.type === "input_text") && typeof c.text === "string") {
      // Claude Code prepends <system-reminder> text blocks to the user's turn: not the user's words.
      const t = stripReminders(c.text);
      if (t) out.push(t);
    }
    if (part === "tool_result" && c.type === "tool_result") out.push(typeof c.content === "string" ? c.content : textOfContent(c.content, "text"));
  }
  return out.join("\n");
}

/** Anthropic: last role:user message (Claude Code may append a role:system message after it). */
function analyseAnthropic(body: Record<string, unknown>): { lastUserText: string; isToolResult: boolean; toolResultText: string } {
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m: unknown = msgs[i];
    if (!isObj(m) || m.role !== "user") continue;
    const toolResultText = textOfContent(m.content, "tool_result");
    const lastUserText = textOfContent(m.content, "text");
    // A new prompt typed after an interrupted tool call arrives together with that call's
    // (rejected) tool_result: the user's words make it a prompt, not a tool turn.
    const isToolResult = Array.isArray(m.content) && m.content.some((c) => isObj(c) && c.type === "tool_result") && lastUserText === "";
    return { lastUserText, isToolResult, toolResultText };
  }
  return { lastUserText: "", isToolResult: false, toolResultText: "" };
}

/** Responses: the input array; a function_call_output after the last user message is a tool result. */
function analyseResponses(body: Record<string, unknown>): { lastUserText: string; isToolResult: boolean; toolResultText: string } {
  const input = body.input;
  if (typeof input === "string") return { lastUserText: input, isToolResult: false, toolResultText: "" };
  const items = Array.isArray(input) ? input : [];
  let lastUserText = "";
  let lastUserIdx = -1;
  for (let i = items.length - 1; i >= 0; i--) {
    const it: unknown = items[i];
    if (isObj(it) && it.role === "user" && (it.type === undefined || it.type === "message")) {
      lastUserText = textOfContent(it.content, "text");
      lastUserIdx = i;
      break;
    }
  }
  let isToolResult = false;
  let toolResultText = "";
  for (let i = lastUserIdx + 1; i < items.length; i++) {
    const it: unknown = items[i];
    if (isObj(it) && (it.type === "function_call_output" || it.type === "custom_tool_call_output")) {
      isToolResult = true;
      toolResultText = typeof it.output === "string" ? it.output : JSON.stringify(it.output ?? "");
    }
  }
  return { lastUserText, isToolResult, toolResultText };
}

function defaultReply(ctx: ScriptContext): FakeReply {
  if (ctx.isToolResult) return { kind: "text", text: `fake tool done: ${ctx.toolResultText.trim().slice(0, 200) || "(no output)"}` };
  const m = RUNCMD.exec(ctx.lastUserText);
  if (m) return { kind: "tool", command: m[1]! };
  return { kind: "text", text: `fake reply to: ${ctx.lastUserText.trim().slice(0, 500)}` };
}

function readBody(req: IncomingMessage): Promise<{ ok: true; text: string } | { ok: false; status: number }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        done = true;
        resolve({ ok: false, status: 413 });
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (!done) resolve({ ok: true, text: Buffer.concat(chunks).toString("utf8") });
      done = true;
    });
    req.on("error", () => {
      if (!done) resolve({ ok: false, status: 400 });
      done = true;
    });
  });
}

function json(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}

function anthropicError(res: ServerResponse, status: number, message: string): void {
  json(res, status, { type: "error", error: { type: status === 404 ? "not_found_error" : "invalid_request_error", message } });
}

type Answer = NonNullable<RecordedRequest["answer"]>;

function sendAnthropic(res: ServerResponse, body: Record<string, unknown>, reply: FakeReply): Answer {
  const msgId = id("msg_fake");
  const model = typeof body.model === "string" ? body.model : "claude-fake";
  const inputTokens = estimateTokens(body.messages) + estimateTokens(body.system);
  const block = reply.kind === "text"
    ? { type: "text", text: reply.text }
    : { type: "tool_use", id: id("toolu_fake"), name: "Bash", input: { command: reply.command, description: "fake model command" } };
  const outputTokens = estimateTokens(reply.kind === "text" ? reply.text : reply.command) + 2;
  const stop = reply.kind === "tool" ? "tool_use" : "end_turn";
  const usage = { input_tokens: inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: outputTokens };
  const answer: Answer = { id: msgId, kind: reply.kind, inputTokens, outputTokens };
  if (body.stream !== true) {
    json(res, 200, { id: msgId, type: "message", role: "assistant", model, content: [block], stop_reason: stop, stop_sequence: null, usage });
    return answer;
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "request-id": id("req") });
  const w = (event: string, data: unknown): void => void res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  w("message_start", { type: "message_start", message: { id: msgId, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } });
  if (block.type === "text") {
    w("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
    w("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: (block as { text: string }).text } });
  } else {
    const tb = block as { id: string; name: string; input: unknown };
    w("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: tb.id, name: tb.name, input: {} } });
    w("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: JSON.stringify(tb.input) } });
  }
  w("content_block_stop", { type: "content_block_stop", index: 0 });
  w("message_delta", { type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: outputTokens } });
  w("message_stop", { type: "message_stop" });
  res.end();
  return answer;
}

/** Name of the shell-like function tool Codex offered, if any. */
function responsesShellTool(body: Record<string, unknown>): string {
  const tools = Array.isArray(body.tools) ? body.tools : [];
  const names = tools.filter(isObj).map((t) => (typeof t.name === "string" ? t.name : "")).filter(Boolean);
  for (const pref of ["shell", "exec_command", "shell_command", "local_shell"]) if (names.includes(pref)) return pref;
  return names.find((n) => /shell|exec/.test(n)) ?? "shell";
}

function sendResponses(res: ServerResponse, body: Record<string, unknown>, reply: FakeReply): Answer {
  const respId = id("resp");
  const model = typeof body.model === "string" ? body.model : "fake-model";
  const inputTokens = estimateTokens(body.input) + estimateTokens(body.instructions);
  let item: Record<string, unknown>;
  let outputTokens: number;
  if (reply.kind === "text") {
    item = { type: "message", role: "assistant", id: id("msg"), status: "completed", content: [{ type: "output_text", text: reply.text, annotations: [] }] };
    outputTokens = estimateTokens(reply.text);
  } else {
    const name = responsesShellTool(body);
    const args = name === "exec_command" ? { cmd: reply.command } : name === "shell_command" ? { command: reply.command } : { command: ["bash", "-lc", reply.command] };
    item = { type: "function_call", id: id("fc"), call_id: id("call"), name, arguments: JSON.stringify(args), status: "completed" };
    outputTokens = estimateTokens(reply.command) + 2;
  }
  const usage = { input_tokens: inputTokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: outputTokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: inputTokens + outputTokens };
  const response = { id: respId, object: "response", model, status: "in_progress", output: [] as unknown[] };
  const answer: Answer = { id: respId, kind: reply.kind, inputTokens, outputTokens };
  if (body.stream === false) {
    json(res, 200, { ...response, status: "completed", output: [item], usage });
    return answer;
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  let seq = 0;
  const w = (data: Record<string, unknown>): void => void res.write(`event: ${String(data.type)}\ndata: ${JSON.stringify({ ...data, sequence_number: seq++ })}\n\n`);
  w({ type: "response.created", response });
  if (item.type === "message") {
    const text = (item.content as { text: string }[])[0]!.text;
    w({ type: "response.output_item.added", output_index: 0, item: { ...item, status: "in_progress", content: [] } });
    w({ type: "response.output_text.delta", output_index: 0, item_id: item.id, content_index: 0, delta: text });
    w({ type: "response.output_text.done", output_index: 0, item_id: item.id, content_index: 0, text });
  } else {
    w({ type: "response.output_item.added", output_index: 0, item: { ...item, arguments: "", status: "in_progress" } });
    w({ type: "response.function_call_arguments.delta", output_index: 0, item_id: item.id, delta: item.arguments });
    w({ type: "response.function_call_arguments.done", output_index: 0, item_id: item.id, arguments: item.arguments });
  }
  w({ type: "response.output_item.done", output_index: 0, item });
  w({ type: "response.completed", response: { ...response, status: "completed", output: [item], usage } });
  res.end();
  return answer;
}

export async function startFakeModel(opts: { port?: number } = {}): Promise<FakeModel> {
  const requests: RecordedRequest[] = [];
  const rules: ScriptRule[] = [];

  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? "/").split("?")[0]!;
      const method = req.method ?? "GET";
      const rec: RecordedRequest = { method, path, api: "other", headers: req.headers, body: undefined, lastUserText: "", isToolResult: false, model: undefined, stream: false, status: 0, at: Date.now() };
      requests.push(rec);
      if (requests.length > 10_000) requests.splice(0, requests.length - 10_000);
      const finish = (status: number): void => void (rec.status = status);

      const raw = await readBody(req);
      if (!raw.ok) return finish(raw.status), anthropicError(res, raw.status, raw.status === 413 ? "body too large" : "bad request");

      if ((method === "HEAD" || method === "GET") && path === "/") {
        // Connectivity probe (Claude Code sends HEAD / at start).
        finish(200);
        return json(res, 200, { ok: true });
      }
      if (method === "GET" && /^\/(v1\/)?models\/?$/.test(path)) {
        finish(200);
        return json(res, 200, { data: [{ id: "claude-fake", type: "model", display_name: "Fake", created_at: "2025-01-01T00:00:00Z" }, { id: "fake-model", object: "model" }], has_more: false, first_id: "claude-fake", last_id: "fake-model", object: "list" });
      }
      if (method !== "POST") return finish(404), anthropicError(res, 404, `fake: no route ${method} ${path}`);

      let body: unknown;
      try {
        body = raw.text.length ? JSON.parse(raw.text) : undefined;
      } catch {
        body = undefined;
      }
      rec.body = body;
      if (!isObj(body)) return finish(400), anthropicError(res, 400, "body must be a JSON object");
      rec.model = typeof body.model === "string" ? body.model : undefined;
      rec.stream = body.stream === true || (path.endsWith("/responses") && body.stream !== false);

      if (/\/messages\/count_tokens$/.test(path)) {
        rec.api = "anthropic";
        finish(200);
        return json(res, 200, { input_tokens: estimateTokens(body.messages) + estimateTokens(body.system) });
      }
      const isAnthropic = /^\/(v1\/)?messages$/.test(path);
      const isResponses = /^\/(v1\/)?responses$/.test(path);
      if (!isAnthropic && !isResponses) return finish(404), anthropicError(res, 404, `fake: no route ${method} ${path}`);
      if (isAnthropic && !Array.isArray(body.messages)) return finish(400), anthropicError(res, 400, "messages: array required");
      if (isResponses && body.input !== undefined && typeof body.input !== "string" && !Array.isArray(body.input)) return finish(400), anthropicError(res, 400, "input: string or array required");

      const api: ApiKind = isAnthropic ? "anthropic" : "responses";
      rec.api = api;
      const a = isAnthropic ? analyseAnthropic(body) : analyseResponses(body);
      rec.lastUserText = a.lastUserText;
      rec.isToolResult = a.isToolResult;
      const ctx: ScriptContext = { api, ...a, model: rec.model, body };
      let reply: FakeReply | undefined;
      for (let i = rules.length - 1; i >= 0 && !reply; i--) {
        try {
          reply = rules[i]!(ctx);
        } catch {
          reply = undefined;
        }
      }
      reply ??= defaultReply(ctx);
      // Anthropic: no tools offered (e.g. title generation) → never answer with a tool call.
      if (reply.kind === "tool" && isAnthropic && !(Array.isArray(body.tools) && body.tools.length > 0)) reply = { kind: "text", text: `fake reply to: ${a.lastUserText.slice(0, 200)}` };
      finish(200);
      rec.answer = isAnthropic ? sendAnthropic(res, body, reply) : sendResponses(res, body, reply);
    })().catch(() => {
      try {
        anthropicError(res, 500, "fake model internal error");
      } catch {
        /* socket gone */
      }
    });
  });
  server.on("clientError", (_err, socket) => {
    socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    script: (rule) => void rules.push(rule),
    requestsContaining: (needle) => requests.filter((r) => r.lastUserText.includes(needle)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
