// One tRPC client for the whole dashboard. Queries and mutations go over HTTP (same origin, the
// HttpOnly session cookie rides along; the control plane checks Origin on POSTs); subscriptions
// share one WebSocket, opened only when the first subscription starts (after login), which
// reconnects by itself and resumes tracked subscriptions from their last id.
import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink, TRPCClientError, type Operation } from "@trpc/client";
import type { AppRouter } from "@codepiper/control-plane/router";

export type { AppRouter };

type WsClient = ReturnType<typeof createWSClient>;
let ws: WsClient | null = null;

function getWs(): WsClient {
  if (!ws) {
    const url = new URL("/trpc", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    ws = createWSClient({ url: url.toString(), retryDelayMs: (attempt) => Math.min(5000, 250 * 2 ** attempt) });
  }
  return ws;
}

/** Closes the shared socket (logout): the next subscription opens a new one with the new cookie. */
export function closeLiveConnection(): void {
  void ws?.close();
  ws = null;
}

function lazyWsLink(): ReturnType<typeof wsLink<AppRouter>> {
  return (runtime) => {
    let inner: ReturnType<ReturnType<typeof wsLink<AppRouter>>> | null = null;
    return (ctx) => {
      inner ??= wsLink<AppRouter>({ client: getWs() })(runtime);
      return inner(ctx);
    };
  };
}

export const api = createTRPCClient<AppRouter>({
  links: [
    splitLink({
      // Keystrokes ride the WebSocket the terminal already holds: no HTTP request per key.
      condition: (op: Operation) => op.type === "subscription" || op.path === "sessions.input",
      true: lazyWsLink(),
      false: httpBatchLink({ url: "/trpc", maxURLLength: 4000 }),
    }),
  ],
});

/** The stable domain code of a failed call (CODEPIPER_…), or null. */
export function appCodeOf(err: unknown): string | null {
  if (err instanceof TRPCClientError) {
    const data = err.data as { appCode?: unknown; code?: unknown } | undefined;
    if (typeof data?.appCode === "string") return data.appCode;
    if (data?.code === "UNAUTHORIZED") return "CODEPIPER_UNAUTHENTICATED";
  }
  return null;
}

/** A sentence a person can act on, for any failure. */
export function messageOf(err: unknown): string {
  if (err instanceof TRPCClientError) {
    if (err.message === "Failed to fetch" || /fetch failed|NetworkError/i.test(err.message)) return "The control plane cannot be reached. Check that it is running, then try again.";
    return err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
