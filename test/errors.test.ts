// What a client sees of an error, exactly: message, location, path, code and the other extensions,
// and the HTTP status. The same on every way to the server: the lean route (a plain JSON POST),
// the Express route (here a gzip body), a batch, and a GET for queries.
import { gzipSync } from "node:zlib";
import type { GatewayGraphQLRequestContext } from "@apollo/server-gateway-interface";
import {
  execute,
  GraphQLError,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
  type ExecutionResult,
  type OperationDefinitionNode,
} from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BadInput,
  Conflict,
  Forbidden,
  NotEligible,
  NotFound,
  PaymentFailed,
  PaymentNotStarted,
} from "../src/errors.js";
import { formatError } from "../src/graphql/errors.js";
import { compiledExecution } from "../src/graphql/executor.js";
import { PaymentProviderError, ProviderUnavailableError, type PaymentProvider } from "../src/payments/provider.js";
import { startServer, type TestServer } from "./support/harness.js";
import { CHECKOUT, market, NOW, reserve, type Market } from "./support/market.js";

let server: TestServer;
let m: Market;

beforeAll(async () => {
  server = await startServer();
  m = await market(server, { gpuCount: 8 });
});
afterAll(() => server?.close());

interface Operation {
  query: string;
  variables?: Record<string, unknown>;
  token?: string;
}

type Route = "lean" | "express" | "batch" | "get";

interface Answer {
  status: number;
  errors: unknown;
}

/** Sends one operation by one route; the HTTP status and the operation's errors. */
async function send(route: Route, operation: Operation): Promise<Answer> {
  const headers: Record<string, string> = { "content-type": "application/json", "x-now": NOW };
  if (operation.token) headers.authorization = `Bearer ${operation.token}`;
  const payload = { query: operation.query, variables: operation.variables ?? {} };
  let response: Response;
  if (route === "get") {
    const search = new URLSearchParams({ query: payload.query, variables: JSON.stringify(payload.variables) });
    response = await fetch(`${server.url}/graphql?${search}`, {
      headers: { ...headers, "apollo-require-preflight": "true" },
    });
  } else {
    const json = JSON.stringify(route === "batch" ? [payload] : payload);
    response = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: route === "express" ? { ...headers, "content-encoding": "gzip" } : headers,
      body: route === "express" ? gzipSync(json) : json,
    });
  }
  const body = await response.json();
  return { status: response.status, errors: (Array.isArray(body) ? body[0] : body).errors };
}

const location = (line: number, column: number) => [{ line, column }];

/** The answer on every route that may carry this operation (GET only for queries). */
async function everyRoute(operation: Operation | (() => Promise<Operation>), routes: Route[]): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (const route of routes)
    answers.push(await send(route, typeof operation === "function" ? await operation() : operation));
  return answers;
}

const MUTATION_ROUTES: Route[] = ["lean", "express", "batch"];
const QUERY_ROUTES: Route[] = ["lean", "express", "batch", "get"];

