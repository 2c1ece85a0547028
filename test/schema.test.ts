import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { schemaSdl } from "../src/graphql/schema.js";

describe("schema/schema.graphql", () => {
  it("matches the schema the server builds (run `npm run schema:emit` after changing the API)", async () => {
    const committed = readFileSync(new URL("../schema/schema.graphql", import.meta.url), "utf8");
    expect(committed).toBe(await schemaSdl());
  });
});
