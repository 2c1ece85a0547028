import "reflect-metadata";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../src/db/client.js";
import { orders } from "../src/db/schema.js";
import type { Viewer } from "../src/graphql/context.js";
import { postSubsidy, refundSubsidy, reserveSubsidy, voidSubsidy } from "../src/ledger/ledger.service.js";
import type { OrderRow } from "../src/checkout/settlement.js";
import { settleStatement } from "../src/reports/reports.service.js";
import type { ReservationRow } from "../src/bids/reservations.service.js";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./support/fixtures.js";
import {
  brokenInvariants,
  checkoutOrder,
  createProgram,
  failOrder,
  forcedOrder,
  grantVoucher,
  insertReservation,
  payOrder,
  refundOrder,
} from "./support/orders.js";
import { globalId, keyOf } from "./support/ids.js";

const NOW = "2026-11-15T10:00:00Z";
const now = new Date(NOW);
const ADMIN_VIEWER: Viewer = { role: "ADMIN", organizationId: null, city: null, apiKeyId: null };

let server: TestServer;
let db: Db;
let finance: Actor;
let otherFinance: Actor;
let smeA: Actor;
let smeB: Actor;
let smeC: Actor;
let operator: Actor;
let offerId: string;
let cheapOfferId: string;

beforeAll(async () => {
  server = await startServer();
  db = server.app.services.db;
  finance = await organization(server, "CITY_FINANCE", "Shenzhen Finance", "Shenzhen");
  otherFinance = await organization(server, "CITY_FINANCE", "Henan Finance", "Henan");
  smeA = await organization(server, "SME", "SME A");
  smeB = await organization(server, "SME", "SME B");
  smeC = await organization(server, "SME", "SME C");
  operator = await organization(server, "DATA_CENTER_OPERATOR", "West Operator");
  const dc = await dataCenter(server, operator, "Ningxia Zhongwei");
  const window = { availableFrom: "2026-12-01T00:00:00Z", availableUntil: "2027-06-01T00:00:00Z" };
  offerId = await publishOffer(
    server,
    operator,
    { dataCenterId: dc, gpuCount: 1000, pricePerGpuHour: "50.00", ...window },
    NOW,
  );
  cheapOfferId = await publishOffer(
    server,
    operator,
    { dataCenterId: dc, gpuCount: 1000, pricePerGpuHour: "5.00", ...window },
    NOW,
  );
});
afterAll(() => server?.close());

const reserve = (sme: Actor, gpuCount: number, hours: number, offer = offerId): Promise<ReservationRow> =>
  insertReservation(db, { offerId: offer, smeId: sme.id, gpuCount, hours });

async function balances(programId: string) {
  const [p] = await server.sql(
    `select available::text, pending::text, spent::text from subsidy_programs where id = $1`,
    [keyOf(programId)],
  );
  return { available: BigInt(p.available), pending: BigInt(p.pending), spent: BigInt(p.spent) };
}
async function remaining(voucherId: string): Promise<bigint> {
  const [v] = await server.sql(`select remaining::text from vouchers where id = $1`, [keyOf(voucherId)]);
  return BigInt(v.remaining);
}
async function committed(programId: string, sme: Actor, year = 2026): Promise<bigint> {
  const rows = await server.sql(
    `select committed::text from sme_annual_subsidy where program_id = $1 and sme_id = $2 and year = $3`,
    [keyOf(programId), keyOf(sme.id), year],
  );
  return rows.length ? BigInt(rows[0].committed) : 0n;
}
async function entries(programId: string) {
  const rows = await server.sql(
    `select order_id::int as order, kind, amount::text from ledger_entries where program_id = $1 order by id`,
    [keyOf(programId)],
  );
  return rows.map((r: { order: number; kind: string; amount: string }) => `${r.kind} ${r.order} ${r.amount}`);
}
async function claims(programId: string) {
  const rows = await server.sql(
    `select s.month, c.order_id::int as order, c.amount::text from claim_lines c join city_statements s on s.id = c.statement_id where c.program_id = $1 order by c.id`,
    [keyOf(programId)],
  );
  return rows.map((r: { month: string; order: number; amount: string }) => `${r.month} ${r.order} ${r.amount}`);
}
const inTx = <T>(run: (tx: Db) => Promise<T>) => db.transaction((tx) => run(tx as unknown as Db));
const reload = async (order: OrderRow) => (await db.select().from(orders).where(eq(orders.id, order.id)))[0];

