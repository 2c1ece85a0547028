// Plain data fields (src/graphql/plain-data.ts): projected in one pass, they answer exactly what
// graphql-js answers field by field, for any way a query selects them.
import { describe, expect, it } from "vitest";
import {
  execute,
  GraphQLEnumType,
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
  parse,
  type DocumentNode,
  type ExecutionResult,
  type OperationDefinitionNode,
} from "graphql";
import { compileQuery, isCompiledQuery, type CompiledQuery } from "graphql-jit";
import { answeredAsPublished, compiledAgainst, runsOnPlainData } from "../src/graphql/plain-data.js";

const Day = new GraphQLScalarType({
  name: "Day",
  serialize: (value) => (value as Date).toISOString().slice(0, 10),
});
const Dimension = new GraphQLEnumType({
  name: "Dimension",
  values: { MONTH: { value: "month" }, HUB: { value: "hub" } },
});
const Named = new GraphQLInterfaceType({ name: "Named", fields: { label: { type: GraphQLString } } });
const Key = new GraphQLObjectType({
  name: "Key",
  interfaces: [Named],
  fields: {
    dimension: { type: new GraphQLNonNull(Dimension) },
    value: { type: new GraphQLNonNull(GraphQLID) },
    label: { type: GraphQLString },
  },
});
const Amount = new GraphQLObjectType({
  name: "Amount",
  fields: { amount: { type: new GraphQLNonNull(GraphQLString) }, fen: { type: new GraphQLNonNull(GraphQLString) } },
});
const Row = new GraphQLObjectType({
  name: "Row",
  fields: {
    keys: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(Key))) },
    orders: { type: new GraphQLNonNull(GraphQLInt) },
    hours: { type: GraphQLFloat },
    day: { type: Day },
    gross: { type: new GraphQLNonNull(Amount) },
    notes: { type: new GraphQLList(GraphQLString) },
  },
});

/** A schema whose Report.rows is plain data; `rows` is what the report holds. */
function schemaWith(rows: unknown, rowType = Row) {
  const Report = new GraphQLObjectType({
    name: "Report",
    fields: {
      rows: { type: new GraphQLNonNull(new GraphQLList(rowType)), extensions: { plainData: true } },
      title: { type: GraphQLString, resolve: () => "Spend" },
    },
  });
  return new GraphQLSchema({
    query: new GraphQLObjectType({
      name: "Query",
      fields: {
        report: { type: Report, args: { year: { type: GraphQLInt } }, resolve: (_, { year }) => ({ rows, year }) },
      },
    }),
  });
}

const ROWS = [
  {
    keys: [
      { dimension: "month", value: "2026-11", label: "2026-11" },
      { dimension: "hub", value: 7, label: null },
    ],
    orders: 3,
    hours: 12.5,
    day: new Date("2026-11-02T00:00:00Z"),
    gross: { amount: "1.00", fen: "100" },
    notes: ["a", null, "b"],
  },
  null,
  { keys: [], orders: 0, hours: null, day: null, gross: { amount: "0.00", fen: "0" }, notes: null },
];

const operationOf = (document: DocumentNode) => document.definitions[0] as OperationDefinitionNode;
const plainAnswer = async (compiled: CompiledQuery | ExecutionResult, variables: Record<string, unknown>) => {
  if (!isCompiledQuery(compiled)) throw new Error(JSON.stringify(compiled));
  return JSON.parse(JSON.stringify(await compiled.query(undefined, {}, variables)));
};

/**
 * graphql-js's answer on the schema itself; the projection's alone (null when the query does not run
 * on plain data); and the executor's: the projection's, or the published compile's after a value that
 * did not fit its type.
 */
async function answers(schema: GraphQLSchema, query: string, variables: Record<string, unknown> = {}) {
  const document = parse(query);
  const walked = JSON.parse(JSON.stringify(await execute({ schema, document, variableValues: variables })));
  const published = compileQuery(schema, document) as CompiledQuery;
  if (!runsOnPlainData(document, operationOf(document)))
    return { walked, projected: null, executed: await plainAnswer(published, variables) };
  const plain = compileQuery(compiledAgainst(schema), document) as CompiledQuery;
  return {
    walked,
    projected: await plainAnswer(plain, variables),
    executed: await plainAnswer(
      answeredAsPublished(plain, () => published),
      variables,
    ),
  };
}

