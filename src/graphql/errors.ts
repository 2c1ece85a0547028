// Every error a client sees carries one of the codes of docs/api.md; messages never echo input values.
import { HeaderMap } from "@apollo/server";
import { GraphQLError, type GraphQLFormattedError } from "graphql";

export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "BAD_USER_INPUT"
  | "NOT_FOUND"
  | "CONFLICT"
  | "NOT_ELIGIBLE"
  | "PAYMENT_FAILED"
  | "RATE_LIMITED"
  | "QUERY_TOO_COMPLEX"
  | "SERVICE_UNAVAILABLE"
  | "INTERNAL_SERVER_ERROR";

export function appError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

/** For errors raised outside resolvers (context, plugins), where Apollo needs the HTTP status. */
export function httpError(code: ErrorCode, message: string, status: number, extra: Record<string, unknown> = {}) {
  return new GraphQLError(message, { extensions: { code, ...extra, http: { status } } });
}

/** Over a rate limit: HTTP 429 with Retry-After, also as `extensions.retryAfterSeconds`. */
export function rateLimited(message: string, retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: "RATE_LIMITED",
      retryAfterSeconds,
      http: { status: 429, headers: new HeaderMap([["retry-after", String(retryAfterSeconds)]]) },
    },
  });
}

export const badInput = (field: string, message: string) => appError("BAD_USER_INPUT", message, { field });
export const notFound = (what: string) => appError("NOT_FOUND", `${what} not found`);
export const forbidden = (message = "You are not allowed to do this") => appError("FORBIDDEN", message);
export const conflict = (message: string) => appError("CONFLICT", message);
export const notEligible = (reason: string, message: string) => appError("NOT_ELIGIBLE", message, { reason });
export const unauthenticated = () =>
  httpError("UNAUTHENTICATED", "A valid API key is required: Authorization: Bearer <token>", 401);

const PG_CODES: Record<string, [ErrorCode, string]> = {
  "23505": ["CONFLICT", "This conflicts with an existing record"],
  "23514": ["CONFLICT", "This would break a limit; nothing was changed"],
  "23503": ["NOT_FOUND", "A referenced record does not exist"],
  "40001": ["CONFLICT", "A concurrent change got there first; retry"],
  "40P01": ["CONFLICT", "A concurrent change got there first; retry"],
  "57014": ["SERVICE_UNAVAILABLE", "The request took too long"],
};

/** The PostgreSQL error code (SQLSTATE) of an error or of one it wraps. */
export function pgCode(error: unknown): string | undefined {
  let current = error as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; current && depth < 4; depth++) {
    if (typeof current.code === "string" && /^[0-9A-Z]{5}$/.test(current.code)) return current.code;
    current = current.cause as typeof current;
  }
  return undefined;
}

function isConnectionError(error: unknown): boolean {
  let current = error as { code?: unknown; cause?: unknown; message?: unknown } | undefined;
  for (let depth = 0; current && depth < 4; depth++) {
    const code = String(current.code ?? "");
    if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|CONNECT_TIMEOUT|CONNECTION_|57P0|08)/.test(code)) return true;
    current = current.cause as typeof current;
  }
  return false;
}

/**
 * A document the parser gave up on for its size: past the token limit (graphql-js's message names
 * it), or nested so deep that parsing ran out of stack. A size refusal, not a syntax error.
 */
function tooLongToParse(error: unknown, message: string): string | null {
  const tokens = /contains more tha[nt] (\d+) tokens/.exec(message);
  if (tokens) return `The query has more than ${tokens[1]} tokens; at most ${tokens[1]} are allowed`;
  let current = error as { originalError?: unknown } | undefined;
  for (let depth = 0; current && depth < 4; depth++) {
    if (current instanceof RangeError) return "The query is nested too deeply";
    current = current.originalError as typeof current;
  }
  return null;
}

/** Turns any thrown value into the error a client may see: a code, a safe message, no stack. */
export function formatError(
  formatted: GraphQLFormattedError,
  error: unknown,
  development: boolean,
): GraphQLFormattedError {
  const original = (error as { originalError?: unknown })?.originalError ?? error;
  const code = formatted.extensions?.code as string | undefined;
  if (original instanceof GraphQLError || (code && code !== "INTERNAL_SERVER_ERROR")) {
    const extensions = { ...formatted.extensions };
    // Apollo codes every error of validation GRAPHQL_VALIDATION_FAILED; the size limits' rule
    // refuses with QUERY_TOO_COMPLEX, which is the code the client sees.
    const own = original instanceof GraphQLError ? original.extensions?.code : undefined;
    if (own === "QUERY_TOO_COMPLEX" && code === "GRAPHQL_VALIDATION_FAILED") extensions.code = own;
    if (!development) delete extensions.stacktrace;
    const tooLong = code === "GRAPHQL_PARSE_FAILED" ? tooLongToParse(error, formatted.message) : null;
    if (tooLong) return { ...formatted, message: tooLong, extensions: { ...extensions, code: "QUERY_TOO_COMPLEX" } };
    return { ...formatted, extensions };
  }
  const pg = pgCode(original);
  const mapped = pg ? PG_CODES[pg] : undefined;
  if (mapped) return { message: mapped[1], path: formatted.path, extensions: { code: mapped[0] } };
  if (isConnectionError(original)) {
    return {
      message: "The database is unavailable; retry shortly",
      path: formatted.path,
      extensions: { code: "SERVICE_UNAVAILABLE" },
    };
  }
  return {
    message: development ? formatted.message : "Internal error",
    path: formatted.path,
    extensions: { code: "INTERNAL_SERVER_ERROR" },
  };
}