describe("budget ledger entry points", () => {
  it("reserve, post, void and refund move the balances, the voucher, the annual counter and the city's claims", async () => {
    const programId = await createProgram(
      server,
      finance,
      { budget: "10000", rateBasisPoints: 5000, perSmeAnnualCap: "5000" },
      NOW,
    );
    const voucherId = await grantVoucher(server, finance, smeA, programId, "3000", NOW);

    // 2 GPUs x 10 h x 50.00 = 1000.00 gross; 50 % = 500.00.
    const first = await checkoutOrder(db, { reservation: await reserve(smeA, 2, 10), voucherId, now });
    expect(first.subsidy).toBe(50_000n);
    expect(await balances(programId)).toEqual({ available: 950_000n, pending: 50_000n, spent: 0n });
    expect(await remaining(voucherId)).toBe(250_000n);
    expect(await committed(programId, smeA)).toBe(50_000n);

    await payOrder(db, first.id, new Date("2026-11-20T08:00:00Z"));
    expect(await balances(programId)).toEqual({ available: 950_000n, pending: 0n, spent: 50_000n });
    expect(await remaining(voucherId)).toBe(250_000n);
    expect(await committed(programId, smeA)).toBe(50_000n);

    const second = await checkoutOrder(db, { reservation: await reserve(smeA, 1, 10), voucherId, now });
    expect(await balances(programId)).toEqual({ available: 925_000n, pending: 25_000n, spent: 50_000n });
    await failOrder(db, second.id);
    expect(await balances(programId)).toEqual({ available: 950_000n, pending: 0n, spent: 50_000n });
    expect(await remaining(voucherId)).toBe(250_000n);
    expect(await committed(programId, smeA)).toBe(50_000n);

    await refundOrder(db, first.id, new Date("2026-12-03T00:00:00Z"));
    expect(await balances(programId)).toEqual({ available: 1_000_000n, pending: 0n, spent: 0n });
    expect(await remaining(voucherId)).toBe(300_000n);
    expect(await committed(programId, smeA)).toBe(0n);

    expect(await entries(programId)).toEqual([
      `RESERVE ${first.id} 50000`,
      `POST ${first.id} 50000`,
      `RESERVE ${second.id} 25000`,
      `VOID ${second.id} 25000`,
      `REFUND ${first.id} 50000`,
    ]);
    expect(await claims(programId)).toEqual([`2026-11 ${first.id} 50000`, `2026-12 ${first.id} -50000`]);
    expect(await brokenInvariants(server)).toEqual([]);
  });

  it("every entry point is idempotent per order: a repeat writes nothing and returns false", async () => {
    const programId = await createProgram(server, finance, { budget: "10000", rateBasisPoints: 5000 }, NOW);
    const voucherId = await grantVoucher(server, finance, smeA, programId, "3000", NOW);
    const order = await checkoutOrder(db, { reservation: await reserve(smeA, 2, 10), voucherId, now });
    expect(await inTx((tx) => reserveSubsidy(tx, order))).toBe(false);
    const paid = await payOrder(db, order.id, now);
    expect(await inTx((tx) => postSubsidy(tx, paid, now))).toBe(false);
    expect(await inTx((tx) => reserveSubsidy(tx, paid))).toBe(false);
    const refunded = await refundOrder(db, order.id, now);
    expect(await inTx((tx) => refundSubsidy(tx, refunded, now))).toBe(false);
    expect(await inTx((tx) => refundSubsidy(tx, refunded, new Date("2027-02-01T00:00:00Z")))).toBe(false);

    const other = await checkoutOrder(db, { reservation: await reserve(smeA, 1, 1), voucherId, now });
    const failed = await failOrder(db, other.id);
    expect(await inTx((tx) => voidSubsidy(tx, failed))).toBe(false);

    expect(await entries(programId)).toEqual([
      `RESERVE ${order.id} 50000`,
      `POST ${order.id} 50000`,
      `REFUND ${order.id} 50000`,
      `RESERVE ${other.id} 2500`,
      `VOID ${other.id} 2500`,
    ]);
    expect(await claims(programId)).toEqual([`2026-11 ${order.id} 50000`, `2026-11 ${order.id} -50000`]);
    expect(await balances(programId)).toEqual({ available: 1_000_000n, pending: 0n, spent: 0n });
    expect(await brokenInvariants(server)).toEqual([]);
  });

  it("a move the order's entries do not allow is a CONFLICT and changes nothing", async () => {
    const programId = await createProgram(server, finance, { budget: "10000", rateBasisPoints: 5000 }, NOW);
    const voucherId = await grantVoucher(server, finance, smeA, programId, "3000", NOW);
    const pending = await checkoutOrder(db, { reservation: await reserve(smeA, 2, 10), voucherId, now });
    const conflict = { name: "Conflict" };
    // Refund before payment.
    await expect(inTx((tx) => refundSubsidy(tx, pending, now))).rejects.toMatchObject(conflict);

    const paid = await payOrder(db, pending.id, now);
    await expect(inTx((tx) => voidSubsidy(tx, paid))).rejects.toMatchObject(conflict);

    const other = await checkoutOrder(db, { reservation: await reserve(smeA, 1, 10), voucherId, now });
    const failed = await failOrder(db, other.id);
    await expect(inTx((tx) => postSubsidy(tx, failed, now))).rejects.toMatchObject(conflict);
    await expect(inTx((tx) => refundSubsidy(tx, failed, now))).rejects.toMatchObject(conflict);

    // An order whose subsidy was never reserved cannot be posted, voided or refunded.
    const unreserved = { ...paid, id: other.id + 1_000_000 };
    await server.sql(
      `insert into orders (id, reservation_id, sme_id, voucher_id, program_id, offer_id, data_center_id, hub, gpu_model_id, gpu_hours,
      gross, subsidy, sme_share, subsidy_year, status, idempotency_key, request_fingerprint, payment_provider)
      select $1, reservation_id, sme_id, voucher_id, program_id, offer_id, data_center_id, hub, gpu_model_id, gpu_hours,
      gross, subsidy, sme_share, subsidy_year, 'FAILED', 'unreserved', 'x', 'test' from orders where id = $2`,
      [unreserved.id, paid.id],
    );
    await expect(inTx((tx) => postSubsidy(tx, unreserved, now))).rejects.toMatchObject(conflict);
    await expect(inTx((tx) => voidSubsidy(tx, unreserved))).rejects.toMatchObject(conflict);

    // A repeat with a different amount than the entry is refused rather than silently ignored.
    await expect(inTx((tx) => reserveSubsidy(tx, { ...paid, subsidy: paid.subsidy + 1n }))).rejects.toMatchObject(
      conflict,
    );

    expect(await entries(programId)).toEqual([
      `RESERVE ${paid.id} 50000`,
      `POST ${paid.id} 50000`,
      `RESERVE ${other.id} 25000`,
      `VOID ${other.id} 25000`,
    ]);
    expect(await balances(programId)).toEqual({ available: 950_000n, pending: 0n, spent: 50_000n });
    expect(await brokenInvariants(server)).toEqual([]);
  });

  it("an order without a voucher, or with a subsidy of 0, writes no entry", async () => {
    const programId = await createProgram(server, finance, { budget: "10000", rateBasisPoints: 0 }, NOW);
    const voucherId = await grantVoucher(server, finance, smeA, programId, "3000", NOW);
    const zero = await checkoutOrder(db, { reservation: await reserve(smeA, 2, 10), voucherId, now });
    expect(zero.subsidy).toBe(0n);
    expect(zero.programId).toBe(keyOf(programId));
    await payOrder(db, zero.id, now);
    await refundOrder(db, zero.id, now);
    const none = await checkoutOrder(db, { reservation: await reserve(smeA, 2, 10), voucherId: null, now });
    expect(none).toMatchObject({ subsidy: 0n, smeShare: none.gross, voucherId: null, programId: null });
    await payOrder(db, none.id, now);
    expect(await entries(programId)).toEqual([]);
    expect(await claims(programId)).toEqual([]);
    expect(await balances(programId)).toEqual({ available: 1_000_000n, pending: 0n, spent: 0n });
  });

  it("the guards refuse a subsidy above the program's available budget, the voucher's remaining or the annual cap, and roll back", async () => {
    const programId = await createProgram(
      server,
      finance,
      { budget: "1000", rateBasisPoints: 5000, perSmeAnnualCap: "600" },
      NOW,
    );
    const v1 = await grantVoucher(server, finance, smeA, programId, "500", NOW);
    const v2 = await grantVoucher(server, finance, smeA, programId, "500", NOW);
    const vB = await grantVoucher(server, finance, smeB, programId, "600", NOW);
    const [{ n: ordersBefore }] = await server.sql(`select count(*)::int as n from orders`);
    const force = async (sme: Actor, voucherId: string, subsidy: bigint) =>
      forcedOrder(db, {
        reservation: await reserve(sme, 1, 1),
        voucherId: keyOf(voucherId),
        programId: keyOf(programId),
        subsidy,
        year: 2026,
        now,
      });

    await expect(force(smeA, v1, 50_001n)).rejects.toMatchObject({
      name: "Conflict",
      reason: "VOUCHER_BALANCE_EXHAUSTED",
    });
    await force(smeA, v1, 40_000n);
    await expect(force(smeA, v2, 20_001n)).rejects.toMatchObject({
      name: "Conflict",
      reason: "PER_SME_ANNUAL_CAP_REACHED",
    });
    await force(smeA, v2, 20_000n);
    await force(smeB, vB, 30_000n);
    // 100000 - 40000 - 20000 - 30000 = 10000 left.
    await expect(force(smeB, vB, 10_001n)).rejects.toMatchObject({
      name: "Conflict",
      reason: "PROGRAM_BUDGET_EXHAUSTED",
    });
    await force(smeB, vB, 10_000n);
    await expect(force(smeB, vB, 1n)).rejects.toMatchObject({
      name: "Conflict",
      reason: "PROGRAM_BUDGET_EXHAUSTED",
    });

    expect(await balances(programId)).toEqual({ available: 0n, pending: 100_000n, spent: 0n });
    expect([await remaining(v1), await remaining(v2), await remaining(vB)]).toEqual([10_000n, 30_000n, 20_000n]);
    expect(await committed(programId, smeA)).toBe(60_000n);
    const [{ n: ordersAfter }] = await server.sql(`select count(*)::int as n from orders`);
    expect(ordersAfter).toBe(ordersBefore + 4);
    expect(await brokenInvariants(server)).toEqual([]);
  });

  it("a claim lands in the oldest open statement at or after its month", async () => {
    const programId = await createProgram(server, finance, { budget: "10000", rateBasisPoints: 5000 }, NOW);
    const voucherId = await grantVoucher(server, finance, smeA, programId, "3000", NOW);
    const paidIn = async (paidAt: string) => {
      const order = await checkoutOrder(db, { reservation: await reserve(smeA, 1, 1), voucherId, now });
      return payOrder(db, order.id, new Date(paidAt));
    };
    // Months of the billing time zone: 15:00Z on 30 November is 23:00 in Shanghai, still November.
    const a = await paidIn("2026-11-30T15:00:00Z");
    // Settled once December is over; the claims below arrive later.
    const afterDecember = new Date("2027-01-01T00:00:00Z");
    await inTx((tx) => settleStatement(tx, ADMIN_VIEWER, keyOf(programId), "2026-11", afterDecember, 3));
    await inTx((tx) => settleStatement(tx, ADMIN_VIEWER, keyOf(programId), "2026-12", afterDecember, 3));
    const b = await paidIn("2026-11-30T15:30:00Z");
    const c = await paidIn("2027-01-05T00:00:00Z");
    const d = await paidIn("2026-10-01T00:00:00Z");
    await refundOrder(db, a.id, new Date("2026-11-30T15:59:00Z"));
    expect(await claims(programId)).toEqual([
      `2026-11 ${a.id} 2500`,
      `2027-01 ${b.id} 2500`,
      `2027-01 ${c.id} 2500`,
      `2026-10 ${d.id} 2500`,
      `2027-01 ${a.id} -2500`,
    ]);
    expect(await brokenInvariants(server)).toEqual([]);
  });
});

