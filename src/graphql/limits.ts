// Limits that keep one request from costing the server too much: the size and shape of its
// document, its depth, its cost, the batch size.
//
// Every figure is computed from per-fragment figures: each fragment is walked once and its figures
// are multiplied where it is spread. A small document whose fragments spread each other twice over
// (F0 → F1 F1 → F2 F2 ...) is judged in a time that grows with its text, not with its expansion.
import {
  GraphQLError,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  getNamedType,
  isInterfaceType,
  isObjectType,
  valueFromASTUntyped,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type FragmentSpreadNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type InlineFragmentNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValueNode,
} from "graphql";
import { httpError } from "./errors.js";
import { DEFAULT_PAGE } from "./pagination.js";

/** Tokens of a document; a longer one is refused while it is parsed. */
export const MAX_TOKENS = 10_000;
export const MAX_DEPTH = 10;
export const MAX_COST = 5_000;
export const MAX_BATCH = 10;
/** Fields, aliases and fragment spreads of a document, counted at every place they occur once fragments are expanded. */
export const MAX_FIELDS = 1_000;
export const MAX_ALIASES = 200;
export const MAX_SPREADS = 500;
/**
 * Pairs of fields with one response name (or of fragments) that end up in one selection once
 * fragments are expanded. graphql-js compares every such pair when it validates a document; a few
 * hundred same-named fields make that quadratic work take a noticeable time.
 */
export const MAX_OVERLAPS = 5_000;
/** Selections, inline fragments and fragment spreads nested in each other. */
export const MAX_NESTING = 100;

const MAX_INT = 2 ** 31 - 1;

const tooComplex = (message: string) => httpError("QUERY_TOO_COMPLEX", message, 400);

/** Thrown inside the walks below to stop at the first limit passed. */
class Refused extends Error {}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(definition.name.value)) {
      fragments.set(definition.name.value, definition);
    }
  }
  return fragments;
}

interface Counts {
  fields: number;
  aliases: number;
  spreads: number;
  /** Fields nested in each other, introspection not counted. */
  depth: number;
}

const NOTHING: Counts = { fields: 0, aliases: 0, spreads: 0, depth: 0 };

export interface DocumentShape {
  /** Why the document is refused as too complex, if it is. */
  refusal: string | null;
  /** The depth of each operation. */
  depths: Map<OperationDefinitionNode, number>;
}

/**
 * The figures of a document that bound the work of validating and running it, in one pass that
 * walks each fragment once. Fragments no operation uses (an error other rules report) are
 * counted too, as graphql-js validates them as well.
 */
