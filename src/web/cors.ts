// CORS for /graphql: which browser pages on other origins may call the API, and the answers to
// their preflights. Clients authenticate with a bearer token, never a cookie, so no response
// carries Access-Control-Allow-Credentials, and `*` is as safe as any list: a page can only use
// the keys its user pastes into it.
import type { IncomingMessage, ServerResponse } from "node:http";

export const CORS_METHODS = "GET, POST";
export const CORS_HEADERS =
  "Authorization, Content-Type, apollo-require-preflight, x-apollo-operation-name, x-request-id";
/** Headers a page may read besides the always-readable ones (Content-Type, ...). */
export const CORS_EXPOSED = "Retry-After, X-Request-Id";
/** How long a browser may reuse a preflight's answer, in seconds (Chromium caps it at 7200). */
export const CORS_MAX_AGE = 7200;

/**
 * CORS_ORIGINS: a comma-separated list of origins (`https://app.example.com`) or `*`. Each entry
 * is checked and written as the browser writes an Origin header (lower-case host, no default port).
 */
export function parseCorsOrigins(raw: string | undefined): string[] {
  const origins: string[] = [];
  for (const entry of (raw ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)) {
    if (entry === "*") {
      origins.push("*");
      continue;
    }
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    const bare =
      url &&
      (url.protocol === "http:" || url.protocol === "https:") &&
      !url.username &&
      !url.password &&
      url.pathname === "/" &&
      !/[?#]/.test(entry);
    if (!url || !bare) {
      throw new Error(
        `CORS_ORIGINS: "${entry}" is not an origin like https://app.example.com (scheme, host and port only) or *`,
      );
    }
    if (!origins.includes(url.origin)) origins.push(url.origin);
  }
  return origins;
}

const LOCAL_ORIGIN = /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?$/;

export interface CorsPolicy {
  /** The Access-Control-Allow-Origin value for this Origin header, or null when it is not allowed. */
  allowOrigin(origin: string | undefined): string | null;
}

/**
 * Any origin when the list holds `*`; else exactly the listed ones, plus http://localhost:<port>
 * and http://127.0.0.1:<port> in development. Pages served by this server (the explorer, the
 * landing page) are on its own origin and need no CORS at all.
 */
export function corsPolicy(origins: readonly string[], development: boolean): CorsPolicy {
  const any = origins.includes("*");
  const listed = new Set(origins);
  return {
    allowOrigin(origin) {
      if (!origin) return null;
      if (any) return "*";
      if (listed.has(origin) || (development && LOCAL_ORIGIN.test(origin))) return origin;
      return null;
    },
  };
}

/** A CORS preflight: OPTIONS with an Origin and the method the page means to send. */
export function isPreflight(req: IncomingMessage): boolean {
  return (
    req.method === "OPTIONS" &&
    typeof req.headers.origin === "string" &&
    typeof req.headers["access-control-request-method"] === "string"
  );
}

/**
 * Answers a preflight: 204 with the methods, headers and max-age for an allowed origin; 403
 * without any CORS header for another (the browser then refuses the page's request).
 */
export function answerPreflight(policy: CorsPolicy, req: IncomingMessage, res: ServerResponse): void {
  const allowed = policy.allowOrigin(req.headers.origin);
  if (!allowed) {
    const body = JSON.stringify({
      errors: [
        {
          message: "This origin may not call the API from a browser (see CORS_ORIGINS)",
          extensions: { code: "FORBIDDEN" },
        },
      ],
    });
    res.writeHead(403, {
      vary: "Origin",
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
    return;
  }
  res.writeHead(204, {
    "access-control-allow-origin": allowed,
    "access-control-allow-methods": CORS_METHODS,
    "access-control-allow-headers": CORS_HEADERS,
    "access-control-max-age": String(CORS_MAX_AGE),
    vary: "Origin",
  });
  res.end();
}

/** Sets the CORS headers of an actual request's answer (set before the route writes its own). */
export function setCorsHeaders(policy: CorsPolicy, req: IncomingMessage, res: ServerResponse): void {
  res.setHeader("vary", "Origin");
  const allowed = policy.allowOrigin(req.headers.origin);
  if (!allowed) return;
  res.setHeader("access-control-allow-origin", allowed);
  res.setHeader("access-control-expose-headers", CORS_EXPOSED);
}
