import type { Command } from "commander";
import { AppError, type TerminalFrame } from "@codepiper/core";
import { toAppError } from "@codepiper/agent";
import { call, type ApiHandle } from "../client.js";
import { outputFor, withApi } from "../context.js";
import type { Output } from "../output.js";
import { parseIntArg } from "../parse.js";
import { shortId } from "./sessions.js";

/** Detach key of `attach`: Ctrl-] (0x1d), like telnet. Ctrl-B d belongs to tmux, and Ctrl-C must reach the agent. */
export const DETACH_BYTE = 0x1d;
export const DETACH_KEY = "ctrl+]";

/** Largest raw chunk per sessions.input call: its base64 must fit the 64 KiB raw-input limit. */
const INPUT_CHUNK = 32 * 1024;

/** Leaves whatever modes the remote program switched the local terminal into. */
const RESET_TERMINAL = "\x1b[0m\x1b[?25h\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?2004l\x1b[?1049l";
const CLEAR_SCREEN = "\x1b[H\x1b[2J\x1b[3J";

/**
 * Splits what the keyboard sent at the detach byte: what comes before it is still sent, the
 * rest is dropped. Pure, for tests.
 */
export function splitAtDetach(chunk: Buffer): { send: Buffer; detach: boolean } {
  const at = chunk.indexOf(DETACH_BYTE);
  return at < 0 ? { send: chunk, detach: false } : { send: chunk.subarray(0, at), detach: true };
}

/**
 * Applies terminal frames in order: a snapshot replaces the screen, output after it is written
 * unless the snapshot already holds it (seq ≤ snapshot.seq), and after `resync` nothing is shown
 * until the next snapshot. Returns what to write (or null) and whether the session ended.
 */
export class FrameSink {
  private seq = -1;
  private waiting = true;

  constructor(private readonly clear: boolean) {}

  apply(frame: TerminalFrame): { write: Buffer | null; ended?: string } {
    switch (frame.kind) {
      case "snapshot":
        this.seq = frame.seq;
        this.waiting = false;
        return { write: Buffer.concat([Buffer.from(this.clear ? RESET_TERMINAL + CLEAR_SCREEN : ""), Buffer.from(frame.data, "base64")]) };
      case "output":
        if (this.waiting || frame.seq <= this.seq) return { write: null };
        this.seq = frame.seq;
        return { write: Buffer.from(frame.data, "base64") };
      case "resync":
        this.waiting = true;
        return { write: null };
      case "ended":
        return { write: null, ended: frame.reason };
    }
  }
}

interface StreamOptions {
  /** Keyboard passthrough and resize (attach); otherwise read-only (attach --follow, tail -f). */
  interactive: boolean;
  out: Output;
}

function frameOf(data: unknown): TerminalFrame {
  const d = data as { kind?: unknown; data?: unknown };
  return (typeof d?.kind === "string" ? d : d?.data) as TerminalFrame;
}