export function documentShape(document: DocumentNode): DocumentShape {
  const fragments = fragmentsOf(document);
  // A fragment's counts; null while they are being computed (a cycle, which another rule reports).
  const counted = new Map<string, Counts | null>();

  function countSelections(set: SelectionSetNode, level: number): Counts {
    if (level > MAX_NESTING)
      throw new Refused(`The query is nested more than ${MAX_NESTING} levels deep, fragments included`);
    let fields = 0;
    let aliases = 0;
    let spreads = 0;
    let depth = 0;
    for (const node of set.selections) {
      let inner: Counts;
      if (node.kind === Kind.FIELD) {
        inner = node.selectionSet ? countSelections(node.selectionSet, level + 1) : NOTHING;
        fields += 1;
        if (node.alias) aliases += 1;
        // Introspection stays allowed however deep its type references go.
        if (!node.name.value.startsWith("__")) depth = Math.max(depth, 1 + inner.depth);
      } else if (node.kind === Kind.INLINE_FRAGMENT) {
        inner = countSelections(node.selectionSet, level + 1);
        depth = Math.max(depth, inner.depth);
      } else {
        inner = countFragment(node.name.value, level + 1);
        spreads += 1;
        depth = Math.max(depth, inner.depth);
      }
      fields += inner.fields;
      aliases += inner.aliases;
      spreads += inner.spreads;
    }
    return { fields, aliases, spreads, depth };
  }

  function countFragment(name: string, level: number): Counts {
    if (counted.has(name)) return counted.get(name) ?? NOTHING;
    const fragment = fragments.get(name);
    if (!fragment) return NOTHING;
    counted.set(name, null);
    const counts = countSelections(fragment.selectionSet, level);
    counted.set(name, counts);
    return counts;
  }

  const depths = new Map<OperationDefinitionNode, number>();
  try {
    const roots: SelectionSetNode[] = [];
    const total = { fields: 0, aliases: 0, spreads: 0 };
    const add = (counts: Counts) => {
      total.fields += counts.fields;
      total.aliases += counts.aliases;
      total.spreads += counts.spreads;
    };
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
      const counts = countSelections(definition.selectionSet, 0);
      depths.set(definition, counts.depth);
      roots.push(definition.selectionSet);
      add(counts);
    }
    for (const [name, fragment] of fragments) {
      if (counted.has(name)) continue;
      add(countFragment(name, 0));
      roots.push(fragment.selectionSet);
    }
    const expanded = "once its fragments are expanded";
    if (total.fields > MAX_FIELDS)
      throw new Refused(`The query selects ${total.fields} fields ${expanded}; at most ${MAX_FIELDS} are allowed`);
    if (total.aliases > MAX_ALIASES)
      throw new Refused(`The query has ${total.aliases} aliases ${expanded}; at most ${MAX_ALIASES} are allowed`);
    if (total.spreads > MAX_SPREADS)
      throw new Refused(
        `The query spreads fragments ${total.spreads} times ${expanded}; at most ${MAX_SPREADS} are allowed`,
      );
    // Within these bounds the expansion itself is small: walk it to count the same-named pairs.
    for (const root of roots) countOverlaps(root, fragments);
  } catch (error) {
    if (error instanceof Refused) return { refusal: error.message, depths };
    throw error;
  }
  return { refusal: null, depths };
}

interface Merged {
  /** Fields of this selection by response name, merged as execution merges them. */
  fields: Map<string, Merged>;
  /** Fields merged here (each pair of them is compared). */
  count: number;
  /** Fragments spread here (each pair of them is compared). */
  spreads: number;
}

function countOverlaps(root: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>): void {
  let overlaps = 0;
  const active = new Set<string>();
  const merged = (): Merged => ({ fields: new Map(), count: 0, spreads: 0 });
  const refuse = () => {
    throw new Refused(
      `The query selects the same field (or fragment) in one place too many times; at most ${MAX_OVERLAPS} such pairs are allowed`,
    );
  };
  const expand = (set: SelectionSetNode, into: Merged, level: number) => {
    if (level > MAX_NESTING)
      throw new Refused(`The query is nested more than ${MAX_NESTING} levels deep, fragments included`);
    for (const node of set.selections) {
      if (node.kind === Kind.FIELD) {
        const key = node.alias?.value ?? node.name.value;
        let field = into.fields.get(key);
        if (!field) into.fields.set(key, (field = merged()));
        overlaps += field.count;
        field.count += 1;
        if (overlaps > MAX_OVERLAPS) refuse();
        if (node.selectionSet) expand(node.selectionSet, field, level + 1);
      } else if (node.kind === Kind.INLINE_FRAGMENT) {
        expand(node.selectionSet, into, level + 1);
      } else {
        const name = node.name.value;
        const fragment = fragments.get(name);
        if (!fragment || active.has(name)) continue;
        overlaps += into.spreads;
        into.spreads += 1;
        if (overlaps > MAX_OVERLAPS) refuse();
        active.add(name);
        expand(fragment.selectionSet, into, level + 1);
        active.delete(name);
      }
    }
  };
  expand(root, merged(), 0);
}

/**
 * A validation rule that judges the whole document before the standard rules look at it: a
 * document past a size limit is refused with QUERY_TOO_COMPLEX and the traversal stops there (the
 * rule returns null for the document node, which ends graphql-js's walk for every rule), so no
 * rule spends its time on it. Operations nested deeper than MAX_DEPTH fields are refused too.
 */
