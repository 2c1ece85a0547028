import { isObjectType } from "graphql";
import { describe, expect, it } from "vitest";
import { callableDirectly, calledDirectly } from "../src/graphql/direct-resolvers.js";
import { buildSchema } from "../src/graphql/schema.js";

const root = { kind: "root", propertyName: undefined };
const context = { kind: "context", propertyName: undefined };

describe("field resolvers called without type-graphql's handler", () => {
  it("are those whose handler would only call them: no roles, no middleware, the root, context and info", () => {
    expect(callableDirectly({ params: [root, context] })).toBe(true);
    expect(callableDirectly({ params: [root, context, { kind: "info" }], roles: [], middlewares: [] })).toBe(true);
    expect(callableDirectly({ params: [root, context], roles: ["ADMIN"] })).toBe(false);
    expect(callableDirectly({ params: [root], middlewares: [() => {}] })).toBe(false);
    expect(callableDirectly({ params: [root, { kind: "arg" }, context] })).toBe(false);
    expect(callableDirectly({ params: [{ kind: "root", propertyName: "offer" }] })).toBe(false);
  });

  it("include the relations a search page carries; a field with arguments keeps the handler", async () => {
    const schema = await buildSchema();
    const resolverOf = (type: string, field: string) => {
      const object = schema.getType(type);
      return isObjectType(object) ? object.getFields()[field].resolve : undefined;
    };
    expect(calledDirectly.has(resolverOf("Offer", "dataCenter")!)).toBe(true);
    expect(calledDirectly.has(resolverOf("DataCenter", "operator")!)).toBe(true);
    expect(calledDirectly.has(resolverOf("Offer", "freeGpus")!)).toBe(false);
    expect(calledDirectly.has(resolverOf("Query", "offers")!)).toBe(false);
  });
});
