// Every error a client sees carries one of the codes of docs/api.md; messages never echo input values.
// The refusals of the domain (src/errors.ts) get their code and extensions here, in formatError,
// whichever way the request came (the lean route or Express, one operation or a batch, compiled by
// graphql-jit or run by graphql-js). The errors built here are the transport's own: authentication,
// limits, an unreachable database at sign-in.
import { HeaderMap } from "@apollo/server";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import {
  BadInput,
  Conflict,
  DomainError,
  Forbidden,
  NotEligible,
  NotFound,
  PaymentFailed,
  PaymentNotStarted,
  pgCode,
} from "../errors.js";
import { globalId } from "./ids.js";

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

/**
 * The code and extensions a client sees for a refusal of the domain (src/errors.ts): the one place
 * where they are given. Orders are named by their global id.
 */
export function domainExtensions(error: DomainError): { code: ErrorCode } & Record<string, unknown> {
  if (error instanceof BadInput)
    return error.problems
      ? { code: "BAD_USER_INPUT", field: error.field, problems: error.problems }
      : { code: "BAD_USER_INPUT", field: error.field };
  if (error instanceof NotFound) return { code: "NOT_FOUND" };
  if (error instanceof Forbidden) return { code: "FORBIDDEN" };
  if (error instanceof Conflict)
    return error.reason == null ? { code: "CONFLICT" } : { code: "CONFLICT", reason: error.reason };
  if (error instanceof NotEligible) return { code: "NOT_ELIGIBLE", reason: error.reason };
  if (error instanceof PaymentFailed) {
    const order = error.orderId == null ? {} : { orderId: globalId("Order", error.orderId) };
    return { code: "PAYMENT_FAILED", ...order, retryable: error.retryable };
  }
  if (error instanceof PaymentNotStarted) {
    // The code of what went wrong when it was a refusal; else the provider or the database was away.
    const code = error.cause instanceof DomainError ? domainExtensions(error.cause).code : "SERVICE_UNAVAILABLE";
    return { code, orderId: globalId("Order", error.orderId), retryable: true };
  }
  return { code: "INTERNAL_SERVER_ERROR" };
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
  if (original instanceof DomainError) {
    const stacktrace = development ? formatted.extensions?.stacktrace : undefined;
    return { ...formatted, extensions: { ...domainExtensions(original), ...(stacktrace ? { stacktrace } : {}) } };
  }
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

/** The HTTP status of each code, for answers outside GraphQL (the file exports). */
const HTTP_STATUS: Partial<Record<string, number>> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
};

/**
 * Any thrown value as a plain HTTP answer shaped like GraphQL's, `{ errors: [{ message, extensions }] }`,
 * with the status of its code (and Retry-After when rate limited): what routes outside /graphql send.
 */
export function httpAnswerOf(
  error: unknown,
  development: boolean,
): { status: number; headers: Record<string, string>; body: { errors: GraphQLFormattedError[] } } {
  const graphqlError =
    error instanceof GraphQLError
      ? error
      : new GraphQLError(error instanceof Error ? error.message : "Internal error", { originalError: error as Error });
  const formatted = formatError(
    { message: graphqlError.message, extensions: { code: graphqlError.extensions?.code ?? "INTERNAL_SERVER_ERROR" } },
    graphqlError,
    development,
  );
  const { http: _http, ...extensions } = { ...graphqlError.extensions, ...formatted.extensions } as Record<
    string,
    unknown
  >;
  const code = String(extensions.code);
  const retry = extensions.retryAfterSeconds;
  return {
    status: HTTP_STATUS[code] ?? 500,
    headers: retry == null ? {} : { "retry-after": String(retry) },
    body: { errors: [{ message: formatted.message, extensions }] },
  };
}
