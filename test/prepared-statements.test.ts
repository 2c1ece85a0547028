// On PostgreSQL, the hot paths (the bench's offer search, placeBid, checkout and spend report) send
// every statement prepared, or with its values written in to be planned for them (decisions/0001):
// none goes unnamed with parameters, which would cost a plan and a second round trip per call. And
// a statement whose cost must not grow with a table (the open bids read after a publication) is
// run again under EXPLAIN ANALYZE with the values it was sent, to count the rows it reads.
import { fillPlaceholders } from "drizzle-orm";
import { PostgresJsPreparedQuery } from "drizzle-orm/postgres-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "./support/harness.js";
import { market, NOW, reserve, type Market } from "./support/market.js";
import { publishOffer } from "./support/fixtures.js";
import { keyOf } from "./support/ids.js";

interface Sent {
  text: string;
  prepared: boolean;
  parameters: number;
  values: unknown[];
}

// Every statement drizzle hands to the `postgres` driver goes through this method.
type Execute = (this: { queryString: string; prepare: boolean; params: unknown[] }, ...args: unknown[]) => unknown;
const prototype = PostgresJsPreparedQuery.prototype as unknown as { execute: Execute };
const execute = prototype.execute;
let sent: Sent[] = [];

const SEARCH = `query Search($filter: OfferFilter, $first: Int) {
  offers(filter: $filter, sort: PRICE_ASC, first: $first) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id gpuCount pricePerGpuHour { amount } availableFrom availableUntil minHours
      dataCenter { name hub operator { name } } gpuModel { name } } }
  }
}`;
const PLACE_BID = `mutation Bid($input: PlaceBidInput!) { placeBid(input: $input) { id status reservation { id status } } }`;
const CHECKOUT = `mutation Checkout($input: CheckoutInput!) { checkout(input: $input) { id status subsidy { amount } smeShare { amount } } }`;
const SPEND = `query Spend($city: String, $from: DateTime!, $to: DateTime!) {
  subsidySpend(city: $city, from: $from, to: $to, groupBy: [MONTH, DATA_CENTER]) {
    rows { keys { dimension value label } orders gpuHours gross { amount } subsidy { amount } smePaid { amount } }
    totals { orders gpuHours gross { amount } subsidy { amount } smePaid { amount } }
  }
}`;

