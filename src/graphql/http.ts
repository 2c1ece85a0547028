// POST /graphql over node's own request and response. Nearly every request is a POST of plain
// JSON: it is read, parsed and answered here, without Express's router, body parser and the
// properties Express adds to every request and response (about 0.2 ms of CPU per request, measured
// on the bench). Anything else (GET, another content type or encoding, another path) goes to
// Express, which parses the body and hands it to the same answer.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { HeaderMap, type ApolloServer } from "@apollo/server";
import type { Context } from "./context.js";
import type { KnownQueries } from "./known-queries.js";
import { batchTooLarge, MAX_BATCH } from "./limits.js";

export const MAX_BODY_BYTES = 256 * 1024;

/** Answers this long (in characters) and longer have their headers sent ahead of them. */
const LONG_ANSWER = 64 * 1024;

/**
 * Sends a JSON answer with its length. Node sends a string body together with its headers by
 * joining the two into one string first: for a spend report of 2.7 MB, that copy and the garbage
 * it leaves cost about a tenth of the report's node CPU. A long answer has its headers sent
 * first, and then goes out as it is.
 */
export function sendJson(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, text: string): void {
  res.writeHead(status, { ...headers, "content-length": Buffer.byteLength(text) });
  if (text.length >= LONG_ANSWER) res.flushHeaders();
  res.end(text);
}

/** A client's mistake in the HTTP layer, answered with its status and a GraphQL error body. */
export function sendClientError(res: ServerResponse, status: number, message: string, code: string): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  sendJson(res, status, { "content-type": "application/json; charset=utf-8" }, body);
}

/** What Express's JSON parser would have said about a body it refused. */
export function sendBodyError(res: ServerResponse, status: 400 | 413): void {
  if (status === 413) sendClientError(res, 413, "The request body is too large", "BAD_USER_INPUT");
  else sendClientError(res, 400, "The request body is not valid JSON", "BAD_REQUEST");
}

/** Whether the lean route serves this request: a POST to exactly /graphql of uncompressed JSON in UTF-8. */
export function isPlainGraphqlPost(req: IncomingMessage): boolean {
  if (req.method !== "POST" || req.url !== "/graphql") return false;
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding.toLowerCase() !== "identity") return false;
  const type = req.headers["content-type"]?.toLowerCase().replace(/\s+/g, "");
  return type === "application/json" || type === "application/json;charset=utf-8";
}

/** The body as JSON, or the status to refuse it with: 413 past the limit, 400 when it is not JSON. */
function readJson(req: IncomingMessage): Promise<{ body: unknown } | { refused: 400 | 413 }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit: refused at once; the rest is read and dropped, so the answer is not lost
      // in a reset connection.
      if (size > MAX_BODY_BYTES) resolve({ refused: 413 });
      else chunks.push(chunk);
    });
    req.on("error", () => resolve({ refused: 400 }));
    req.on("end", () => {
      if (size > MAX_BODY_BYTES) return;
      try {
        resolve({ body: JSON.parse(Buffer.concat(chunks, size).toString("utf8")) });
      } catch {
        resolve({ refused: 400 });
      }
    });
  });
}

/**
 * Answers a GraphQL request whose body is parsed: the batch limit, then a known query on its short
 * path, else Apollo (which parses, validates, runs and formats errors), then its status, headers
 * and body written out.
 */
export function graphqlAnswer<C extends Context>(
  apollo: ApolloServer<C>,
  contextOf: (req: IncomingMessage) => Promise<C>,
  known: KnownQueries,
) {
  return async (req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> => {
    if (batchTooLarge(body))
      return sendClientError(res, 400, `A batch holds 1 to ${MAX_BATCH} operations`, "BAD_USER_INPUT");
    const context = await known.answer(req, res, body, contextOf);
    if (!context) return;
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(", ") : value);
    }
    const url = req.url ?? "";
    const query = url.indexOf("?");
    const answer = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: req.method!.toUpperCase(),
        headers,
        search: query < 0 ? "" : url.slice(query),
        body,
      },
      context,
    });
    if (answer.body.kind === "complete")
      return sendJson(res, answer.status ?? 200, Object.fromEntries(answer.headers), answer.body.string);
    for (const [key, value] of answer.headers) res.setHeader(key, value);
    res.statusCode = answer.status ?? 200;
    for await (const chunk of answer.body.asyncIterator) res.write(chunk);
    res.end();
  };
}

/** The lean route: reads and parses the body itself, then answers. */
export function plainGraphqlPost(answer: (req: IncomingMessage, res: ServerResponse, body: unknown) => Promise<void>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const read = await readJson(req);
    if ("refused" in read) return sendBodyError(res, read.refused);
    await answer(req, res, read.body);
  };
}