export function queryShape(context: ValidationContext): ASTVisitor {
  return {
    Document(document) {
      const shape = documentShape(document);
      if (shape.refusal) {
        context.reportError(tooComplex(shape.refusal));
        return null;
      }
      for (const [operation, depth] of shape.depths) {
        if (depth > MAX_DEPTH) {
          context.reportError(
            new GraphQLError(`The query is nested ${depth} levels deep; at most ${MAX_DEPTH} are allowed`, {
              nodes: [operation],
            }),
          );
        }
      }
      return undefined;
    },
  };
}

function fieldDefinition(type: GraphQLNamedType | undefined, name: string): GraphQLField<unknown, unknown> | undefined {
  if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
  if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
  if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  return isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
}

/**
 * The cost of an operation: a field costs 1 plus its children; a list that pages (a field with a
 * `first` argument) costs 1 plus its children once per requested item (`first`, or the default
 * page when it is absent or not an Int). Fields skipped by @skip/@include do not count; the
 * selections on each type of an interface or union all count (an upper bound). Each fragment's
 * cost is computed once.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): number {
  const fragments = fragmentsOf(document);
  const defaults = new Map<string, ValueNode>();
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) defaults.set(definition.variable.name.value, definition.defaultValue);
  }
  const valueOf = (node: ValueNode): unknown => {
    if (node.kind !== Kind.VARIABLE) return valueFromASTUntyped(node, variables);
    const name = node.name.value;
    if (Object.hasOwn(variables, name)) return variables[name];
    const fallback = defaults.get(name);
    return fallback ? valueFromASTUntyped(fallback) : undefined;
  };
  const included = (node: FieldNode | InlineFragmentNode | FragmentSpreadNode): boolean => {
    for (const directive of node.directives ?? []) {
      const condition = directive.arguments?.find((argument) => argument.name.value === "if");
      const value = condition ? valueOf(condition.value) : undefined;
      if (directive.name.value === "skip" && value === true) return false;
      if (directive.name.value === "include" && value === false) return false;
    }
    return true;
  };
  const costs = new Map<string, number | null>();

  function selectionsCost(set: SelectionSetNode, type: GraphQLNamedType | undefined, level: number): number {
    if (level > MAX_NESTING) throw new Refused("nested too deeply");
    let total = 0;
    for (const node of set.selections) {
      if (!included(node)) continue;
      if (node.kind === Kind.FIELD) {
        const field = fieldDefinition(type, node.name.value);
        const children = node.selectionSet
          ? selectionsCost(node.selectionSet, field && getNamedType(field.type), level + 1)
          : 0;
        const pageArgument = field?.args.find((argument) => argument.name === "first");
        if (pageArgument) {
          const given = node.arguments?.find((argument) => argument.name.value === "first");
          const first = given ? valueOf(given.value) : pageArgument.defaultValue;
          // A `first` that is no Int (execution refuses it) counts as the default page.
          const items =
            typeof first === "number" && Number.isInteger(first) && first >= 0 && first <= MAX_INT
              ? first
              : DEFAULT_PAGE;
          total += 1 + children * Math.max(1, items);
        } else {
          total += 1 + children;
        }
      } else if (node.kind === Kind.INLINE_FRAGMENT) {
        total += selectionsCost(
          node.selectionSet,
          node.typeCondition ? schema.getType(node.typeCondition.name.value) : type,
          level + 1,
        );
      } else {
        total += fragmentCost(node.name.value, level + 1);
      }
    }
    return total;
  }

  function fragmentCost(name: string, level: number): number {
    if (costs.has(name)) return costs.get(name) ?? 0;
    const fragment = fragments.get(name);
    if (!fragment) return 0;
    costs.set(name, null);
    const cost = selectionsCost(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value), level);
    costs.set(name, cost);
    return cost;
  }

  return selectionsCost(operation.selectionSet, schema.getRootType(operation.operation) ?? undefined, 0);
}

/**
 * Estimates the cost of each request's operation, refusing (QUERY_TOO_COMPLEX) when it cannot. A
 * cost depends on the operation and its variables' numbers and booleans only; Apollo hands over
 * the same parsed document for the same query text, so a cost is computed once per document,
 * operation and such variables, not on every request.
 */
