import { describe, expect, it } from "vitest";
import type { TerminalFrame } from "@codepiper/core";
import { pino } from "pino";
import { EphemeralHub } from "../link/ephemeral.js";
import { TerminalHub } from "./hub.js";

const SESSION = "7f0c1b6e-2a57-4c3e-9d1e-0b7e2f3a4c5d";

/** A host that answers watch/snapshot with a snapshot at its current output seq, and counts requests. */
function fakeHost(hub: EphemeralHub, state: { seq: number; requests: string[] }) {
  const controller = new AbortController();
  void (async () => {
    for await (const req of hub.attach("h", "c", controller.signal)) {
      state.requests.push(req.type);
      const result = { kind: "snapshot", seq: state.seq, data: Buffer.from(`screen@${state.seq}`).toString("base64"), cols: 80, rows: 24, cursorX: 0, cursorY: 0, alternateScreen: false };
      hub.reply("h", "c", { id: req.id, ok: true, result: req.type === "terminal.unwatch" ? { ok: true } : result });
    }
  })();
  return () => controller.abort();
}

async function take(it: AsyncGenerator<TerminalFrame>, n: number): Promise<TerminalFrame[]> {
  const out: TerminalFrame[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe("TerminalHub", () => {
  const log = pino({ level: "silent" });

  it("a watcher gets a snapshot, then only output after the snapshot's seq; the last watcher leaving unwatches", async () => {
    const ephemeral = new EphemeralHub();
    const terminals = new TerminalHub(ephemeral, log);
    const state = { seq: 5, requests: [] as string[] };
    const stop = fakeHost(ephemeral, state);
    const controller = new AbortController();
    const watcher = terminals.watch("h", SESSION, controller.signal);
    const first = watcher.next();
    // Output the snapshot already contains (seq ≤ 5) races in before the snapshot answer: dropped.
    terminals.push("h", SESSION, { kind: "output", seq: 5, data: "b2xk" });
    terminals.push("h", SESSION, { kind: "output", seq: 6, data: "bmV3" });
    const frames = [(await first).value as TerminalFrame, ...(await take(watcher, 1))];
    expect(frames.map((f) => f.kind)).toEqual(["snapshot", "output"]);
    expect((frames[1] as { seq: number }).seq).toBe(6);
    expect(state.requests).toEqual(["terminal.watch"]);
    // A frame for another host's session id is ignored.
    terminals.push("other-host", SESSION, { kind: "output", seq: 7, data: "eA==" });
    controller.abort();
    await watcher.next();
    expect(terminals.watching(SESSION)).toBe(0);
    await expect.poll(() => state.requests).toEqual(["terminal.watch", "terminal.unwatch"]);
    stop();
  });

  it("a watcher that falls behind is resynced with a fresh snapshot instead of growing memory", async () => {
    const ephemeral = new EphemeralHub();
    const terminals = new TerminalHub(ephemeral, log);
    const state = { seq: 0, requests: [] as string[] };
    const stop = fakeHost(ephemeral, state);
    const controller = new AbortController();
    const watcher = terminals.watch("h", SESSION, controller.signal);
    expect(((await watcher.next()).value as TerminalFrame).kind).toBe("snapshot");
    const chunk = Buffer.alloc(300 * 1024, 0x61).toString("base64");
    for (let seq = 1; seq <= 40; seq++) {
      state.seq = seq;
      terminals.push("h", SESSION, { kind: "output", seq, data: chunk });
    }
    const frames: TerminalFrame[] = [];
    for (;;) {
      const f = (await watcher.next()).value as TerminalFrame;
      frames.push(f);
      if (f.kind === "snapshot") break;
    }
    expect(frames[0]!.kind).toBe("resync");
    expect(frames.at(-1)!.kind).toBe("snapshot");
    expect(state.requests).toContain("terminal.snapshot");
    controller.abort();
    await watcher.next();
    stop();
  });
});
