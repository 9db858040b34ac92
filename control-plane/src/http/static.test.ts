import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webAssets } from "./static.js";

let dir: string;
let server: Server;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cp-web-"));
  mkdirSync(join(dir, "sessions"), { recursive: true });
  mkdirSync(join(dir, "_next", "static", "chunks"), { recursive: true });
  writeFileSync(join(dir, "index.html"), "<h1>fleet</h1>");
  writeFileSync(join(dir, "404.html"), "<h1>not here</h1>");
  writeFileSync(join(dir, "sessions", "index.html"), "<h1>sessions</h1>");
  writeFileSync(join(dir, "_next", "static", "chunks", "app.js"), "console.log(1)");
  writeFileSync(join(tmpdir(), "outside-secret.txt"), "secret");
  const web = webAssets(dir);
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (!web.serve(req, res, url.pathname)) res.writeHead(418).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("dashboard assets", () => {
  it("serves pages as <route>/index.html with revalidation and the security headers", async () => {
    const res = await fetch(`${base}/sessions/?host=a`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("<h1>sessions</h1>");
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("redirects a page path without its slash, keeping the query", async () => {
    const res = await fetch(`${base}/sessions?host=a`, { redirect: "manual" });
    expect(res.status).toBe(308);
    expect(res.headers.get("location")).toBe("/sessions/?host=a");
  });

  it("marks hashed assets immutable", async () => {
    const res = await fetch(`${base}/_next/static/chunks/app.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(res.headers.get("cache-control")).toContain("immutable");
  });

  it("answers unknown pages with the 404 page and leaves unknown files to the caller", async () => {
    const page = await fetch(`${base}/nope/`);
    expect(page.status).toBe(404);
    expect(await page.text()).toBe("<h1>not here</h1>");
    expect((await fetch(`${base}/nope.js`)).status).toBe(418);
  });

  it("never serves files outside its directory", async () => {
    for (const path of ["/..%2foutside-secret.txt", "/%2e%2e/outside-secret.txt", "/sessions/..%2f..%2foutside-secret.txt", "/%00"]) {
      const res = await fetch(`${base}${path}`);
      expect(await res.text()).not.toContain("secret");
    }
  });

  it("serves only GET and HEAD", async () => {
    expect((await fetch(`${base}/`, { method: "POST" })).status).toBe(418);
    const head = await fetch(`${base}/`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String("<h1>fleet</h1>".length));
  });
});
