import { createReadStream, existsSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The dashboard (web/, a Next.js static export) served on the control plane's own origin.
 * Routes are exported as `<route>/index.html` (trailingSlash); `/session/?id=…` style query
 * parameters carry ids, so every URL maps to a file. Hashed assets under /_next/static are
 * immutable; HTML is revalidated on every load so a new release shows at once.
 */

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".map": "application/json",
};

/**
 * The browser may run only our own scripts (Next's inline bootstrap needs 'unsafe-inline'), talk
 * only to our origin (HTTP and WebSocket), and never be framed (clickjacking).
 */
const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
};

/** web/out next to the installed packages (the workspace layout), unless configured. */
export function defaultWebDir(): string {
  return fileURLToPath(new URL("../../../web/out", import.meta.url));
}

export interface WebAssets {
  /** Serves the request if it names a dashboard file; returns false when it does not. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): boolean;
  readonly available: boolean;
}

export function webAssets(dir: string): WebAssets {
  const root = resolve(dir);
  const available = existsSync(join(root, "index.html"));

  function fileFor(pathname: string): string | null {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return null;
    }
    if (decoded.includes("\0")) return null;
    const candidates = decoded.endsWith("/") ? [join(decoded, "index.html")] : [decoded, `${decoded}.html`];
    for (const candidate of candidates) {
      const full = resolve(root, `.${candidate}`);
      if (full !== root && !full.startsWith(root + sep)) return null; // traversal
      try {
        if (statSync(full).isFile()) return full;
      } catch {
        // try the next form
      }
    }
    return null;
  }

  function send(res: ServerResponse, req: IncomingMessage, file: string, status: number, pathname: string): void {
    const immutable = pathname.startsWith("/_next/static/");
    res.writeHead(status, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "content-length": statSync(file).size,
      "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
      ...SECURITY_HEADERS,
    });
    if (req.method === "HEAD") return void res.end();
    createReadStream(file)
      .on("error", () => res.destroy())
      .pipe(res);
  }

  return {
    available,
    serve(req, res, pathname) {
      if (!available || (req.method !== "GET" && req.method !== "HEAD")) return false;
      const file = fileFor(pathname);
      if (file) {
        send(res, req, file, 200, pathname);
        return true;
      }
      // A page path without its trailing slash: redirect to the canonical form.
      if (!pathname.endsWith("/") && !extname(pathname) && fileFor(`${pathname}/`)) {
        const search = req.url?.includes("?") ? req.url.slice(req.url.indexOf("?")) : "";
        res.writeHead(308, { location: `${pathname}/${search}` }).end();
        return true;
      }
      const notFound = join(root, "404.html");
      if (!extname(pathname) && existsSync(notFound)) {
        send(res, req, notFound, 404, pathname);
        return true;
      }
      return false;
    },
  };
}
