// The console's only way to the server: POST /graphql on this origin, with the operations that
// `npm run codegen` typed from schema/schema.graphql. The API key lives in sessionStorage (gone
// when the tab closes, never in the URL) and travels as `Authorization: Bearer`.
import type { TypedDocumentString } from "./graphql/generated.js";

const KEY = "gvm.apiKey";

export const session = {
  get token(): string | null {
    return sessionStorage.getItem(KEY);
  },
  set token(value: string | null) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
};

/** One error of an answer, with what the API puts in `extensions`. */
export interface ApiErrorEntry {
  message: string;
  extensions?: {
    code?: string;
    field?: string;
    reason?: string;
    retryable?: boolean;
    retryAfterSeconds?: number;
    orderId?: string;
  };
}

/** A refused request: the first error's code and details, read by errors.ts into a sentence. */
export class ApiError extends Error {
  readonly code: string;
  readonly field?: string;
  readonly reason?: string;
  readonly retryAfterSeconds?: number;
  readonly retryable?: boolean;
  readonly requestId?: string;
  constructor(entry: ApiErrorEntry, requestId?: string) {
    super(entry.message);
    this.code = entry.extensions?.code ?? "INTERNAL_SERVER_ERROR";
    this.field = entry.extensions?.field;
    this.reason = entry.extensions?.reason;
    this.retryAfterSeconds = entry.extensions?.retryAfterSeconds;
    this.retryable = entry.extensions?.retryable;
    this.requestId = requestId;
  }
}

/** Sends one typed operation; resolves to its data, or throws an ApiError (NETWORK when unreachable). */
export async function gql<Result, Variables>(
  document: TypedDocumentString<Result, Variables>,
  ...[variables]: Variables extends Record<string, never> ? [] | [Variables] : [Variables]
): Promise<Result> {
  const token = session.token;
  let response: Response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query: document.toString(), variables: variables ?? {} }),
    });
  } catch {
    throw new ApiError({ message: "network", extensions: { code: "NETWORK" } });
  }
  const requestId = response.headers.get("x-request-id") ?? undefined;
  let body: { data?: Result; errors?: ApiErrorEntry[] };
  try {
    body = await response.json();
  } catch {
    throw new ApiError(
      { message: `HTTP ${response.status}`, extensions: { code: "INTERNAL_SERVER_ERROR" } },
      requestId,
    );
  }
  if (body.errors?.length) throw new ApiError(body.errors[0], requestId);
  if (!body.data) throw new ApiError({ message: "no data", extensions: { code: "INTERNAL_SERVER_ERROR" } }, requestId);
  return body.data;
}
