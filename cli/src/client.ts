import { createTRPCClient, createWSClient, httpLink, splitLink, wsLink, type TRPCClient } from "@trpc/client";
import WebSocket from "ws";
import type { AppRouter } from "@codepiper/control-plane";
import { LIMITS, PATHS } from "@codepiper/core";
import { toAppError } from "@codepiper/agent";
import { parseUrl } from "./parse.js";

export type Api = TRPCClient<AppRouter>;

export interface ApiHandle {
  api: Api;
  url: string;
  close(): Promise<void>;
}

/**
 * A typed client: queries and mutations over HTTP, subscriptions over one WebSocket opened on
 * first use. The API token goes in the Authorization header of both (never in a URL).
 */
export function createApi(target: { url: string; token: string | null }): ApiHandle {
  const url = parseUrl(target.url);
  const headers = target.token ? { authorization: `Bearer ${target.token}` } : undefined;
  let ws: ReturnType<typeof createWSClient> | null = null;
  const wsUrl = new URL(PATHS.trpc, url);
  wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";
  class AuthedWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers, maxPayload: LIMITS.linkMessageBytes });
      this.on("error", () => undefined);
    }
  }
  const getWs = () =>
    (ws ??= createWSClient({
      url: wsUrl.toString(),
      WebSocket: AuthedWebSocket as unknown as typeof globalThis.WebSocket,
      retryDelayMs: (attempt) => Math.min(5000, 250 * 2 ** attempt),
      keepAlive: { enabled: true, intervalMs: 15_000, pongTimeoutMs: 10_000 },
    }));
  const api = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: wsLinkLazy(() => getWs()),
        false: httpLink({ url: new URL(PATHS.trpc, url).toString(), headers }),
      }),
    ],
  });
  return {
    api,
    url,
    async close() {
      await ws?.close();
    },
  };
}

/** wsLink needs its client up front; this defers creating the socket until a subscription starts. */
function wsLinkLazy(get: () => ReturnType<typeof createWSClient>): ReturnType<typeof wsLink<AppRouter>> {
  return (runtime) => {
    let inner: ReturnType<ReturnType<typeof wsLink<AppRouter>>> | null = null;
    return (opts) => {
      inner ??= wsLink<AppRouter>({ client: get() })(runtime);
      return inner(opts);
    };
  };
}

/**
 * Calls the API, turning transport and server failures into domain errors with codes. The control
 * plane puts a domain code on every error it answers (`error.data.appCode`), so no mapping of
 * tRPC codes is repeated here.
 */
export async function call<T>(handle: ApiHandle, fn: (api: Api) => Promise<T>): Promise<T> {
  try {
    return await fn(handle.api);
  } catch (err) {
    throw toAppError(err, handle.url);
  }
}
