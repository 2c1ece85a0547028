// Plain data answered in one pass. graphql-jit completes a list value by value and field by field,
// with a closure per item and a check, a path and a serializer call per value: for the year's spend
// report (10,667 rows of 11 values) that cost 13 ms of CPU and as much again in garbage collection.
// A field marked @Extensions({ plainData: true }) holds data already in its answer's shape: objects
// whose fields are properties (no resolvers, no arguments), down to scalars and enums. Queries are
// compiled against a copy of the schema in which such a field is one value, which its resolver
// projects onto the fields the query selects: the same answer, built in one pass. Should a value
// not fit its type (a null where none may be, a string for an Int), the query runs again as
// compiled against the published schema, whose answer says where, as graphql-js would. Decision 0022.
import {
  GraphQLBoolean,
  GraphQLFloat,
  GraphQLID,
  GraphQLInt,
  GraphQLInterfaceType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  GraphQLString,
  GraphQLUnionType,
  isAbstractType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  Kind,
  visit,
  BREAK,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigMap,
  type GraphQLFieldResolver,
  type GraphQLLeafType,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLType,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { isCompiledQuery, type CompiledQuery } from "graphql-jit";

/** A value that does not fit its type: the projection cannot say where graphql-js would put the null. */
class NotOfItsType extends Error {}

/** A field's value projected onto what a query selects of it. */
type Projection = (value: unknown) => unknown;

/** The extension that marks a field as plain data: `@Extensions({ plainData: true })`. */
const isPlainData = (field: { extensions?: Readonly<Record<string, unknown>> | null }) =>
  field.extensions?.plainData === true;

/** What a plain data field is in the copy of the schema that queries are compiled against. */
const PlainData = new GraphQLScalarType({
  name: "PlainData",
  description: "A value already projected onto the fields selected (never part of the published schema)",
  serialize: (value) => value,
});

/**
 * The schema queries are compiled against: `schema` with each plain data field as one value that
 * its resolver projects; `schema` itself when no field is marked. Throws when a marked field's
 * type is not plain data (a resolver, arguments or an abstract type below it).
 */
export function compiledAgainst(schema: GraphQLSchema): GraphQLSchema {
  const outputTypes = Object.values(schema.getTypeMap()).filter(
    (type): type is GraphQLObjectType | GraphQLInterfaceType =>
      !type.name.startsWith("__") && (isObjectType(type) || isInterfaceType(type)),
  );
  if (!outputTypes.some((type) => Object.values(type.getFields()).some(isPlainData))) return schema;
  if (schema.getType(PlainData.name)) throw new Error(`the schema already has a type named ${PlainData.name}`);

  // Output types are rebuilt (they point at each other); inputs, enums and scalars are shared.
  const rebuilt = new Map<string, GraphQLNamedType>();
  const named = <T extends GraphQLNamedType>(type: T): T => (rebuilt.get(type.name) as T | undefined) ?? type;
  const wrapped = (type: GraphQLType): GraphQLType => {
    if (isListType(type)) return new GraphQLList(wrapped(type.ofType));
    if (isNonNullType(type)) return new GraphQLNonNull(wrapped(type.ofType));
    return named(type);
  };
  const fieldsOf = (fields: GraphQLFieldConfigMap<unknown, unknown>) => () =>
    Object.fromEntries(
      Object.entries(fields).map(([name, field]): [string, GraphQLFieldConfig<unknown, unknown>] => {
        if (!isPlainData(field)) return [name, { ...field, type: wrapped(field.type) as GraphQLOutputType }];
        requirePlain(field.type, new Set());
        return [
          name,
          {
            ...field,
            type: isNonNullType(field.type) ? new GraphQLNonNull(PlainData) : PlainData,
            resolve: projecting(field.type, field.resolve),
          },
        ];
      }),
    );
  // An object's or interface's configuration, its fields and interfaces pointing at the rebuilt types.
  const pointing = <
    C extends { interfaces: readonly GraphQLInterfaceType[]; fields: GraphQLFieldConfigMap<unknown, unknown> },
  >(
    config: C,
  ) => ({ ...config, interfaces: () => config.interfaces.map(named), fields: fieldsOf(config.fields) });
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith("__")) continue;
    if (isObjectType(type)) {
      rebuilt.set(type.name, new GraphQLObjectType(pointing(type.toConfig())));
    } else if (isInterfaceType(type)) {
      rebuilt.set(type.name, new GraphQLInterfaceType(pointing(type.toConfig())));
    } else if (isUnionType(type)) {
      const config = type.toConfig();
      rebuilt.set(type.name, new GraphQLUnionType({ ...config, types: () => config.types.map(named) }));
    }
  }
  const config = schema.toConfig();
  return new GraphQLSchema({
    ...config,
    query: config.query && named(config.query),
    mutation: config.mutation && named(config.mutation),
    subscription: config.subscription && named(config.subscription),
    types: config.types.map(named),
  });
}

