// What browsers get, ahead of both GraphQL routes (the lean one for plain JSON POSTs and
// Express): CORS on /graphql and answers to its preflights.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { answerPreflight, corsPolicy, isPreflight, setCorsHeaders } from "./cors.js";

export interface BrowserFront {
  /**
   * Answers the requests it owns and returns true; for the GraphQL routes it only sets the
   * CORS headers and returns false, as for anything else it does not serve.
   */
  serve(req: IncomingMessage, res: ServerResponse): boolean;
}

export function browserFront(config: Config, _logger: Logger): BrowserFront {
  const policy = corsPolicy(config.corsOrigins, config.development);
  return {
    serve(req, res) {
      const url = req.url ?? "/";
      const mark = url.indexOf("?");
      const path = mark < 0 ? url : url.slice(0, mark);
      if (path === "/graphql" || path.startsWith("/graphql/")) {
        if (isPreflight(req)) {
          answerPreflight(policy, req, res);
          return true;
        }
        setCorsHeaders(policy, req, res);
      }
      return false;
    },
  };
}
