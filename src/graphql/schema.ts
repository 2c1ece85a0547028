import { lexicographicSortSchema, printSchema, type GraphQLSchema } from "graphql";
import { buildSchema as buildTypeGraphqlSchema } from "type-graphql";
import { authChecker } from "./auth-checker.js";
import { resolvers } from "./resolvers.js";
import { DateTimeScalar } from "./scalars.js";

let built: Promise<GraphQLSchema> | undefined;

/** The executable schema; built once per process. */
export function buildSchema(): Promise<GraphQLSchema> {
  built ??= buildTypeGraphqlSchema({
    resolvers,
    authChecker,
    authMode: "error",
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validate: { forbidUnknownValues: false },
  });
  return built;
}

/** The SDL as committed in schema/schema.graphql: sorted, so diffs show real changes only. */
export async function schemaSdl(): Promise<string> {
  return `${printSchema(lexicographicSortSchema(await buildSchema()))}\n`;
}