describe("refusals of the services", () => {
  it("BAD_USER_INPUT names the field", async () => {
    const answers = await everyRoute(
      {
        query: `mutation($input: PlaceBidInput!) { placeBid(input: $input) { id } }`,
        variables: {
          input: {
            gpuModel: "H800",
            gpuCount: 1,
            hours: 0,
            earliestStart: "2027-03-10T00:00:00Z",
            latestEnd: "2027-03-11T00:00:00Z",
            maxPricePerGpuHour: "30.00",
          },
        },
        token: m.sme.token,
      },
      MUTATION_ROUTES,
    );
    for (const answer of answers) {
      expect(answer).toEqual({
        status: 200,
        errors: [
          {
            message: "hours must be between 1 and 8784",
            locations: location(1, 36),
            path: ["placeBid"],
            extensions: { code: "BAD_USER_INPUT", field: "hours" },
          },
        ],
      });
    }
  });

  it("BAD_USER_INPUT from a query's arguments, on GET too", async () => {
    const answers = await everyRoute({ query: `{ dataCenters(hub: "Atlantis") { id } }` }, QUERY_ROUTES);
    for (const answer of answers) {
      expect(answer).toEqual({
        status: 200,
        errors: [
          {
            message: 'hub must be one of the national hubs, like "Ningxia Zhongwei"',
            locations: location(1, 3),
            path: ["dataCenters"],
            extensions: { code: "BAD_USER_INPUT", field: "hub" },
          },
        ],
      });
    }
  });

  it("NOT_FOUND", async () => {
    const answers = await everyRoute(
      { query: `mutation { cancelBid(id: "bid_987654321") { id } }`, token: m.sme.token },
      MUTATION_ROUTES,
    );
    for (const answer of answers) {
      expect(answer).toEqual({
        status: 200,
        errors: [
          {
            message: "Bid not found",
            locations: location(1, 12),
            path: ["cancelBid"],
            extensions: { code: "NOT_FOUND" },
          },
        ],
      });
    }
  });

  it("CONFLICT", async () => {
    const reservationId = await reserve(server, m.sme, 1, 1);
    const { checkout } = await server.ok(
      CHECKOUT,
      { input: { reservationId, idempotencyKey: "errors-conflict" } },
      { token: m.sme.token, now: NOW },
    );
    await server.ok(
      `mutation($id: ID!) { cancelOrder(id: $id) { id } }`,
      { id: checkout.id },
      { token: m.sme.token, now: NOW },
    );
    const answers = await everyRoute(
      {
        query: `mutation($id: ID!) { cancelOrder(id: $id) { id } }`,
        variables: { id: checkout.id },
        token: m.sme.token,
      },
      MUTATION_ROUTES,
    );
    for (const answer of answers) {
      expect(answer).toEqual({
        status: 200,
        errors: [
          {
            message: "This order is already refunded",
            locations: location(1, 22),
            path: ["cancelOrder"],
            extensions: { code: "CONFLICT" },
          },
        ],
      });
    }
  });

  it("NOT_ELIGIBLE gives the reason", async () => {
    const reservationId = await reserve(server, m.otherSme, 1, 1);
    const answers = await everyRoute(
      {
        query: `query($r: ID!, $v: ID) { quote(reservationId: $r, voucherId: $v) { gross { fen } } }`,
        variables: { r: reservationId, v: m.voucherId },
        token: m.otherSme.token,
      },
      QUERY_ROUTES,
    );
    for (const answer of answers) {
      expect(answer).toEqual({
        status: 200,
        errors: [
          {
            message: "This voucher does not belong to you",
            locations: location(1, 26),
            path: ["quote"],
            extensions: { code: "NOT_ELIGIBLE", reason: "VOUCHER_NOT_OWNED" },
          },
        ],
      });
    }
  });

  it("FORBIDDEN, from a service (another city) and from a role", async () => {
    const otherCity = await everyRoute(
      {
        query: `{ subsidySpend(city: "Beijing", from: "2027-01-01T00:00:00Z", to: "2027-02-01T00:00:00Z", groupBy: []) { totals { orders } } }`,
        token: m.finance.token,
      },
      QUERY_ROUTES,
    );
    for (const answer of otherCity) {
      expect(answer).toEqual({
        status: 200,
        errors: [
          {
            message: "A finance team reads its own city's spend only",
            locations: location(1, 3),
            path: ["subsidySpend"],
            extensions: { code: "FORBIDDEN" },
          },
        ],
      });
    }
    const role = await everyRoute({ query: `{ myBids { totalCount } }`, token: m.operator.token }, QUERY_ROUTES);
    for (const answer of role) {
      expect(answer).toEqual({
        status: 200,
        errors: [
          {
            message: "This needs the role SME",
            locations: location(1, 3),
            path: ["myBids"],
            extensions: { code: "FORBIDDEN" },
          },
        ],
      });
    }
  });

  it("UNAUTHENTICATED is 401, for a missing token and for an unknown one", async () => {
    const expected = {
      message: "A valid API key is required: Authorization: Bearer <token>",
      extensions: { code: "UNAUTHENTICATED" },
    };
    for (const answer of await everyRoute({ query: `{ myBids { totalCount } }` }, QUERY_ROUTES)) {
      expect(answer).toEqual({ status: 401, errors: [{ ...expected, locations: location(1, 3), path: ["myBids"] }] });
    }
    for (const answer of await everyRoute({ query: `{ gpuModels { name } }`, token: "gvm_unknown" }, QUERY_ROUTES)) {
      expect(answer).toEqual({ status: 401, errors: [expected] });
    }
  });
});

