import type { Logger } from "../log.js";

/** One hook call as the session manager sees it, whatever transport carried it. */
export interface HookRequest {
  /** The CodePiper session id (lower-case UUID), already authorized. */
  sessionId: string;
  /** Provider event name (`PreToolUse`, `PermissionRequest`, …) or `notify` (Codex's notify program). */
  event: string;
  /** The provider's hook JSON, exactly as sent (always a JSON object). */
  payload: Record<string, unknown>;
  channel: "http" | "socket";
  /**
   * Aborted when the answer can no longer reach the provider: the client went away (the provider
   * cancelled the hook on its own timeout, or hook-forward was killed), the handler timeout
   * expired, or the server is closing. A pending approval should be withdrawn then: the provider
   * has fallen back to its own prompt.
   */
  signal: AbortSignal;
}

/**
 * The decision. `body` is the provider's exact JSON output (e.g.
 * `{"hookSpecificOutput":{"hookEventName":"PermissionRequest","decision":{"behavior":"allow"}}}`);
 * `null` means "no decision": HTTP answers 200 `{}`, hook-forward prints nothing, and the provider
 * uses its own prompt.
 */
export interface HookReply {
  body: Record<string, unknown> | null;
}

export type HookHandler = (req: HookRequest) => Promise<HookReply>;

export interface HookServerOptions {
  /** Absolute path of the Unix socket (created 0600). Keep it short: Linux caps socket paths at 107 bytes. */
  socketPath: string;
  /**
   * Preferred loopback port, tried first (the caller persists it so the HTTP hook URLs written in
   * running sessions' settings stay valid across agent restarts); an ephemeral port is used if taken.
   */
  port?: number;
  /**
   * True when `token` is the hook token of `sessionId`. Must answer false for an unknown session
   * (the caller never learns which), and should compare with `tokensEqual` (constant time).
   */
  authorize(sessionId: string, token: string): boolean;
  handle: HookHandler;
  log: Logger;
  /** How long a handler may take (a PermissionRequest may wait for a human). Default 10 min. */
  handlerTimeoutMs?: number;
  /** How long a client may take to send its request (headers + body, or the socket frame). Default 10 s. */
  requestTimeoutMs?: number;
  /** Open connections per listener (HTTP keep-alive connections count). Default 256. */
  maxConnections?: number;
}

export interface HookServer {
  /** `http://127.0.0.1:<port>`: Claude Code HTTP hooks POST to `${httpBase}/hooks/<sessionId>/<Event>`. */
  httpBase: string;
  port: number;
  socketPath: string;
  /** Stops both listeners, drops open connections (pending requests' signals abort) and removes the socket file. */
  close(): Promise<void>;
}
