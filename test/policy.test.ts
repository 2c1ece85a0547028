import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import type { Db } from "../src/db/client.js";
import { reservations } from "../src/db/schema.js";
import type { OrderRow } from "../src/checkout/settlement.js";
import { periodStarts } from "../src/reports/policy.js";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
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

// A small market in March 2027 (China time): a western data center in Ningxia, an eastern one in
// the Yangtze Delta; rentals paid on 10 January 2027 by twelve Shanghai SMEs.
const NOW = "2026-12-01T02:00:00Z";
const MARCH_1 = new Date("2027-03-01T00:00:00+08:00").getTime();
const H = 3_600_000;
let server: TestServer;
let db: Db;
let finance: Actor;
let operator: Actor;
const shanghaiOrders: OrderRow[] = [];

const REPORT = `query($city: String, $from: String!, $to: String!, $g: PolicyGranularity!) {
  policyReport(city: $city, from: $from, to: $to, granularity: $g) {
    city from to granularity subsidizedGpuHours westernGpuHours easternGpuHours westernShareBasisPoints
    domesticGpuHours domesticShareBasisPoints subsidy { fen } subsidyPerGpuHour { fen } smesServed
    top10Subsidy { fen } top10ShareBasisPoints
    hubs { hub western offeredGpuHours reservedGpuHours utilization periods { start offeredGpuHours reservedGpuHours utilization } } } }`;

async function report(vars: { city?: string; from: string; to: string; g: string }, token = finance.token) {
  return (await server.ok(REPORT, vars, { token })).policyReport;
}

beforeAll(async () => {
  server = await startServer();
  db = server.app.services.db;
  finance = await organization(server, "CITY_FINANCE", "Shanghai Finance", "Shanghai");
  const hangzhou = await organization(server, "CITY_FINANCE", "Hangzhou Finance", "Hangzhou");
  operator = await organization(server, "DATA_CENTER_OPERATOR", "Operator");
  const west = await dataCenter(server, operator, "Ningxia Zhongwei", "Zhongwei DC-1");
  const east = await dataCenter(server, operator, "Yangtze Delta", "Qingpu DC-1", "Shanghai");
  const at = (hours: number) => new Date(MARCH_1 + hours * H).toISOString();
  // Offered: Ningxia 10 H800 for 48 h and 4 Ascend 910B for 24 h from noon; Yangtze Delta 8 H800 for 7 days.
  const offerN = await publishOffer(
    server,
    operator,
    { dataCenterId: west, gpuCount: 10, pricePerGpuHour: "20.00", availableFrom: at(0), availableUntil: at(48) },
    NOW,
  );
  const offerN2 = await publishOffer(
    server,
    operator,
    {
      dataCenterId: west,
      gpuModel: "Ascend 910B",
      gpuCount: 4,
      pricePerGpuHour: "15.00",
      availableFrom: at(12),
      availableUntil: at(36),
    },
    NOW,
  );
  const offerE = await publishOffer(
    server,
    operator,
    { dataCenterId: east, gpuCount: 8, pricePerGpuHour: "30.00", availableFrom: at(0), availableUntil: at(168) },
    NOW,
  );
  // A withdrawn offer offers nothing.
  const withdrawn = await publishOffer(
    server,
    operator,
    { dataCenterId: east, gpuCount: 64, pricePerGpuHour: "30.00", availableFrom: at(0), availableUntil: at(168) },
    NOW,
  );
  await server.ok(
    `mutation($id: ID!) { withdrawOffer(id: $id) { status } }`,
    { id: withdrawn },
    { token: operator.token, now: NOW },
  );

  const validity = { validFrom: "2026-01-01T00:00:00Z", validUntil: "2028-01-01T00:00:00Z" };
  const shanghai = await createProgram(server, finance, { name: "Shanghai", budget: "10000000", ...validity }, NOW);
  const hangzhouProgram = await createProgram(server, hangzhou, { name: "Hangzhou", ...validity }, NOW);
  const paidOn = new Date("2027-01-10T03:00:00Z");
  /** A rental paid on 10 January: its reservation CONFIRMED, as a payment makes it. */
  const rent = async (
    sme: Actor,
    voucher: string | null,
    offerId: string,
    gpuCount: number,
    hours: number,
    startsAt: number,
  ) => {
    const reservation = await insertReservation(db, {
      offerId,
      smeId: sme.id,
      gpuCount,
      hours,
      startsAt: new Date(MARCH_1 + startsAt * H),
    });
    const order = await checkoutOrder(db, { reservation, voucherId: voucher, now: new Date(NOW) });
    await db.update(reservations).set({ status: "CONFIRMED" }).where(eq(reservations.id, reservation.id));
    return payOrder(db, order.id, paidOn);
  };
  for (let i = 1; i <= 12; i++) {
    const sme = await organization(server, "SME", `SME ${i}`);
    const voucher = await grantVoucher(server, finance, sme, shanghai, "100000", NOW);
    // SMEs 1-6 rent i H800 for 2 hours in Ningxia, one after the other on 1 March; 7-12 one H800 for i hours in the east.
    shanghaiOrders.push(
      i <= 6 ? await rent(sme, voucher, offerN, i, 2, 2 * (i - 1)) : await rent(sme, voucher, offerE, 1, i, 0),
    );
    if (i === 1) shanghaiOrders.push(await rent(sme, voucher, offerN2, 1, 6, 12)); // domestic chips
    if (i === 2) {
      // Refunded: drops out of the subsidy figures, and its reservation is never paid for.
      const reservation = await insertReservation(db, {
        offerId: offerE,
        smeId: sme.id,
        gpuCount: 1,
        hours: 5,
        startsAt: new Date(MARCH_1 + 48 * H),
      });
      const order = await checkoutOrder(db, { reservation, voucherId: voucher, now: new Date(NOW) });
      await payOrder(db, order.id, paidOn);
      await refundOrder(db, order.id, paidOn);
    }
  }
  // Paid on 2 March in the east: Hangzhou's program, and a rental without a voucher.
  const other = await organization(server, "SME", "Hangzhou SME");
  await rent(other, await grantVoucher(server, hangzhou, other, hangzhouProgram, "100000", NOW), offerE, 1, 3, 24);
  await rent(other, null, offerE, 1, 3, 24);
});
afterAll(() => server?.close());

