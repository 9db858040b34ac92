import { describe, expect, it } from "vitest";
import { LIMITS } from "../limits.js";
import { eventBatchSchema, eventTypeSchema, outboxEventSchema } from "./events.js";

const event = (seq: number, extra: Partial<Record<string, unknown>> = {}) => ({ seq, type: "test.burst", sessionId: null, at: new Date(0).toISOString(), payload: { i: seq }, ...extra });

describe("event wire schemas", () => {
  it.each([
    ["host.started", true],
    ["session.state", true],
    ["a", true],
    ["Host.started", false],
    ["host..started", false],
    [".host", false],
    ["host started", false],
    ["x".repeat(101), false],
  ])("event type %s valid=%s", (type, valid) => {
    expect(eventTypeSchema.safeParse(type).success).toBe(valid);
  });

  it("accepts a batch in strictly increasing seq order", () => {
    expect(eventBatchSchema.safeParse({ events: [event(1), event(2), event(5)] }).success).toBe(true);
  });

  it.each([
    ["empty", []],
    ["equal seqs", [event(3), event(3)]],
    ["decreasing seqs", [event(3), event(2)]],
    ["seq 0", [event(0)]],
    ["fractional seq", [event(1.5)]],
    ["too many events", Array.from({ length: LIMITS.eventBatchSize + 1 }, (_, i) => event(i + 1))],
  ])("rejects a batch with %s", (_name, events) => {
    expect(eventBatchSchema.safeParse({ events }).success).toBe(false);
  });

  it("bounds the payload size", () => {
    const big = { blob: "x".repeat(LIMITS.eventPayloadBytes) };
    expect(outboxEventSchema.safeParse(event(1, { payload: big })).success).toBe(false);
    expect(outboxEventSchema.safeParse(event(1, { payload: { blob: "x".repeat(1000) } })).success).toBe(true);
  });

  it("requires a real timestamp and a uuid session", () => {
    expect(outboxEventSchema.safeParse(event(1, { at: "yesterday" })).success).toBe(false);
    expect(outboxEventSchema.safeParse(event(1, { sessionId: "not-a-uuid" })).success).toBe(false);
  });
});
