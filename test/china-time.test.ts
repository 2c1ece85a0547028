import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../src/db/client.js";
import { loadConfig } from "../src/config.js";
import { configureBillingTimeZone, dayOf, monthEnd, monthOf, yearOf } from "../src/time.js";
import { useBillingZone } from "../src/reports/reports.queries.js";
import { startServer, type TestServer } from "./support/harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./support/fixtures.js";
import {
  brokenInvariants,
  checkoutOrder,
  createProgram,
  grantVoucher,
  insertReservation,
  payOrder,
  refundOrder,
} from "./support/orders.js";
import { keyOf } from "./support/ids.js";

const NOW = "2026-11-15T02:00:00Z";
let server: TestServer;
let db: Db;
let finance: Actor;
let sme: Actor;
let offerId: string;
let program: string;
let capped: string;
let voucher: string;
let cappedVoucher: string;

const STATEMENT = `query($programId: ID!, $month: String!) { cityStatement(programId: $programId, month: $month) {
  month status total { fen } lines { orders subsidy { fen } } } }`;
const SETTLE = `mutation($programId: ID!, $month: String!) { settleCityStatement(programId: $programId, month: $month) { month status } }`;
const SPEND = `query($programId: ID, $from: DateTime!, $to: DateTime!, $groupBy: [SpendDimension!]!) {
  subsidySpend(programId: $programId, from: $from, to: $to, groupBy: $groupBy) {
    rows { keys { dimension value } orders subsidy { fen } } totals { orders subsidy { fen } } } }`;

beforeAll(async () => {
  server = await startServer();
  db = server.app.services.db;
  finance = await organization(server, "CITY_FINANCE", "Shanghai Finance", "Shanghai");
  sme = await organization(server, "SME", "Mofang Vision");
  const operator = await organization(server, "DATA_CENTER_OPERATOR", "West Operator");
  const dc = await dataCenter(server, operator, "Ningxia Zhongwei", "Zhongwei DC-1");
  offerId = await publishOffer(
    server,
    operator,
    {
      dataCenterId: dc,
      gpuCount: 100,
      pricePerGpuHour: "20.00",
      availableFrom: "2027-02-01T00:00:00Z",
      availableUntil: "2027-04-01T00:00:00Z",
    },
    NOW,
  );
  const validity = { validFrom: "2026-01-01T00:00:00Z", validUntil: "2028-01-01T00:00:00Z" };
  program = await createProgram(server, finance, { name: "Shanghai Voucher", ...validity }, NOW);
  capped = await createProgram(server, finance, { name: "Capped", perSmeAnnualCap: "50.00", ...validity }, NOW);
  voucher = await grantVoucher(server, finance, sme, program, "100000", NOW);
  cappedVoucher = await grantVoucher(server, finance, sme, capped, "50.00", NOW);
});
afterAll(() => server?.close());

/** A checkout of 2 GPUs for 10 hours (400.00 CNY, subsidy 120.00 at 30 %) at `at`. */
async function checkout(voucherId: string, at: string) {
  const reservation = await insertReservation(db, { offerId, smeId: sme.id, gpuCount: 2, hours: 10 });
  return checkoutOrder(db, { reservation, voucherId, now: new Date(at) });
}

async function statement(programId: string, month: string) {
  return (await server.ok(STATEMENT, { programId, month }, { token: finance.token })).cityStatement;
}