describe("policyReport", () => {
  it("computes the subsidy's figures over the period as a hand count does", async () => {
    const r = await report({ from: "2027-01-01", to: "2027-04-01", g: "MONTH" });
    // By hand: western GPU-hours 2+4+...+12 = 42 and 6 on Ascend, eastern 7+...+12 = 57.
    // Subsidy at 30 %: 1200 × i fen (i ≤ 6), 900 × i fen (i ≥ 7), 2700 fen for the Ascend rental.
    expect(r).toMatchObject({
      city: "Shanghai",
      subsidizedGpuHours: 105,
      westernGpuHours: 48,
      easternGpuHours: 57,
      westernShareBasisPoints: 4571, // 48 / 105 = 45.71 %
      domesticGpuHours: 6,
      domesticShareBasisPoints: 571,
      subsidy: { fen: "79200" },
      subsidyPerGpuHour: { fen: "754" }, // 79200 / 105 = 754.28
      smesServed: 12,
      top10Subsidy: { fen: "73200" }, // all but SME 2 (2400) and SME 3 (3600)
      top10ShareBasisPoints: 9242,
    });
    // The same from the orders themselves.
    const hours = (keep: (o: OrderRow) => boolean) =>
      shanghaiOrders.filter(keep).reduce((sum, o) => sum + o.gpuHours, 0);
    const subsidy = shanghaiOrders.reduce((sum, o) => sum + o.subsidy, 0n);
    const bySme = new Map<number, bigint>();
    for (const o of shanghaiOrders) bySme.set(o.smeId, (bySme.get(o.smeId) ?? 0n) + o.subsidy);
    const top10 = [...bySme.values()]
      .sort((a, b) => (a > b ? -1 : 1))
      .slice(0, 10)
      .reduce((a, b) => a + b, 0n);
    expect([r.subsidizedGpuHours, r.westernGpuHours, r.subsidy.fen, r.smesServed, r.top10Subsidy.fen]).toEqual([
      hours(() => true),
      hours((o) => o.hub === "Ningxia Zhongwei"),
      String(subsidy),
      bySme.size,
      String(top10),
    ]);
  });

  it("counts a finance team's own city; the admin any city or all of them", async () => {
    const all = await report({ from: "2027-01-01", to: "2027-04-01", g: "MONTH" }, ADMIN);
    expect(all).toMatchObject({ city: null, subsidizedGpuHours: 108, smesServed: 13, easternGpuHours: 60 });
    const hangzhou = await report({ city: "Hangzhou", from: "2027-01-01", to: "2027-04-01", g: "MONTH" }, ADMIN);
    expect(hangzhou).toMatchObject({ subsidizedGpuHours: 3, westernShareBasisPoints: 0, smesServed: 1 });
    // Nothing paid in the period: no shares, no subsidy per GPU-hour.
    const none = await report({ from: "2027-02-01", to: "2027-03-01", g: "MONTH" });
    expect(none).toMatchObject({
      subsidizedGpuHours: 0,
      westernShareBasisPoints: null,
      subsidyPerGpuHour: null,
      smesServed: 0,
      top10ShareBasisPoints: null,
    });
    const FORBIDDEN = { from: "2027-01-01", to: "2027-04-01", g: "MONTH" };
    await server.fails("FORBIDDEN", REPORT, { ...FORBIDDEN, city: "Hangzhou" }, { token: finance.token });
    await server.fails("FORBIDDEN", REPORT, FORBIDDEN, { token: operator.token });
    await server.fails("UNAUTHENTICATED", REPORT, FORBIDDEN);
  });

  it("shows each hub's offered and paid-for GPU-hours per month, week and day", async () => {
    const byMonth = await report({ from: "2027-01-01", to: "2027-04-01", g: "MONTH" });
    expect(byMonth.hubs.map((h: any) => h.hub)).toHaveLength(10);
    const hub = (r: any, name: string) => r.hubs.find((h: any) => h.hub === name);
    // Ningxia: 10 × 48 + 4 × 24 offered; paid for: 42 + 6.
    expect(hub(byMonth, "Ningxia Zhongwei")).toEqual({
      hub: "Ningxia Zhongwei",
      western: true,
      offeredGpuHours: 576,
      reservedGpuHours: 48,
      utilization: 48 / 576,
      periods: [
        { start: "2027-01-01", offeredGpuHours: 0, reservedGpuHours: 0, utilization: null },
        { start: "2027-02-01", offeredGpuHours: 0, reservedGpuHours: 0, utilization: null },
        { start: "2027-03-01", offeredGpuHours: 576, reservedGpuHours: 48, utilization: 48 / 576 },
      ],
    });
    // Yangtze Delta: 8 × 168 offered (the withdrawn offer not); 57 + 3 + 3 paid for (the refunded rental not).
    expect(hub(byMonth, "Yangtze Delta")).toMatchObject({
      western: false,
      offeredGpuHours: 1344,
      reservedGpuHours: 63,
    });
    expect(hub(byMonth, "Wuhu")).toMatchObject({ offeredGpuHours: 0, utilization: null });

    // 1 March 2027 is a Monday: weeks from a Wednesday are cut at the start.
    const byWeek = await report({ from: "2027-02-24", to: "2027-03-10", g: "WEEK" });
    expect(hub(byWeek, "Yangtze Delta").periods).toEqual([
      { start: "2027-02-24", offeredGpuHours: 0, reservedGpuHours: 0, utilization: null },
      { start: "2027-03-01", offeredGpuHours: 1344, reservedGpuHours: 63, utilization: 63 / 1344 },
      { start: "2027-03-08", offeredGpuHours: 0, reservedGpuHours: 0, utilization: null },
    ]);
    const byDay = await report({ from: "2027-03-01", to: "2027-03-04", g: "DAY" });
    expect(hub(byDay, "Ningxia Zhongwei").periods).toEqual([
      { start: "2027-03-01", offeredGpuHours: 240 + 48, reservedGpuHours: 48, utilization: 48 / 288 },
      { start: "2027-03-02", offeredGpuHours: 240 + 48, reservedGpuHours: 0, utilization: 0 },
      { start: "2027-03-03", offeredGpuHours: 0, reservedGpuHours: 0, utilization: null },
    ]);
    expect(hub(byDay, "Yangtze Delta").periods.map((p: any) => [p.offeredGpuHours, p.reservedGpuHours])).toEqual([
      [192, 57],
      [192, 6],
      [192, 0],
    ]);
    expect(await brokenInvariants(server)).toEqual([]);
  });

  it("takes days of the billing calendar, at most 1,100 of them", async () => {
    for (const [from, to, field, g = "DAY"] of [
      ["2027-02-30", "2027-03-01", "from"],
      ["2027-03-01T00:00:00Z", "2027-03-02", "from"],
      ["2027-03-01", "2027-03-01", "to"],
      ["2027-03-01", "2030-03-07", "to"],
      ["1999-12-31", "2000-01-02", "from"],
      ["2027-01-15", "2027-03-01", "from", "MONTH"],
      ["2027-01-01", "2027-03-02", "to", "MONTH"],
    ]) {
      const error = await server.fails("BAD_USER_INPUT", REPORT, { from, to, g }, { token: finance.token });
      expect(error.extensions?.field).toBe(field);
    }
    expect(periodStarts(Date.UTC(2027, 0, 30), Date.UTC(2027, 2, 2), "MONTH")).toEqual([
      "2027-01-30",
      "2027-02-01",
      "2027-03-01",
    ]);
    expect(periodStarts(Date.UTC(2027, 1, 28), Date.UTC(2027, 2, 9), "WEEK")).toEqual([
      "2027-02-28",
      "2027-03-01",
      "2027-03-08",
    ]);
  });
});