describe("budgetLedger", () => {
  const LEDGER = `query($id: ID!, $first: Int, $after: String) { budgetLedger(programId: $id, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id kind amount { fen amount } order { id } createdAt } } } }`;

  it("lists a program's entries newest first, a page at a time, to its city's finance team and the admin", async () => {
    const programId = await createProgram(server, finance, { budget: "10000", rateBasisPoints: 5000 }, NOW);
    const voucherId = await grantVoucher(server, finance, smeA, programId, "3000", NOW);
    const first = await checkoutOrder(db, { reservation: await reserve(smeA, 2, 10), voucherId, now });
    await payOrder(db, first.id, now);
    const second = await checkoutOrder(db, { reservation: await reserve(smeA, 1, 10), voucherId, now });
    await failOrder(db, second.id);

    const page1 = (await server.ok(LEDGER, { id: programId, first: 3 }, { token: finance.token })).budgetLedger;
    expect(page1.totalCount).toBe(4);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    expect(page1.edges.map((e: any) => [e.node.kind, e.node.order.id, e.node.amount.amount])).toEqual([
      ["VOID", globalId("Order", second.id), "250.00"],
      ["RESERVE", globalId("Order", second.id), "250.00"],
      ["POST", globalId("Order", first.id), "500.00"],
    ]);
    const page2 = (
      await server.ok(LEDGER, { id: programId, first: 3, after: page1.pageInfo.endCursor }, { token: ADMIN })
    ).budgetLedger;
    expect(page2.pageInfo.hasNextPage).toBe(false);
    expect(page2.edges.map((e: any) => [e.node.kind, e.node.order.id, e.node.amount.fen])).toEqual([
      ["RESERVE", globalId("Order", first.id), "50000"],
    ]);

    await server.fails("NOT_FOUND", LEDGER, { id: programId }, { token: otherFinance.token });
    await server.fails("NOT_FOUND", LEDGER, { id: "program_99999999" }, { token: finance.token });
    await server.fails("FORBIDDEN", LEDGER, { id: programId }, { token: smeA.token });
    await server.fails("BAD_USER_INPUT", LEDGER, { id: programId, first: 101 }, { token: finance.token });
    await server.fails("BAD_USER_INPUT", LEDGER, { id: programId, after: "garbage" }, { token: finance.token });

    const { subsidyPrograms } = await server.ok(
      `query($c: String) { subsidyPrograms(city: $c) { id budgetStatus { total { fen } available { fen } pending { fen } spent { fen } } } }`,
      { c: "Shenzhen" },
      { token: smeA.token },
    );
    expect(subsidyPrograms.find((p: { id: string }) => p.id === programId).budgetStatus).toEqual({
      total: { fen: "1000000" },
      available: { fen: "950000" },
      pending: { fen: "0" },
      spent: { fen: "50000" },
    });
  });
});

