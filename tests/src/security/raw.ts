// Raw access to a control plane for the security suites: hand-made link JWTs, WebSocket upgrades
// whose refusal (status + x-codepiper-error) is observed directly, a minimal JSON-RPC speaker for
// an accepted link, and plain HTTP calls to tRPC procedures. Nothing here goes through the agent or
// the CLI, so the control plane is tested as an attacker (or a buggy peer) would see it.
import { createHmac, createPrivateKey, createPublicKey, randomBytes, sign, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ClientRequest, IncomingMessage } from "node:http";
import { join } from "node:path";
import WebSocket from "ws";

export interface HostCredentials {
  hostId: string;
  name: string;
  audience: string;
  /** The host's Ed25519 private key, read from <stateDir>/keys/signing.pem. */
  key: KeyObject;
  publicPem: string;
}

/** Reads what `agent join` wrote: agent.json and the signing key. */
export function readHostCredentials(stateDir: string): HostCredentials {
  const enrollment = JSON.parse(readFileSync(join(stateDir, "agent.json"), "utf8")) as { hostId: string; name: string; audience: string };
  const key = createPrivateKey(readFileSync(join(stateDir, "keys", "signing.pem")));
  const publicPem = createPublicKey(key).export({ type: "spki", format: "pem" }).toString();
  return { hostId: enrollment.hostId, name: enrollment.name, audience: enrollment.audience, key, publicPem };
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString("base64url");

export type Signer = (signingInput: Buffer) => Buffer;
export const ed25519Signer = (key: KeyObject): Signer => (input) => sign(null, input, key);
export const hmacSigner = (secret: string | Buffer): Signer => (input) => createHmac("sha256", secret).update(input).digest();
export const noSignature: Signer = () => Buffer.alloc(0);

/** A compact JWS built by hand, so any header, claim or signature can be wrong on purpose. */
export function craftJwt(header: Record<string, unknown>, claims: Record<string, unknown>, signer: Signer): string {
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${signingInput}.${b64url(signer(Buffer.from(signingInput)))}`;
}

/** Claims of a valid link JWT for `host`, issued now, living `ttl` seconds; override any of them. */
export function linkClaims(host: Pick<HostCredentials, "hostId" | "audience">, overrides: Record<string, unknown> = {}, ttl = 30): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return { sub: host.hostId, aud: host.audience, iat, exp: iat + ttl, jti: randomBytes(18).toString("base64url"), ...overrides };
}

/** A valid EdDSA link JWT (what the agent presents), with claims optionally overridden. */
export function validLinkJwt(host: HostCredentials, overrides: Record<string, unknown> = {}): string {
  return craftJwt({ alg: "EdDSA", typ: "JWT" }, linkClaims(host, overrides), ed25519Signer(host.key));
}

export function wsUrl(baseUrl: string, path: string): string {
  const url = new URL(path, baseUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

export type UpgradeOutcome =
  | { opened: true; ws: WebSocket }
  | { opened: false; status: number; code: string | null; body: { error?: { code?: string; message?: string } } | null };

/**
 * Attempts a WebSocket upgrade and reports either the open socket or the refusal as the server
 * sent it. A refusal is only reported once the response is complete and the socket is gone, and
 * `open` is watched until then, so "refused" really means no WebSocket was ever opened.
 */
export function attemptUpgrade(url: string, headers: Record<string, string>, timeoutMs = 10_000): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, handshakeTimeout: timeoutMs });
    let opened = false;
    ws.once("open", () => {
      opened = true;
      resolve({ opened: true, ws });
    });
    ws.on("unexpected-response", (req: ClientRequest, res: IncomingMessage) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        let body: { error?: { code?: string; message?: string } } | null = null;
        try {
          body = JSON.parse(text) as typeof body;
        } catch {
          body = null;
        }
        req.destroy();
        if (opened) return reject(new Error("a refused upgrade also opened a WebSocket"));
        const header = res.headers["x-codepiper-error"];
        resolve({ opened: false, status: res.statusCode ?? 0, code: typeof header === "string" ? header : null, body });
      });
    });
    ws.on("error", (err) => {
      if (!opened) reject(err);
    });
  });
}

export interface RpcMessage {
  id: number | string | null;
  result?: { type: string; data?: unknown };
  error?: { message: string; code: number; data?: { code?: string; httpStatus?: number; appCode?: string | null; path?: string } };
}

/**
 * A tRPC-over-WebSocket peer speaking raw frames: anything can be sent, and every answer and the
 * close are recorded. Answers the server's keepalive PING so the socket never idles out mid-test.
 */
export class RawPeer {
  readonly received: RpcMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: { match: (m: RpcMessage) => boolean; resolve: (m: RpcMessage) => void }[] = [];
  private nextId = 1;

  constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on("error", () => undefined);
    ws.on("message", (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      if (text === "PING") return ws.send("PONG");
      if (text === null || text === "PONG") return;
      const msg = JSON.parse(text) as RpcMessage;
      this.received.push(msg);
      this.waiters = this.waiters.filter((w) => (w.match(msg) ? (w.resolve(msg), false) : true));
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** The next message (already received or still to come) that `match` accepts; fails after `timeoutMs`. */
  next(match: (m: RpcMessage) => boolean, timeoutMs = 10_000, since = 0): Promise<RpcMessage> {
    const seen = this.received.slice(since).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.received.slice(-3))}`)), timeoutMs);
      const waiter = {
        match,
        resolve: (m: RpcMessage) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.waiters.push(waiter);
      void this.closed.then(({ code }) => {
        if (!this.waiters.includes(waiter)) return;
        clearTimeout(timer);
        reject(new Error(`socket closed (${code}) before a matching message arrived`));
      });
    });
  }

  /** Sends a raw frame and resolves once it is flushed. */
  sendRaw(data: string | Buffer, binary = false): Promise<void> {
    return new Promise((resolve, reject) => this.ws.send(data, { binary }, (err) => (err ? reject(err) : resolve())));
  }

  /** One tRPC call; resolves with the answer carrying its id (data or error). */
  async call(method: "query" | "mutation", path: string, input?: unknown, timeoutMs = 10_000): Promise<RpcMessage> {
    const id = this.nextId++;
    const since = this.received.length;
    await this.sendRaw(JSON.stringify({ id, jsonrpc: "2.0", method, params: { path, input } }));
    return this.next((m) => m.id === id, timeoutMs, since);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 2000).unref())]);
    this.ws.terminate();
  }
}

