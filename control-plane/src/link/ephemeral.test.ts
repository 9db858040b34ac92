import { describe, expect, it } from "vitest";
import { AppError } from "@codepiper/core";
import { EphemeralHub } from "./ephemeral.js";

const SESSION = "7f0c1b6e-2a57-4c3e-9d1e-0b7e2f3a4c5d";

/** Drains one host channel, answering each request with `answer`. */
function serve(hub: EphemeralHub, hostId: string, connectionId: string, answer: (type: string, payload: unknown) => { ok: boolean; result?: unknown }) {
  const controller = new AbortController();
  const seen: string[] = [];
  const done = (async () => {
    for await (const req of hub.attach(hostId, connectionId, controller.signal)) {
      seen.push(req.type);
      const a = answer(req.type, req.payload);
      hub.reply(hostId, connectionId, { id: req.id, ok: a.ok, ...(a.ok ? { result: a.result } : { error: { code: "CODEPIPER_NOT_FOUND", message: "no such session here" } }) });
    }
  })();
  return { seen, stop: () => controller.abort(), done };
}

describe("EphemeralHub", () => {
  it("fails at once for a host that is not linked", async () => {
    const hub = new EphemeralHub();
    await expect(hub.request("h", "terminal.unwatch", { sessionId: SESSION })).rejects.toMatchObject({ code: "CODEPIPER_HOST_OFFLINE" });
  });

  it("delivers requests in order and returns the host's answer or its domain error", async () => {
    const hub = new EphemeralHub();
    const host = serve(hub, "h", "c1", (type) => (type === "terminal.capture" ? { ok: true, result: { text: "pane" } } : { ok: false }));
    await expect(hub.request("h", "terminal.capture", { sessionId: SESSION, lines: 0 })).resolves.toEqual({ text: "pane" });
    const err = await hub.request("h", "terminal.unwatch", { sessionId: SESSION }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("CODEPIPER_NOT_FOUND");
    expect(host.seen).toEqual(["terminal.capture", "terminal.unwatch"]);
    host.stop();
    await host.done;
  });

  it("a replaced link fails the old channel's pending requests; answers from the old connection are ignored", async () => {
    const hub = new EphemeralHub();
    const pending = hub.request("h", "terminal.capture", { sessionId: SESSION, lines: 0 });
    // Nobody drains yet; a newer link attaches and takes over.
    const first = hub.attach("h", "old", undefined);
    void first.next();
    const newer = serve(hub, "h", "new", () => ({ ok: true, result: { text: "from new" } }));
    await expect(pending).rejects.toMatchObject({ code: "CODEPIPER_HOST_OFFLINE" });
    expect(hub.reply("h", "old", { id: "whatever", ok: true })).toBe(false);
    await expect(hub.request("h", "terminal.capture", { sessionId: SESSION, lines: 0 })).resolves.toEqual({ text: "from new" });
    newer.stop();
    await newer.done;
    expect(hub.isAttached("h")).toBe(false);
  });

  it("times out when the host never answers", async () => {
    const hub = new EphemeralHub();
    const controller = new AbortController();
    const it = hub.attach("h", "c", controller.signal);
    void it.next();
    await expect(hub.request("h", "terminal.capture", { sessionId: SESSION, lines: 0 }, 50)).rejects.toMatchObject({ code: "CODEPIPER_TIMEOUT" });
    controller.abort();
  });
});
