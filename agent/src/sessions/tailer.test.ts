import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createParser, LIMITS, TRANSCRIPT_LIMITS, type TranscriptProvider } from "@codepiper/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAgentLogger } from "../log.js";
import { Outbox, type NewEvent } from "../outbox.js";
import { toOutboxEvent, TranscriptTailer, transcriptCursor, transcriptCursorKey, type TranscriptTailerOptions } from "./tailer.js";

const REF = "/work/shared/reference/agent-clis";
const CLAUDE = readFileSync(join(REF, "claude-code-transcript-sample.jsonl"), "utf8");
const CODEX = readFileSync(join(REF, "codex-rollout-sample.jsonl"), "utf8");
const SID = "sess-1";
const log = createAgentLogger({ level: "silent" });

interface Row {
  type: string;
  payload: unknown;
}

/** What the outbox must hold for `text`: a one-pass parse of its complete lines, mapped like the tailer maps. */
function onePass(provider: TranscriptProvider, text: string | Buffer): Row[] {
  const s = typeof text === "string" ? text : text.toString("utf8");
  const complete = s.slice(0, s.lastIndexOf("\n") + 1);
  const parser = createParser(provider);
  const lines = complete.split("\n").slice(0, -1);
  return lines.flatMap((l) => parser.push(l)).map((e) => toRow(toOutboxEvent(SID, e, LIMITS.eventPayloadBytes)));
}
const toRow = (e: NewEvent | Row): Row => ({ type: e.type, payload: JSON.parse(JSON.stringify(e.payload)) as unknown });
const rows = (outbox: Outbox): Row[] => outbox.readAfter(0, 1_000_000).filter((e) => e.type.startsWith("transcript.")).map(toRow);

async function waitFor(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const assistant = (id: string, content: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: "assistant", sessionId: "s", message: { id, role: "assistant", model: "m", content, usage: { input_tokens: 7, output_tokens: 3 } }, ...extra }) + "\n";
const user = (text: string) => JSON.stringify({ type: "user", sessionId: "s", message: { role: "user", content: text } }) + "\n";

/** An outbox whose commits fail after `n` of them: the in-process stand-in for a SIGKILL between chunks. */
class DyingOutbox extends Outbox {
  constructor(path: string, private left: number) {
    super(path);
  }
  override appendWithCursor(events: readonly NewEvent[], cursor: { key: string; value: unknown }): number[] {
    if (this.left-- <= 0) throw new Error("killed");
    return super.appendWithCursor(events, cursor);
  }
}

let dir: string;
let dbPath: string;
let file: string;
const open: { outbox: Outbox; tailer: TranscriptTailer }[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tailer-"));
  dbPath = join(dir, "outbox.db");
  file = join(dir, "t.jsonl");
});
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.tailer.stop();
    o.outbox.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A tailer on a fresh Outbox connection (as after an agent restart); never started unless asked. */
function tailer(opts: Partial<TranscriptTailerOptions> = {}, outbox: Outbox = new Outbox(dbPath)): { outbox: Outbox; tailer: TranscriptTailer } {
  const t = new TranscriptTailer({ sessionId: SID, provider: "claude-code", outbox, log, path: file, ...opts });
  const o = { outbox, tailer: t };
  open.push(o);
  return o;
}

