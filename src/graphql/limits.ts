// Limits that keep one request from costing the server too much: depth, cost, batch size.
import type { ApolloServerPlugin } from "@apollo/server";
import {
  GraphQLError,
  Kind,
  type ASTNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
} from "graphql";
import { getComplexity, simpleEstimator, type ComplexityEstimator } from "graphql-query-complexity";
import type { Context } from "./context.js";
import { httpError } from "./errors.js";
import { DEFAULT_PAGE } from "./pagination.js";

export const MAX_DEPTH = 10;
export const MAX_COST = 5_000;
export const MAX_BATCH = 10;

function depthOf(selection: SelectionSetNode | undefined, fragments: Map<string, FragmentDefinitionNode>, seen: Set<string>): number {
  if (!selection) return 0;
  let deepest = 0;
  for (const node of selection.selections) {
    if (node.kind === Kind.FIELD) {
      if (node.name.value.startsWith("__")) continue; // introspection stays cheap and allowed
      deepest = Math.max(deepest, 1 + depthOf(node.selectionSet, fragments, seen));
    } else if (node.kind === Kind.INLINE_FRAGMENT) {
      deepest = Math.max(deepest, depthOf(node.selectionSet, fragments, seen));
    } else {
      const name = node.name.value;
      if (seen.has(name)) continue;
      const fragment = fragments.get(name);
      deepest = Math.max(deepest, depthOf(fragment?.selectionSet, fragments, new Set([...seen, name])));
    }
  }
  return deepest;
}

/** A validation rule: operations nested deeper than MAX_DEPTH fields are refused before they run. */
export function depthLimit(context: ValidationContext) {
  const document = context.getDocument();
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return {
    OperationDefinition(node: ASTNode) {
      if (node.kind !== Kind.OPERATION_DEFINITION) return;
      const depth = depthOf(node.selectionSet, fragments, new Set());
      if (depth > MAX_DEPTH) {
        context.reportError(new GraphQLError(`The query is nested ${depth} levels deep; at most ${MAX_DEPTH} are allowed`, { nodes: [node] }));
      }
    },
  };
}

/** A list field costs its children once per requested item (`first`, or the default page). */
const connectionEstimator: ComplexityEstimator = ({ args, childComplexity, field }) => {
  const isConnection = field.args.some((arg) => arg.name === "first");
  if (!isConnection) return undefined;
  const first = typeof args.first === "number" && args.first >= 0 ? args.first : DEFAULT_PAGE;
  return 1 + childComplexity * Math.max(1, first);
};

/** Refuses an operation whose estimated cost is above MAX_COST, before any resolver runs. */
export function costLimit(schema: GraphQLSchema): ApolloServerPlugin<Context> {
  // A cost depends on the operation and on its numeric variables (page sizes) only. Apollo hands
  // over the same parsed document for the same query text, so the cost is computed once per
  // document, operation and page sizes, not on every request.
  const known = new WeakMap<DocumentNode, Map<string, number>>();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const variables = request.variables ?? {};
          const key = JSON.stringify([request.operationName ?? null, Object.entries(variables).filter(([, value]) => typeof value === "number")]);
          const costs = known.get(document) ?? new Map<string, number>();
          let cost = costs.get(key);
          if (cost === undefined) {
            try {
              cost = getComplexity({
                schema,
                query: document,
                variables,
                operationName: request.operationName,
                estimators: [connectionEstimator, simpleEstimator({ defaultComplexity: 1 })],
              });
            } catch {
              return; // bad variables are reported by execution with their own error
            }
            if (costs.size < 100) costs.set(key, cost);
            known.set(document, costs);
          }
          if (cost > MAX_COST) {
            throw httpError("BAD_USER_INPUT", `The query costs ${cost}; at most ${MAX_COST} is allowed (ask for fewer items)`, 400, { cost });
          }
        },
      };
    },
  };
}

export function batchTooLarge(body: unknown): boolean {
  return Array.isArray(body) && (body.length === 0 || body.length > MAX_BATCH);
}
