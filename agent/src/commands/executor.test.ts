import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppError, type CommandEnvelope } from "@codepiper/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createAgentLogger } from "../log.js";
import { Outbox } from "../outbox.js";
import { CommandExecutor, type CommandHandlers } from "./executor.js";

const log = createAgentLogger({ level: "silent" });
const inAMinute = () => new Date(Date.now() + 60_000).toISOString();
const ping = (id: string, over: Partial<CommandEnvelope> = {}): CommandEnvelope => ({ id, type: "ping", payload: { sentAt: 1 }, expiresAt: inAMinute(), ...over });

describe("CommandExecutor: at most once, through the journal", () => {
  let dir: string;
  let outbox: Outbox;
  let runs: number;
  let handlers: CommandHandlers;
  /** Only `ping` runs in these tests; every session handler fails loudly if reached. */
  const withPing = (ping: CommandHandlers["ping"]): CommandHandlers => {
    const never = async (): Promise<never> => {
      throw new Error("not used in this test");
    };
    return { ping, "session.start": never, "session.stop": never, "session.kill": never, "session.resume": never, "session.model": never };
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "codepiper-exec-"));
    outbox = new Outbox(join(dir, "outbox.db"));
    runs = 0;
    handlers = withPing(vi.fn(async () => ({ pong: true, run: ++runs })));
  });
  afterEach(() => {
    outbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An executor as a freshly (re)started agent has it: only the journal survives a restart. */
  const restarted = () => new CommandExecutor(outbox, log, handlers);

  it("runs a new command once, journals its outcome and acknowledges it", async () => {
    const ex = restarted();
    expect(await ex.execute(ping("1"))).toEqual({ id: "1", ok: true, result: { pong: true, run: 1 } });
    expect(handlers.ping).toHaveBeenCalledTimes(1);
    expect(outbox.getCommand("1")).toMatchObject({ state: "done", ok: true, result: { pong: true, run: 1 } });
  });

  it("a command journaled as done (its acknowledgement was lost) is re-acknowledged with the recorded outcome, not run", async () => {
    await restarted().execute(ping("1"));
    const again = await restarted().execute(ping("1"));
    expect(again).toEqual({ id: "1", ok: true, result: { pong: true, run: 1 } });
    expect(handlers.ping).toHaveBeenCalledTimes(1);
  });

  it("a command started but never finished (the agent died while running it) is reported interrupted and not run again", async () => {
    expect(outbox.startCommand("9", "ping")).toBe(true); // the previous process got this far
    const ack = await restarted().execute(ping("9"));
    expect(ack.ok).toBe(false);
    expect(ack.error).toEqual({ code: "CODEPIPER_INTERNAL", message: expect.stringMatching(/^interrupted: .*not run again/) });
    expect(handlers.ping).not.toHaveBeenCalled();
    expect(outbox.getCommand("9")).toMatchObject({ state: "done", ok: false });
    // And it stays that way on every later delivery.
    expect(await restarted().execute(ping("9"))).toEqual(ack);
    expect(handlers.ping).not.toHaveBeenCalled();
  });

  it("an expired command is not run; the refusal is journaled so a redelivery gets the same answer", async () => {
    const ex = restarted();
    const ack = await ex.execute(ping("4", { expiresAt: new Date(Date.now() - 1).toISOString() }));
    expect(ack).toEqual({ id: "4", ok: false, error: { code: "CODEPIPER_TIMEOUT", message: "the command expired before it reached this host" } });
    expect(handlers.ping).not.toHaveBeenCalled();
    // Even if it were delivered again with a fresh expiry, it is never run.
    expect(await ex.execute(ping("4"))).toEqual(ack);
    expect(handlers.ping).not.toHaveBeenCalled();
  });

  it("an unknown command type is rejected (upgrade the agent), not run", async () => {
    const ack = await restarted().execute({ id: "5", type: "format-disk", payload: {}, expiresAt: inAMinute() });
    expect(ack).toEqual({ id: "5", ok: false, error: { code: "CODEPIPER_BAD_INPUT", message: expect.stringMatching(/does not know command type format-disk: upgrade/) } });
    expect(handlers.ping).not.toHaveBeenCalled();
    expect(outbox.getCommand("5")).toMatchObject({ type: "format-disk", state: "done", ok: false });
  });

  it("an invalid payload is rejected, not run", async () => {
    const ack = await restarted().execute(ping("6", { payload: { sentAt: "yesterday" } }));
    expect(ack.ok).toBe(false);
    expect(ack.error?.code).toBe("CODEPIPER_BAD_INPUT");
    expect(handlers.ping).not.toHaveBeenCalled();
  });

  it("a failing handler is journaled as failed: domain errors keep their code, others are not leaked", async () => {
    handlers = withPing(vi.fn(async () => Promise.reject(new AppError("CODEPIPER_CONFLICT", "session already exists"))));
    expect(await restarted().execute(ping("1"))).toEqual({ id: "1", ok: false, error: { code: "CODEPIPER_CONFLICT", message: "session already exists" } });
    handlers = withPing(vi.fn(async () => Promise.reject(new Error("secret=hunter2 in a stack trace"))));
    expect(await restarted().execute(ping("2"))).toEqual({ id: "2", ok: false, error: { code: "CODEPIPER_INTERNAL", message: "the command failed on the host" } });
    expect(handlers.ping).toHaveBeenCalledTimes(1);
  });

  it("a command redelivered while it is still running here (the link dropped) waits for that run: not interrupted, not run twice", async () => {
    let finish!: () => void;
    handlers = withPing(
      vi.fn(async () => {
        await new Promise<void>((r) => (finish = r));
        return { pong: true, run: ++runs };
      }),
    );
    const ex = restarted();
    const first = ex.execute(ping("3"));
    await vi.waitFor(() => expect(handlers.ping).toHaveBeenCalledTimes(1));
    const redelivered = ex.execute(ping("3"));
    expect(ex.unacknowledged()).toEqual([]); // running: acknowledged by its own run, not by the flush
    finish();
    const expected = { id: "3", ok: true, result: { pong: true, run: 1 } };
    expect(await first).toEqual(expected);
    expect(await redelivered).toEqual(expected);
    expect(handlers.ping).toHaveBeenCalledTimes(1);
  });

  it("unacknowledged() lists every outcome the control plane may not have, closing dead runs as interrupted", async () => {
    const ex = restarted();
    await ex.execute(ping("1"));
    await ex.execute(ping("2"));
    outbox.markAcked("1");
    outbox.startCommand("3", "ping"); // died mid-run in a previous process
    const pending = restarted().unacknowledged();
    expect(pending.map((a) => [a.id, a.ok])).toEqual([
      ["2", true],
      ["3", false],
    ]);
    expect(pending[1]!.error?.message).toMatch(/^interrupted/);
    expect(handlers.ping).toHaveBeenCalledTimes(2);
  });
});