/**
 * Whether an operation can run against the schema of compiledAgainst: only a query (it may run
 * twice, see answeredAsPublished), and not when it asks for the schema itself (introspection must
 * show the published one) nor when it has @skip or @include, whose conditions a projection worked
 * out once per document would not see.
 */
export function runsOnPlainData(document: DocumentNode, operation: OperationDefinitionNode | undefined): boolean {
  if (operation?.operation !== "query") return false;
  let plain = true;
  visit(document, {
    Field(node) {
      if (node.name.value === "__schema" || node.name.value === "__type") {
        plain = false;
        return BREAK;
      }
    },
    Directive(node) {
      if (node.name.value === "skip" || node.name.value === "include") {
        plain = false;
        return BREAK;
      }
    },
  });
  return plain;
}

/**
 * A query compiled against the plain data schema that, when a value did not fit its type, answers
 * as the same query compiled against the published schema (on first need) does.
 */
export function answeredAsPublished(
  projected: CompiledQuery,
  compilePublished: () => CompiledQuery | ExecutionResult,
): CompiledQuery {
  let published: CompiledQuery | ExecutionResult | undefined;
  return {
    ...projected,
    query(root, context, variables) {
      const settled = (answer: Awaited<ReturnType<CompiledQuery["query"]>>) => {
        if (!answer.errors?.some((error) => error.originalError instanceof NotOfItsType)) return answer;
        published ??= compilePublished();
        return isCompiledQuery(published) ? published.query(root, context, variables) : answer;
      };
      const answer = projected.query(root, context, variables);
      return answer instanceof Promise ? answer.then(settled) : settled(answer);
    },
  };
}

/** Throws unless the type is scalars, enums and objects whose fields are properties, all the way down. */
function requirePlain(type: GraphQLOutputType, seen: Set<string>): void {
  if (isNonNullType(type) || isListType(type)) return requirePlain(type.ofType, seen);
  if (isLeafType(type) || seen.has(type.name)) return;
  if (isAbstractType(type)) throw new Error(`${type.name} is abstract: it cannot be plain data`);
  seen.add(type.name);
  for (const field of Object.values(type.getFields())) {
    if (field.resolve || field.args.length)
      throw new Error(`${type.name}.${field.name} has a resolver or arguments: it cannot be plain data`);
    requirePlain(field.type, seen);
  }
}

/** The resolver of a plain data field: its value (as its own resolver or the property gives it), projected. */
function projecting(
  type: GraphQLOutputType,
  resolve: GraphQLFieldResolver<unknown, unknown> | undefined,
): GraphQLFieldResolver<unknown, unknown> {
  // The compiled query hands every call of a field the same list of nodes.
  const projections = new WeakMap<readonly FieldNode[], Projection>();
  return (source, args, context, info) => {
    let project = projections.get(info.fieldNodes);
    if (!project) {
      project = projection(
        type,
        info.fieldNodes,
        info.fragments,
        info.schema,
        `${info.parentType.name}.${info.fieldName}`,
      );
      projections.set(info.fieldNodes, project);
    }
    const value = resolve ? resolve(source, args, context, info) : (source as Record<string, unknown>)[info.fieldName];
    return value instanceof Promise ? value.then(project) : project(value);
  };
}

/**
 * How a value of `type` becomes its answer for these nodes, as graphql-js completes it: fields by
 * response key (aliases, repeats and fragments merged), in the order the query first names them,
 * and leaves serialized; a value that does not fit its type throws NotOfItsType. Each object and
 * list is one generated function with its checks written inline, so that every call in it always
 * calls the same function (closures of one literal would share their call sites and stay slow).
 */
