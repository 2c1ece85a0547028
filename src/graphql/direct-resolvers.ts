// Field resolvers called without type-graphql's handler where the handler would do nothing but
// call them. Its handler runs for every value: it looks the resolver's instance up, wraps the call
// in the (empty) middleware chain, then sorts and maps the parameters' descriptions to arguments.
// A search page of 50 offers calls Offer.dataCenter and DataCenter.operator 100 times.
import { isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from "graphql";
import { getMetadataStorage, type ContainerType } from "type-graphql";

type Resolver = GraphQLFieldResolver<unknown, unknown>;
type Class = abstract new (...args: never[]) => unknown;
type Method = (...args: unknown[]) => unknown;
type Param = { kind: string; index: number; propertyName?: string; getType?: () => unknown };

/** Resolver classes hold no state; this container keeps one instance of each, for both paths. */
export const oneInstanceEach: ContainerType = (() => {
  const instances = new Map<unknown, unknown>();
  return {
    get(type: Class) {
      let instance = instances.get(type);
      if (!instance) instances.set(type, (instance = new (type as unknown as new () => unknown)()));
      return instance;
    },
  };
})();

/**
 * Replaces, in the built schema, the resolver of each @FieldResolver that has no @Authorized, no
 * middleware and only @Root, @Ctx and @Info parameters by a direct call of its method with the
 * same arguments. Any other (one with arguments, roles or middlewares) keeps type-graphql's
 * handler, so an @Authorized added later is never skipped. A root that is not yet an instance of
 * its class goes through the handler too, which converts it.
 */
export function directFieldResolvers(schema: GraphQLSchema, resolverClasses: readonly unknown[]): GraphQLSchema {
  const storage = getMetadataStorage();
  for (const meta of storage.fieldResolvers) {
    if (meta.kind !== "external" || !resolverClasses.includes(meta.target)) continue;
    if (!callableDirectly(meta)) continue;
    const params = [...((meta.params ?? []) as Param[])].sort((a, b) => a.index - b.index);
    const objectClass = meta.getObjectType?.();
    const typeName = storage.objectTypes.find((type) => type.target === objectClass)?.name;
    const type = typeName ? schema.getType(typeName) : undefined;
    const field = isObjectType(type) ? type.getFields()[meta.schemaName] : undefined;
    if (!field?.resolve) continue;
    const method = (meta.target.prototype as Record<string, Method | undefined>)[meta.methodName];
    if (typeof method !== "function") continue;
    field.resolve = direct(field.resolve, method, oneInstanceEach.get(meta.target as Class, {} as never), params);
  }
  return schema;
}

/** The resolvers replaced, for the tests. */
export const calledDirectly = new WeakSet<Resolver>();

/**
 * Whether type-graphql's handler would do nothing but call the method: no roles, no middleware,
 * and parameters that are only the root (whole), the context and the info.
 */
export function callableDirectly(meta: {
  roles?: unknown[];
  middlewares?: unknown[];
  params?: readonly { kind: string; propertyName?: string }[];
}): boolean {
  if (meta.roles?.length || meta.middlewares?.length) return false;
  return (meta.params ?? []).every(
    // A root's property would be converted to its own type by the handler.
    (param) => param.kind === "context" || param.kind === "info" || (param.kind === "root" && !param.propertyName),
  );
}

function direct(handler: Resolver, method: Method, instance: unknown, params: Param[]): Resolver {
  const rootParam = params.find((param) => param.kind === "root");
  const rootType = rootParam?.getType?.();
  // type-graphql converts a root that is not an instance of the parameter's class: its handler does that.
  const convertsRoot = typeof rootType === "function";
  const argumentOf = params.map((param): ((root: unknown, context: unknown, info: unknown) => unknown) => {
    if (param.kind === "root") return (root) => root;
    const property = param.propertyName;
    if (param.kind === "context")
      return property ? (_, context) => (context as Record<string, unknown>)[property] : (_, context) => context;
    return (_, __, info) => info;
  });
  const resolve: Resolver = (root, args, context, info) =>
    convertsRoot && !(root instanceof (rootType as Class))
      ? handler(root, args, context, info)
      : method.apply(
          instance,
          argumentOf.map((argument) => argument(root, context, info)),
        );
  calledDirectly.add(resolve);
  return resolve;
}
