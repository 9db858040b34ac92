// Shared by the control plane's own tests (excluded from the build, like *.test.ts).

/** Polls `ok` until it holds; fails naming `what` after `timeoutMs`. Never a fixed wait. */
export async function until(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
