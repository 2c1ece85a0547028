// One log line per GraphQL operation at `info` (who, what, how long, the outcome code, the request
// id; no tokens, no variables), and the same facts counted for /metrics.
import type { ApolloServerPlugin } from "@apollo/server";
import { Kind, type GraphQLError } from "graphql";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Context } from "./context.js";
import { formatError } from "./errors.js";
import { mutationFields } from "./limits.js";

/** How an operation went, as the log line and the metrics tell it. */
export interface Outcome {
  context: Context;
  /** When the request started (performance.now()). */
  started: number;
  /** query, mutation, subscription; unknown when no operation was resolved. */
  type: string;
  name: string | undefined;
  /** The codes of the errors the client saw, in order; undefined when none. */
  codes: string[] | undefined;
  /** The errors that were the server's fault, to log with their cause. */
  internal: GraphQLError[] | undefined;
}

/** Counts the operation for /metrics and writes its log line. */
export function logOperation(logger: Logger, metrics: Metrics, outcome: Outcome): void {
  const { context, codes, internal, name, type } = outcome;
  const ms = performance.now() - outcome.started;
  const code = codes?.[0] ?? "OK";
  metrics.request(name, type, code, ms / 1000);
  const line = {
    requestId: context.requestId,
    operation: name ?? undefined,
    type,
    role: context.viewer?.role ?? "ANONYMOUS",
    organizationId: context.viewer?.organizationId ?? undefined,
    apiKeyId: context.viewer?.apiKeyId ?? undefined,
    ms: Math.round(ms),
    code,
    errors: codes,
  };
  if (internal?.length) logger.error({ ...line, err: internal[0].originalError ?? internal[0] }, "request failed");
  else logger.info(line, "request");
}

/** The code the client saw of an error: database errors are mapped (CONFLICT, SERVICE_UNAVAILABLE, ...). */
export const codeOf = (e: GraphQLError) =>
  String(formatError({ message: e.message, extensions: e.extensions }, e, false).extensions?.code);

export function requestLog(logger: Logger, metrics: Metrics): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ contextValue, request }) {
      const started = performance.now();
      return {
        async willSendResponse({ errors, response, operation, document }) {
          response.http.headers.set("x-request-id", contextValue.requestId);
          const body = response.body.kind === "single" ? response.body.singleResult : undefined;
          const allErrors = errors ?? body?.errors;
          const codes = errors?.map(codeOf) ?? body?.errors?.map((e) => String(e.extensions?.code));
          const type = operation?.operation ?? "unknown";
          // The name the client gave, else the operation's (also of a document that failed validation).
          const operations = document?.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
          const only = operations?.length === 1 ? operations[0] : undefined;
          const name = request.operationName ?? operation?.name?.value ?? only?.name?.value;
          if (operation?.operation === "mutation" && document) {
            // A mutation field's outcome: the code of the error at its path, else OK.
            const codeAt = new Map<string, string>();
            (allErrors ?? []).forEach((error, i) => {
              const key = error.path?.[0];
              if (typeof key === "string" && !codeAt.has(key)) codeAt.set(key, codes?.[i] ?? "UNKNOWN");
            });
            const refusedWhole = !body?.data; // refused before any field ran: every field has the code
            for (const [key, field] of mutationFields(document, operation))
              metrics.mutation(field, codeAt.get(key) ?? (refusedWhole ? (codes?.[0] ?? "OK") : "OK"));
          }
          const internal = errors?.filter((e) => codeOf(e) === "INTERNAL_SERVER_ERROR");
          logOperation(logger, metrics, { context: contextValue, started, type, name, codes, internal });
        },
      };
    },
  };
}
