import { describe, expect, it } from "vitest";
import { InProcessBus } from "./bus.js";
import { liveQuery } from "./live.js";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("liveQuery", () => {
  it("yields at once, then once more for a burst that arrived while querying (none lost, none extra)", async () => {
    const bus = new InProcessBus();
    const abort = new AbortController();
    let passes = 0;
    let gate = deferred();
    const it = liveQuery(bus, { prompt: ["t"], signal: abort.signal }, async () => {
      passes++;
      if (passes === 2) await gate.promise; // the second pass is slow: a burst lands during it
      return passes;
    });
    expect((await it.next()).value).toBe(1);
    bus.publish("t");
    const second = it.next();
    await Promise.resolve();
    for (let i = 0; i < 10; i++) bus.publish("t"); // during pass 2
    gate.resolve();
    expect((await second).value).toBe(2);
    expect((await it.next()).value).toBe(3); // exactly one more pass for the whole burst
    gate = deferred();
    const idle = it.next();
    abort.abort();
    expect((await idle).done).toBe(true);
    expect(passes).toBe(3);
  });

  it("throttles load-only topics but lets prompt topics through", async () => {
    const bus = new InProcessBus();
    const abort = new AbortController();
    let clock = 0;
    let n = 0;
    const it = liveQuery(bus, { prompt: ["hosts"], throttled: ["load"], throttleMs: 1000, signal: abort.signal, now: () => clock }, () => Promise.resolve(++n));
    expect((await it.next()).value).toBe(1);
    clock = 10;
    bus.publish("load"); // within 1 s of the last pass: waits (on a real timer) until it is due
    const next = it.next();
    bus.publish("hosts"); // a prompt change wakes it at once, load included
    expect((await next).value).toBe(2);
    abort.abort();
    expect((await it.next()).done).toBe(true);
  });
});
