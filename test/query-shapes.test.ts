// Query shapes, seeded: thousands of generated documents (fragments that fan out or chain, aliases,
// repeated fields, pages, introspection, deep nesting, cycles, broken text, mutations, batches)
// sent a few at a time to a running server. Each is answered or refused with a known code, never
// a 500, and carries its cost; shapes that are too big by construction are refused; and a light
// query sent alongside keeps being answered.
// Reproduce a run with SHAPES_SEED=<seed>; SHAPES_REQUESTS sets the number of requests.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "./support/harness.js";
import { organization, type Actor } from "./support/fixtures.js";
import { generator, type Random } from "./support/random.js";

const SEED = Number(process.env.SHAPES_SEED ?? 20270315);
const REQUESTS = Number(process.env.SHAPES_REQUESTS ?? 1000);
const CONCURRENCY = 6;

// The readable part of the schema: each type's fields, a field's type when it has a selection.
const TYPES: Record<string, Record<string, string | null>> = {
  Query: { gpuModels: "GpuModel", offers: "OfferConnection", dataCenters: "DataCenter", __typename: null },
  GpuModel: { id: null, name: null, vendor: null, memoryGb: null, domestic: null, __typename: null },
  OfferConnection: { totalCount: null, edges: "OfferEdge", pageInfo: "PageInfo" },
  OfferEdge: { cursor: null, node: "Offer" },
  PageInfo: { hasNextPage: null, endCursor: null },
  Offer: {
    id: null,
    gpuCount: null,
    minHours: null,
    status: null,
    gpuModel: "GpuModel",
    dataCenter: "DataCenter",
    pricePerGpuHour: "Money",
  },
  DataCenter: { id: null, name: null, hub: null, operator: "Organization" },
  Organization: { id: null, name: null, kind: null },
  Money: { amount: null, fen: null, currency: null },
};
const FIRST = [
  "",
  "(first: 0)",
  "(first: 1)",
  "(first: 100)",
  "(first: 101)",
  "(first: -1)",
  "(first: 2147483647)",
  "(first: $n)",
];
const ALIASES = ["a", "b", "x", "same"];
const PLACE_BID = `placeBid(input: { gpuModel: "H800", gpuCount: 1, hours: 1, earliestStart: "2027-03-10T00:00:00Z", latestEnd: "2027-03-11T00:00:00Z", maxPricePerGpuHour: "30.00", hubs: ["Ningxia Zhongwei"] }) { id status }`;
const INTROSPECTION = [
  "__schema { queryType { name } types { name kind fields { name args { name } type { name kind ofType { name kind ofType { name } } } } } }",
  `__type(name: "Offer") { name fields { name type { kind ofType { kind ofType { kind ofType { name } } } } } }`,
  "__schema { directives { name locations args { name } } }",
];

interface Case {
  body: unknown;
  token?: string;
  /** A shape too big by construction: it must be refused with QUERY_TOO_COMPLEX. */
  tooBig?: boolean;
}

/** A random selection on a type, `depth` levels deep at most, of about `budget.left` fields at most. */
function selection(r: Random, type: string, depth: number, width: number, budget = { left: 80 }): string {
  const fields = Object.entries(TYPES[type]);
  const parts: string[] = [];
  for (let i = r.int(1, width); i > 0 && budget.left > 0; i--) {
    // Mostly the catalog, kept in memory: the shapes are the point here, not the database.
    const [name, child] = type === "Query" && r.chance(0.8) ? ["gpuModels", "GpuModel"] : r.pick(fields);
    const alias = r.chance(0.2) ? `${r.pick(ALIASES)}${r.chance(0.5) ? r.int(0, 300) : ""}: ` : "";
    const args = name === "offers" ? r.pick(FIRST) : "";
    const times = r.chance(0.05) ? r.int(2, child === null ? 120 : 5) : 1;
    budget.left -= 1;
    const text =
      child === null
        ? `${alias}${name}`
        : depth > 0
          ? `${alias}${name}${args} { ${selection(r, child, depth - 1, width, budget)} }`
          : "__typename";
    for (let k = 0; k < times; k++) parts.push(text);
  }
  if (r.chance(0.1) && budget.left > 0) parts.push(`... on ${type} { ${selection(r, type, depth, 2, budget)} }`);
  return parts.length ? parts.join(" ") : "__typename";
}