describe("a checkout whose payment fails after its order is committed names the order", () => {
  let key = 0;
  /** A checkout of a new reservation with a new key; the id of the order it makes, once made. */
  const newCheckout = async () => {
    const reservationId = await reserve(server, m.sme, 1, 1);
    const idempotencyKey = `errors-payment-${++key}`;
    const orderOf = async () =>
      (await server.sql(`select 'order_' || id as id from orders where idempotency_key = $1`, [idempotencyKey]))[0]?.id;
    const operation = {
      query: CHECKOUT,
      variables: { input: { reservationId, voucherId: m.voucherId, idempotencyKey } },
      token: m.sme.token,
    };
    return { operation, orderOf };
  };

  /** Runs a checkout on every route while the provider's `method` throws `error`. */
  async function withProviderFailing<K extends keyof PaymentProvider>(method: K, error: () => Error) {
    const payments = server.app.services.payments;
    const original = payments[method];
    (payments as unknown as Record<string, unknown>)[method] = async () => {
      throw error();
    };
    try {
      const results: { answer: Answer; orderId: string | undefined }[] = [];
      for (const route of MUTATION_ROUTES) {
        const { operation, orderOf } = await newCheckout();
        const answer = await send(route, operation);
        results.push({ answer, orderId: await orderOf() });
      }
      return results;
    } finally {
      (payments as unknown as Record<string, unknown>)[method] = original;
    }
  }

  it("PAYMENT_FAILED, retryable, when the provider is unreachable", async () => {
    const results = await withProviderFailing("createPayment", () => new ProviderUnavailableError("down"));
    for (const { answer, orderId } of results) {
      expect(orderId).toMatch(/^order_\d+$/);
      expect(answer).toEqual({
        status: 200,
        errors: [
          {
            message: "The payment provider is unavailable; retry the checkout with the same idempotencyKey",
            locations: location(1, 36),
            path: ["checkout"],
            extensions: { code: "PAYMENT_FAILED", orderId, retryable: true },
          },
        ],
      });
    }
  });

  it("PAYMENT_FAILED, not retryable, when the provider refuses", async () => {
    const results = await withProviderFailing("createPayment", () => new PaymentProviderError("refused", "card_error"));
    for (const { answer, orderId } of results) {
      expect(orderId).toMatch(/^order_\d+$/);
      expect(answer).toEqual({
        status: 200,
        errors: [
          {
            message: "The payment provider refused the payment",
            locations: location(1, 36),
            path: ["checkout"],
            extensions: { code: "PAYMENT_FAILED", orderId, retryable: false },
          },
        ],
      });
    }
  });

  it("anything else: SERVICE_UNAVAILABLE, retryable, with the order", async () => {
    const results = await withProviderFailing("createPayment", () => new Error("socket hang up"));
    for (const { answer, orderId } of results) {
      expect(orderId).toMatch(/^order_\d+$/);
      expect(answer).toEqual({
        status: 200,
        errors: [
          {
            message:
              "The order was created, but its payment could not be started; retry the checkout with the same idempotencyKey",
            locations: location(1, 36),
            path: ["checkout"],
            extensions: { code: "SERVICE_UNAVAILABLE", orderId, retryable: true },
          },
        ],
      });
    }
  });

  it("a refund the provider refuses: PAYMENT_FAILED with retryable, and the order stays PAID", async () => {
    const { operation } = await newCheckout();
    const { checkout } = await server.ok(operation.query, operation.variables, { token: m.sme.token, now: NOW });
    expect(checkout.status).toBe("PAID");
    const payments = server.app.services.payments;
    const original = payments.refundPayment;
    for (const [error, retryable] of [
      [new ProviderUnavailableError("down"), true],
      [new PaymentProviderError("refused"), false],
    ] as const) {
      payments.refundPayment = async () => {
        throw error;
      };
      try {
        const answers = await everyRoute(
          {
            query: `mutation($id: ID!) { cancelOrder(id: $id) { id } }`,
            variables: { id: checkout.id },
            token: m.sme.token,
          },
          MUTATION_ROUTES,
        );
        for (const answer of answers) {
          expect(answer).toEqual({
            status: 200,
            errors: [
              {
                message: "The payment provider could not cancel or refund the payment; retry",
                locations: location(1, 22),
                path: ["cancelOrder"],
                extensions: { code: "PAYMENT_FAILED", retryable },
              },
            ],
          });
        }
      } finally {
        payments.refundPayment = original;
      }
    }
    const { order } = await server.ok(
      `query($id: ID!) { order(id: $id) { status } }`,
      { id: checkout.id },
      {
        token: m.sme.token,
        now: NOW,
      },
    );
    expect(order.status).toBe("PAID");
  });
});

