// A query's text seen once is answered again on the short path (src/graphql/known-queries.ts), not
// through Apollo's pipeline. The client must not be able to tell: same status, headers, body, limits,
// log counts. Apollo's entry point is watched to know which path each request took.
import { ApolloServer } from "@apollo/server";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./support/fixtures.js";

const NOW = "2027-01-10T08:00:00Z";
let server: TestServer;
let operator: Actor;
let sme: Actor;
const throughApollo = vi.spyOn(ApolloServer.prototype, "executeHTTPGraphQLRequest");

interface Answer {
  status: number;
  type: string | null;
  retryAfter: string | null;
  requestId: string | null;
  body: any;
}

/** One POST of this body, as a client sees the answer. */
async function post(body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-now": NOW, ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    retryAfter: response.headers.get("retry-after"),
    requestId: response.headers.get("x-request-id"),
    body: await response.json(),
  };
}

/** The answer without what differs between two requests by design: the budget left, the request id. */
function comparable(answer: Answer) {
  const { requestId, ...rest } = answer;
  expect(requestId).toMatch(/^[\w-]{8,}$/);
  const cost = rest.body.extensions?.cost;
  return cost ? { ...rest, body: { ...rest.body, extensions: { cost: { ...cost, remaining: "…" } } } } : rest;
}

let texts = 0;
/** The query as a text not sent yet (a comment at its end): its first request goes through Apollo. */
const unseen = (query: string) => `${query}\n# ${++texts}`;

/** Sends the body twice: the first through Apollo, the second on the short path, with the same answer. */
async function twice(body: { query: string; [key: string]: unknown }, headers: Record<string, string> = {}) {
  const before = throughApollo.mock.calls.length;
  const first = await post(body, headers);
  const second = await post(body, headers);
  expect(throughApollo.mock.calls.length - before, "requests that went through Apollo").toBe(1);
  expect(comparable(second)).toEqual(comparable(first));
  return second;
}

/** Sends the body twice: both go through Apollo. */
async function bothThroughApollo(body: unknown, headers: Record<string, string> = {}) {
  const before = throughApollo.mock.calls.length;
  const answers = [await post(body, headers), await post(body, headers)];
  expect(throughApollo.mock.calls.length - before, "requests that went through Apollo").toBe(2);
  return answers;
}

const SEARCH = `query Search($filter: OfferFilter, $first: Int) {
  offers(filter: $filter, first: $first) { totalCount edges { node { id pricePerGpuHour { amount } } } } }`;

beforeAll(async () => {
  server = await startServer({ QUERY_POINTS_PER_MINUTE: "2000", AUTH_FAILURES_PER_MINUTE: "3" });
  operator = await organization(server, "DATA_CENTER_OPERATOR", "Western Cloud");
  sme = await organization(server, "SME", "Lingxi AI", "Hangzhou");
  const dc = await dataCenter(server, operator, "Ningxia Zhongwei", "Zhongwei DC", "Ningxia");
  for (const price of ["9.80", "12.00"])
    await publishOffer(
      server,
      operator,
      {
        dataCenterId: dc,
        gpuModel: "H800",
        gpuCount: 8,
        pricePerGpuHour: price,
        availableFrom: "2027-02-01T00:00:00Z",
        availableUntil: "2027-02-11T00:00:00Z",
      },
      NOW,
    );
});
afterAll(() => server.close());

describe("a query asked again", () => {
  it("is answered without Apollo's pipeline, exactly as Apollo answered it, and spends its cost each time", async () => {
    const body = { query: SEARCH, variables: { filter: { gpuModel: "H800" }, first: 1 } };
    const answer = await twice(body, { "x-now": "2027-01-10T09:00:00Z" });
    expect(answer.status).toBe(200);
    expect(answer.type).toBe("application/json; charset=utf-8");
    expect(answer.body.data.offers).toEqual({
      totalCount: 2,
      edges: [{ node: { id: expect.stringMatching(/^offer_/), pricePerGpuHour: { amount: "9.80" } } }],
    });
    const cost = answer.body.extensions.cost.requested;
    expect(cost).toBeGreaterThan(0);
    const third = await post(body, { "x-now": "2027-01-10T09:00:00Z" });
    expect(third.body.extensions.cost).toEqual({ requested: cost, remaining: 2000 - 3 * cost });
  });

  it("answers errors of its fields as Apollo does: message, path, code, field", async () => {
    const answer = await twice({ query: unseen(SEARCH), variables: { filter: { gpuModel: "Z9000" } } });
    expect(answer.body.errors).toEqual([
      expect.objectContaining({ path: ["offers"], extensions: { code: "BAD_USER_INPUT", field: "filter.gpuModel" } }),
    ]);
    expect(answer.body.data).toBeNull();
  });

  it("answers for the caller its key names, and refuses another role with FORBIDDEN", async () => {
    const query = `{ myBids { totalCount } }`;
    const mine = await twice({ query: unseen(query) }, { authorization: `Bearer ${sme.token}` });
    expect(mine.body.data).toEqual({ myBids: { totalCount: 0 } });
    const refused = await twice({ query: unseen(query) }, { authorization: `Bearer ${operator.token}` });
    expect(refused.body.errors[0].extensions.code).toBe("FORBIDDEN");
  });

  it("runs the operation the body names, of a document with several", async () => {
    const query = `query Count { offers { totalCount } } query Cheapest { offers(first: 1) { edges { node { id } } } }`;
    const count = await twice({ query, operationName: "Count" });
    expect(count.body.data).toEqual({ offers: { totalCount: 2 } });
    const cheapest = await twice({ query, operationName: "Cheapest" });
    expect(cheapest.body.data.offers.edges).toHaveLength(1);
  });

  it("sends a long answer whole, with its length, on either path", async () => {
    const query = unseen(
      `{ __schema { types { name description fields { name description args { name description } } } } }`,
    );
    const answer = await twice({ query });
    const text = JSON.stringify(answer.body);
    expect(text.length).toBeGreaterThan(64 * 1024); // past the length whose headers go out first
    expect(answer.body.data.__schema.types.map((t: { name: string }) => t.name)).toContain("Offer");
  });

  it("is logged and counted in /metrics on either path", async () => {
    const query = `query CountedTwice { offers { totalCount } }`;
    await twice({ query });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('gvm_graphql_requests_total{operation="CountedTwice",type="query",code="OK"} 2');
  });
});

