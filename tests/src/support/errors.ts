/** The error `fn` throws (a test fails if it returns normally). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected an error, but nothing was thrown");
}

/** The message of the error `fn` throws. */
export function messageOf(fn: () => unknown): string {
  return (thrown(fn) as Error).message;
}
