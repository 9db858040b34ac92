import { z } from "zod";

/**
 * Wire limits and frame schemas shared by the HTTP and socket listeners. The socket side is
 * spoken by cli/src/hook-forward.ts, which cannot import this file (it must load only node:
 * builtins to stay fast): keep the two in step by hand.
 */

/** Largest hook payload accepted (HTTP body, or the payload inside a socket frame). */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Socket frame limit: a full payload plus the envelope (version, ids, token, event). */
export const MAX_FRAME_BYTES = MAX_PAYLOAD_BYTES + 16 * 1024;

export const DEFAULTS = {
  handlerTimeoutMs: 10 * 60_000,
  requestTimeoutMs: 10_000,
  maxConnections: 256,
} as const;

export const SESSION_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Provider event names are identifiers (`PreToolUse`, `notify`); anything else is not ours. */
export const EVENT_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

const jsonObject = z.record(z.string(), z.unknown());

/** `{"v":1,"sessionId":…,"token":…,"event":…,"payload":{…}}` — one per connection, newline-terminated. */
export const socketFrameSchema = z.object({
  v: z.literal(1),
  sessionId: z.string().regex(SESSION_ID_RE),
  token: z.string().min(1).max(1024),
  event: z.string().regex(EVENT_RE),
  payload: jsonObject,
});
export type SocketFrame = z.infer<typeof socketFrameSchema>;

export const jsonObjectSchema = jsonObject;

/** The one reply line: `output` is exactly what hook-forward prints (null: print nothing). */
export type SocketReply = { ok: true; output: string | null } | { ok: false; error: string };
