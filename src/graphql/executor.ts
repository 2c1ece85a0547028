// Query execution compiled once per operation text. graphql-js walks the schema anew for every
// field of every row; graphql-jit turns each operation into a function on first use, and later
// requests with the same text (clients send a handful of fixed queries) run that function. Apollo
// takes an executor through its gateway interface: parsing, validation, limits and error
// formatting stay Apollo's. Each compiled query is handed to the short path of known queries
// (known-queries.ts), which answers later requests of the same text without Apollo.
import type { GatewayExecutor, GatewayInterface } from "@apollo/server-gateway-interface";
import { execute, getVariableValues, printSchema, type ExecutionResult, type GraphQLSchema } from "graphql";
import { compileQuery, isCompiledQuery, type CompiledQuery } from "graphql-jit";
import { asGraphQLError, type KnownQueries } from "./known-queries.js";
import { answeredAsPublished, compiledAgainst, runsOnPlainData } from "./plain-data.js";

/** Compiled operations kept per process; the oldest goes when a new one would exceed it. */
const MAX_COMPILED = 500;

/** With `known`, each compiled query is remembered for the short path of known queries. */
export function compiledExecution(schema: GraphQLSchema, known?: KnownQueries): GatewayInterface {
  const compiled = new Map<string, CompiledQuery>();
  // Where plain data fields are one value, projected by their resolvers (plain-data.ts).
  const withPlainData = compiledAgainst(schema);

  const executor: GatewayExecutor = async (request) => {
    const operationName = request.request.operationName ?? undefined; // as asked: Apollo's own is null when it matched none
    const key = `${request.queryHash}:${operationName ?? ""}`;
    let query = compiled.get(key);
    if (!query) {
      const compile = (target: GraphQLSchema) => compileQuery(target, request.document, operationName);
      const onPlainData = withPlainData !== schema && runsOnPlainData(request.document, request.operation);
      let result = compile(onPlainData ? withPlainData : schema);
      // Should a value not fit its type, the query runs as the published schema compiles it.
      if (onPlainData && isCompiledQuery(result)) result = answeredAsPublished(result, () => compile(schema));
      // What graphql-jit does not compile, graphql-js runs as before.
      if (!isCompiledQuery(result)) {
        return (await execute({
          schema,
          document: request.document,
          contextValue: request.context,
          variableValues: request.request.variables,
          operationName,
        })) as ExecutionResult;
      }
      if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
      compiled.set(key, result);
      query = result;
    }
    if (known && request.operation && request.source)
      known.remember(request.source, operationName, {
        document: request.document,
        operation: request.operation,
        compiled: query,
      });
    // graphql-js coerces the variables, as it would have: its errors name the input field at fault,
    // and it applies input defaults that graphql-jit's own coercion refuses (a non-null field with
    // a default, omitted). The compiled query then sees values already coerced.
    const judged = getVariableValues(
      schema,
      request.operation?.variableDefinitions ?? [],
      request.request.variables ?? {},
    );
    if (judged.errors) return { errors: judged.errors };
    const result = (await query.query(undefined, request.context, judged.coerced)) as ExecutionResult;
    return result.errors ? { ...result, errors: result.errors.map(asGraphQLError) } : result;
  };

  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => {};
    },
    load: async () => ({ executor }),
    stop: async () => {},
  };
}