/** A small deterministic generator, so a failing sequence can be replayed from its seed. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(list: T[]): T => list[Math.floor(next() * list.length)],
  };
}

const MONTHS = ["2026-11", "2026-12", "2027-01", "2027-02", "2027-03"];
/** A month is settled only once it is over: the property's settlements happen after all of them. */
const AFTER_MONTHS = new Date("2027-04-01T00:00:00Z");
const STEPS = Number(process.env.LEDGER_PROPERTY_STEPS ?? 2000);

describe("property: random reserve / post / void / refund sequences keep every invariant", () => {
  it(`${STEPS} random steps, invariants checked after each`, { timeout: 600_000 }, async () => {
    const seed = Number(process.env.LEDGER_PROPERTY_SEED ?? 20261115);
    const rnd = generator(seed);
    const programId = await createProgram(
      server,
      finance,
      {
        budget: "3000",
        rateBasisPoints: 4000,
        perOrderCap: "300",
        perSmeAnnualCap: "1200",
        validUntil: "2028-01-01T00:00:00Z",
      },
      NOW,
    );
    const smes = [smeA, smeB, smeC];
    const vouchers = new Map<Actor, string[]>();
    for (const sme of smes)
      vouchers.set(sme, [
        await grantVoucher(server, finance, sme, programId, "900", NOW),
        await grantVoucher(server, finance, sme, programId, "400", NOW),
      ]);
    const live: OrderRow[] = [];
    const settled = new Map<string, bigint>();
    const outcomes: Record<string, number> = {};
    const count = (name: string) => void (outcomes[name] = (outcomes[name] ?? 0) + 1);
    const timeIn = (month: string) =>
      new Date(`${month}-${String(1 + rnd.int(28)).padStart(2, "0")}T${String(rnd.int(24)).padStart(2, "0")}:00:00Z`);
    const withStatus = (status: OrderRow["status"]) => live.filter((o) => o.status === status);
    const replace = (order: OrderRow) =>
      live.splice(
        live.findIndex((o) => o.id === order.id),
        1,
        order,
      );

    for (let step = 0; step < STEPS; step++) {
      const roll = rnd.next();
      const sme = rnd.pick(smes);
      let action = "";
      try {
        if (roll < 0.33) {
          action = "checkout";
          const voucherId = rnd.int(10) === 0 ? null : rnd.pick(vouchers.get(sme)!);
          const reservation = await reserve(sme, 1 + rnd.int(8), 1 + rnd.int(24), cheapOfferId);
          live.push(await checkoutOrder(db, { reservation, voucherId, now: timeIn(rnd.pick(MONTHS)) }));
        } else if (roll < 0.38) {
          action = "checkout with another SME's voucher";
          const other = rnd.pick(smes.filter((s) => s !== sme));
          const reservation = await reserve(sme, 1, 1, cheapOfferId);
          await expect(
            checkoutOrder(db, { reservation, voucherId: rnd.pick(vouchers.get(other)!), now }),
          ).rejects.toMatchObject({
            name: "NotEligible",
            reason: "VOUCHER_NOT_OWNED",
          });
        } else if (roll < 0.48) {
          action = "forced reserve";
          const reservation = await reserve(sme, 1, 1, cheapOfferId);
          const at = timeIn(rnd.pick(MONTHS));
          const subsidy = BigInt(1 + rnd.int(rnd.int(2) ? 40_000 : 130_000));
          try {
            live.push(
              await forcedOrder(db, {
                reservation,
                voucherId: keyOf(rnd.pick(vouchers.get(sme)!)),
                programId: keyOf(programId),
                subsidy,
                year: at.getUTCFullYear(),
                now: at,
              }),
            );
          } catch (error) {
            expect(error).toMatchObject({ name: "Conflict" });
            action += " refused";
          }
        } else if (roll < 0.66) {
          action = "pay";
          const order = rnd.pick(withStatus("PENDING_PAYMENT"));
          if (order) replace(await payOrder(db, order.id, timeIn(rnd.pick(MONTHS))));
        } else if (roll < 0.78) {
          action = "fail";
          const order = rnd.pick(withStatus("PENDING_PAYMENT"));
          if (order) replace(await failOrder(db, order.id));
        } else if (roll < 0.88) {
          action = "refund";
          const order = rnd.pick(withStatus("PAID"));
          if (order) replace(await refundOrder(db, order.id, timeIn(rnd.pick(MONTHS))));
        } else if (roll < 0.98) {
          action = "replay";
          const order = live.length ? rnd.pick(live) : undefined;
          if (order) {
            // Only repeats and moves the order's status rules out: their outcome is certain.
            const certain: Record<OrderRow["status"], ("RESERVE" | "POST" | "VOID" | "REFUND")[]> = {
              PENDING_PAYMENT: ["RESERVE", "REFUND"],
              PAID: ["RESERVE", "POST", "VOID"],
              FAILED: ["RESERVE", "POST", "VOID", "REFUND"],
              REFUNDED: ["RESERVE", "POST", "VOID", "REFUND"],
              CANCELLED: ["RESERVE", "POST", "VOID", "REFUND"],
            };
            const kind = rnd.pick(certain[order.status]);
            const run = (tx: Db) =>
              kind === "RESERVE"
                ? reserveSubsidy(tx, order)
                : kind === "POST"
                  ? postSubsidy(tx, order, now)
                  : kind === "VOID"
                    ? voidSubsidy(tx, order)
                    : refundSubsidy(tx, order, now);
            const done: string[] = {
              PENDING_PAYMENT: ["RESERVE"],
              PAID: ["RESERVE", "POST"],
              FAILED: ["RESERVE", "VOID"],
              REFUNDED: ["RESERVE", "POST", "REFUND"],
              CANCELLED: [] as string[],
            }[order.status];
            action += ` ${kind} on ${order.status}`;
            if (order.subsidy === 0n || order.voucherId == null) expect(await inTx(run)).toBe(false);
            else if (done.includes(kind)) expect(await inTx(run)).toBe(false);
            else await expect(inTx(run)).rejects.toMatchObject({ name: "Conflict" });
          }
        } else {
          action = "settle";
          const month = rnd.pick(MONTHS);
          try {
            await inTx((tx) => settleStatement(tx, ADMIN_VIEWER, keyOf(programId), month, AFTER_MONTHS, 3));
            const [{ total }] = await server.sql(
              `select coalesce(sum(c.amount), 0)::text as total from city_statements s left join claim_lines c on c.statement_id = s.id where s.program_id = $1 and s.month = $2`,
              [keyOf(programId), month],
            );
            settled.set(month, BigInt(total));
          } catch (error) {
            expect(error).toMatchObject({ name: "Conflict" });
            expect(settled.has(month)).toBe(true);
          }
        }
        count(action.split(" on ")[0]);
      } catch (error) {
        throw new Error(`step ${step} (${action}, seed ${seed}): ${String(error)}`);
      }
      const problems = await brokenInvariants(server);
      if (problems.length) throw new Error(`step ${step} (${action}, seed ${seed}) broke: ${problems.join("; ")}`);
    }

    // A settled statement never changes afterwards.
    for (const [month, total] of settled) {
      const [{ now: current }] = await server.sql(
        `select coalesce(sum(c.amount), 0)::text as now from city_statements s left join claim_lines c on c.statement_id = s.id where s.program_id = $1 and s.month = $2`,
        [keyOf(programId), month],
      );
      expect(BigInt(current)).toBe(total);
    }
    // The sequence really exercised every move (and the limits).
    for (const name of [
      "checkout",
      "forced reserve",
      "forced reserve refused",
      "pay",
      "fail",
      "refund",
      "replay RESERVE",
      "replay POST",
      "replay VOID",
      "replay REFUND",
    ]) {
      expect(
        Object.keys(outcomes).some((k) => k.startsWith(name)),
        name,
      ).toBe(true);
    }
    const [kinds] = await server.sql(
      `select count(*) filter (where kind = 'RESERVE')::int as reserve, count(*) filter (where kind = 'POST')::int as post,
              count(*) filter (where kind = 'VOID')::int as void, count(*) filter (where kind = 'REFUND')::int as refund
       from ledger_entries where program_id = $1`,
      [keyOf(programId)],
    );
    expect(Math.min(kinds.reserve, kinds.post, kinds.void, kinds.refund)).toBeGreaterThan(10);
    const exhausted = await server.sql(`select count(*)::int as n from orders where program_id = $1 and subsidy = 0`, [
      keyOf(programId),
    ]);
    expect(exhausted[0].n).toBeGreaterThan(0);
  });
});