/** Streams a session's terminal until it ends, the user detaches, or a signal arrives. */
async function streamTerminal(h: ApiHandle, ref: string, opts: StreamOptions): Promise<void> {
  const { interactive, out } = opts;
  // Resolve the reference first: an unknown or ambiguous id fails with its exit code before any raw mode.
  const view = await call(h, (api) => api.sessions.get.query({ session: ref }));
  const session = view.id;
  const stdin = process.stdin;
  const stdout = process.stdout;
  const tty = interactive && stdout.isTTY === true;
  const sink = new FrameSink(tty);
  let restored = false;
  const cleanups: (() => void)[] = [];
  const restore = () => {
    if (restored) return;
    restored = true;
    for (const c of cleanups.splice(0).reverse()) {
      try {
        c();
      } catch {
        // Best effort: the terminal must be restored on every path.
      }
    }
  };
  process.once("exit", restore);
  cleanups.push(() => process.removeListener("exit", restore));

  let failed: ((err: unknown) => void) | null = null;
  let finished = false;
  const sendQueue: Buffer[] = [];
  let sending: Promise<void> = Promise.resolve();
  let flushScheduled = false;
  const flush = () => {
    flushScheduled = false;
    if (sendQueue.length === 0) return;
    const batch = Buffer.concat(sendQueue.splice(0));
    // One call per tick, chained: keystrokes reach the session in the order they were typed.
    sending = sending.then(async () => {
      for (let i = 0; i < batch.length; i += INPUT_CHUNK) {
        const data = batch.subarray(i, i + INPUT_CHUNK).toString("base64");
        await call(h, (api) => api.sessions.input.mutate({ session, data }));
      }
    });
    sending.catch((err: unknown) => failed?.(err));
  };

  try {
    await new Promise<void>((resolve, reject) => {
      failed = (err) => reject(err instanceof AppError ? err : toAppError(err, h.url));
      let detach: () => void = () => resolve();
      if (interactive) {
        stdin.setRawMode(true);
        cleanups.push(() => stdin.setRawMode(false));
        if (tty) cleanups.push(() => stdout.write(RESET_TERMINAL));
        const onKeys = (chunk: Buffer) => {
          const { send, detach: leave } = splitAtDetach(chunk);
          if (send.length > 0) sendQueue.push(send);
          if (!flushScheduled) {
            flushScheduled = true;
            setImmediate(flush);
          }
          if (leave) {
            // Whatever was typed before the detach key still goes out.
            flush();
            sending.then(() => detach(), () => detach());
          }
        };
        stdin.on("data", onKeys);
        stdin.resume();
        cleanups.push(() => {
          stdin.removeListener("data", onKeys);
          stdin.pause();
        });
        const resize = () => {
          const cols = stdout.columns;
          const rows = stdout.rows;
          if (!cols || !rows) return;
          call(h, (api) => api.sessions.resize.mutate({ session, cols: Math.min(1000, Math.max(2, cols)), rows: Math.min(1000, Math.max(2, rows)) })).catch((err: unknown) => failed?.(err));
        };
        if (stdout.isTTY) {
          resize();
          process.on("SIGWINCH", resize);
          cleanups.push(() => process.removeListener("SIGWINCH", resize));
        }
        detach = () => {
          finished = true;
          restore();
          process.stderr.write(`\r\ndetached from ${shortId(session)} (it keeps running)\n`);
          resolve();
        };
        process.stderr.write(`attached to ${shortId(session)} on ${view.hostName}; detach with ${DETACH_KEY}\r\n`);
      } else if (!out.json) {
        process.stderr.write(`following ${shortId(session)} on ${view.hostName} read-only (Ctrl-C to stop)\n`);
      }

      const sub = h.api.sessions.terminal.subscribe(
        { session },
        {
          onData: (data: unknown) => {
            if (finished) return;
            const frame = frameOf(data);
            if (frame.kind === "ended") finished = true;
            if (out.json) {
              out.line(frame, () => "");
              if (frame.kind === "ended") resolve();
              return;
            }
            const { write, ended } = sink.apply(frame);
            if (write) stdout.write(write);
            if (ended !== undefined) {
              restore();
              process.stderr.write(`\r\nsession ${shortId(session)} ended: ${ended}\n`);
              resolve();
            }
          },
          onError: (err) => {
            if (!finished) failed?.(err);
          },
          onComplete: () => {
            // The last frames may still be on their way through the client: let them land first.
            setImmediate(() => {
              if (finished) return;
              finished = true;
              restore();
              if (!out.json) process.stderr.write(`\r\nterminal stream of ${shortId(session)} closed\n`);
              resolve();
            });
          },
        },
      );
      cleanups.push(() => sub.unsubscribe());
      const stop = () => {
        restore();
        resolve();
      };
      for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(sig, stop);
        cleanups.push(() => process.removeListener(sig, stop));
      }
    });
  } finally {
    restore();
  }
}

export function registerTerminal(program: Command): void {
  program
    .command("attach")
    .description(`attach your terminal to a session: keys go through, resize follows; detach with ${DETACH_KEY}`)
    .argument("<session>", "session id, unique id prefix, or name")
    .option("--follow", "read-only: show the terminal live, send nothing (works without a TTY)")
    .addHelpText(
      "after",
      `\nDetach key: ${DETACH_KEY} (Ctrl and the right square bracket, as in telnet). Ctrl-C, Ctrl-B and every other key go\n` +
        "to the session. The session keeps running after you detach. Without --follow, standard input must be a\n" +
        "terminal; to type from a script use codepiper send / codepiper keys. With --json (only with --follow)\n" +
        "every terminal frame is printed as one JSON line (data is base64).",
    )
    .action(async (session: string, opts: { follow?: boolean }, cmd: Command) => {
      const out = outputFor(cmd);
      if (!opts.follow && out.json) throw new AppError("CODEPIPER_BAD_INPUT", "attach is interactive: --json works only with --follow (or use codepiper tail -f --json)");
      if (!opts.follow && !process.stdin.isTTY) {
        throw new AppError("CODEPIPER_BAD_INPUT", "standard input is not a terminal: attach needs one to pass keys through; use attach --follow to watch read-only, or codepiper send / keys to type into the session");
      }
      await withApi(cmd, (h) => streamTerminal(h, session, { interactive: !opts.follow, out }));
    });

  program
    .command("tail")
    .description("print a session's terminal as plain text (screen + N lines of scrollback); -f streams it live, read-only")
    .argument("<session>", "session id, unique id prefix, or name")
    .option("-f, --follow", "keep streaming the terminal (with escapes, like attach --follow); never reads standard input")
    .option("-n, --lines <n>", "lines of scrollback above the screen (without -f)", "0")
    .action(async (session: string, opts: { follow?: boolean; lines: string }, cmd: Command) => {
      const out = outputFor(cmd);
      const lines = parseIntArg(opts.lines, "-n", 0);
      if (lines > 100_000) throw new AppError("CODEPIPER_BAD_INPUT", "-n: at most 100000 lines");
      await withApi(cmd, async (h) => {
        if (opts.follow) return streamTerminal(h, session, { interactive: false, out });
        const res = await call(h, (api) => api.sessions.capture.query({ session, lines }));
        out.result(res, () => res.text.replace(/\n+$/, ""));
      });
    });
}
