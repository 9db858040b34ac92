import type { Logger } from "../log.js";
import type { HookHandler, HookReply } from "./types.js";

export type DispatchResult = { kind: "reply"; reply: HookReply } | { kind: "timeout" } | { kind: "aborted" } | { kind: "error" };

/**
 * Runs the session manager's handler for one authorized request, bounded by the handler timeout
 * and by `abort` (client gone, server closing). Never throws: transports map the result to their
 * own wire form. Logs carry the session id, event and error only, never the payload or token.
 */
export async function dispatch(
  opts: { handle: HookHandler; log: Logger; timeoutMs: number },
  req: { sessionId: string; event: string; payload: Record<string, unknown>; channel: "http" | "socket" },
  abort: AbortController,
): Promise<DispatchResult> {
  let timer: NodeJS.Timeout | undefined;
  const stopped = new Promise<DispatchResult>((resolve) => {
    timer = setTimeout(() => {
      opts.log.warn({ sessionId: req.sessionId, event: req.event, channel: req.channel, timeoutMs: opts.timeoutMs }, "hook handler timed out");
      resolve({ kind: "timeout" });
      abort.abort(new Error("hook handler timed out"));
    }, opts.timeoutMs);
    timer.unref();
    if (abort.signal.aborted) resolve({ kind: "aborted" });
    else abort.signal.addEventListener("abort", () => resolve({ kind: "aborted" }), { once: true });
  });
  const handled = (async (): Promise<DispatchResult> => {
    const reply = await opts.handle({ ...req, signal: abort.signal });
    if (reply.body !== null && (typeof reply.body !== "object" || Array.isArray(reply.body))) throw new Error("handler reply body is not a JSON object or null");
    return { kind: "reply", reply };
  })().catch((err: unknown): DispatchResult => {
    opts.log.error({ sessionId: req.sessionId, event: req.event, channel: req.channel, err: err instanceof Error ? err.message : String(err) }, "hook handler failed");
    return { kind: "error" };
  });
  try {
    return await Promise.race([handled, stopped]);
  } finally {
    clearTimeout(timer);
  }
}

/** The provider's stdout for a reply, or null; throws if the body cannot be serialized (caller maps to an error). */
export function serializeBody(reply: HookReply): string | null {
  return reply.body === null ? null : JSON.stringify(reply.body);
}
