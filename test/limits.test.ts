import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { organization, type Actor } from "./support/fixtures.js";
import { buildSchema as buildSdl, parse, validate } from "graphql";
import { MAX_DEPTH, queryShape } from "../src/graphql/limits.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ RATE_LIMIT_PER_MINUTE: "5" });
});
afterAll(() => server?.close());

async function post(body: unknown, headers: Record<string, string> = {}, to: TestServer = server) {
  const response = await fetch(`${to.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

describe("depth limit", () => {
  const schema = buildSdl(`type Query { node: Node } type Node { id: ID child: Node }`);
  const nested = (depth: number) => {
    let selection = "id";
    for (let i = 1; i < depth; i++) selection = `child { ${selection} }`;
    return `{ node { ${selection} } }`;
  };

  it(`accepts ${MAX_DEPTH} levels and refuses ${MAX_DEPTH + 1}, also through fragments`, () => {
    expect(validate(schema, parse(nested(MAX_DEPTH - 1)), [queryShape])).toEqual([]);
    const errors = validate(schema, parse(nested(MAX_DEPTH)), [queryShape]);
    expect(errors.map((e) => e.message)).toEqual([
      `The query is nested ${MAX_DEPTH + 1} levels deep; at most ${MAX_DEPTH} are allowed`,
    ]);
    const viaFragments = `{ node { ...A } } fragment A on Node { child { child { ...B } } } fragment B on Node { child { child { child { child { child { child { child { child { id } } } } } } } } }`;
    expect(validate(schema, parse(viaFragments), [queryShape])).toHaveLength(1);
  });
});

describe("request limits", () => {
  it("refuses a query that costs too much, never running it", async () => {
    const costly = `{ ${Array.from({ length: 10 }, (_, i) => `o${i}: offers(first: 100) { edges { node { id gpuCount minHours dataCenter { name hub province operator { name } } gpuModel { name vendor } } } }`).join(" ")} }`;
    const response = await post({ query: costly });
    expect(response.status).toBe(400);
    expect(response.body.errors[0].extensions.code).toBe("BAD_USER_INPUT");
    expect(response.body.errors[0].message).toMatch(/costs/);
    expect(response.body.data).toBeUndefined();
  });

  it("caps the operations batched in one request", async () => {
    const one = { query: "{ gpuModels { name } }" };
    const ok = await post([one, one]);
    expect(ok.status).toBe(200);
    expect(ok.body).toHaveLength(2);
    const tooMany = await post(Array.from({ length: 11 }, () => one));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors[0].extensions.code).toBe("BAD_USER_INPUT");
  });

  it("refuses an oversized body with a code", async () => {
    const response = await post({ query: `{ gpuModels { name } }`, variables: { pad: "x".repeat(300_000) } });
    expect(response.status).toBe(413);
    expect(response.body.errors[0].extensions.code).toBe("BAD_USER_INPUT");
  });

  it("limits mutations per key and per IP, with a retry-after hint; queries are not limited", async () => {
    const sme = await organization(server, "SME", "Busy SME");
    // organization() used 2 admin mutations from this IP; 3 more are allowed this minute.
    const mutation = `mutation { createApiKey(organizationId: "1") { id } }`;
    let limited: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 12 && !limited; i++) {
      const response = await post({ query: mutation }, { authorization: `Bearer ${sme.token}` });
      if (response.status === 429) limited = response;
    }
    expect(limited).toBeDefined();
    expect(limited!.body.errors[0].extensions.code).toBe("RATE_LIMITED");
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(limited!.body.errors[0].extensions.retryAfterSeconds).toBeGreaterThan(0);
    const query = await post({ query: "{ gpuModels { name } }" });
    expect(query.status).toBe(200);
  });
});

/** A document whose fragments each spread the next one twice: 2^levels copies of the leaf once expanded. */
function fanOut(levels: number, leaf: string, prefix = "F"): string {
  const fragments = Array.from(
    { length: levels },
    (_, i) => `fragment ${prefix}${i} on Query { ...${prefix}${i + 1} ...${prefix}${i + 1} }`,
  );
  return `${fragments.join(" ")} fragment ${prefix}${levels} on Query { ${leaf} }`;
}

describe("the shape of a query", () => {
  it("refuses a query whose fragments fan out 24 levels with QUERY_TOO_COMPLEX, and a light query sent alongside is answered", async () => {
    const heavy = `{ ...F0 } ${fanOut(24, "gpuModels { name vendor memoryGb }")}`;
    expect(heavy.length).toBeLessThan(1200);
    const [refused, light] = await Promise.all([post({ query: heavy }), post({ query: "{ gpuModels { name } }" })]);
    expect(refused.status).toBe(400);
    expect(refused.body.errors.map((e: any) => e.extensions.code)).toEqual(["QUERY_TOO_COMPLEX"]);
    expect(refused.body.data).toBeUndefined();
    expect(light.status).toBe(200);
    expect(light.body.data.gpuModels.length).toBeGreaterThan(0);
    // The document is judged before graphql-js's own rules walk it: only the one refusal.
    const schema = buildSdl(`type Query { gpuModels: [M] } type M { name: String vendor: String memoryGb: Int }`);
    expect(validate(schema, parse(heavy)).length).toBe(0);
    expect(validate(schema, parse(heavy), [queryShape]).map((e) => e.extensions.code)).toEqual(["QUERY_TOO_COMPLEX"]);
  });

  it("refuses a query it cannot estimate instead of running it unchecked", async () => {
    // 2,000 aliases: past the token limit, refused as it is parsed.
    const aliases = `{ ${Array.from({ length: 2000 }, (_, i) => `m${i}: gpuModels { name vendor memoryGb domestic }`).join(" ")} }`;
    const many = await post({ query: aliases });
    expect([many.status, many.body.errors[0].extensions.code]).toEqual([400, "QUERY_TOO_COMPLEX"]);
    expect(many.body.data).toBeUndefined();

    // A costly query padded with fragments that expand to 2^15 spreads: the estimate of it used to
    // give up (and the query ran); now the pad itself is refused.
    const costly = Array.from(
      { length: 20 },
      (_, i) => `o${i}: offers(first: 100) { edges { node { id gpuCount freeGpus(from: $from, to: $to) } } }`,
    ).join(" ");
    const window = { from: "2027-03-01T00:00:00Z", to: "2027-03-02T00:00:00Z" };
    const padded = await post({
      query: `query($from: DateTime!, $to: DateTime!) { ...P0 ${costly} } ${fanOut(14, "__typename", "P")}`,
      variables: window,
    });
    expect([padded.status, padded.body.errors[0].extensions.code]).toEqual([400, "QUERY_TOO_COMPLEX"]);
    expect(padded.body.data).toBeUndefined();
    // Without the pad, the same query is refused for its cost.
    const plain = await post({ query: `query($from: DateTime!, $to: DateTime!) { ${costly} }`, variables: window });
    expect([plain.status, plain.body.errors[0].extensions.code]).toEqual([400, "BAD_USER_INPUT"]);
    expect(plain.body.errors[0].message).toMatch(/costs/);
  });
});

describe("per-client limits", () => {
  let limited: TestServer;
  let smes: Actor[];
  beforeAll(async () => {
    limited = await startServer({
      QUERY_POINTS_PER_MINUTE: "1000",
      RATE_LIMIT_PER_MINUTE: "5",
      AUTH_FAILURES_PER_MINUTE: "3",
    });
    smes = [await organization(limited, "SME", "Budget SME"), await organization(limited, "SME", "Busy SME")];
  });
  afterAll(() => limited?.close());
  // Each test counts in a minute of its own (the request's clock, X-Now), 30 s before it ends.
  const inMinute = (minute: number, token?: string) => ({
    "x-now": `2027-03-01T10:${String(minute).padStart(2, "0")}:30Z`,
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  });
  const send = (body: unknown, headers: Record<string, string>) => post(body, headers, limited);

  it("gives each client a budget of cost points per minute and reports the cost on every answer", async () => {
    // 1 + 100 items x (edges 1 + node 1 + 2 fields) = 401 points.
    const page = { query: "{ offers(first: 100) { edges { node { id gpuCount } } } }" };
    const first = await send(page, inMinute(1));
    expect(first.status).toBe(200);
    expect(first.body.extensions.cost).toEqual({ requested: 401, remaining: 599 });
    const second = await send(page, inMinute(1));
    expect(second.body.extensions.cost).toEqual({ requested: 401, remaining: 198 });
    const third = await send(page, inMinute(1));
    expect(third.status).toBe(429);
    expect(third.body.errors.map((e: any) => e.extensions.code)).toEqual(["RATE_LIMITED"]);
    expect(third.headers.get("retry-after")).toBe("30");
    expect(third.body.data).toBeUndefined();
    expect(third.body.extensions.cost).toEqual({ requested: 401, remaining: 198 });
    // Errors carry it too; a cheap query still fits.
    const invalid = await send({ query: "{ nope }" }, inMinute(1));
    expect([invalid.status, invalid.body.extensions.cost]).toEqual([400, { requested: 0, remaining: 198 }]);
    const cheap = await send({ query: "{ gpuModels { name } }" }, inMinute(1));
    expect([cheap.status, cheap.body.extensions.cost]).toEqual([200, { requested: 2, remaining: 196 }]);
    // An API key has a budget of its own; the next minute, the budget is whole again.
    const keyed = await send(page, inMinute(1, smes[0].token));
    expect([keyed.status, keyed.body.extensions.cost]).toEqual([200, { requested: 401, remaining: 599 }]);
    const later = await send(page, inMinute(2));
    expect([later.status, later.body.extensions.cost]).toEqual([200, { requested: 401, remaining: 599 }]);
  });

  it("counts every mutation field against the allowance and refuses a request that would pass it before any field runs", async () => {
    const sme = smes[1];
    const input = `{ gpuModel: "H800", gpuCount: 1, hours: 1, earliestStart: "2027-03-10T00:00:00Z", latestEnd: "2027-03-11T00:00:00Z", maxPricePerGpuHour: "30.00", hubs: ["Ningxia Zhongwei"] }`;
    const bids = async () => (await limited.sql(`select count(*)::int as n from bids`))[0].n;
    const hundred = `mutation { ${Array.from({ length: 100 }, (_, i) => `b${i}: placeBid(input: ${input}) { id }`).join(" ")} }`;
    const refused = await send({ query: hundred }, inMinute(3, sme.token));
    expect(refused.status).toBe(429);
    expect(refused.body.errors.map((e: any) => e.extensions.code)).toEqual(["RATE_LIMITED"]);
    expect(Number(refused.headers.get("retry-after"))).toBe(30);
    expect(await bids()).toBe(0);
    // The refusal spent nothing: two fields (an alias, a fragment on Mutation) still fit.
    const two = `mutation { one: placeBid(input: ${input}) { id } ...Another } fragment Another on Mutation { two: placeBid(input: ${input}) { id } }`;
    const fitted = await send({ query: two }, inMinute(3, sme.token));
    expect([fitted.status, Object.keys(fitted.body.data ?? {})]).toEqual([200, ["one", "two"]]);
    // Each operation of a batch counts: 3 more fit this minute, the fourth does not.
    const single = { query: `mutation { placeBid(input: ${input}) { id } }` };
    const batch = await send([single, single, single, single], inMinute(3, sme.token));
    const codes = (batch.body as any[]).map((answer) => answer.errors?.[0].extensions.code ?? "ok").sort();
    expect(codes).toEqual(["RATE_LIMITED", "ok", "ok", "ok"]);
    expect(await bids()).toBe(5);
  });

  it("refuses an IP that failed to authenticate too often, before looking the token up", async () => {
    const forged = () => `gvm_${randomBytes(16).toString("hex")}`;
    for (let i = 0; i < 3; i++) {
      const failed = await send({ query: "{ me { role } }" }, inMinute(4, forged()));
      expect([failed.status, failed.body.errors[0].extensions.code]).toEqual([401, "UNAUTHENTICATED"]);
    }
    const queries = limited.queryCount();
    const refused = await send({ query: "{ me { role } }" }, inMinute(4, forged()));
    expect([refused.status, refused.body.errors[0].extensions.code]).toEqual([429, "RATE_LIMITED"]);
    expect(refused.headers.get("retry-after")).toBe("30");
    expect(limited.queryCount()).toBe(queries);
    // A token known without the database, and anonymous reads, still pass.
    const admin = await send({ query: "{ me { role } }" }, inMinute(4, ADMIN));
    expect(admin.body.data).toEqual({ me: { role: "ADMIN" } });
    const anonymous = await send({ query: "{ gpuModels { name } }" }, inMinute(4));
    expect(anonymous.status).toBe(200);
  });
});

describe("the GraphQL endpoint over HTTP", () => {
  const query = { query: "{ gpuModels { name } }" };
  const send = async (init: RequestInit, path = "/graphql") => {
    const response = await fetch(`${server.url}${path}`, init);
    const text = await response.text();
    return { status: response.status, type: response.headers.get("content-type"), body: JSON.parse(text) };
  };

  it("answers plain JSON, with or without a charset, and the rest (gzip, GET) alike", async () => {
    const plain = await send({
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(query),
    });
    expect(plain.status).toBe(200);
    expect(plain.type).toMatch(/^application\/(graphql-response\+)?json/);
    expect(plain.body.data.gpuModels.length).toBeGreaterThan(0);

    const charset = await send({
      method: "POST",
      headers: { "content-type": "Application/JSON; charset=UTF-8" },
      body: JSON.stringify(query),
    });
    expect(charset).toEqual(plain);
    const gzipped = await send({
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: gzipSync(JSON.stringify(query)),
    });
    expect(gzipped).toEqual(plain);
    const viaGet = await send(
      { method: "GET", headers: { "apollo-require-preflight": "true" } },
      `/graphql?query=${encodeURIComponent(query.query)}`,
    );
    expect(viaGet.body).toEqual(plain.body);
  });

  it("refuses bodies it cannot read with the same codes, whichever route reads them", async () => {
    for (const encoding of ["identity", "gzip"]) {
      const headers = { "content-type": "application/json", "content-encoding": encoding };
      const pack = (text: string) => (encoding === "gzip" ? gzipSync(text) : text);
      const broken = await send({ method: "POST", headers, body: pack("{") });
      expect([broken.status, broken.body.errors[0].extensions.code], encoding).toEqual([400, "BAD_REQUEST"]);
      const huge = await send({
        method: "POST",
        headers,
        body: pack(JSON.stringify({ ...query, variables: { pad: "x".repeat(300_000) } })),
      });
      expect([huge.status, huge.body.errors[0].extensions.code], encoding).toEqual([413, "BAD_USER_INPUT"]);
      const batch = await send({
        method: "POST",
        headers,
        body: pack(JSON.stringify(Array.from({ length: 11 }, () => query))),
      });
      expect([batch.status, batch.body.errors[0].extensions.code], encoding).toEqual([400, "BAD_USER_INPUT"]);
    }
    // Sent in chunks, with no length announced: refused once it passes the limit.
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    let sent = 0;
    const endless = new ReadableStream({
      pull: (controller) => (sent++ < 8 ? controller.enqueue(chunk) : controller.close()),
    });
    const streamed = await send({
      method: "POST",
      headers: { "content-type": "application/json" },
      body: endless,
      duplex: "half",
    } as RequestInit);
    expect([streamed.status, streamed.body.errors[0].extensions.code]).toEqual([413, "BAD_USER_INPUT"]);
  });
});
