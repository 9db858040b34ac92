/**
 * Exits with `code` once everything already written to stdout and stderr has been handed to the OS.
 *
 * The CLI exits explicitly when a command is done (long-lived clients such as WebSocket reconnect
 * timers must not keep a finished command alive). But on POSIX, Node writes to pipes
 * asynchronously: whatever did not fit in the pipe buffer at once is queued, and a bare
 * `process.exit()` drops it. `codepiper events --json | jq …` with 10,000 events (~3 MB) received
 * a truncated document. A zero-length write's callback runs after every earlier write on that
 * stream has been flushed, so exit waits for both.
 */
export function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  let waiting = 2;
  const done = () => {
    if (--waiting === 0) process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    // A reader that went away (EPIPE: `codepiper events --json | head -1`) is not a crash: the
    // write callback still runs (with the error) and the exit goes ahead.
    stream.on("error", () => undefined);
    if (stream.destroyed || !stream.writable) done();
    else stream.write("", done);
  }
}
