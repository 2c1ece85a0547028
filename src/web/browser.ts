// What browsers get, ahead of both GraphQL routes (the lean one for plain JSON POSTs and
// Express): CORS on /graphql, answers to its preflights, the explorer for GET /graphql from a
// browser, the web console at /console, the landing page at /, the schema file and the docs.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { answerPreflight, corsPolicy, isPreflight, setCorsHeaders } from "./cors.js";
import { CONSOLE_PATH, consoleCsp, sendConsole } from "./console.js";
import { EXPLORER_ASSETS, sendExplorer, sendExplorerAsset } from "./explorer.js";
import { sendDoc, sendLanding, sendNotFound, sendSchema } from "./pages.js";

/** The media types Apollo chooses among for a GET, in its order; the last is its landing page's. */
const GET_TYPES = ["application/json", "application/graphql-response+json", "multipart/mixed", "text/html"];

/**
 * Whether an Accept header prefers text/html to a GraphQL answer, as Apollo negotiates it: per
 * type, the most specific matching range gives its q; then the highest q wins, ties going to
 * the more specific range, then the earlier one in the header, then the earlier type above.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const ranges = accept.split(",").flatMap((part, order) => {
    const [range, ...params] = part.split(";");
    const [type, subtype] = range.trim().toLowerCase().split("/");
    if (!type || !subtype) return [];
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split("=").map((s) => s.trim());
      if (key.toLowerCase() === "q") q = Number(value);
    }
    return [{ type, subtype, q: Number.isFinite(q) ? q : 0, order }];
  });
  const ranked = GET_TYPES.flatMap((candidate, index) => {
    const [type, subtype] = candidate.split("/");
    let best: { q: number; specificity: number; order: number; index: number } | undefined;
    for (const range of ranges) {
      if (range.type !== type && range.type !== "*") continue;
      if (range.subtype !== subtype && range.subtype !== "*") continue;
      const specificity = (range.type === type ? 2 : 0) + (range.subtype === subtype ? 1 : 0);
      if (!best || specificity > best.specificity) best = { q: range.q, specificity, order: range.order, index };
    }
    return best && best.q > 0 ? [best] : [];
  });
  ranked.sort((a, b) => b.q - a.q || b.specificity - a.specificity || a.order - b.order || a.index - b.index);
  return ranked[0]?.index === GET_TYPES.length - 1;
}

export interface BrowserFront {
  /**
   * Answers the requests it owns and returns true; for the GraphQL routes it only sets the
   * CORS headers and returns false, as for anything else it does not serve.
   */
  serve(req: IncomingMessage, res: ServerResponse): boolean;
}

export function browserFront(config: Config, logger: Logger): BrowserFront {
  const policy = corsPolicy(config.corsOrigins, config.development);
  // Stripe's hosts join the console's policy only where the console can use Stripe.js.
  const csp = consoleCsp(Boolean(config.stripeSecretKey && config.stripePublishableKey));

  const settle = (res: ServerResponse, work: Promise<unknown>) => {
    work.catch((error: unknown) => {
      logger.error({ err: error }, "unhandled error");
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        res.end("Internal error\n");
      } else res.destroy();
    });
  };

  return {
    serve(req, res) {
      const url = req.url ?? "/";
      const mark = url.indexOf("?");
      const path = mark < 0 ? url : url.slice(0, mark);
      const search = mark < 0 ? "" : url.slice(mark + 1);

      if (path === "/graphql" || path.startsWith("/graphql/")) {
        if (isPreflight(req)) {
          answerPreflight(policy, req, res);
          return true;
        }
        setCorsHeaders(policy, req, res);
        // A browser opening /graphql gets the explorer; with a query string, or asking for JSON,
        // it is a GraphQL GET like any other.
        if (path === "/graphql" && (req.method === "GET" || req.method === "HEAD") && search === "") {
          res.setHeader("vary", "Origin, Accept");
          if (prefersHtml(req.headers.accept)) {
            sendExplorer(res);
            return true;
          }
        }
        return false;
      }

      if (req.method !== "GET" && req.method !== "HEAD") return false;
      if (path === "/") {
        sendLanding(res);
        return true;
      }
      if (path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`)) {
        settle(res, sendConsole(req, res, path, csp));
        return true;
      }
      if (path === "/schema.graphql") {
        settle(res, sendSchema(res));
        return true;
      }
      if (path.startsWith("/docs/")) {
        settle(res, sendDoc(res, path.slice("/docs/".length)));
        return true;
      }
      if (path.startsWith(EXPLORER_ASSETS)) {
        settle(
          res,
          sendExplorerAsset(req, res, path).then((found) => found || sendNotFound(res)),
        );
        return true;
      }
      return false;
    },
  };
}
