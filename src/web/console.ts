// The web console at /console: the files Vite builds from console/ into dist/console (npm run build).
// Everything comes from this server: the page's Content-Security-Policy lets it load scripts,
// styles and images from this origin only and talk to nothing but this origin (/graphql, its
// WebSocket, /exports, /imports). The one exception: with Stripe configured (a publishable key),
// Stripe.js from js.stripe.com and its calls to api.stripe.com (docs/decisions/0020).
// Hashed files under /console/assets/ never change, so browsers keep them for a year; the page
// itself is revalidated on every load, so a new build is picked up at once.
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname } from "node:path";
import { gzipSync } from "node:zlib";

export const CONSOLE_PATH = "/console";

/**
 * The page's policy. `'self'` in connect-src also allows this origin's WebSocket (ws: or wss:,
 * CSP Level 3) for the subscriptions. `stripe`: the server has a publishable key, so the card form
 * loads Stripe.js, which Stripe requires to come from its own host, and its frames and API calls.
 */
export function consoleCsp(stripe: boolean): string {
  return [
    "default-src 'none'",
    stripe ? "script-src 'self' https://js.stripe.com https://*.js.stripe.com" : "script-src 'self'",
    // ECharts and React set element styles; no stylesheet comes from elsewhere.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    stripe ? "connect-src 'self' https://api.stripe.com" : "connect-src 'self'",
    ...(stripe ? ["frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com"] : []),
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** The policy of a server without Stripe: nothing from another host. */
export const CONSOLE_CSP = consoleCsp(false);

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
};

/** The build's output, found from this module both in src/web (tests) and in dist/web (npm start). */
const built = (path: string) => new URL(`../../dist/console/${path}`, import.meta.url);

interface File {
  body: Buffer;
  gzipped: Buffer;
  type: string;
}

/** Files read and compressed once per process: a build replaces them only between restarts. */
const cache = new Map<string, Promise<File | null>>();

function load(path: string): Promise<File | null> {
  let file = cache.get(path);
  if (!file) {
    file = readFile(built(path)).then(
      (body) => ({
        body,
        gzipped: gzipSync(body, { level: 9 }),
        type: TYPES[extname(path)] ?? "application/octet-stream",
      }),
      () => null,
    );
    // A missing file is not remembered: the console may be built after the server started.
    file.then((found) => found || cache.delete(path));
    cache.set(path, file);
  }
  return file;
}

const acceptsGzip = (req: IncomingMessage) => /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));

/**
 * Answers GET /console and everything under it: a file of the build, or the page for any other
 * path (the console's views are in the URL's fragment).
 */
export async function sendConsole(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  csp: string = CONSOLE_CSP,
): Promise<void> {
  const asset = path.startsWith(`${CONSOLE_PATH}/assets/`);
  const name = asset ? path.slice(CONSOLE_PATH.length + 1) : "index.html";
  if (asset && !/^assets\/[\w.-]+$/.test(name)) return notFound(res);
  const file = await load(name);
  if (!file) {
    if (asset) return notFound(res);
    res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
    res.end("The console is not built: run npm run build\n");
    return;
  }
  const gzip = acceptsGzip(req) && file.gzipped.length < file.body.length;
  const body = gzip ? file.gzipped : file.body;
  res.writeHead(200, {
    "content-type": file.type,
    "content-length": body.length,
    ...(gzip ? { "content-encoding": "gzip" } : {}),
    vary: "Accept-Encoding",
    "cache-control": asset ? "public, max-age=31536000, immutable" : "no-cache",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    ...(asset ? {} : { "content-security-policy": csp, "x-frame-options": "DENY" }),
  });
  res.end(req.method === "HEAD" ? undefined : body);
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
  res.end("Not found\n");
}