export function costEstimator(schema: GraphQLSchema) {
  const known = new WeakMap<DocumentNode, Map<string, number>>();
  return (
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Record<string, unknown> | undefined,
  ): number => {
    const values = variables ?? {};
    const key = JSON.stringify([
      operation.name?.value ?? null,
      Object.entries(values).map(([name, value]) => [
        name,
        typeof value === "number" || typeof value === "boolean" ? value : typeof value,
      ]),
    ]);
    const costs = known.get(document) ?? new Map<string, number>();
    let cost = costs.get(key);
    if (cost === undefined) {
      try {
        cost = operationCost(schema, document, operation, values);
      } catch {
        cost = Number.NaN;
      }
      if (!Number.isFinite(cost))
        throw tooComplex("The cost of this query could not be estimated; ask for fewer items");
      if (costs.size < 100) costs.set(key, cost);
      known.set(document, costs);
    }
    return cost;
  };
}

/** The fields a mutation runs: response name to field name, through fragments and aliases (__typename aside). */
export function mutationFields(document: DocumentNode, operation: OperationDefinitionNode): Map<string, string> {
  const fragments = fragmentsOf(document);
  const fields = new Map<string, string>();
  const seen = new Set<string>();
  const collect = (set: SelectionSetNode) => {
    for (const node of set.selections) {
      if (node.kind === Kind.FIELD) {
        if (node.name.value !== TypeNameMetaFieldDef.name)
          fields.set(node.alias?.value ?? node.name.value, node.name.value);
      } else if (node.kind === Kind.INLINE_FRAGMENT) {
        collect(node.selectionSet);
      } else if (!seen.has(node.name.value)) {
        seen.add(node.name.value);
        const fragment = fragments.get(node.name.value);
        if (fragment) collect(fragment.selectionSet);
      }
    }
  };
  collect(operation.selectionSet);
  return fields;
}

/**
 * Bulk mutations and the list argument they count by: each counts as one mutation per
 * BULK_ITEMS_PER_MUTATION items of it (or part), so that 1,000 offers cost what 10 mutations do.
 */
export const BULK_MUTATIONS: Readonly<Record<string, string>> = { publishOffers: "inputs", updateOffers: "ids" };
export const BULK_ITEMS_PER_MUTATION = 100;

/** How many mutations `items` items of a bulk mutation count as: one per 100 (or part), at least one. */
export const bulkWeight = (items: number): number => Math.max(1, Math.ceil(items / BULK_ITEMS_PER_MUTATION));

/**
 * The mutations an operation counts as: its top-level fields by response name, through fragments
 * and aliases (__typename aside), a bulk mutation weighed by the length of its list (BULK_MUTATIONS).
 */
export function mutationFieldCount(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> = {},
): number {
  const fragments = fragmentsOf(document);
  const names = new Map<string, number>();
  const seen = new Set<string>();
  const weigh = (node: FieldNode): number => {
    const listName = BULK_MUTATIONS[node.name.value];
    const argument = listName ? node.arguments?.find((a) => a.name.value === listName) : undefined;
    if (!argument) return 1;
    const value = valueFromASTUntyped(argument.value, variables);
    return bulkWeight(Array.isArray(value) ? value.length : 1);
  };
  const collect = (set: SelectionSetNode) => {
    for (const node of set.selections) {
      if (node.kind === Kind.FIELD) {
        if (node.name.value !== TypeNameMetaFieldDef.name) {
          const name = node.alias?.value ?? node.name.value;
          names.set(name, Math.max(names.get(name) ?? 0, weigh(node)));
        }
      } else if (node.kind === Kind.INLINE_FRAGMENT) {
        collect(node.selectionSet);
      } else if (!seen.has(node.name.value)) {
        seen.add(node.name.value);
        const fragment = fragments.get(node.name.value);
        if (fragment) collect(fragment.selectionSet);
      }
    }
  };
  collect(operation.selectionSet);
  let total = 0;
  for (const weight of names.values()) total += weight;
  return total;
}

export function batchTooLarge(body: unknown): boolean {
  return Array.isArray(body) && (body.length === 0 || body.length > MAX_BATCH);
}