/** Opens an authenticated link for `host` and returns a raw peer on it. */
export async function openRawLink(baseUrl: string, host: HostCredentials): Promise<RawPeer> {
  const outcome = await attemptUpgrade(wsUrl(baseUrl, "/link"), { authorization: `Bearer ${validLinkJwt(host)}` });
  if (!outcome.opened) throw new Error(`link refused: ${outcome.status} ${outcome.code}`);
  return new RawPeer(outcome.ws);
}

export interface HttpAnswer {
  status: number;
  body: any;
  headers: Headers;
}

/** Calls a tRPC procedure over plain HTTP (GET for queries, POST for mutations), as curl would. */
export async function trpcHttp(baseUrl: string, path: string, opts: { type: "query" | "mutation"; input?: unknown; token?: string }): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let res: Response;
  if (opts.type === "query") {
    const q = opts.input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(opts.input))}`;
    res = await fetch(`${baseUrl}/trpc/${path}${q}`, { headers });
  } else {
    headers["content-type"] = "application/json";
    res = await fetch(`${baseUrl}/trpc/${path}`, { method: "POST", headers, body: JSON.stringify(opts.input ?? null) });
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}

/** The control plane's counters from /metrics. */
export async function readMetrics(baseUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+) (\d+(?:\.\d+)?)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}