describe("the refusals of the domain get their code in formatError, whichever engine ran the query", () => {
  const cases: [Error, Record<string, unknown>][] = [
    [new BadInput("hours", "hours must be between 1 and 8784"), { code: "BAD_USER_INPUT", field: "hours" }],
    [new NotFound("Bid"), { code: "NOT_FOUND" }],
    [new Forbidden("A finance team reads its own city's spend only"), { code: "FORBIDDEN" }],
    [new Conflict("This order is already refunded"), { code: "CONFLICT" }],
    [
      new Conflict("The program's budget is used up", "PROGRAM_BUDGET_EXHAUSTED"),
      { code: "CONFLICT", reason: "PROGRAM_BUDGET_EXHAUSTED" },
    ],
    [
      new NotEligible("HUB_NOT_ELIGIBLE", "The program does not subsidize this hub"),
      { code: "NOT_ELIGIBLE", reason: "HUB_NOT_ELIGIBLE" },
    ],
    [
      new PaymentFailed("The payment provider refused the payment", { orderId: 7, retryable: false }),
      { code: "PAYMENT_FAILED", orderId: "order_7", retryable: false },
    ],
    [
      new PaymentFailed("The payment provider could not cancel or refund the payment; retry", { retryable: true }),
      { code: "PAYMENT_FAILED", retryable: true },
    ],
    [
      new PaymentNotStarted(7, new Conflict("The program's budget is used up", "PROGRAM_BUDGET_EXHAUSTED")),
      { code: "CONFLICT", orderId: "order_7", retryable: true },
    ],
    [
      new PaymentNotStarted(7, new Error("socket hang up")),
      { code: "SERVICE_UNAVAILABLE", orderId: "order_7", retryable: true },
    ],
  ];
  // Not refusals: a database error is mapped by its SQLSTATE, anything else is a bug.
  const others: [Error, Record<string, unknown>][] = [
    [
      Object.assign(new Error("duplicate key value"), { code: "23505" }),
      { message: "This conflicts with an existing record", path: ["refuse"], extensions: { code: "CONFLICT" } },
    ],
    [
      new Error("x is not a function"),
      { message: "Internal error", path: ["refuse"], extensions: { code: "INTERNAL_SERVER_ERROR" } },
    ],
  ];

  let thrown: Error = new Error("unset");
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({
      name: "Query",
      fields: {
        refuse: {
          type: GraphQLString,
          resolve: () => {
            throw thrown;
          },
        },
      },
    }),
  });
  const document = parse("{ refuse }");

  /** What Apollo hands formatError: the error's JSON, INTERNAL_SERVER_ERROR when it has no code. */
  const formatted = (error: GraphQLError, development = false) => {
    const extensions = { ...error.extensions, code: error.extensions?.code ?? "INTERNAL_SERVER_ERROR" };
    if (development) Object.assign(extensions, { stacktrace: error.stack?.split("\n") });
    return formatError({ ...error.toJSON(), extensions }, error, development);
  };

  const byGraphqlJs = async () => ((await execute({ schema, document })) as ExecutionResult).errors![0];
  const byGraphqlJit = async () => {
    const { executor } = await compiledExecution(schema).load({} as never);
    const request = {
      document,
      operation: document.definitions[0] as OperationDefinitionNode,
      queryHash: "refuse",
      request: { query: "{ refuse }", variables: {} },
      context: {},
    } as unknown as GatewayGraphQLRequestContext;
    return ((await executor!(request)) as ExecutionResult).errors![0];
  };

  for (const [engine, run] of [
    ["graphql-js", byGraphqlJs],
    ["graphql-jit", byGraphqlJit],
  ] as const) {
    it(`on ${engine}`, async () => {
      for (const [error, extensions] of cases) {
        thrown = error;
        expect(formatted(await run()), error.message).toEqual({
          message: error.message,
          locations: [{ line: 1, column: 3 }],
          path: ["refuse"],
          extensions,
        });
      }
      for (const [error, expected] of others) {
        thrown = error;
        expect(formatted(await run()), error.message).toEqual(expected);
      }
    });
  }

  it("keeps the stack trace in development only", async () => {
    thrown = new NotFound("Bid");
    const error = await byGraphqlJit();
    expect(formatted(error, true).extensions).toEqual({ code: "NOT_FOUND", stacktrace: expect.any(Array) });
    expect(formatted(error, false).extensions).toEqual({ code: "NOT_FOUND" });
  });
});
