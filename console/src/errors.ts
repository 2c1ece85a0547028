// Every error code of the API (docs/api.md's list) as a sentence in both languages, with what to
// do next; a lapsed hold, an exhausted budget and a rate limit say exactly what happened.
import { ApiError } from "./api.js";
import type { Texts } from "./i18n.js";
import type { MessageKey } from "./messages.js";

export interface Explained {
  title: string;
  next?: string;
}

/** The API's codes (and NETWORK, when the server could not be reached) that have their own sentence. */
export const CODES = [
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "BAD_USER_INPUT",
  "NOT_FOUND",
  "CONFLICT",
  "NOT_ELIGIBLE",
  "PAYMENT_FAILED",
  "RATE_LIMITED",
  "QUERY_TOO_COMPLEX",
  "SERVICE_UNAVAILABLE",
  "INTERNAL_SERVER_ERROR",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_REQUEST",
  "NETWORK",
] as const;

export function explain(error: unknown, texts: Texts): Explained {
  const { t } = texts;
  if (!(error instanceof ApiError)) return { title: t("error.INTERNAL_SERVER_ERROR"), next: String(error) };
  const known = (CODES as readonly string[]).includes(error.code) ? error.code : "INTERNAL_SERVER_ERROR";
  const title = t(`error.${known}` as MessageKey);
  switch (known) {
    case "RATE_LIMITED":
      return { title, next: t("error.next.RATE_LIMITED", { seconds: error.retryAfterSeconds ?? 60 }) };
    case "BAD_USER_INPUT":
      return {
        title,
        next: error.field ? t("error.next.field", { field: texts.code("field", error.field) }) : undefined,
      };
    case "NOT_ELIGIBLE":
      return { title, next: error.reason ? texts.code("reason", error.reason) : undefined };
    case "CONFLICT":
      // A ledger guard names what ran out; a lapsed hold is told by the API's sentence.
      if (error.reason)
        return { title: texts.code("reason", error.reason), next: texts.code("reason.next", error.reason) };
      if (/hold .*lapsed|no longer held/i.test(error.message))
        return { title: t("error.holdLapsed"), next: t("error.next.holdLapsed") };
      return { title, next: t("error.next.CONFLICT") };
    case "PAYMENT_FAILED":
      return { title, next: t(error.retryable ? "error.next.paymentRetry" : "error.next.paymentRefused") };
    case "INTERNAL_SERVER_ERROR":
      return { title, next: error.requestId ? t("error.next.requestId", { id: error.requestId }) : undefined };
    default: {
      const next = `error.next.${known}` as MessageKey;
      return { title, next: texts.code("error.next", known) === known ? undefined : t(next) };
    }
  }
}
