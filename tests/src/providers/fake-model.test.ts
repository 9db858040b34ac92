import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "node:http";
import { MAX_BODY_BYTES, startFakeModel, type FakeModel } from "../support/fake-model.js";

/** Parses an SSE body into [event, data] pairs. */
function sse(text: string): { event: string; data: Record<string, unknown> }[] {
  return text
    .split("\n\n")
    .filter((b) => b.trim())
    .map((b) => {
      const event = /^event: (.*)$/m.exec(b)?.[1] ?? "";
      const data = JSON.parse(/^data: (.*)$/m.exec(b)?.[1] ?? "null") as Record<string, unknown>;
      return { event, data };
    });
}

describe("fake model server", () => {
  let fake: FakeModel;
  beforeAll(async () => {
    fake = await startFakeModel();
  });
  afterAll(async () => {
    await fake?.close();
  });

  const post = (path: string, body: unknown): Promise<Response> =>
    fetch(`${fake.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });

  it("Anthropic non-streaming: echoes the last role:user message (not a trailing system message), with usage and an id", async () => {
    const res = await post("/v1/messages", {
      model: "claude-x",
      messages: [
        { role: "user", content: [{ type: "text", text: "<system-reminder>ignore me</system-reminder>" }, { type: "text", text: "first question" }] },
        { role: "system", content: "a late system message" },
      ],
    });
    expect(res.status).toBe(200);
    const j = (await res.json()) as { id: string; content: { type: string; text: string }[]; usage: { input_tokens: number; output_tokens: number } };
    expect(j.content[0]).toEqual({ type: "text", text: "fake reply to: first question" });
    expect(j.id).toMatch(/^msg_fake_/);
    expect(j.usage.input_tokens).toBeGreaterThan(0);
    expect(j.usage.output_tokens).toBeGreaterThan(0);
    const rec = fake.requests.at(-1)!;
    expect(rec.lastUserText).toBe("first question");
    expect(rec.answer?.id).toBe(j.id);
  });

  it("Anthropic streaming: a RUNTOOL prompt becomes a Bash tool_use; the tool result turn becomes text", async () => {
    const tools = [{ name: "Bash", input_schema: {} }];
    const first = sse(await (await post("/v1/messages?beta=true", { model: "m", stream: true, tools, messages: [{ role: "user", content: "RUNTOOL RUNCMD[echo hi]" }] })).text());
    expect(first.map((e) => e.event)).toEqual(["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
    const block = first[1]!.data.content_block as { type: string; name: string; id: string };
    expect(block.type).toBe("tool_use");
    expect(block.name).toBe("Bash");
    expect(JSON.parse((first[2]!.data.delta as { partial_json: string }).partial_json)).toMatchObject({ command: "echo hi" });
    expect((first[4]!.data.delta as { stop_reason: string }).stop_reason).toBe("tool_use");

    const second = sse(await (await post("/v1/messages", {
      model: "m", stream: true, tools,
      messages: [
        { role: "user", content: "RUNTOOL RUNCMD[echo hi]" },
        { role: "assistant", content: [{ type: "tool_use", id: block.id, name: "Bash", input: { command: "echo hi" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: block.id, content: "hi" }] },
      ],
    })).text());
    expect(second[2]!.data.delta).toEqual({ type: "text_delta", text: "fake tool done: hi" });

    // No tools offered (e.g. title generation): never a tool call.
    const noTools = (await (await post("/v1/messages", { model: "m", messages: [{ role: "user", content: "RUNTOOL RUNCMD[echo hi]" }] })).json()) as { content: { type: string }[] };
    expect(noTools.content[0]!.type).toBe("text");
  });

  it("Responses API: streaming text, function_call for RUNTOOL using the offered shell tool, usage in response.completed", async () => {
    const text = sse(await (await post("/v1/responses", { model: "fake-model", stream: true, input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "hi codex" }] }] })).text());
    expect(text[0]!.event).toBe("response.created");
    const done = text.at(-1)!;
    expect(done.event).toBe("response.completed");
    const resp = done.data.response as { output: { content: { text: string }[] }[]; usage: { input_tokens: number; output_tokens: number; total_tokens: number } };
    expect(resp.output[0]!.content[0]!.text).toBe("fake reply to: hi codex");
    expect(resp.usage.total_tokens).toBe(resp.usage.input_tokens + resp.usage.output_tokens);

    const tool = sse(await (await post("/v1/responses", { model: "fake-model", stream: true, tools: [{ type: "function", name: "exec_command" }], input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "RUNTOOL RUNCMD[ls]" }] }] })).text());
    const item = tool.find((e) => e.event === "response.output_item.done")!.data.item as { type: string; name: string; arguments: string; call_id: string };
    expect(item.type).toBe("function_call");
    expect(item.name).toBe("exec_command");
    expect(JSON.parse(item.arguments)).toEqual({ cmd: "ls" });

    const after = sse(await (await post("/v1/responses", {
      model: "fake-model", stream: true,
      input: [
        { type: "message", role: "user", content: [{ type: "input_text", text: "RUNTOOL RUNCMD[ls]" }] },
        { type: "function_call", call_id: item.call_id, name: "exec_command", arguments: item.arguments },
        { type: "function_call_output", call_id: item.call_id, output: "file-a" },
      ],
    })).text());
    expect(JSON.stringify(after.at(-1)!.data)).toContain("fake tool done: file-a");
  });

  it("script() rules take precedence and can fall through", async () => {
    fake.script((ctx) => (ctx.lastUserText.includes("magic") ? { kind: "text", text: "scripted!" } : undefined));
    const a = (await (await post("/v1/messages", { model: "m", messages: [{ role: "user", content: "say magic" }] })).json()) as { content: { text: string }[] };
    expect(a.content[0]!.text).toBe("scripted!");
    const b = (await (await post("/v1/messages", { model: "m", messages: [{ role: "user", content: "plain" }] })).json()) as { content: { text: string }[] };
    expect(b.content[0]!.text).toBe("fake reply to: plain");
  });

  it("answers count_tokens and models harmlessly", async () => {
    const c = (await (await post("/v1/messages/count_tokens", { model: "m", messages: [{ role: "user", content: "x" }] })).json()) as { input_tokens: number };
    expect(c.input_tokens).toBeGreaterThan(0);
    const m = await fetch(`${fake.url}/v1/models`);
    expect(m.status).toBe(200);
  });

  it("bad input gets 4xx and the server keeps serving", async () => {
    expect((await post("/v1/messages", "{not json")).status).toBe(400);
    expect((await post("/v1/messages", [1, 2])).status).toBe(400);
    expect((await post("/v1/messages", { model: "m", messages: "nope" })).status).toBe(400);
    expect((await post("/v1/responses", { input: 42 })).status).toBe(400);
    expect((await post("/v1/nowhere", {})).status).toBe(404);
    expect((await fetch(`${fake.url}/v1/messages`)).status).toBe(404);
    const big = await new Promise<number>((resolve, reject) => {
      const req = request(`${fake.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end(Buffer.alloc(MAX_BODY_BYTES + 1024, 0x61));
    });
    expect(big).toBe(413);
    const ok = (await (await post("/v1/messages", { model: "m", messages: [{ role: "user", content: "still alive" }] })).json()) as { content: { text: string }[] };
    expect(ok.content[0]!.text).toBe("fake reply to: still alive");
  });
});
