// The emitted SDL passes @graphql-eslint with the rules of eslint.config.mjs: every type, field,
// argument, input field and enum value has a description, and the naming and Relay rules hold.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const SDL = "schema/schema.graphql";

const problemsOf = (results: ESLint.LintResult[]) =>
  results.flatMap((result) =>
    result.messages.map((m) => `${SDL}:${m.line}:${m.column} ${m.ruleId ?? "parse"}: ${m.message}`),
  );

describe("schema/schema.graphql", () => {
  const eslint = new ESLint({ cwd: root });

  it("is linted with a description required on every kind of definition", async () => {
    const config = await eslint.calculateConfigForFile(SDL);
    expect(config.rules["@graphql-eslint/require-description"]).toEqual([
      2,
      expect.objectContaining({
        types: true,
        rootField: true,
        FieldDefinition: true,
        InputValueDefinition: true,
        EnumValueDefinition: true,
      }),
    ]);
  });

  it("has no lint problem (run `npm run lint` for the list)", async () => {
    expect(problemsOf(await eslint.lintFiles([SDL]))).toEqual([]);
  });

  it("would fail with one description taken out", async () => {
    const sdl = readFileSync(new URL(`../${SDL}`, import.meta.url), "utf8");
    const fen = /\n {2}"""\n {2}The same amount in integer fen[^\n]*\n {2}"""\n(?= {2}fen: String!)/;
    expect(sdl).toMatch(fen);
    const problems = problemsOf(await eslint.lintText(sdl.replace(fen, "\n"), { filePath: SDL }));
    expect(problems).toEqual([
      expect.stringContaining('require-description: Description is required for field "fen" in type "Money"'),
    ]);
  });
});
