import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Outbox, type NewEvent } from "./outbox.js";

const events = (n: number, type = "test.unit", from = 0): NewEvent[] => Array.from({ length: n }, (_, k) => ({ type, payload: { i: from + k } }));

describe("Outbox", () => {
  let dir: string;
  let path: string;
  const open: Outbox[] = [];
  const outbox = () => {
    const o = new Outbox(path);
    open.push(o);
    return o;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "codepiper-outbox-"));
    path = join(dir, "outbox.db");
  });
  afterEach(() => {
    vi.useRealTimers();
    for (const o of open.splice(0)) {
      try {
        o.close();
      } catch {
        // already closed by the test
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  describe("events", () => {
    it("append assigns increasing seqs; readAfter returns them oldest first, after a seq, up to a limit", () => {
      const o = outbox();
      const at = new Date("2026-01-02T03:04:05.678Z");
      expect(o.append([{ type: "a.one", sessionId: null, payload: { x: 1 }, at }, { type: "a.two", payload: null }])).toEqual([1, 2]);
      expect(o.append(events(3))).toEqual([3, 4, 5]);

      const all = o.readAfter(0, 100);
      expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(all[0]).toEqual({ seq: 1, type: "a.one", sessionId: null, at: at.toISOString(), payload: { x: 1 } });
      expect(all[1]!.payload).toBeNull();
      expect(o.readAfter(2, 2).map((e) => e.seq)).toEqual([3, 4]);
      expect(o.readAfter(5, 10)).toEqual([]);
      expect(o.pending()).toBe(5);
      expect(o.lastSeq()).toBe(5);
    });

    it("an empty append is a no-op, and an empty outbox has lastSeq 0", () => {
      const o = outbox();
      expect(o.lastSeq()).toBe(0);
      expect(o.append([])).toEqual([]);
      expect(o.pending()).toBe(0);
    });

    it("prune deletes up to the acknowledged seq, and only that", () => {
      const o = outbox();
      o.append(events(10));
      expect(o.prune(4)).toBe(4);
      expect(o.pending()).toBe(6);
      expect(o.readAfter(0, 100).map((e) => e.seq)).toEqual([5, 6, 7, 8, 9, 10]);
      expect(o.prune(4)).toBe(0); // idempotent
      expect(o.prune(100)).toBe(6);
      expect(o.pending()).toBe(0);
    });

    it("never reuses a seq after pruning, even across a reopen", () => {
      const o = outbox();
      o.append(events(3));
      o.prune(3);
      expect(o.pending()).toBe(0);
      expect(o.append(events(1))).toEqual([4]);
      o.prune(4);
      o.close();

      const reopened = outbox();
      expect(reopened.lastSeq()).toBe(4);
      expect(reopened.append(events(2))).toEqual([5, 6]);
    });

    it("another connection (the `agent emit` process) appends concurrently: seqs stay unique and ordered, and dataVersion notices", () => {
      const agent = outbox();
      const emitter = outbox();
      const before = agent.dataVersion();
      const seqs = [...emitter.append(events(2)), ...agent.append(events(2)), ...emitter.append(events(2))];
      expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
      expect(agent.dataVersion()).not.toBe(before);
      expect(agent.readAfter(0, 10).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it("rebaseAbove: a wiped outbox renumbers pending events above what the control plane already holds", () => {
      const o = outbox();
      o.append(events(3));
      expect(o.rebaseAbove(100)).toBe(3);
      expect(o.readAfter(0, 10).map((e) => [e.seq, (e.payload as { i: number }).i])).toEqual([
        [101, 0],
        [102, 1],
        [103, 2],
      ]);
      expect(o.lastSeq()).toBe(103);
      expect(o.append(events(1))).toEqual([104]);
    });

    it("rebaseAbove: an empty wiped outbox continues above the acknowledged seq", () => {
      const o = outbox();
      expect(o.rebaseAbove(50)).toBe(0);
      expect(o.lastSeq()).toBe(50);
      expect(o.append(events(1))).toEqual([51]);
    });

    it("rebaseAbove does nothing when the outbox is already ahead of (or level with) the control plane", () => {
      const o = outbox();
      o.append(events(5));
      o.prune(2);
      expect(o.rebaseAbove(5)).toBe(0);
      expect(o.rebaseAbove(3)).toBe(0);
      expect(o.readAfter(0, 10).map((e) => e.seq)).toEqual([3, 4, 5]);
      expect(o.append(events(1))).toEqual([6]);
    });
  });

  describe("the commands journal", () => {
    it("start records a command once; a second start is refused (never run twice)", () => {
      const o = outbox();
      expect(o.getCommand("7")).toBeNull();
      expect(o.startCommand("7", "ping")).toBe(true);
      expect(o.startCommand("7", "ping")).toBe(false);
      expect(o.getCommand("7")).toEqual({
        id: "7",
        type: "ping",
        state: "started",
        ok: null,
        result: undefined,
        errorCode: null,
        errorMessage: null,
        acked: false,
      });
    });

    it("finish records the outcome (success with a result, or an error), and it survives a reopen", () => {
      const o = outbox();
      o.startCommand("1", "ping");
      o.startCommand("2", "ping");
      o.finishCommand("1", { ok: true, result: { pong: true } });
      o.finishCommand("2", { ok: false, errorCode: "CODEPIPER_TIMEOUT", errorMessage: "too late" });
      o.close();

      const r = outbox();
      expect(r.getCommand("1")).toMatchObject({ state: "done", ok: true, result: { pong: true }, acked: false });
      expect(r.getCommand("2")).toMatchObject({ state: "done", ok: false, result: undefined, errorCode: "CODEPIPER_TIMEOUT", errorMessage: "too late" });
      expect(r.startCommand("1", "ping")).toBe(false);
    });

    it("ack marks a command acknowledged; unackedCommandIds lists the others oldest first", () => {
      const o = outbox();
      for (const id of ["3", "1", "2"]) o.startCommand(id, "ping");
      o.finishCommand("3", { ok: true });
      expect(o.unackedCommandIds()).toEqual(["3", "1", "2"]);
      o.markAcked("3");
      expect(o.getCommand("3")!.acked).toBe(true);
      expect(o.unackedCommandIds()).toEqual(["1", "2"]);
    });

    it("pruneCommands forgets only acknowledged commands finished longer ago than asked", () => {
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(new Date("2026-03-01T00:00:00Z"));
      const o = outbox();
      for (const id of ["old-acked", "old-unacked", "new-acked"]) o.startCommand(id, "ping");
      o.finishCommand("old-acked", { ok: true });
      o.finishCommand("old-unacked", { ok: true });
      o.markAcked("old-acked");
      vi.setSystemTime(new Date("2026-03-09T00:00:00Z"));
      o.finishCommand("new-acked", { ok: true });
      o.markAcked("new-acked");

      expect(o.pruneCommands(7 * 86_400_000)).toBe(1);
      expect(o.getCommand("old-acked")).toBeNull();
      expect(o.getCommand("old-unacked")).not.toBeNull();
      expect(o.getCommand("new-acked")).not.toBeNull();
      // A forgotten command is unknown again, but only acknowledged ones are ever forgotten.
      expect(o.unackedCommandIds()).toEqual(["old-unacked"]);
    });
  });
});
