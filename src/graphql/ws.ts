// GraphQL subscriptions over WebSocket on /graphql, with the graphql-ws protocol (the maintained
// `graphql-ws` library on `ws`). The API key comes in connection_init's payload; each subscription
// runs with a context like a request's, the same schema, authorization and shape limits. Only
// subscriptions: queries and mutations are POSTs, where the cost and rate limits apply.
import { randomUUID } from "node:crypto";
import type http from "node:http";
import {
  getOperationAST,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type ExecutionArgs,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { bearerToken } from "../accounts/tokens.js";
import type { Logger } from "../logger.js";
import type { AppServices } from "../services.js";
import type { Context, Viewer } from "./context.js";
import { formatError } from "./errors.js";
import { MAX_BODY_BYTES } from "./http.js";
import { MAX_TOKENS, queryShape } from "./limits.js";
import { Loaders } from "./loaders.js";

type Connection = {
  viewer?: Viewer;
  /** The key its connection counts against (the API key, or the admin). */
  key?: string;
};

export interface Subscriptions {
  /** Closes every connection and stops accepting new ones. */
  close(): Promise<void>;
  /** Open connections (for tests and the bench). */
  connections(): number;
}

/** The token in connection_init's payload: `{ "authorization": "Bearer <key>" }` (any case), or `{ "apiKey": "<key>" }`. */
function tokenOf(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!params) return undefined;
  for (const [name, value] of Object.entries(params)) {
    if (typeof value !== "string") continue;
    if (name.toLowerCase() === "authorization") return bearerToken(value);
    if (name === "apiKey") return value;
  }
  return undefined;
}

const refusal = (message: string, code: string) => new GraphQLError(message, { extensions: { code } });

export function serveSubscriptions(
  httpServer: http.Server,
  schema: GraphQLSchema,
  services: AppServices,
  viewerOf: (token: string) => Promise<Viewer | null>,
  logger: Logger,
): Subscriptions {
  const { config } = services;
  const wsServer = new WebSocketServer({ server: httpServer, path: "/graphql", maxPayload: MAX_BODY_BYTES });
  const perKey = new Map<string, number>();
  const format = (error: GraphQLError): GraphQLFormattedError => formatError(error.toJSON(), error, config.development);

  const disposable = useServer<Record<string, unknown>, Connection>(
    {
      schema,
      // Authentication: a connection without a valid key is closed with 4403 (Forbidden).
      onConnect: async (ctx) => {
        const token = tokenOf(ctx.connectionParams);
        const viewer = token ? await viewerOf(token).catch(() => null) : null;
        if (!viewer) return false;
        const key = viewer.apiKeyId == null ? "admin" : `key:${viewer.apiKeyId}`;
        const open = perKey.get(key) ?? 0;
        if (config.wsConnectionsPerKey > 0 && open >= config.wsConnectionsPerKey) {
          ctx.extra.socket.close(4429, `Too many connections for this API key (at most ${config.wsConnectionsPerKey})`);
          return false;
        }
        perKey.set(key, open + 1);
        ctx.extra.viewer = viewer;
        ctx.extra.key = key;
        return { role: viewer.role };
      },
      onClose: (ctx) => {
        const key = ctx.extra.key;
        if (!key) return;
        const left = (perKey.get(key) ?? 1) - 1;
        if (left > 0) perKey.set(key, left);
        else perKey.delete(key);
      },
      onSubscribe: (ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] => {
        const running = Object.values(ctx.subscriptions).length;
        if (config.wsSubscriptionsPerConnection > 0 && running >= config.wsSubscriptionsPerConnection) {
          return [
            refusal(
              `At most ${config.wsSubscriptionsPerConnection} subscriptions per connection: complete one, or open another connection`,
              "RATE_LIMITED",
            ),
          ];
        }
        let document;
        try {
          document = parse(payload.query, { maxTokens: MAX_TOKENS });
        } catch (error) {
          return [error instanceof GraphQLError ? error : refusal("The query is not GraphQL", "GRAPHQL_PARSE_FAILED")];
        }
        const errors = validate(schema, document, [...specifiedRules, queryShape]);
        if (errors.length) return errors;
        const operation = getOperationAST(document, payload.operationName);
        if (operation?.operation !== "subscription") {
          return [
            refusal("Only subscriptions are served over WebSocket; send queries and mutations as POST", "BAD_REQUEST"),
          ];
        }
        const contextValue: Context = {
          app: services,
          db: services.db,
          viewer: ctx.extra.viewer ?? null,
          now: new Date(),
          loaders: new Loaders(services.db),
          requestId: randomUUID(),
          ip: ctx.extra.request.socket.remoteAddress ?? "unknown",
        };
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue,
        };
      },
      onError: (_ctx, _id, _payload, errors) => errors.map(format),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map(format) } : undefined,
    },
    wsServer,
  );
  wsServer.on("error", (error) => logger.warn({ err: error }, "websocket server error"));

  return {
    connections: () => wsServer.clients.size,
    close: async () => {
      for (const client of wsServer.clients) client.close(1001, "Server shutting down");
      await disposable.dispose();
    },
  };
}