const operation = (r: Random, body: string) =>
  body.includes("$n") ? `query Q($n: Int${r.chance(0.5) ? " = 50" : ""}) { ${body} }` : `{ ${body} }`;

/** Fragments that each spread the next one `fanOut` times, `levels` deep. */
function fanOut(r: Random, levels: number, ways: number, type: string): { spread: string; fragments: string } {
  const fragments: string[] = [];
  for (let i = 0; i < levels; i++) {
    const own = r.chance(0.3) ? selection(r, type, 1, 2) : "";
    fragments.push(
      `fragment L${i} on ${type} { ${own} ${Array.from({ length: ways }, () => `...L${i + 1}`).join(" ")} }`,
    );
  }
  fragments.push(`fragment L${levels} on ${type} { ${selection(r, type, 1, 3)} }`);
  return { spread: "...L0", fragments: fragments.join(" ") };
}

function generate(r: Random, sme: Actor): Case {
  const kind = r.int(0, 11);
  switch (kind) {
    case 0: {
      // Fan-out: 2^levels (or 3^levels) copies; past 10 levels of doubling, always too big.
      const levels = r.int(1, 30);
      const ways = r.chance(0.8) ? 2 : 3;
      const type = r.pick(["Query", "GpuModel"]);
      const { spread, fragments } = fanOut(r, levels, ways, type);
      const body = type === "Query" ? spread : `gpuModels { ${spread} }`;
      return {
        body: { query: `${operation(r, body)} ${fragments}`, variables: { n: 3 } },
        tooBig: ways ** levels > 1_000,
      };
    }
    case 1: {
      // A chain of fragments, each spreading the next once: more than 100 is too deep.
      const length = r.int(1, 160);
      const chain = Array.from(
        { length },
        (_, i) => `fragment C${i} on Query { ${i + 1 < length ? `...C${i + 1}` : "gpuModels { name }"} }`,
      );
      return { body: { query: `{ ...C0 } ${chain.join(" ")}` }, tooBig: length > 100 };
    }
    case 2: {
      // Distinct aliases: more than 200 are too many.
      const count = r.int(1, 400);
      const leaf = r.pick(["gpuModels { name }", "__typename", "gpuModels { id vendor }"]);
      return {
        body: { query: `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${leaf}`).join(" ")} }` },
        tooBig: count > 200,
      };
    }
    case 3: {
      // One field repeated: a few hundred copies are too many pairs to compare.
      const count = r.int(1, 400);
      const leaf = r.pick(["gpuModels { name vendor }", "offers { edges { node { id } } }"]);
      return { body: { query: `{ ${Array.from({ length: count }, () => leaf).join(" ")} }` }, tooBig: count > 150 };
    }
    case 4:
      return { body: { query: `{ ${r.pick(INTROSPECTION)} ${r.chance(0.5) ? selection(r, "Query", 2, 3) : ""} }` } };
    case 5: {
      // Inline fragments nested in each other, up to past the token limit.
      const depth = r.pick([1, 5, 50, 98, 101, 500, 3000, 6000]);
      if (r.chance(0.5))
        return {
          body: { query: `{ ${"... on Query { ".repeat(depth)}gpuModels { name }${" }".repeat(depth)} }` },
          tooBig: depth > 100,
        };
      // Fields in fields (not in the schema past the second): refused for the nesting before the names are checked.
      return {
        body: { query: `{ ${"offers { ".repeat(depth)}totalCount${" }".repeat(depth)} }` },
        tooBig: depth > 100,
      };
    }
    case 6: {
      // Fragments that spread each other: a cycle (refused by validation).
      return {
        body: {
          query: `{ ...A } fragment A on Query { gpuModels { name } ...B } fragment B on Query { __typename ...A }`,
        },
      };
    }
    case 7: {
      // Broken text: a valid document cut short.
      const text = operation(r, selection(r, "Query", 3, 4));
      return { body: { query: text.slice(0, r.int(0, text.length - 1)) } };
    }
    case 8: {
      // Mutations: aliased fields and fragments on Mutation, anonymous or as an SME.
      const count = r.int(1, 6);
      const fields = Array.from({ length: count }, (_, i) => `m${i}: ${PLACE_BID}`);
      const viaFragment = r.chance(0.3);
      const query = viaFragment
        ? `mutation { ...M } fragment M on Mutation { ${fields.join(" ")} }`
        : `mutation { ${fields.join(" ")} }`;
      return { body: { query }, token: r.chance(0.3) ? sme.token : undefined };
    }
    case 9: {
      // Several operations in one document, one of them chosen by name (or none, or a wrong one).
      const names = ["One", "Two", "Three"];
      const query = names.map((name) => `query ${name} { ${selection(r, "Query", 2, 3)} }`).join(" ");
      return { body: { query, operationName: r.pick([...names, "Nope", undefined]) } };
    }
    case 10: {
      // A batch of random small documents; past 10 it is refused whole.
      const size = r.int(1, 12);
      return {
        body: Array.from({ length: size }, () => ({
          query: operation(r, selection(r, "Query", 3, 3)),
          variables: { n: r.pick([1, 100, "x", null]) },
        })),
      };
    }
    default:
      return {
        body: {
          query: operation(r, selection(r, "Query", r.int(1, 12), r.int(1, 6))),
          variables: { n: r.pick([1, 100, 1_000, "ten", -5, null]) },
        },
        token: r.chance(0.2) ? sme.token : undefined,
      };
  }
}

const KNOWN = new Set([
  "QUERY_TOO_COMPLEX",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFLICT",
  "RATE_LIMITED",
  "OPERATION_RESOLUTION_FAILURE",
]);

let server: TestServer;
let sme: Actor;
beforeAll(async () => {
  server = await startServer({ QUERY_POINTS_PER_MINUTE: "100000000", RATE_LIMIT_PER_MINUTE: "100000" });
  sme = await organization(server, "SME", "Shapes SME");
});
afterAll(() => server?.close());

async function send(body: unknown, token?: string) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${server.url}/graphql`, { method: "POST", headers, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as any };
}

describe("query shapes", () => {
  it(`answers or refuses the documents of ${REQUESTS} generated requests with a known code, and keeps answering a light query`, async () => {
    const r = generator(SEED);
    const cases = Array.from({ length: REQUESTS }, () => generate(r, sme));
    const problems: string[] = [];
    const outcomes: Record<string, number> = {};
    let light = 0;
    let documents = 0;
    let done = false;

    const judge = (c: Case, status: number, answer: any) => {
      documents++;
      const where = JSON.stringify(c.body).slice(0, 200);
      if (status >= 500) return problems.push(`${status} for ${where}`);
      const errors: any[] = answer.errors ?? [];
      for (const error of errors) {
        const code = error.extensions?.code;
        if (!KNOWN.has(code)) problems.push(`code ${code} (${error.message}) for ${where}`);
        if (error.extensions?.stacktrace) problems.push(`a stack trace for ${where}`);
      }
      if (answer.data === undefined && errors.length === 0) problems.push(`neither data nor errors for ${where}`);
      if (typeof answer.extensions?.cost?.requested !== "number") problems.push(`no extensions.cost for ${where}`);
      const outcome =
        answer.data !== undefined && answer.data !== null ? "answered" : String(errors[0]?.extensions?.code);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      if (c.tooBig && outcome !== "QUERY_TOO_COMPLEX")
        problems.push(`${outcome} (${status}) for a shape too big: ${where}`);
    };

    const lightLoop = (async () => {
      while (!done) {
        const answer = await send({ query: "{ gpuModels { name } }" });
        if (answer.status !== 200 || !answer.body.data?.gpuModels?.length)
          problems.push(`the light query got ${answer.status}: ${JSON.stringify(answer.body).slice(0, 200)}`);
        light++;
      }
    })();
    let nextCase = 0;
    const worker = async () => {
      while (nextCase < cases.length) {
        const c = cases[nextCase++];
        const { status, body } = await send(c.body, c.token);
        if (Array.isArray(c.body) && c.body.length > 10) {
          if (status !== 400 || body.errors?.[0]?.extensions?.code !== "BAD_USER_INPUT")
            problems.push(`batch of ${c.body.length}: ${status}`);
        } else if (Array.isArray(body)) {
          for (const answer of body) judge(c, status, answer);
        } else {
          judge(c, status, body);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    done = true;
    await lightLoop;

    expect(problems.slice(0, 10)).toEqual([]);
    // Every kind of outcome was met, and the light query was answered throughout.
    for (const outcome of ["answered", "QUERY_TOO_COMPLEX", "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"]) {
      expect(outcomes[outcome] ?? 0, `${outcome} in ${JSON.stringify(outcomes)}`).toBeGreaterThan(0);
    }
    expect(documents).toBeGreaterThan(REQUESTS);
    expect(light).toBeGreaterThan(10);
  });
});
