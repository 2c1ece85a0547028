// One structured log line per GraphQL request: who, what, how long, which error codes. No tokens.
import type { ApolloServerPlugin } from "@apollo/server";
import type { GraphQLError } from "graphql";
import type { Logger } from "../logger.js";
import type { Context } from "./context.js";
import { formatError } from "./errors.js";

export function requestLog(logger: Logger): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ contextValue, request }) {
      const started = performance.now();
      return {
        async willSendResponse({ errors, response }) {
          response.http.headers.set("x-request-id", contextValue.requestId);
          // The code the client saw: database errors are mapped (CONFLICT, SERVICE_UNAVAILABLE, ...).
          const codeOf = (e: GraphQLError) =>
            String(formatError({ message: e.message, extensions: e.extensions }, e, false).extensions?.code);
          const codes = errors?.map(codeOf);
          const internal = errors?.filter((e) => codeOf(e) === "INTERNAL_SERVER_ERROR");
          const line = {
            requestId: contextValue.requestId,
            operation: request.operationName ?? undefined,
            role: contextValue.viewer?.role ?? "ANONYMOUS",
            organizationId: contextValue.viewer?.organizationId ?? undefined,
            apiKeyId: contextValue.viewer?.apiKeyId ?? undefined,
            ms: Math.round(performance.now() - started),
            errors: codes,
          };
          if (internal?.length)
            logger.error({ ...line, err: internal[0].originalError ?? internal[0] }, "request failed");
          else logger.debug(line, "request");
        },
      };
    },
  };
}