describe("the billing calendar", () => {
  it("reads months, days and years in Asia/Shanghai, UTC+8 all year", () => {
    expect(monthOf(new Date("2026-11-30T15:59:59Z"))).toBe("2026-11");
    expect(monthOf(new Date("2026-11-30T16:00:00Z"))).toBe("2026-12");
    expect(dayOf(new Date("2026-11-30T16:00:00Z"))).toBe("2026-12-01");
    expect(yearOf(new Date("2026-12-31T15:59:59Z"))).toBe(2026);
    expect(yearOf(new Date("2026-12-31T16:00:00Z"))).toBe(2027);
    expect(monthEnd("2026-11").toISOString()).toBe("2026-11-30T16:00:00.000Z");
    expect(monthEnd("2099-12").toISOString()).toBe("2099-12-31T16:00:00.000Z");
  });

  it("follows BILLING_TIME_ZONE, daylight saving included; zones that are not whole hours from UTC are refused", () => {
    try {
      configureBillingTimeZone("America/New_York");
      expect(monthEnd("2027-03").toISOString()).toBe("2027-04-01T04:00:00.000Z"); // EDT, UTC-4
      expect(monthEnd("2027-11").toISOString()).toBe("2027-12-01T05:00:00.000Z"); // EST, UTC-5
      expect(monthOf(new Date("2027-04-01T03:59:59Z"))).toBe("2027-03");
    } finally {
      configureBillingTimeZone("Asia/Shanghai");
    }
    expect(loadConfig({}).billingTimeZone).toBe("Asia/Shanghai");
    expect(loadConfig({ BILLING_TIME_ZONE: "Europe/Berlin" }).billingTimeZone).toBe("Europe/Berlin");
    expect(() => loadConfig({ BILLING_TIME_ZONE: "Asia/Kolkata" })).toThrow(/whole number of hours/);
    expect(() => loadConfig({ BILLING_TIME_ZONE: "Mars/Olympus" })).toThrow(/unknown time zone/);
  });

  it("reads each instant's day as the zone's own clock does, across every change of offset", () => {
    // Tehran's clocks changed at midnight, 19:30 or 20:30 UTC until 2022: inside an hour, not at its start.
    const zones = ["Asia/Shanghai", "America/New_York", "Europe/Berlin", "Asia/Tehran"];
    const instants: number[] = [];
    // Every half hour through the months in which clocks change, north and south (China too, 1986-1991).
    for (const year of [1986, 1987, 1991, 2021, 2026, 2027]) {
      for (const month of [2, 3, 8, 9, 10]) {
        const start = Date.UTC(year, month, 1);
        for (let t = start; t < Date.UTC(year, month + 1, 1); t += 30 * 60_000) instants.push(t);
      }
    }
    for (let i = 0; i < 2_000; i++) instants.push(Date.UTC(1930, 0, 1) + i * 1_777_777_777); // 1930 to 2042
    try {
      for (const zone of zones) {
        const clock = new Intl.DateTimeFormat("en-CA", {
          timeZone: zone,
          year: "numeric",
          month: "2-digit",
          day: "2-digit",
        });
        configureBillingTimeZone(zone);
        const wrong = instants.filter((t) => dayOf(new Date(t)) !== clock.format(new Date(t)));
        expect(wrong.map((t) => `${zone} ${new Date(t).toISOString()}`)).toEqual([]);
      }
    } finally {
      configureBillingTimeZone("Asia/Shanghai");
    }
  });

  it("bills a payment at 15:59:59 UTC on a month's last day to that month, and one at 16:00:00 to the next", async () => {
    const before = await checkout(voucher, NOW);
    const after = await checkout(voucher, NOW);
    await payOrder(db, before.id, new Date("2026-11-30T15:59:59Z"));
    await payOrder(db, after.id, new Date("2026-11-30T16:00:00Z"));
    expect(before.subsidy).toBe(12_000n);

    expect(await statement(program, "2026-11")).toMatchObject({ total: { fen: "12000" }, lines: [{ orders: 1 }] });
    expect(await statement(program, "2026-12")).toMatchObject({ total: { fen: "12000" }, lines: [{ orders: 1 }] });

    // The spend report's months and days are China's too; the window itself is instants.
    const { subsidySpend } = await server.ok(
      SPEND,
      { programId: program, from: "2026-11-30T00:00:00Z", to: "2026-12-01T00:00:00Z", groupBy: ["MONTH", "DAY"] },
      { token: finance.token },
    );
    expect(subsidySpend.rows).toEqual([
      {
        keys: [
          { dimension: "MONTH", value: "2026-11" },
          { dimension: "DAY", value: "2026-11-30" },
        ],
        orders: 1,
        subsidy: { fen: "12000" },
      },
      {
        keys: [
          { dimension: "MONTH", value: "2026-12" },
          { dimension: "DAY", value: "2026-12-01" },
        ],
        orders: 1,
        subsidy: { fen: "12000" },
      },
    ]);
    // A whole China month, read from the monthly sums: only the payment at 16:00:00.
    const december = await server.ok(
      SPEND,
      { programId: program, from: "2026-12-01T00:00:00+08:00", to: "2027-01-01T00:00:00+08:00", groupBy: ["MONTH"] },
      { token: finance.token },
    );
    expect(december.subsidySpend.rows).toEqual([
      { keys: [{ dimension: "MONTH", value: "2026-12" }], orders: 1, subsidy: { fen: "12000" } },
    ]);
    expect(await brokenInvariants(server)).toEqual([]);
  });

  it("ends November for settling at 16:00:00 UTC on 30 November, midnight in Shanghai, and not a second before", async () => {
    const error = await server.fails(
      "BAD_USER_INPUT",
      SETTLE,
      { programId: program, month: "2026-11" },
      { token: finance.token, now: "2026-11-30T15:59:59Z" },
    );
    expect(error.extensions?.field).toBe("month");
    // From 16:00:00 the month has ended: what still holds it is no longer the calendar but its
    // rentals' delivery (settling once deliveries are final: test/delivery.test.ts).
    const waiting = await server.fails(
      "CONFLICT",
      SETTLE,
      { programId: program, month: "2026-11" },
      { token: finance.token, now: "2026-11-30T16:00:00Z" },
    );
    expect(waiting.extensions?.reason).toBe("DELIVERY_NOT_FINAL");
  });

  it("bills a refund across the boundary to the month of the refund in China", async () => {
    const order = await checkout(voucher, NOW);
    await payOrder(db, order.id, new Date("2026-12-31T15:59:59Z"));
    await refundOrder(db, order.id, new Date("2026-12-31T16:00:00Z"));
    const december = await statement(program, "2026-12");
    const january = await statement(program, "2027-01");
    expect(december).toMatchObject({ total: { fen: "24000" }, lines: [{ orders: 2 }] });
    expect(january).toMatchObject({ total: { fen: "-12000" }, lines: [{ orders: -1, subsidy: { fen: "-12000" } }] });
    // The spend report drops the refunded order from December.
    const { subsidySpend } = await server.ok(
      SPEND,
      { programId: program, from: "2026-12-01T00:00:00+08:00", to: "2027-02-01T00:00:00+08:00", groupBy: ["MONTH"] },
      { token: finance.token },
    );
    expect(subsidySpend.totals).toEqual({ orders: 1, subsidy: { fen: "12000" } });
    expect(await brokenInvariants(server)).toEqual([]);
  });

  it("counts the annual cap by the calendar year in China: 31 December 16:00 UTC is the new year", async () => {
    const QUOTE = `query($r: ID!, $v: ID!) { quote(reservationId: $r, voucherId: $v) { subsidy { fen } } }`;
    const first = await checkout(cappedVoucher, "2026-12-31T15:00:00Z");
    expect([first.subsidy, first.subsidyYear]).toEqual([5_000n, 2026]);
    await payOrder(db, first.id, new Date("2026-12-31T15:00:01Z"));
    // The cap of 2026 is used up until the last second of 2026 in China; 2027's is whole at 16:00:00.
    const reservation = await insertReservation(db, { offerId, smeId: sme.id, gpuCount: 2, hours: 10 });
    const quoteAt = async (now: string) =>
      (await server.ok(QUOTE, { r: `reservation_${reservation.id}`, v: cappedVoucher }, { token: sme.token, now }))
        .quote.subsidy.fen;
    expect(await quoteAt("2026-12-31T15:59:59Z")).toBe("0");
    // The voucher itself is spent too: a second voucher for the new year.
    const next = await grantVoucher(server, finance, sme, capped, "50.00", "2026-12-31T15:59:59Z");
    const { quote } = await server.ok(
      QUOTE,
      { r: `reservation_${reservation.id}`, v: next },
      { token: sme.token, now: "2026-12-31T16:00:00Z" },
    );
    expect(quote.subsidy.fen).toBe("5000");
    const second = await checkoutOrder(db, { reservation, voucherId: next, now: new Date("2026-12-31T16:00:00Z") });
    expect([second.subsidy, second.subsidyYear]).toEqual([5_000n, 2027]);
    const counters = await server.sql(
      `select year, committed::text from sme_annual_subsidy where program_id = $1 order by year`,
      [keyOf(capped)],
    );
    expect(counters).toEqual([
      { year: 2026, committed: "5000" },
      { year: 2027, committed: "5000" },
    ]);
    // A refund in 2027 (in China) gives back the counter of the checkout's year, 2026.
    await refundOrder(db, first.id, new Date("2027-01-01T01:00:00Z"));
    const [counter2026] = await server.sql(
      `select committed::text from sme_annual_subsidy where program_id = $1 and year = 2026`,
      [keyOf(capped)],
    );
    expect(counter2026.committed).toBe("0");
    expect(await brokenInvariants(server)).toEqual([]);
  });
});

