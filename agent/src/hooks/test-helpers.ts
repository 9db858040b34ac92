import { request } from "node:http";
import { connect } from "node:net";
import { Writable } from "node:stream";
import { pino, type Logger } from "pino";

/** Test helpers for the hook server (not used by production code). */

export interface Captured {
  log: Logger;
  lines: string[];
}

/** A real pino logger whose lines are kept in memory, so tests can check what is (not) logged. */
export function captureLog(): Captured {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString("utf8"));
      cb();
    },
  });
  return { log: pino({ level: "debug" }, sink), lines };
}

export interface HttpResult {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export function post(base: string, path: string, body: string | Buffer, headers: Record<string, string> = {}, method = "POST"): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers: { "Content-Length": String(Buffer.byteLength(body)), ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** POSTs a body in several chunks with no Content-Length (chunked encoding); resolves to the status, or 0 if the connection broke. */
export function postChunked(port: number, path: string, parts: string[], headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST", agent: false, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
    for (const part of parts) req.write(part);
    req.end();
  });
}

/** Writes raw bytes to a socket, resolves with everything received until the peer closes. */
export function rawExchange(target: { path: string } | { port: number; host: string }, data: Buffer | string, opts: { end?: boolean } = {}): Promise<string> {
  return new Promise((resolve) => {
    const sock = "path" in target ? connect(target.path) : connect(target.port, target.host);
    const chunks: Buffer[] = [];
    sock.on("connect", () => {
      if (opts.end === false) sock.write(data);
      else sock.end(data);
    });
    sock.on("data", (c: Buffer) => chunks.push(c));
    sock.on("error", () => undefined);
    sock.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

/** One socket frame round trip: sends the line, resolves with the parsed reply line. */
export function socketCall(path: string, frame: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = "";
    sock.on("connect", () => sock.write(`${typeof frame === "string" ? frame : JSON.stringify(frame)}\n`));
    sock.on("data", (c: Buffer) => {
      buf += c.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl !== -1) {
        sock.destroy();
        resolve(JSON.parse(buf.slice(0, nl)));
      }
    });
    sock.on("error", reject);
    sock.on("close", () => reject(new Error(`closed without reply: ${buf}`)));
  });
}

/** Polls `check` until it is true or the deadline passes (no fixed sleeps in tests). */
export async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met before the deadline");
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function deferred<T>(): { promise: Promise<T>; resolve(v: T): void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
