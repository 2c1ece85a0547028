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

/** An error answer of the HTTP routes (/exports, /imports), shaped like GraphQL's. */
async function refusal(response: Response): Promise<ApiError> {
  const requestId = response.headers.get("x-request-id") ?? undefined;
  try {
    const body = (await response.json()) as { errors?: ApiErrorEntry[] };
    if (body.errors?.length) return new ApiError(body.errors[0], requestId);
  } catch {
    // not JSON: fall through to the status
  }
  const code = response.status === 413 ? "BAD_USER_INPUT" : "INTERNAL_SERVER_ERROR";
  return new ApiError({ message: `HTTP ${response.status}`, extensions: { code } }, requestId);
}

const authorization = (): Record<string, string> => (session.token ? { authorization: `Bearer ${session.token}` } : {});

/**
 * Downloads a file of this server (/exports/...) with the key in the Authorization header, never
 * in the URL, and hands it to the browser as a Blob object URL with the server's file name.
 */
export async function download(path: string, fallbackName: string): Promise<{ name: string; blob: Blob }> {
  let response: Response;
  try {
    response = await fetch(path, { headers: authorization() });
  } catch {
    throw new ApiError({ message: "network", extensions: { code: "NETWORK" } });
  }
  if (!response.ok) throw await refusal(response);
  const disposition = response.headers.get("content-disposition") ?? "";
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
  const plain = /filename="?([^";]+)"?/i.exec(disposition)?.[1];
  const name = encoded ? decodeURIComponent(encoded) : (plain ?? fallbackName);
  const blob = await response.blob();
  saveBlob(blob, name);
  return { name, blob };
}

/** Saves a Blob under a file name: an object URL on a link with `download`, released after. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** One row of POST /imports/offers' answer: `row` counts the header as 1. */
export interface ImportRow {
  row: number;
  status: "VALID" | "INVALID" | "PUBLISHED";
  offerId: string | null;
  errors: { field: string; message: string }[];
}

export interface ImportResult {
  dryRun: boolean;
  valid: boolean;
  published: number;
  invalid: number;
  rows: ImportRow[];
}

/** Sends a CSV file of offers to POST /imports/offers; a file with bad rows answers 422 with every row. */
export async function importOffers(file: Blob, dryRun: boolean): Promise<ImportResult> {
  let response: Response;
  try {
    response = await fetch(`/imports/offers${dryRun ? "?dryRun=true" : ""}`, {
      method: "POST",
      headers: { "content-type": "text/csv", ...authorization() },
      body: file,
    });
  } catch {
    throw new ApiError({ message: "network", extensions: { code: "NETWORK" } });
  }
  if (response.status === 200 || response.status === 422) return (await response.json()) as ImportResult;
  throw await refusal(response);
}