describe("plain data", () => {
  it("answers what graphql-js answers: aliases, repeats, fragments on the type and on its interface, __typename, leaves serialized", async () => {
    const schema = schemaWith(ROWS);
    for (const query of [
      `{ report { rows { keys { dimension value label } orders hours day gross { amount fen } notes } } }`,
      `{ report { title first: rows { orders } rows { gross { fen } } rows { gross { amount } keys { value } } } }`,
      `{ report { rows { __typename ...R ... on Row { orders k: keys { ...N ... on Key { v: value } } } } } }
       fragment R on Row { day hours gross { fen } } fragment N on Named { label __typename }`,
      `query Q($year: Int) { report(year: $year) { rows { orders } } }`,
    ]) {
      const { walked, projected, executed } = await answers(schema, query, { year: 2026 });
      expect(walked.errors).toBeUndefined();
      // Same keys in the same order, as the JSON shows them.
      expect(JSON.stringify(projected)).toBe(JSON.stringify(walked));
      expect(executed).toEqual(walked);
    }
  });

  it("answers a value that does not fit its type as graphql-js does: the null where it must be, the error where it was", async () => {
    for (const row of [
      { ...ROWS[0], orders: null },
      { ...ROWS[0], orders: "three" },
      { ...ROWS[0], keys: [{ dimension: "week", value: "1" }] },
      { ...ROWS[0], gross: null },
    ]) {
      const { walked, projected, executed } = await answers(
        schemaWith([row, ROWS[2]]),
        `{ report { rows { orders keys { dimension } gross { fen } } } }`,
      );
      expect(walked.errors).toHaveLength(1);
      // The row alone is null: rows may hold nulls.
      expect(walked.data.report.rows).toEqual([null, { orders: 0, keys: [], gross: { fen: "0" } }]);
      expect(projected.errors).toHaveLength(1);
      expect(executed).toEqual(walked);
    }
  });

  it("leaves mutations, introspection and queries with @skip or @include to the published schema", async () => {
    const plainOnes = (query: string) => runsOnPlainData(parse(query), operationOf(parse(query)));
    expect(plainOnes(`{ report { rows { orders } } }`)).toBe(true);
    expect(plainOnes(`{ __schema { types { name } } }`)).toBe(false);
    expect(plainOnes(`{ report { rows { orders @skip(if: true) } } }`)).toBe(false);
    expect(plainOnes(`mutation { report { rows { orders } } }`)).toBe(false);
    const schema = schemaWith(ROWS);
    const types = `{ __type(name: "Report") { fields { name type { kind ofType { kind ofType { name } } } } } }`;
    const introspected = await answers(schema, types);
    expect(introspected.executed).toEqual(introspected.walked);
    expect(JSON.stringify(introspected.executed)).toContain('"name":"Row"');
    const skipped = await answers(
      schema,
      `query($no: Boolean!) { report { rows { orders hours @include(if: $no) } } }`,
      {
        no: false,
      },
    );
    expect(skipped.executed).toEqual(skipped.walked);
  });

  it("refuses to mark a field whose objects have resolvers or arguments: they would not run", () => {
    const Computed = new GraphQLObjectType({
      name: "Computed",
      fields: { total: { type: GraphQLInt, resolve: () => 1 } },
    });
    expect(() => compiledAgainst(schemaWith([], Computed)).getQueryType()!.getFields()).toThrow(
      "Computed.total has a resolver or arguments: it cannot be plain data",
    );
  });

  it("keeps a schema without plain data fields as it is", () => {
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({ name: "Query", fields: { day: { type: GraphQLString } } }),
    });
    expect(compiledAgainst(schema)).toBe(schema);
  });
});
