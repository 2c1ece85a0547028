// One log line per GraphQL operation at `info` (who, what, how long, the outcome code, the request
// id; no tokens, no variables), and the same facts counted for /metrics.
import type { ApolloServerPlugin } from "@apollo/server";
import { Kind, type GraphQLError } from "graphql";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Context } from "./context.js";
import { formatError } from "./errors.js";
import { mutationFields } from "./limits.js";

export function requestLog(logger: Logger, metrics: Metrics): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ contextValue, request }) {
      const started = performance.now();
      return {
        async willSendResponse({ errors, response, operation, document }) {
          response.http.headers.set("x-request-id", contextValue.requestId);
          // The code the client saw: database errors are mapped (CONFLICT, SERVICE_UNAVAILABLE, ...).
          const codeOf = (e: GraphQLError) =>
            String(formatError({ message: e.message, extensions: e.extensions }, e, false).extensions?.code);
          const body = response.body.kind === "single" ? response.body.singleResult : undefined;
          const allErrors = errors ?? body?.errors;
          const codes = errors?.map(codeOf) ?? body?.errors?.map((e) => String(e.extensions?.code));
          const code = codes?.[0] ?? "OK";
          const internal = errors?.filter((e) => codeOf(e) === "INTERNAL_SERVER_ERROR");
          const ms = performance.now() - started;
          const type = operation?.operation ?? "unknown";
          // The name the client gave, else the operation's (also of a document that failed validation).
          const operations = document?.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
          const only = operations?.length === 1 ? operations[0] : undefined;
          const name = request.operationName ?? operation?.name?.value ?? only?.name?.value;
          metrics.request(name, type, code, ms / 1000);
          if (operation?.operation === "mutation" && document) {
            // A mutation field's outcome: the code of the error at its path, else OK.
            const codeAt = new Map<string, string>();
            (allErrors ?? []).forEach((error, i) => {
              const key = error.path?.[0];
              if (typeof key === "string" && !codeAt.has(key)) codeAt.set(key, codes?.[i] ?? "UNKNOWN");
            });
            const refusedWhole = !body?.data; // refused before any field ran: every field has the code
            for (const [key, field] of mutationFields(document, operation))
              metrics.mutation(field, codeAt.get(key) ?? (refusedWhole ? code : "OK"));
          }
          const line = {
            requestId: contextValue.requestId,
            operation: name ?? undefined,
            type,
            role: contextValue.viewer?.role ?? "ANONYMOUS",
            organizationId: contextValue.viewer?.organizationId ?? undefined,
            apiKeyId: contextValue.viewer?.apiKeyId ?? undefined,
            ms: Math.round(ms),
            code,
            errors: codes,
          };
          if (internal?.length)
            logger.error({ ...line, err: internal[0].originalError ?? internal[0] }, "request failed");
          else logger.info(line, "request");
        },
      };
    },
  };
}
