/**
 * Two-stage shutdown (STYLE.md): the first SIGINT/SIGTERM runs `graceful`; a second one, or
 * `graceful` taking longer than `hardAfterMs`, exits at once.
 */
export function onShutdown(graceful: (signal: NodeJS.Signals) => Promise<void>, hardAfterMs = 15_000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`codepiper: second ${signal}, exiting now\n`);
      process.exit(130);
    }
    stopping = true;
    setTimeout(() => {
      process.stderr.write("codepiper: graceful shutdown took too long, exiting now\n");
      process.exit(1);
    }, hardAfterMs).unref();
    graceful(signal).then(
      () => process.exit(process.exitCode ?? 0),
      (err: unknown) => {
        process.stderr.write(`codepiper: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}