describe.runIf(!!process.env.DATABASE_URL)("concurrency on PostgreSQL", () => {
  const settle = <T>(promises: Promise<T>[]) => Promise.allSettled(promises);
  /** Every loser lost to a guard (CONFLICT), never to a deadlock or a broken constraint; returns the winners. */
  const winners = <T>(results: PromiseSettledResult<T>[]) => {
    for (const r of results)
      if (r.status === "rejected") expect(r.reason).toMatchObject({ name: "Conflict", reason: expect.any(String) });
    return results.filter((r) => r.status === "fulfilled");
  };

  it("many concurrent checkouts on a small program never overspend it", async () => {
    const programId = await createProgram(server, finance, { budget: "1000", rateBasisPoints: 5000 }, NOW);
    const smes = [smeA, smeB, smeC];
    const voucherIds = await Promise.all(smes.map((sme) => grantVoucher(server, finance, sme, programId, "1000", NOW)));
    const reservations = await Promise.all(Array.from({ length: 30 }, (_, i) => reserve(smes[i % 3], 2, 4)));
    // Each would get 2 x 4 x 50.00 x 50 % = 200.00; the budget holds 1000.00.
    const results = await settle(
      reservations.map((reservation, i) => checkoutOrder(db, { reservation, voucherId: voucherIds[i % 3], now })),
    );
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    const subsidies = results.map((r) => (r as PromiseFulfilledResult<OrderRow>).value.subsidy);
    expect(subsidies.reduce((a, b) => a + b, 0n)).toBe(100_000n);
    expect(subsidies.filter((s) => s > 0n)).toHaveLength(5);
    expect(await balances(programId)).toEqual({ available: 0n, pending: 100_000n, spent: 0n });
    expect(await brokenInvariants(server)).toEqual([]);
  });

  it("concurrent reserves of fixed subsidies: exactly as many win as the budget, the voucher or the annual cap allows", async () => {
    const programId = await createProgram(
      server,
      finance,
      { budget: "1000", rateBasisPoints: 5000, perSmeAnnualCap: "300" },
      NOW,
    );
    const force = (sme: Actor, voucherId: string, subsidy: bigint, reservation: ReservationRow) =>
      forcedOrder(db, {
        reservation,
        voucherId: keyOf(voucherId),
        programId: keyOf(programId),
        subsidy,
        year: 2026,
        now,
      });
    const reservationsOf = (sme: Actor, n: number) => Promise.all(Array.from({ length: n }, () => reserve(sme, 1, 1)));

    // One voucher of 100.00: 3 of 12 reserves of 30.00 fit.
    const small = await grantVoucher(server, finance, smeA, programId, "100", NOW);
    const onVoucher = await settle((await reservationsOf(smeA, 12)).map((r) => force(smeA, small, 3000n, r)));
    expect(winners(onVoucher)).toHaveLength(3);
    expect(await remaining(small)).toBe(1000n);

    // One SME, four vouchers, an annual cap of 300.00 (90.00 already used): 7 of 20 reserves of 30.00 fit.
    const many = await Promise.all(
      Array.from({ length: 4 }, () => grantVoucher(server, finance, smeA, programId, "300", NOW)),
    );
    const reservationsA = await reservationsOf(smeA, 20);
    const onCap = await settle(reservationsA.map((r, i) => force(smeA, many[i % 4], 3000n, r)));
    expect(winners(onCap)).toHaveLength(7);
    expect(await committed(programId, smeA)).toBe(30_000n);

    // Two SMEs, 700.00 left in the program, vouchers and caps of 300.00 each: 4 of 15 reserves of 70.00 fit per SME.
    const vB = await grantVoucher(server, finance, smeB, programId, "300", NOW);
    const vC = await grantVoucher(server, finance, smeC, programId, "300", NOW);
    const [reservationsB, reservationsC] = [await reservationsOf(smeB, 15), await reservationsOf(smeC, 15)];
    const onBudget = await settle([
      ...reservationsB.map((r) => force(smeB, vB, 7000n, r)),
      ...reservationsC.map((r) => force(smeC, vC, 7000n, r)),
    ]);
    expect(winners(onBudget)).toHaveLength(8);
    expect(await balances(programId)).toEqual({
      available: 100_000n - 3_000n * 10n - 7_000n * 8n,
      pending: 3_000n * 10n + 7_000n * 8n,
      spent: 0n,
    });

    // A program of 100.00, no annual cap, three SMEs racing with 7.00 each: 14 of 30 fit.
    const tiny = await createProgram(server, finance, { budget: "100", rateBasisPoints: 5000 }, NOW);
    const tinyVouchers = await Promise.all(
      [smeA, smeB, smeC].map((sme) => grantVoucher(server, finance, sme, tiny, "100", NOW)),
    );
    const tinyRacers = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const sme = [smeA, smeB, smeC][i % 3];
        return { sme, reservation: await reserve(sme, 1, 1) };
      }),
    );
    const onTiny = await settle(
      tinyRacers.map(({ reservation }, i) =>
        forcedOrder(db, {
          reservation,
          voucherId: keyOf(tinyVouchers[i % 3]),
          programId: keyOf(tiny),
          subsidy: 700n,
          year: 2026,
          now,
        }),
      ),
    );
    expect(winners(onTiny)).toHaveLength(14);
    expect(await balances(tiny)).toEqual({ available: 200n, pending: 9_800n, spent: 0n });
    expect(await brokenInvariants(server)).toEqual([]);
  });

  it("post and void of one order racing: exactly one wins; a repeated reserve racing itself writes once", async () => {
    const programId = await createProgram(server, finance, { budget: "1000", rateBasisPoints: 5000 }, NOW);
    const voucherId = await grantVoucher(server, finance, smeA, programId, "1000", NOW);
    for (let round = 0; round < 10; round++) {
      const order = await checkoutOrder(db, { reservation: await reserve(smeA, 1, 1), voucherId, now });
      const [post, voided] = await settle([
        inTx((tx) => postSubsidy(tx, order, now)),
        inTx((tx) => voidSubsidy(tx, order)),
      ]);
      expect([post.status, voided.status].sort()).toEqual(["fulfilled", "rejected"]);
      const winner = post.status === "fulfilled" ? "PAID" : "FAILED";
      await server.sql(`update orders set status = $2, paid_at = $3 where id = $1`, [
        order.id,
        winner,
        winner === "PAID" ? NOW : null,
      ]);

      const again = await reload(order);
      const repeats = await settle(Array.from({ length: 5 }, () => inTx((tx) => reserveSubsidy(tx, again))));
      expect(repeats.every((r) => r.status === "fulfilled" && r.value === false)).toBe(true);
    }
    expect(await brokenInvariants(server)).toEqual([]);
  });

  it("settling a month while claims land: no claim ever lands in a settled statement", async () => {
    const programId = await createProgram(server, finance, { budget: "10000", rateBasisPoints: 5000 }, NOW);
    const voucherId = await grantVoucher(server, finance, smeA, programId, "10000", NOW);
    const pending = await Promise.all(
      Array.from({ length: 20 }, async () =>
        checkoutOrder(db, { reservation: await reserve(smeA, 1, 1), voucherId, now }),
      ),
    );
    const paying = pending.map((o) => payOrder(db, o.id, new Date("2026-11-20T00:00:00Z")));
    // On 5 December the rentals (1 December, 00:00 to 01:00) and their 3-day grace periods are over:
    // their claims count as delivered, so only the claims landing meanwhile are at stake.
    const settling = inTx((tx) =>
      settleStatement(tx, ADMIN_VIEWER, keyOf(programId), "2026-11", new Date("2026-12-05T00:00:00Z"), 3),
    );
    const [settledStatement] = await Promise.all([settling, Promise.all(paying)]);
    const [{ total }] = await server.sql(
      `select coalesce(sum(c.amount), 0)::text as total from claim_lines c join city_statements s on s.id = c.statement_id where s.program_id = $1 and s.month = '2026-11'`,
      [keyOf(programId)],
    );
    expect(BigInt(total)).toBe(settledStatement.total);
    const [{ n }] = await server.sql(`select count(*)::int as n from claim_lines where program_id = $1`, [
      keyOf(programId),
    ]);
    expect(n).toBe(20);
    expect(await brokenInvariants(server)).toEqual([]);
  });
});
