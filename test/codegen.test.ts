// Typed clients: the committed docs/examples/generated/graphql.ts and console/src/graphql/generated.ts
// are what `npm run codegen` makes of the current schema and their operations, and the example
// client and the web console compile with them under strict tsc. A schema change that breaks a
// client fails here first: an operation that no longer validates fails codegen, changed types fail
// the comparison, and once regenerated, a client relying on the old shape fails to compile.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { generate } from "@graphql-codegen/cli";
import { describe, expect, it } from "vitest";
import config, { CONSOLE_GENERATED, GENERATED } from "../codegen.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

describe("typed clients (docs/examples and the console)", () => {
  it("the committed outputs are what codegen makes of schema/schema.graphql (run `npm run codegen` after changing either)", async () => {
    const files: { filename: string; content: string }[] = await generate(
      { ...config, cwd: root, silent: true },
      false,
    );
    expect(files.map((file) => file.filename).sort()).toEqual([CONSOLE_GENERATED, GENERATED].sort());
    for (const file of files)
      expect(readFileSync(new URL(`../${file.filename}`, import.meta.url), "utf8"), file.filename).toBe(file.content);
  });

  it("types every operation's data and variables: no any or unknown in them", () => {
    const generated = readFileSync(new URL(`../${GENERATED}`, import.meta.url), "utf8");
    // The types before the document class, without their doc comments (descriptions say "any hub").
    const types = generated
      .slice(0, generated.indexOf("export class TypedDocumentString"))
      .replace(/\/\*\*.*?\*\//gs, "");
    const loose = types.split("\n").filter((line) => /\b(any|unknown)\b/.test(line) && !line.startsWith("type Exact<"));
    expect(loose).toEqual([]);
    expect(types).toMatch(/export type CheckoutMutation = \{ checkout: \{ id: string, status: OrderStatus,/);
  });

  it("the web console compiles with its operations' types (console/tsconfig.json, strict)", async () => {
    const run = promisify(execFile)(process.execPath, [tsc, "--noEmit", "-p", "console/tsconfig.json"], { cwd: root });
    await expect(
      run.then(
        () => "compiled",
        (error: { stdout?: string }) => error.stdout || String(error),
      ),
    ).resolves.toBe("compiled");
  });

  it("the example client compiles with tsc --strict", async () => {
    const run = promisify(execFile)(
      process.execPath,
      [tsc, "--strict", "--noEmit", "-p", "docs/examples/tsconfig.json"],
      { cwd: root },
    );
    await expect(
      run.then(
        () => "compiled",
        (error: { stdout?: string }) => error.stdout || String(error),
      ),
    ).resolves.toBe("compiled");
  });
});