describe("TranscriptTailer", () => {
  it("appended lines arrive in order (watch/poll driven)", async () => {
    writeFileSync(file, "");
    const { outbox, tailer: t } = tailer({ pollMs: 20 });
    t.start();
    const lines = CLAUDE.split(/(?<=\n)/);
    for (let i = 0; i < lines.length; i++) {
      appendFileSync(file, lines[i] ?? "");
      const sofar = lines.slice(0, i + 1).join("");
      const want = onePass("claude-code", sofar);
      await waitFor(() => rows(outbox).length === want.length && t.status.offset === Buffer.byteLength(sofar), `line ${i + 1}`);
    }
    expect(rows(outbox)).toEqual(onePass("claude-code", CLAUDE));
    expect(t.status).toEqual({ path: file, offset: Buffer.byteLength(CLAUDE), lagBytes: 0 });
    const cursor = transcriptCursor.parse(outbox.getCursor(transcriptCursorKey(SID)));
    expect(cursor).toMatchObject({ path: file, offset: Buffer.byteLength(CLAUDE) });
    expect(cursor.parserState).toMatchObject({ line: 26, metaEmitted: true });
  });

  it("a partial last line is not emitted (nor committed) until its newline arrives", async () => {
    const first = user("one");
    const second = user("two héllo ✓");
    const bytes = Buffer.from(second);
    writeFileSync(file, Buffer.concat([Buffer.from(first), bytes.subarray(0, 20)]));
    const { outbox, tailer: t } = tailer();
    await t.catchUp();
    expect(rows(outbox)).toEqual(onePass("claude-code", first));
    expect(t.status).toMatchObject({ offset: Buffer.byteLength(first), lagBytes: 20 });
    appendFileSync(file, bytes.subarray(20, bytes.length - 1)); // everything but the newline
    await t.catchUp();
    expect(rows(outbox)).toHaveLength(2);
    appendFileSync(file, "\n");
    await t.catchUp();
    expect(rows(outbox)).toEqual(onePass("claude-code", first + second));
  });

  for (const [provider, sample] of [["claude-code", CLAUDE], ["codex", CODEX]] as const) {
    it(`${provider}: crashes mid-line and between chunks: no duplicates, no gaps`, async () => {
      // The sample three times plus non-ASCII text, written in odd-sized pieces (splitting UTF-8 sequences).
      const content = Buffer.from(sample + sample.replaceAll("Hello", "Grüße ✓ 日本") + sample);
      writeFileSync(file, "");
      let pos = 0;
      let round = 0;
      while (pos < content.length) {
        const piece = 1 + ((round * 7919) % 3000);
        appendFileSync(file, content.subarray(pos, pos + piece));
        pos += piece;
        round += 1;
        // Each round a new "process": a new connection and tailer on the same files; the old one is dropped
        // without stop(). Every other round it dies after a few commits of small chunks (mid catch-up).
        const outbox = round % 2 === 0 ? new DyingOutbox(dbPath, round % 5) : new Outbox(dbPath);
        const { tailer: t } = tailer({ provider, chunkBytes: 257 + (round % 3) * 1000 }, outbox);
        await t.catchUp().catch((err: unknown) => {
          if (!(err instanceof Error && err.message === "killed")) throw err;
        });
      }
      const { outbox, tailer: t } = tailer({ provider });
      await t.catchUp();
      expect(rows(outbox)).toEqual(onePass(provider, content));
    });
  }

  it("Claude usage repeated across split entries is counted once, also across a restart", async () => {
    writeFileSync(file, assistant("msg_1", [{ type: "thinking", thinking: "hm" }]) + assistant("msg_1", [{ type: "text", text: "hi" }]));
    const a = tailer();
    await a.tailer.catchUp();
    appendFileSync(file, assistant("msg_1", [{ type: "tool_use", id: "t1", name: "Read", input: {} }]) + assistant("msg_2", [{ type: "text", text: "x" }]));
    const b = tailer();
    await b.tailer.catchUp();
    const usage = rows(b.outbox).filter((r) => r.type === "transcript.usage");
    expect(usage.map((r) => (r.payload as { messageId: string }).messageId)).toEqual(["msg_1", "msg_2"]);
  });

  it("truncation → transcript.reset (truncated), then the file is re-read from 0", async () => {
    writeFileSync(file, CLAUDE);
    const { outbox, tailer: t } = tailer();
    await t.catchUp();
    const before = rows(outbox).length;
    truncateSync(file, 0);
    appendFileSync(file, user("after truncate"));
    await t.catchUp();
    const after = rows(outbox).slice(before);
    expect(after[0]).toEqual({ type: "transcript.reset", payload: { path: file, reason: "truncated", previousOffset: Buffer.byteLength(CLAUDE), size: Buffer.byteLength(user("after truncate")) } });
    expect(after.slice(1)).toEqual(onePass("claude-code", user("after truncate")));
  });

  it("replacement (other inode) → transcript.reset (replaced), also detected at restart", async () => {
    writeFileSync(file, user("old"));
    const a = tailer();
    await a.tailer.catchUp();
    const next = join(dir, "next.jsonl");
    writeFileSync(next, user("new file, longer than the old one") + user("second"));
    renameSync(next, file);
    const b = tailer(); // restart: the saved cursor's inode no longer matches
    await b.tailer.catchUp();
    const all = rows(b.outbox);
    const reset = all.findIndex((r) => r.type === "transcript.reset");
    expect(all[reset]?.payload).toMatchObject({ reason: "replaced", previousOffset: Buffer.byteLength(user("old")) });
    expect(all.slice(reset + 1)).toEqual(onePass("claude-code", readFileSync(file)));
  });

  it("a 3 MiB line → one oversized warning; the following lines still arrive", async () => {
    const huge = user("z".repeat(3 * 1024 * 1024));
    const content = user("before") + huge + user("after");
    writeFileSync(file, "");
    const { outbox, tailer: t } = tailer();
    // Written in pieces so the huge line is seen partially, across several reads.
    for (let i = 0; i < content.length; i += 700_000) {
      appendFileSync(file, content.slice(i, i + 700_000));
      await t.catchUp();
    }
    const got = rows(outbox);
    expect(got).toEqual(onePass("claude-code", content));
    expect(got.filter((r) => r.type === "transcript.warning")).toEqual([
      { type: "transcript.warning", payload: { line: 2, reason: "oversized", detail: `line exceeds ${TRANSCRIPT_LIMITS.lineBytes} bytes` } },
    ]);
    expect(got.at(-1)).toEqual({ type: "transcript.message", payload: { role: "user", text: "after" } });
  });

  it("a malformed JSON line → warning, tailing continues", async () => {
    writeFileSync(file, user("a") + "{not json\n" + user("b"));
    const { outbox, tailer: t } = tailer();
    await t.catchUp();
    const got = rows(outbox);
    expect(got.map((r) => r.type)).toEqual(["transcript.session_meta", "transcript.message", "transcript.warning", "transcript.message"]);
    expect(got[2]?.payload).toMatchObject({ line: 2, reason: "malformed_json" });
  });

  it("the file appears only after setPath", async () => {
    const { outbox, tailer: t } = tailer({ path: null, pollMs: 10 });
    t.start();
    await t.catchUp();
    expect(t.status).toEqual({ path: null, offset: 0, lagBytes: 0 });
    t.setPath(file);
    await t.catchUp();
    expect(t.status.path).toBe(file);
    writeFileSync(file, CLAUDE);
    await waitFor(() => rows(outbox).length === onePass("claude-code", CLAUDE).length, "events after the file appeared");
    expect(rows(outbox)).toEqual(onePass("claude-code", CLAUDE));
  });

  it("a different path than the saved cursor's starts that file from 0", async () => {
    writeFileSync(file, user("first file"));
    await tailer().tailer.catchUp();
    const other = join(dir, "other.jsonl");
    writeFileSync(other, user("second file"));
    const { outbox, tailer: t } = tailer({ path: null });
    t.setPath(other);
    await t.catchUp();
    expect(rows(outbox).filter((r) => r.type === "transcript.message").map((r) => (r.payload as { text: string }).text)).toEqual(["first file", "second file"]);
    expect(t.status).toMatchObject({ path: other, offset: Buffer.byteLength(user("second file")) });
  });

  it("huge text, tool input and tool output are cut to fit the event payload limit", async () => {
    const big = "\u0001".repeat(60_000); // 6 bytes of JSON per character: 360 KB
    writeFileSync(
      file,
      assistant("msg_big", [{ type: "text", text: big }, { type: "tool_use", id: "t", name: "Write", input: { content: big } }]) +
        JSON.stringify({ type: "user", message: { role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: big }] } }) + "\n",
    );
    const { outbox, tailer: t } = tailer();
    await t.catchUp();
    const got = outbox.readAfter(0, 100);
    expect(got.map((e) => e.type)).toEqual(["transcript.session_meta", "transcript.message", "transcript.tool_call", "transcript.usage", "transcript.tool_result"]);
    for (const e of got) expect(Buffer.byteLength(JSON.stringify(e.payload))).toBeLessThanOrEqual(LIMITS.eventPayloadBytes);
    for (const i of [1, 2, 4]) expect(got[i]?.payload).toMatchObject({ truncated: true });
    expect(got[2]?.payload).toMatchObject({ id: "t", name: "Write", input: expect.stringMatching(/^\{"content":"\\u0001/) });
  });
});

describe("TranscriptTailer under real SIGKILL", () => {
  const child = fileURLToPath(new URL("./tailer-crash-child.ts", import.meta.url));
  const spawnTailer = (): ChildProcess =>
    spawn(process.execPath, ["--import", "tsx", child, dbPath, file, "claude-code", SID], { stdio: ["ignore", "ignore", "inherit"] });
  const kill = async (p: ChildProcess): Promise<void> => {
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await exited;
  };
  const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

  it("killed at random moments while a writer appends (half lines included): outbox = one-pass parse", async () => {
    // ~1.2 MB: the sample, split entries repeating usage, non-ASCII text, a few big tool outputs.
    let text = "";
    for (let i = 0; i < 400; i++) {
      text += i % 50 === 0 ? CLAUDE : "";
      text += assistant(`msg_${i}`, [{ type: "thinking", thinking: "…" }]) + assistant(`msg_${i}`, [{ type: "text", text: `réponse ${i} ✓` }]);
      text += assistant(`msg_${i}`, [{ type: "tool_use", id: `t${i}`, name: "Bash", input: { command: `echo ${i}` } }]);
      text += JSON.stringify({ type: "user", message: { role: "user", content: [{ type: "tool_result", tool_use_id: `t${i}`, content: "o".repeat(i * 5) }] } }) + "\n";
    }
    const content = Buffer.from(text);
    writeFileSync(file, "");
    let pos = 0;
    const writer = (async () => {
      while (pos < content.length) {
        const piece = rand(1, 6000);
        appendFileSync(file, content.subarray(pos, pos + piece));
        pos += piece;
        await new Promise((r) => setTimeout(r, 12)); // ~5 s of writing: several kills land mid-write
      }
    })();

    const outbox = new Outbox(dbPath);
    const offset = () => transcriptCursor.safeParse(outbox.getCursor(transcriptCursorKey(SID))).data?.offset ?? 0;
    let kills = 0;
    let killsWhileWriting = 0;
    try {
      while (pos < content.length || kills < 5) {
        const p = spawnTailer();
        const from = offset();
        // Let it start and make some progress (or time out), then kill it at a random instant.
        await waitFor(() => offset() > from || pos >= content.length, "progress", 5_000).catch(() => undefined);
        await new Promise((r) => setTimeout(r, rand(0, 150)));
        if (pos < content.length) killsWhileWriting += 1;
        await kill(p);
        kills += 1;
      }
      await writer;
      const last = spawnTailer();
      await waitFor(() => offset() === content.length, "final catch-up", 15_000);
      await kill(last);
      expect(rows(outbox)).toEqual(onePass("claude-code", content));
      expect(killsWhileWriting).toBeGreaterThanOrEqual(4);
    } finally {
      outbox.close();
    }
  }, 30_000);
});
