import { readFileSync } from "node:fs";
import { getMetadataStorage } from "type-graphql";
import { describe, expect, it } from "vitest";
import { schemaSdl } from "../src/graphql/schema.js";

describe("schema/schema.graphql", () => {
  it("matches the schema the server builds (run `npm run schema:emit` after changing the API)", async () => {
    const committed = readFileSync(new URL("../schema/schema.graphql", import.meta.url), "utf8");
    expect(committed).toBe(await schemaSdl());
  });
});

describe("object types", () => {
  it("read their plain fields as properties, without a resolver per value", async () => {
    await schemaSdl();
    const wrapped = getMetadataStorage()
      .objectTypes.filter((type) => type.simpleResolvers !== true)
      .map((type) => type.name);
    expect(wrapped).toEqual([]);
  });
});
