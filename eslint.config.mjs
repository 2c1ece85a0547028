// `npm run lint` (and CI): the TypeScript and scripts with typescript-eslint's recommended rules, and the
// emitted SDL (schema/schema.graphql) with @graphql-eslint, which test/schema-lint.test.ts also runs in
// `npm test`. Formatting is Prettier's (`npm run format`), so no rule here is about layout.
import graphqlPlugin from "@graphql-eslint/eslint-plugin";
import eslint from "@eslint/js";
import prettierConfig from "eslint-config-prettier";
import globals from "globals";
import tseslint from "typescript-eslint";

const code = ["src/**/*.ts", "test/**/*.ts", "scripts/**/*.mjs", "*.ts", "*.mjs"];
// The web console runs in browsers: the same rules, with the browser's globals.
const consoleCode = ["console/**/*.ts", "console/**/*.tsx"];

export default [
  {
    ignores: [
      "dist/**",
      "node_modules/**",
      ".data/**",
      "docs/examples/generated/**",
      "console/src/graphql/generated.ts",
    ],
  },
  ...[eslint.configs.recommended, ...tseslint.configs.recommended, prettierConfig].map((config) => ({
    ...config,
    files: code,
  })),
  {
    files: code,
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // An unused name is a leftover; a leading underscore says "unused on purpose".
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  ...[eslint.configs.recommended, ...tseslint.configs.recommended, prettierConfig].map((config) => ({
    ...config,
    files: consoleCode,
  })),
  {
    files: consoleCode,
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // Services refuse with the domain's errors (src/errors.ts); only the GraphQL layer turns them
    // into GraphQL errors, in one place (formatError).
    files: ["src/**/*.ts"],
    ignores: ["src/graphql/**", "src/app.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "graphql", importNames: ["GraphQLError"], message: "Throw an error of src/errors.ts." }],
          patterns: [{ group: ["**/graphql/errors.js"], message: "Throw an error of src/errors.ts." }],
        },
      ],
    },
  },
  {
    // Tests read GraphQL answers, whose shape each assertion states, as `any`.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    files: ["schema/schema.graphql"],
    languageOptions: {
      parser: graphqlPlugin.parser,
      parserOptions: { graphQLConfig: { schema: "schema/schema.graphql" } },
    },
    plugins: { "@graphql-eslint": graphqlPlugin },
    rules: {
      // Client developers read the schema in their IDE: every type, field, argument, input field,
      // enum value and directive says what it is, with units, roles and error codes.
      "@graphql-eslint/require-description": [
        "error",
        {
          types: true,
          rootField: true,
          FieldDefinition: true,
          InputValueDefinition: true,
          EnumValueDefinition: true,
          DirectiveDefinition: true,
        },
      ],
      // One description style, the block strings printSchema writes.
      "@graphql-eslint/description-style": ["error", { style: "block" }],
      // A `#` comment is not a description: introspection and generated clients never see it.
      "@graphql-eslint/no-hashtag-description": "error",
      // One naming convention, so generated client types and enums map predictably.
      "@graphql-eslint/naming-convention": [
        "error",
        {
          types: "PascalCase",
          FieldDefinition: "camelCase",
          InputValueDefinition: "camelCase",
          Argument: "camelCase",
          EnumValueDefinition: "UPPER_CASE",
        },
      ],
      // Offer.offerStatus says nothing Offer.status does not.
      "@graphql-eslint/no-typename-prefix": "error",
      // A type no root field reaches is a leftover that clients would still see in introspection.
      "@graphql-eslint/no-unreachable-types": "error",
      // A deprecated field must tell clients what to use instead.
      "@graphql-eslint/require-deprecation-reason": "error",
      // Enum values differing only in case break clients in case-insensitive languages.
      "@graphql-eslint/unique-enum-value-names": "error",
      // Lists that grow are Relay connections (docs/api.md): edges of an Edge type and pageInfo: PageInfo!.
      "@graphql-eslint/relay-connection-types": "error",
      // Edges carry a cursor and a node that implements Node, so a cache can key it by its global id;
      // plain lists of other types stay allowed (gpuModels, subsidyPrograms).
      "@graphql-eslint/relay-edge-types": [
        "error",
        { withEdgeSuffix: true, shouldImplementNode: true, listTypeCanWrapOnlyEdgeType: false },
      ],
      // PageInfo has the four fields the Relay spec names, so Relay and urql paginate without help.
      "@graphql-eslint/relay-page-info": "error",
      // Not on: strict-id-in-types (Money, Quote, SpendRow and the like are values without an id),
      // input-name and no-scalar-result-type-on-mutation (the contract's mutation shapes are fixed).
    },
  },
];
