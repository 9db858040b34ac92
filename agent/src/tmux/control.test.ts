import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlClient, decodeOctal, type ControlItem, type OutputChunk, type OverflowMark } from "./control.js";
import { waitFor as pollUntil } from "../../../tests/src/support/wait.js";
import { TmuxDriver } from "./driver.js";

/** Polls with a deadline (the shared test helper); never a fixed sleep. */
const waitFor = <T>(probe: () => Promise<T> | T, what: string, timeoutMs = 20_000) => pollUntil(probe, { what, timeoutMs, intervalMs: 20 });

let dir: string;
let driver: TmuxDriver;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "cp-tmuxc-"));
  driver = new TmuxDriver(join(dir, "tmux.sock"));
});

afterAll(async () => {
  await driver.killServer();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A pane that waits for one line of input, then runs `script`. With `-echo -onlcr` the tty neither
 * echoes the trigger nor turns \n into \r\n, so the pane's output is exactly what the script writes.
 */
async function startTriggered(script: string): Promise<{ name: string; trigger(): Promise<void> }> {
  const name = `codepiper-${randomUUID()}`;
  await driver.newSession({ name, cwd: dir, command: ["sh", "-c", `stty -echo -onlcr; printf ready; read x; ${script}; exec cat`], env: {}, cols: 80, rows: 24 });
  // Only once stty has run may we type: otherwise the tty echoes the trigger into the output.
  await waitFor(async () => (await driver.capture(name)).includes("ready"), "pane ready");
  return { name, trigger: () => driver.sendText(name, "go", { enter: true }) };
}

async function attach(name: string, maxQueuedBytes?: number): Promise<ControlClient> {
  const { paneId } = await driver.paneInfo(name);
  const client = new ControlClient(driver, name, { paneId, ...(maxQueuedBytes ? { maxQueuedBytes } : {}) });
  // A command round trip proves the attach is complete, so no output is produced before we listen.
  expect(await client.command("display-message -p attached")).toEqual(["attached"]);
  return client;
}

function collect(client: ControlClient, items: ControlItem[]): Promise<void> {
  return (async () => {
    for await (const item of client) items.push(item);
  })();
}

function bytesOf(items: ControlItem[]): Buffer {
  return Buffer.concat(items.filter((i): i is OutputChunk => i.kind === "output").map((i) => i.data));
}

describe("decodeOctal", () => {
  it("turns tmux's \\ooo escapes back into bytes and leaves other bytes alone", () => {
    const line = Buffer.concat([Buffer.from("%output %1 a\\033[31mb\\015\\012\\134x"), Buffer.from([0xc3, 0xa9])]);
    expect(decodeOctal(line, "%output %1 ".length)).toEqual(Buffer.concat([Buffer.from("a\x1b[31mb\r\n\\x"), Buffer.from([0xc3, 0xa9])]));
  });
});

describe("ControlClient against real tmux", () => {
  it("delivers the exact bytes of a small write", async () => {
    const s = await startTriggered("printf 'a\\033[31mb\\n'");
    const client = await attach(s.name);
    const items: ControlItem[] = [];
    const done = collect(client, items);
    await s.trigger();
    const expected = Buffer.from("a\x1b[31mb\n", "latin1");
    await waitFor(() => bytesOf(items).length >= expected.length, "output");
    expect(bytesOf(items)).toEqual(expected);
    expect(items.map((i) => (i as OutputChunk).seq)).toEqual(items.map((_, k) => k + 1));
    client.close();
    await done;
  });

  it("delivers a 1 MiB base64 burst in order with contiguous sequence numbers", async () => {
    const file = join(dir, "burst.txt");
    const s = await startTriggered(`head -c 1048576 /dev/urandom | base64 > '${file}.tmp' && mv '${file}.tmp' '${file}' && read y && cat '${file}'`);
    const client = await attach(s.name, 64 * 1024 * 1024);
    const items: ControlItem[] = [];
    const done = collect(client, items);
    await s.trigger();
    // The first trigger makes the file; the second one dumps it. Wait for the file in between.
    await waitFor(() => {
      try {
        return readFileSync(file).length > 1_000_000;
      } catch {
        return false;
      }
    }, "burst file");
    const expected = readFileSync(file);
    await s.trigger();
    await waitFor(() => bytesOf(items).length >= expected.length, `${expected.length} bytes`, 30_000);
    expect(items.every((i) => i.kind === "output")).toBe(true);
    expect(items.map((i) => (i as OutputChunk).seq)).toEqual(items.map((_, k) => k + 1));
    expect(bytesOf(items).equals(expected)).toBe(true);
    client.close();
    await done;
  });

  it("replaces the queue with an overflow mark when a consumer falls behind the bound", async () => {
    const s = await startTriggered("head -c 1048576 /dev/urandom | base64");
    // Above one pipe read (64 KiB): a consumer that keeps up drains the queue between reads, so
    // only the unread burst can overflow it, never the catch-up below.
    const max = 256 * 1024;
    const client = await attach(s.name, max);
    const overflows: OverflowMark[] = [];
    client.on("overflow", (m) => overflows.push(m));
    await s.trigger(); // nobody reads while the burst arrives
    await waitFor(() => overflows.length > 0, "overflow event");
    expect(client.queued).toBeLessThanOrEqual(max);
    const first = await client.next();
    expect(first?.kind).toBe("overflow");
    const mark = first as OverflowMark;
    expect(mark.firstDroppedSeq).toBe(1);
    expect(mark.lastDroppedSeq).toBeGreaterThanOrEqual(mark.firstDroppedSeq);
    expect(mark.droppedBytes).toBeGreaterThan(max);
    // Keep reading until `cat` echoes our next line after the burst. Every item continues the
    // numbering exactly where the previous one (chunk or overflow range) ended: nothing is lost
    // silently, even if the burst overflows again while we catch up.
    await s.trigger();
    let expectedSeq = mark.lastDroppedSeq + 1;
    let tail = "";
    while (!tail.endsWith("go\n")) {
      const item = await client.next();
      if (item === null) throw new Error("stream ended early");
      if (item.kind === "output") {
        expect(item.seq).toBe(expectedSeq);
        expectedSeq += 1;
        tail = (tail + item.data.toString("latin1")).slice(-16);
      } else {
        expect(item.firstDroppedSeq).toBe(expectedSeq);
        expectedSeq = item.lastDroppedSeq + 1;
      }
    }
    client.close();
  });

  it("reports %exit and ends the stream when the session is killed", async () => {
    const s = await startTriggered("true");
    const client = await attach(s.name);
    const exited = new Promise<string>((resolve) => client.once("exit", resolve));
    const closed = new Promise<number | null>((resolve) => client.once("close", resolve));
    const items: ControlItem[] = [];
    const done = collect(client, items);
    await driver.kill(s.name);
    expect(typeof (await exited)).toBe("string");
    await closed;
    await done;
    await expect(client.command("list-sessions")).rejects.toMatchObject({ code: "CODEPIPER_UNREACHABLE" });
  });

  it("rejects a failing command with tmux's error", async () => {
    const s = await startTriggered("true");
    const client = await attach(s.name);
    await expect(client.command("no-such-command")).rejects.toThrow(/unknown command/);
    client.close();
  });
});