describe("moving a database to China time", () => {
  it("keeps claims already billed on their statement and counts the reports' days and months again", async () => {
    const SPEND_DAYS = { programId: program, from: "2026-10-01T00:00:00Z", to: "2026-11-02T00:00:00Z" };
    // A database billed in UTC, as before 0009: a payment at 2026-10-31T16:30Z is October's there.
    const order = await checkout(voucher, NOW);
    try {
      configureBillingTimeZone("UTC");
      await useBillingZone(db, "UTC");
      await payOrder(db, order.id, new Date("2026-10-31T16:30:00Z"));
      expect(await statement(program, "2026-10")).toMatchObject({ total: { fen: "12000" } });
      const utc = await server.ok(SPEND, { ...SPEND_DAYS, groupBy: ["MONTH", "DAY"] }, { token: finance.token });
      expect(utc.subsidySpend.rows[0].keys).toEqual([
        { dimension: "MONTH", value: "2026-10" },
        { dimension: "DAY", value: "2026-10-31" },
      ]);
    } finally {
      // What migration 0011 does to an existing database, and a server does at start when
      // BILLING_TIME_ZONE changed: the same function.
      configureBillingTimeZone("Asia/Shanghai");
      await useBillingZone(db, "Asia/Shanghai");
    }
    // The claim stays on October's statement; the reports now see 1 November in China.
    expect(await statement(program, "2026-10")).toMatchObject({ total: { fen: "12000" }, lines: [{ orders: 1 }] });
    expect(await statement(program, "2026-11")).toMatchObject({ total: { fen: "12000" } }); // the earlier test's
    const china = await server.ok(SPEND, { ...SPEND_DAYS, groupBy: ["MONTH", "DAY"] }, { token: finance.token });
    expect(china.subsidySpend.rows[0].keys).toEqual([
      { dimension: "MONTH", value: "2026-11" },
      { dimension: "DAY", value: "2026-11-01" },
    ]);
    const [zone] = await server.sql(`select time_zone from billing_calendar`);
    expect(zone.time_zone).toBe("Asia/Shanghai");
    expect(await brokenInvariants(server)).toEqual([]);
  });
});
