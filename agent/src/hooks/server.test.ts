import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { connect, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_PAYLOAD_BYTES, startHookServer, tokensEqual, type HookReply, type HookRequest, type HookServer } from "./server.js";
import { captureLog, deferred, post, postChunked, rawExchange, socketCall, waitFor, type Captured } from "./test-helpers.js";

const SESSION = randomUUID();
const TOKEN = randomBytes(24).toString("hex");
const DECISION = { hookSpecificOutput: { hookEventName: "PermissionRequest", decision: { behavior: "allow" } } };
const auth = { Authorization: `Bearer ${TOKEN}` };

describe("startHookServer", () => {
  let dir: string;
  let socketPath: string;
  let captured: Captured;
  let calls: HookRequest[];
  let handle: (req: HookRequest) => Promise<HookReply>;
  const servers: HookServer[] = [];

  const start = async (extra: Partial<Parameters<typeof startHookServer>[0]> = {}) => {
    const s = await startHookServer({
      socketPath,
      authorize: (id, token) => id === SESSION && tokensEqual(TOKEN, token),
      handle: (req) => {
        calls.push(req);
        return handle(req);
      },
      log: captured.log,
      ...extra,
    });
    servers.push(s);
    return s;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cp-hooks-"));
    socketPath = join(dir, "hooks.sock");
    captured = captureLog();
    calls = [];
    handle = async () => ({ body: DECISION });
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe("HTTP", () => {
    it("round-trips a decision and passes the request through", async () => {
      const s = await start();
      expect(s.httpBase).toBe(`http://127.0.0.1:${s.port}`);
      const payload = { session_id: "x", hook_event_name: "PermissionRequest", tool_name: "Bash", tool_input: { command: "ls" } };
      const res = await post(s.httpBase, `/hooks/${SESSION}/PermissionRequest`, JSON.stringify(payload), auth);
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toBe("application/json");
      expect(JSON.parse(res.body)).toEqual(DECISION);
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ sessionId: SESSION, event: "PermissionRequest", payload, channel: "http" });
    });

    it("answers 200 {} for no decision, without a content-type requirement", async () => {
      const s = await start();
      handle = async () => ({ body: null });
      const res = await post(s.httpBase, `/hooks/${SESSION.toUpperCase()}/Stop`, "{}", { ...auth, "Content-Type": "text/plain" });
      expect(res).toMatchObject({ status: 200, body: "{}" });
      expect(calls[0]?.sessionId).toBe(SESSION);
    });

    it("answers 401 alike for a wrong token, a missing token and an unknown session", async () => {
      const s = await start();
      const wrong = await post(s.httpBase, `/hooks/${SESSION}/PreToolUse`, "{}", { Authorization: `Bearer ${TOKEN}x` });
      const missing = await post(s.httpBase, `/hooks/${SESSION}/PreToolUse`, "{}");
      const unknown = await post(s.httpBase, `/hooks/${randomUUID()}/PreToolUse`, "{}", auth);
      const scheme = await post(s.httpBase, `/hooks/${SESSION}/PreToolUse`, "{}", { Authorization: `Basic ${TOKEN}` });
      for (const r of [wrong, missing, unknown, scheme]) expect({ status: r.status, body: r.body }).toEqual({ status: 401, body: wrong.body });
      expect(calls).toHaveLength(0);
    });

    it("answers 404 for unknown paths and 405 for other methods", async () => {
      const s = await start();
      for (const path of ["/", "/hooks", `/hooks/${SESSION}`, `/hooks/not-a-uuid/Stop`, `/hooks/${SESSION}/Pre-Tool`, `/hooks/${SESSION}/Stop/x`, `/hooks/${SESSION}/Stop?x=1`]) {
        expect((await post(s.httpBase, path, "{}", auth)).status, path).toBe(404);
      }
      expect((await post(s.httpBase, `/hooks/${SESSION}/Stop`, "", auth, "GET")).status).toBe(405);
    });

    it("accepts exactly 1 MiB, rejects 1 MiB + 1 with 413 and keeps serving", async () => {
      const s = await start();
      handle = async () => ({ body: null });
      const exact = `{"a":"${"x".repeat(MAX_PAYLOAD_BYTES - 8)}"}`;
      expect(Buffer.byteLength(exact)).toBe(MAX_PAYLOAD_BYTES);
      expect((await post(s.httpBase, `/hooks/${SESSION}/Stop`, exact, auth)).status).toBe(200);
      const over = `{"a":"${"x".repeat(MAX_PAYLOAD_BYTES - 7)}"}`;
      expect((await post(s.httpBase, `/hooks/${SESSION}/Stop`, over, auth)).status).toBe(413);
      // Chunked (no Content-Length): the limit applies while streaming.
      expect(await postChunked(s.port, `/hooks/${SESSION}/Stop`, [over.slice(0, 1000), over.slice(1000)], auth)).toBe(413);
      expect(calls).toHaveLength(1);
      expect((await post(s.httpBase, `/hooks/${SESSION}/Stop`, "{}", auth)).status).toBe(200);
    });

    it("answers 400 for malformed JSON and for JSON that is not an object", async () => {
      const s = await start();
      for (const body of ["{", "not json", "[]", "null", "42", '"s"', ""]) {
        expect((await post(s.httpBase, `/hooks/${SESSION}/Stop`, body, auth)).status, body).toBe(400);
      }
      expect(calls).toHaveLength(0);
    });

    it("answers 500 when the handler throws, and logs the session and event but never the payload or token", async () => {
      const s = await start();
      handle = async () => {
        throw new Error("boom");
      };
      const res = await post(s.httpBase, `/hooks/${SESSION}/PreToolUse`, JSON.stringify({ secret_payload: "PAYLOAD-MARKER" }), auth);
      expect(res.status).toBe(500);
      expect(JSON.parse(res.body)).toEqual({});
      const logged = captured.lines.join("");
      expect(logged).toContain("hook handler failed");
      expect(logged).toContain(SESSION);
      expect(logged).toContain("boom");
      expect(logged).not.toContain("PAYLOAD-MARKER");
      expect(logged).not.toContain(TOKEN);
    });

    it("answers a slow handler when it decides, and aborts its signal when the client goes away", async () => {
      const s = await start({ requestTimeoutMs: 200 });
      const gate = deferred<HookReply>();
      handle = () => gate.promise;
      const pending = post(s.httpBase, `/hooks/${SESSION}/PermissionRequest`, "{}", auth);
      await waitFor(() => calls.length === 1);
      // Longer than the request timeout: a waiting handler is not a silent client.
      await new Promise((r) => setTimeout(r, 400));
      gate.resolve({ body: DECISION });
      expect(JSON.parse((await pending).body)).toEqual(DECISION);
      expect(calls[0]?.signal.aborted).toBe(false);

      handle = () => new Promise(() => undefined);
      const client = connect(s.port, "127.0.0.1");
      client.on("error", () => undefined);
      client.write(`POST /hooks/${SESSION}/PermissionRequest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 2\r\n\r\n{}`);
      await waitFor(() => calls.length === 2);
      client.destroy();
      await waitFor(() => calls[1]?.signal.aborted === true);

      // Closing the server aborts what is still pending.
      const third = rawExchange({ port: s.port, host: "127.0.0.1" }, `POST /hooks/${SESSION}/Stop HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 2\r\n\r\n{}`, { end: false });
      await waitFor(() => calls.length === 3);
      await s.close();
      await third;
      await waitFor(() => calls[2]?.signal.aborted === true);
    });

    it("answers 504 when the handler exceeds the handler timeout", async () => {
      const s = await start({ handlerTimeoutMs: 50 });
      handle = () => new Promise(() => undefined);
      expect((await post(s.httpBase, `/hooks/${SESSION}/PermissionRequest`, "{}", auth)).status).toBe(504);
      expect(calls[0]?.signal.aborted).toBe(true);
    });

    it("survives fuzzing: garbage, half requests, huge headers, aborted connections", async () => {
      const s = await start({ requestTimeoutMs: 300 });
      const target = { port: s.port, host: "127.0.0.1" };
      const attacks: Promise<string>[] = [];
      for (let i = 0; i < 30; i++) attacks.push(rawExchange(target, randomBytes(1 + (i * 97) % 4000)));
      attacks.push(rawExchange(target, `POST /hooks/${SESSION}/Stop HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 100\r\n\r\n{"a":`));
      attacks.push(rawExchange(target, `POST /hooks/${SESSION}/Stop HTTP/1.1\r\nHost: x\r\n`, { end: false }));
      attacks.push(rawExchange(target, `POST /hooks/${SESSION}/Stop HTTP/1.1\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`));
      attacks.push(rawExchange(target, `POST /hooks/${SESSION}/Stop HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nAuthorization: Bearer ${TOKEN}\r\n\r\nzz\r\n`));
      attacks.push(rawExchange(target, `POST /hooks/${SESSION}/Stop HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n`));
      const results = await Promise.all(attacks);
      expect(results[31]).toMatch(/^HTTP\/1\.1 (400|408)/);
      expect(results[32]).toMatch(/^HTTP\/1\.1 431/);
      expect((await post(s.httpBase, `/hooks/${SESSION}/Stop`, "{}", auth)).status).toBe(200);
      expect(calls).toHaveLength(1);
    });

    it("serves concurrent requests, keep-alive included", async () => {
      const s = await start();
      handle = async (req) => ({ body: { n: req.payload.n } });
      const results = await Promise.all(
        Array.from({ length: 100 }, async (_, n) => {
          const res = await fetch(`${s.httpBase}/hooks/${SESSION}/PreToolUse`, { method: "POST", headers: auth, body: JSON.stringify({ n }) });
          return (await res.json()) as { n: number };
        }),
      );
      expect(results.map((r) => r.n)).toEqual(Array.from({ length: 100 }, (_, n) => n));
    });
  });

  describe("Unix socket", () => {
    const frame = (over: Record<string, unknown> = {}) => ({ v: 1, sessionId: SESSION, token: TOKEN, event: "PreToolUse", payload: { tool_name: "Bash" }, ...over });

    it("round-trips a decision as the exact stdout to print", async () => {
      await start();
      expect(await socketCall(socketPath, frame())).toEqual({ ok: true, output: JSON.stringify(DECISION) });
      expect(calls[0]).toMatchObject({ sessionId: SESSION, event: "PreToolUse", payload: { tool_name: "Bash" }, channel: "socket" });
      handle = async () => ({ body: null });
      expect(await socketCall(socketPath, frame({ event: "notify" }))).toEqual({ ok: true, output: null });
    });

    it("refuses a wrong token and an unknown session alike", async () => {
      await start();
      const wrong = await socketCall(socketPath, frame({ token: "nope" }));
      const unknown = await socketCall(socketPath, frame({ sessionId: randomUUID() }));
      expect(wrong).toEqual({ ok: false, error: "unauthorized" });
      expect(unknown).toEqual(wrong);
      expect(calls).toHaveLength(0);
    });

    it("rejects malformed frames and keeps serving", async () => {
      await start();
      for (const bad of ["{", "[]", JSON.stringify(frame({ v: 2 })), JSON.stringify(frame({ payload: [] })), JSON.stringify(frame({ event: "a b" })), JSON.stringify(frame({ sessionId: "x" }))]) {
        expect(await socketCall(socketPath, bad), bad).toMatchObject({ ok: false });
      }
      expect(await rawExchange({ path: socketPath }, '{"v":1')).toBe('{"ok":false,"error":"incomplete frame"}\n');
      const huge = `{"v":1,"payload":{"a":"${"x".repeat(MAX_PAYLOAD_BYTES + 20 * 1024)}"}}\n`;
      expect(await rawExchange({ path: socketPath }, huge)).toBe('{"ok":false,"error":"frame too large"}\n');
      for (let i = 0; i < 20; i++) await rawExchange({ path: socketPath }, randomBytes(1 + i * 50));
      expect(calls).toHaveLength(0);
      expect(await socketCall(socketPath, frame())).toMatchObject({ ok: true });
    });

    it("drops a silent client after the request timeout while a slow handler still gets its answer out", async () => {
      await start({ requestTimeoutMs: 100 });
      const gate = deferred<HookReply>();
      handle = () => gate.promise;
      const slow = socketCall(socketPath, frame({ event: "PermissionRequest" }));
      await waitFor(() => calls.length === 1);
      expect(await rawExchange({ path: socketPath }, "", { end: false })).toBe('{"ok":false,"error":"timed out waiting for the request frame"}\n');
      gate.resolve({ body: DECISION });
      expect(await slow).toEqual({ ok: true, output: JSON.stringify(DECISION) });
    });

    it("aborts the handler's signal when the client disconnects; reports handler errors and timeouts", async () => {
      await start({ handlerTimeoutMs: 100 });
      handle = () => new Promise(() => undefined);
      expect(await socketCall(socketPath, frame())).toEqual({ ok: false, error: "handler timed out" });
      const gone = rawExchange({ path: socketPath }, `${JSON.stringify(frame())}\n`);
      await gone;
      await waitFor(() => calls[1]?.signal.aborted === true);
      handle = async () => {
        throw new Error("nope");
      };
      expect(await socketCall(socketPath, frame())).toEqual({ ok: false, error: "handler failed" });
    });

    it("serves concurrent requests", async () => {
      await start();
      handle = async (req) => ({ body: { n: req.payload.n } });
      const replies = await Promise.all(Array.from({ length: 100 }, (_, n) => socketCall(socketPath, frame({ payload: { n } }))));
      expect(replies).toEqual(Array.from({ length: 100 }, (_, n) => ({ ok: true, output: JSON.stringify({ n }) })));
    });

    it("creates the socket with mode 0600 and removes it on close", async () => {
      const s = await start();
      expect(statSync(socketPath).mode & 0o777).toBe(0o600);
      await s.close();
      expect(existsSync(socketPath)).toBe(false);
    });

    it("replaces a stale socket left by a crashed agent", async () => {
      // A crashed agent: its process died (SIGKILL) and the socket file stayed behind.
      const res = spawnSync(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, "SIGKILL"))`]);
      expect(res.signal).toBe("SIGKILL");
      expect(statSync(socketPath).isSocket()).toBe(true);
      await start();
      expect(await socketCall(socketPath, frame())).toMatchObject({ ok: true });
    });

    it("refuses to delete a path that is not a socket, or a socket another agent is serving", async () => {
      writeFileSync(socketPath, "precious");
      await expect(start()).rejects.toThrow(/not a socket; refusing to delete/);
      expect(readFileSync(socketPath, "utf8")).toBe("precious");
      rmSync(socketPath);
      await start();
      await expect(start()).rejects.toThrow(/in use/);
      expect(await socketCall(socketPath, frame())).toMatchObject({ ok: true });
    });
  });

  describe("port", () => {
    it("reuses the preferred port when free", async () => {
      const first = await start();
      const port = first.port;
      await first.close();
      servers.splice(servers.indexOf(first), 1);
      const second = await start({ port });
      expect(second.port).toBe(port);
    });

    it("falls back to an ephemeral port when the preferred one is taken", async () => {
      const blocker = createNetServer();
      await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
      const taken = (blocker.address() as { port: number }).port;
      try {
        const s = await start({ port: taken });
        expect(s.port).not.toBe(taken);
        expect((await post(s.httpBase, `/hooks/${SESSION}/Stop`, "{}", auth)).status).toBe(200);
      } finally {
        await new Promise<void>((r) => blocker.close(() => r()));
      }
    });
  });
});