describe.runIf(!!process.env.DATABASE_URL)("statements of the hot paths on PostgreSQL", () => {
  let server: TestServer;
  let m: Market;

  beforeAll(async () => {
    prototype.execute = function (...args) {
      // The values as the driver gets them: the statement's placeholders filled from the call's.
      const values = fillPlaceholders(this.params, (args[0] ?? {}) as Record<string, unknown>);
      sent.push({ text: this.queryString, prepared: this.prepare, parameters: this.params.length, values });
      return execute.apply(this, args);
    };
    server = await startServer();
    m = await market(server);
  });
  afterAll(async () => {
    prototype.execute = execute;
    await server?.close();
  });

  /** The statements `run` sends; the caller's token (and its cached key) is warmed by `warm` first. */
  async function statementsOf(warm: () => Promise<unknown>, run: () => Promise<unknown>): Promise<Sent[]> {
    await warm();
    sent = [];
    const before = server.queryCount();
    await run();
    expect(sent).toHaveLength(server.queryCount() - before);
    return sent;
  }

  const unnamedWithParameters = (statements: Sent[]) =>
    statements.filter((s) => !s.prepared && s.parameters > 0).map((s) => s.text);

  it("the offer search: one prepared statement", async () => {
    const filter = {
      gpuModel: "H800",
      hub: "Ningxia Zhongwei",
      availableFrom: "2027-03-11T00:00:00Z",
      availableUntil: "2027-03-12T00:00:00Z",
    };
    const search = () => server.ok(SEARCH, { filter, first: 50 });
    const statements = await statementsOf(search, search);
    expect(statements.map((s) => s.prepared)).toEqual([true]);
  });

  it("placeBid: its candidates planned for their values, every other statement prepared", async () => {
    const bid = (hubs: string[] | null) => () =>
      server.ok(
        PLACE_BID,
        {
          input: {
            gpuModel: "H800",
            gpuCount: 1,
            hours: 2,
            earliestStart: "2027-03-10T00:00:00Z",
            latestEnd: "2027-03-20T00:00:00Z",
            maxPricePerGpuHour: "30.00",
            hubs,
          },
        },
        { token: m.sme.token, now: NOW },
      );
    for (const hubs of [null, ["Ningxia Zhongwei", "Gansu Qingyang"]]) {
      const statements = await statementsOf(bid(hubs), bid(hubs));
      expect(statements.length).toBeGreaterThan(5);
      expect(unnamedWithParameters(statements)).toEqual([]);
      // The candidates: unnamed, with their values in the text.
      expect(statements.filter((s) => !s.prepared).length).toBe(1);
    }
  });

  it("checkout with a voucher: every statement prepared", async () => {
    const [first, second] = [await reserve(server, m.sme, 1, 3), await reserve(server, m.sme, 1, 3)];
    const checkout = (reservationId: string, key: string) => () =>
      server.ok(
        CHECKOUT,
        { input: { reservationId, voucherId: m.voucherId, idempotencyKey: key } },
        { token: m.sme.token, now: NOW },
      );
    const statements = await statementsOf(checkout(first, "warm"), checkout(second, "timed"));
    expect(statements.length).toBeGreaterThan(10);
    expect(statements.filter((s) => !s.prepared)).toEqual([]);
  });

  it("the spend report: one statement, planned for its values", async () => {
    const spend = () =>
      server.ok(
        SPEND,
        { city: "Shanghai", from: "2026-06-15T00:00:00Z", to: "2027-06-15T00:00:00Z" },
        { token: m.finance.token, now: NOW },
      );
    const statements = await statementsOf(spend, spend);
    expect(statements).toEqual([expect.objectContaining({ prepared: false, parameters: 0 })]);
  });

  it("publishing an offer reads only the open bids that can pay its price, however many wait below it", async () => {
    // Open L40S bids that fit the offer below in every way but their price, 1.00 CNY an hour.
    const WAITING = 3_000;
    await server.sql(
      `insert into bids (sme_id, gpu_model_id, gpu_count, hours, earliest_start, latest_end, max_price_per_gpu_hour, status, created_at, updated_at)
       select $1, (select id from gpu_models where name = 'L40S'), 1, 2, $2::timestamptz, $3::timestamptz, 100, 'OPEN', $4::timestamptz, $4::timestamptz
       from generate_series(1, ${WAITING})`,
      [keyOf(m.sme.id), "2027-03-20T00:00:00Z", "2027-03-22T00:00:00Z", NOW],
    );
    try {
      sent = [];
      const input = {
        dataCenterId: m.dataCenterId,
        gpuModel: "L40S",
        gpuCount: 4,
        pricePerGpuHour: "7.00",
        availableFrom: "2027-03-20T00:00:00Z",
        availableUntil: "2027-03-22T00:00:00Z",
      };
      await publishOffer(server, m.operator, input, NOW);
      const page = sent.find((s) => s.text.includes("unnest(") && s.text.includes('from "bids"'));
      expect(page, "the open bids' page is read after publishing").toBeDefined();
      // Its values written in as literals (each placeholder carries its cast in the text).
      const literal = (value: unknown) => (value == null ? "null" : `'${String(value).replace(/'/g, "''")}'`);
      const text = page!.text.replace(/\$(\d+)/g, (_, n: string) => literal(page!.values[Number(n) - 1]));
      const [{ "QUERY PLAN": plan }] = await server.sql(`explain (analyze, format json) ${text}`);
      // Rows the scans of the open bids' index read, kept or filtered out.
      let read = 0;
      const walk = (node: Record<string, unknown>) => {
        if (node["Index Name"] === "bids_open_priority_idx")
          read +=
            (Number(node["Actual Rows"]) + Number(node["Rows Removed by Filter"] ?? 0)) * Number(node["Actual Loops"]);
        for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
      };
      walk((plan as { Plan: Record<string, unknown> }[])[0].Plan);
      expect(read).toBeLessThan(10);
    } finally {
      await server.sql(`delete from bids where status = 'OPEN' and max_price_per_gpu_hour = 100`);
    }
  });
});
