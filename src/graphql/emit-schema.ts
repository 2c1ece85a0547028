// Writes schema/schema.graphql from the code: `npm run schema:emit`.
import "reflect-metadata";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { schemaSdl } from "./schema.js";

const target = fileURLToPath(new URL("../../schema/schema.graphql", import.meta.url));
writeFileSync(target, await schemaSdl());
console.log(`wrote ${target}`);
