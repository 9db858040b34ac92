import type { ClientRequest, IncomingMessage } from "node:http";
import WebSocket from "ws";
import { CLOSE_CODES, ERROR_HEADER, LIMITS, PROTOCOL_VERSION, isErrorCode, type ErrorCode } from "@codepiper/core";

/** Why the control plane refused or ended a link, as far as the agent could observe it. */
export interface LinkRefusal {
  status: number | null;
  code: ErrorCode | null;
  message: string;
}

/**
 * A `ws` WebSocket that authenticates its upgrade with a freshly signed JWT and reports refusals
 * with their code. tRPC's client constructs it (as `new WebSocket(url)`) on every connect; a refused
 * upgrade otherwise surfaces only as a bare close, and the agent could not tell "revoked" (stop) from
 * "control plane down" (retry).
 */
export function authenticatedWebSocket(opts: { sign: () => string; onRefused: (refusal: LinkRefusal) => void }): typeof WebSocket {
  return class AuthenticatedWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, {
        headers: { authorization: `Bearer ${opts.sign()}`, "x-codepiper-protocol": String(PROTOCOL_VERSION) },
        maxPayload: LIMITS.linkMessageBytes,
        handshakeTimeout: 10_000,
      });
      this.on("unexpected-response", (req: ClientRequest, res: IncomingMessage) => {
        const header = res.headers[ERROR_HEADER];
        const code = isErrorCode(header) ? header : null;
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          if (body.length < 4096) body += chunk;
        });
        res.on("end", () => {
          let message = `control plane answered HTTP ${res.statusCode}`;
          try {
            const parsed = JSON.parse(body) as { error?: { message?: string } };
            if (parsed.error?.message) message = parsed.error.message;
          } catch {
            // not our JSON: keep the status line
          }
          opts.onRefused({ status: res.statusCode ?? null, code, message });
          req.destroy();
          this.terminate();
        });
        res.on("error", () => this.terminate());
      });
      this.on("close", (code: number, reason: Buffer) => {
        if (code === CLOSE_CODES.revoked) {
          opts.onRefused({ status: null, code: "CODEPIPER_HOST_REVOKED", message: "this host was revoked by the control plane" });
        } else if (code === 1009) {
          opts.onRefused({ status: null, code: "CODEPIPER_PAYLOAD_TOO_LARGE", message: `link message too large (${reason.toString()})` });
        }
      });
      // Never let a socket error escape as an uncaught exception; tRPC's client handles the close.
      this.on("error", () => undefined);
    }
  } as unknown as typeof WebSocket;
}