function projection(
  type: GraphQLOutputType,
  nodes: readonly FieldNode[],
  fragments: Record<string, FragmentDefinitionNode>,
  schema: GraphQLSchema,
  field: string,
): Projection {
  const helpers: unknown[] = [];
  const helper = (value: unknown) => `f[${helpers.push(value) - 1}]`;
  const fail = (message: string) =>
    helper(() => {
      throw new NotOfItsType(message);
    });
  /** The answer of `value` (a variable's name) as an expression. */
  const answer = (type: GraphQLOutputType, nodes: readonly FieldNode[], field: string, value: string): string => {
    if (isNonNullType(type))
      return `(${value} == null ? ${fail(`Cannot return null for non-nullable field ${field}.`)}() : ${answer(type.ofType, nodes, field, value)})`;
    if (isLeafType(type)) {
      const fast = FAST_LEAVES.get(type);
      const serialized = `${helper(serializer(type))}(${value})`;
      return `(${value} == null ? null : ${fast ? `${fast(value)} ? ${value} : ${serialized}` : serialized})`;
    }
    return `${helper(projection(type, nodes, fragments, schema, field))}(${value})`;
  };

  let body: string;
  if (isNonNullType(type)) {
    body = `return ${answer(type, nodes, field, "v")};`;
  } else if (isListType(type)) {
    const iterable = helper((value: unknown) => {
      if (typeof value === "string" || typeof (value as Iterable<unknown>)[Symbol.iterator] !== "function")
        throw new NotOfItsType(`Expected Iterable, but did not find one for field "${field}".`);
      return Array.from(value as Iterable<unknown>);
    });
    body = `if (v == null) return null;
      const items = Array.isArray(v) ? v : ${iterable}(v);
      const answers = new Array(items.length);
      for (let i = 0; i < items.length; i++) { const item = items[i]; answers[i] = ${answer(type.ofType, nodes, field, "item")}; }
      return answers;`;
  } else if (isLeafType(type)) {
    body = `return ${answer(type, nodes, field, "v")};`;
  } else if (isObjectType(type)) {
    const selected = new Map<string, FieldNode[]>();
    collect(
      type,
      nodes.map((node) => node.selectionSet),
      fragments,
      schema,
      selected,
    );
    // Keys and names are GraphQL names (letters, digits, _), quoted all the same.
    const fields = [...selected].map(([key, [first, ...more]]) => {
      const name = first.name.value;
      const value =
        name === "__typename"
          ? JSON.stringify(type.name)
          : `(t = v[${JSON.stringify(name)}], ${answer(type.getFields()[name].type, [first, ...more], `${type.name}.${name}`, "t")})`;
      return `${JSON.stringify(key)}: ${value}`;
    });
    body = `if (v == null) return null; let t; return { ${fields.join(", ")} };`;
  } else {
    throw new Error(`${type.name} is abstract: it cannot be plain data`);
  }
  return new Function("f", `"use strict"; return function project(v) { ${body} };`)(helpers) as Projection;
}

/** For each built-in scalar, the test of a value that it serializes as itself. */
const FAST_LEAVES = new Map<GraphQLLeafType, (value: string) => string>([
  [GraphQLString, (value) => `typeof ${value} === "string"`],
  [GraphQLID, (value) => `typeof ${value} === "string"`],
  [GraphQLBoolean, (value) => `typeof ${value} === "boolean"`],
  // Whole numbers in the Int range: v | 0 is v itself only for those.
  [GraphQLInt, (value) => `(${value} | 0) === ${value}`],
  [GraphQLFloat, (value) => `(typeof ${value} === "number" && Number.isFinite(${value}))`],
]);

/** The fields these selection sets select on `type`, by response key, as graphql-js collects them. */
function collect(
  type: GraphQLObjectType,
  sets: readonly (SelectionSetNode | undefined)[],
  fragments: Record<string, FragmentDefinitionNode>,
  schema: GraphQLSchema,
  into: Map<string, FieldNode[]>,
): void {
  const applies = (condition: string | undefined) => {
    if (condition === undefined || condition === type.name) return true;
    const conditionType = schema.getType(condition);
    return conditionType !== undefined && isAbstractType(conditionType) && schema.isSubType(conditionType, type);
  };
  for (const set of sets) {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        const fields = into.get(key);
        if (fields) fields.push(selection);
        else into.set(key, [selection]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (applies(selection.typeCondition?.name.value))
          collect(type, [selection.selectionSet], fragments, schema, into);
      } else {
        const fragment = fragments[selection.name.value];
        if (fragment && applies(fragment.typeCondition.name.value))
          collect(type, [fragment.selectionSet], fragments, schema, into);
      }
    }
  }
}

/** A leaf's serializer: a value it refuses does not fit its type. */
function serializer(type: GraphQLLeafType): (value: unknown) => unknown {
  return (value) => {
    let answer: unknown;
    try {
      answer = type.serialize(value);
    } catch (error) {
      throw new NotOfItsType(error instanceof Error ? error.message : String(error));
    }
    if (answer === undefined || Number.isNaN(answer))
      throw new NotOfItsType(`${type.name} cannot represent ${String(value)}`);
    return answer;
  };
}