describe("Apollo still answers", () => {
  it("mutations, every time", async () => {
    const mutation = `mutation { publishOffer(input: { dataCenterId: "dc_999999", gpuModel: "H800", gpuCount: 1,
      pricePerGpuHour: "1", availableFrom: "2027-02-01T00:00:00Z", availableUntil: "2027-02-02T00:00:00Z" }) { id } }`;
    const [first, second] = await bothThroughApollo({ query: mutation }, { authorization: `Bearer ${operator.token}` });
    expect(first.body.errors[0].extensions.code).toBe("NOT_FOUND");
    expect(comparable(second)).toEqual(comparable(first));
  });

  it("variables that do not coerce: 400 BAD_USER_INPUT, the cost spent once per request", async () => {
    const body = { query: SEARCH, variables: { first: "many" } };
    await post({ query: SEARCH, variables: {} }, { "x-now": "2027-01-10T10:00:00Z" }); // known from now on
    const [first, second] = await bothThroughApollo(body, { "x-now": "2027-01-10T10:00:00Z" });
    expect(first.status).toBe(400);
    expect(first.body.errors[0].extensions.code).toBe("BAD_USER_INPUT");
    const cost = first.body.extensions.cost.requested;
    expect(second.body.extensions.cost.remaining).toBe(first.body.extensions.cost.remaining - cost);
  });

  it("an unknown key: 401 each time, each counted once against the client's failed authentications", async () => {
    const query = `{ offers { totalCount } }`;
    await post({ query });
    const headers = { authorization: "Bearer gvm_not_a_key", "x-now": "2027-01-10T11:00:00Z" };
    const answers = [await post({ query }, headers), await post({ query }, headers), await post({ query }, headers)];
    expect(answers.map((a) => [a.status, a.body.errors[0].extensions.code])).toEqual([
      [401, "UNAUTHENTICATED"],
      [401, "UNAUTHENTICATED"],
      [401, "UNAUTHENTICATED"],
    ]);
    const fourth = await post({ query }, headers);
    expect([fourth.status, fourth.body.errors[0].extensions.code]).toEqual([429, "RATE_LIMITED"]);
  });

  it("a request over the budget: 429 with Retry-After, as on the first sight of the query", async () => {
    const query = `{ offers(first: 100) { edges { node { id dataCenter { name } } } } }`;
    const headers = { "x-now": "2027-01-10T12:00:00Z", authorization: `Bearer ${sme.token}` };
    const answers: Answer[] = [];
    for (let i = 0; i < 40 && answers.at(-1)?.status !== 429; i++) answers.push(await post({ query }, headers));
    const refused = answers.at(-1)!;
    expect(answers.length).toBeGreaterThan(2); // the short path answered before the budget ran out
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toMatch(/^\d+$/);
    expect(refused.body.errors[0].extensions).toEqual(
      expect.objectContaining({ code: "RATE_LIMITED", retryAfterSeconds: Number(refused.retryAfter) }),
    );
  });

  it("bodies with extensions, and clients that accept another content type", async () => {
    const query = `{ offers { totalCount } }`;
    await post({ query });
    await bothThroughApollo({ query, extensions: {} });
    const [answer] = await bothThroughApollo({ query }, { accept: "application/graphql-response+json" });
    expect(answer.type).toBe("application/graphql-response+json; charset=utf-8");
  });

  it("the admin's token goes the short path too, and a bad X-Now is still refused", async () => {
    const query = `{ offers { totalCount } }`;
    await twice({ query: unseen(query) }, { authorization: `Bearer ${ADMIN}` });
    const answer = await post({ query }, { "x-now": "yesterday" });
    expect([answer.status, answer.body.errors[0].extensions.code]).toEqual([400, "BAD_USER_INPUT"]);
  });
});
