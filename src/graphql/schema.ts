import { lexicographicSortSchema, printSchema, type GraphQLSchema } from "graphql";
import { buildSchema as buildTypeGraphqlSchema } from "type-graphql";
import { authChecker } from "./auth-checker.js";
import { directFieldResolvers, oneInstanceEach } from "./direct-resolvers.js";
import { resolvers } from "./resolvers.js";
import { DateTimeScalar } from "./scalars.js";

let built: Promise<GraphQLSchema> | undefined;

/**
 * The executable schema; built once per process. Every @ObjectType sets `simpleResolvers`: its
 * plain fields are then read as properties, where type-graphql would wrap each in a resolver that
 * the compiled executor calls with a resolve info per value (180 MB of garbage for a report of
 * 10,000 rows). Fields with a @FieldResolver keep theirs.
 */
export function buildSchema(): Promise<GraphQLSchema> {
  built ??= buildTypeGraphqlSchema({
    resolvers,
    authChecker,
    authMode: "error",
    container: oneInstanceEach,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    // Inputs are checked by the services, with the codes docs/api.md names; there are no class-validator
    // rules, so its pass over every input argument of every request is off.
    validate: false,
    // Every subscription brings its own source (the process's event stream, events/stream.ts);
    // type-graphql wants a PubSub all the same, for topic subscriptions, which none uses.
    pubSub: {
      publish: () => {
        throw new Error("subscriptions read the event stream, not a PubSub");
      },
      subscribe: () => {
        throw new Error("subscriptions read the event stream, not a PubSub");
      },
    },
  })
    .then((schema) => directFieldResolvers(schema, resolvers))
    .then(describingRoots);
  return built;
}

/** type-graphql builds Query and Mutation without a description; the schema's conventions go there. */
function describingRoots(schema: GraphQLSchema): GraphQLSchema {
  schema.getQueryType()!.description =
    "Reads. gpuModels, offers, offer and dataCenters need no token; everything else needs Authorization: Bearer <token>, " +
    "and each field names the roles it allows. Errors carry extensions.code: UNAUTHENTICATED (no or unknown token), " +
    "FORBIDDEN (another role), BAD_USER_INPUT (extensions.field names the input), NOT_FOUND (another organization's " +
    "objects are not found, exactly like unknown ids), NOT_ELIGIBLE (extensions.reason says why).";
  schema.getMutationType()!.description =
    "Changes; every one needs Authorization: Bearer <token> and names the roles it allows and the codes of its errors " +
    "(extensions.code; CONFLICT: a state or idempotency clash). A failed mutation changes nothing. Mutations are limited " +
    "per API key and per client IP: RATE_LIMITED, with extensions.retryAfterSeconds.";
  schema.getSubscriptionType()!.description =
    "Events as they commit, over WebSocket on /graphql with the graphql-ws protocol: send the API key in connection_init's " +
    'payload ({"authorization": "Bearer <key>"}); a connection without a valid key is closed with 4403. Each organization ' +
    "receives only its own events. Resume after a disconnect with after: (the last event id seen). docs/events.md";
  return schema;
}

/** The SDL as committed in schema/schema.graphql: sorted, so diffs show real changes only. */
export async function schemaSdl(): Promise<string> {
  return `${printSchema(lexicographicSortSchema(await buildSchema()))}\n`;
}
