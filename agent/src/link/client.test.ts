import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocketServer } from "ws";
import { ERROR_HEADER } from "@codepiper/core";
import { connectLink } from "./client.js";
import type { LinkRefusal } from "./socket.js";

const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

/** One connection attempt through the real client; resolves once the supervisor would see it end. */
function attempt(url: string): Promise<{ opened: boolean; code: number | undefined; refusal: LinkRefusal | null }> {
  return new Promise((resolve) => {
    let opened = false;
    let refusal: LinkRefusal | null = null;
    const link = connectLink({
      controlPlaneUrl: url,
      sign: () => "header.payload.signature",
      keepAliveMs: 60_000,
      onOpen: () => (opened = true),
      onRefused: (r) => (refusal = r),
      onClose: (code) => {
        // The supervisor closes the link once it has seen it end; a refusal's body may still be in flight.
        setImmediate(() => void link.close().then(() => resolve({ opened, code, refusal })));
      },
    });
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("connectLink: one link per connection, retired when it ends", () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it("a control plane that is down: every attempt ends, and none leaves a reconnect timer behind", async () => {
    const server = createServer();
    const url = await listen(server);
    await new Promise((r) => server.close(r)); // now nothing listens there: connection refused

    const before = timers();
    for (let k = 0; k < 20; k++) expect(await attempt(url)).toMatchObject({ opened: false, refusal: null });
    // tRPC's own reconnect is never scheduled (it used to park a 24-hour timer holding the client).
    await vi.waitFor(() => expect(timers() - before).toBeLessThan(3));
  });

  it("a link the control plane drops after opening is retired the same way", async () => {
    const server = createServer();
    const wss = new WebSocketServer({ server });
    wss.on("connection", (socket) => socket.close(4503, "control plane shutting down"));
    servers.push(server);
    const url = await listen(server);

    const before = timers();
    for (let k = 0; k < 10; k++) expect(await attempt(url)).toMatchObject({ opened: true, code: 4503 });
    await vi.waitFor(() => expect(timers() - before).toBeLessThan(3));
    wss.close();
  });

  it("a refused upgrade is reported with its error code", async () => {
    const server = createServer((_req, res) => res.writeHead(404).end());
    server.on("upgrade", (_req, socket) => {
      const body = JSON.stringify({ error: { code: "CODEPIPER_HOST_REVOKED", message: "host h was revoked" } });
      socket.end(`HTTP/1.1 403 Forbidden\r\n${ERROR_HEADER}: CODEPIPER_HOST_REVOKED\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    });
    servers.push(server);
    const url = await listen(server);

    const before = timers();
    const result = await attempt(url);
    expect(result.opened).toBe(false);
    expect(result.refusal).toEqual({ status: 403, code: "CODEPIPER_HOST_REVOKED", message: "host h was revoked" });
    await vi.waitFor(() => expect(timers() - before).toBeLessThan(3));
  });
});
