// The status machines of orders, reservations and bids: every pair of statuses is walked, allowed
// or forbidden, against the moves written out below (docs/domain.md shows the same tables, and
// this test reads them there too). Then the services, on a real server: a move the machine forbids
// and a user can ask for is refused, and a late payment outcome never moves an order back.
import { readFileSync } from "node:fs";
import type { Column } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import { bids, reservations } from "../src/db/schema.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bidStates } from "../src/bids/bid-states.js";
import { reservationStates } from "../src/bids/reservation-states.js";
import { confirmReservation } from "../src/bids/reservations.service.js";
import { settleOrder } from "../src/checkout/checkout.service.js";
import { orderStates } from "../src/checkout/order-states.js";
import { deliveryStates } from "../src/delivery/delivery-states.js";
import { markPaid, markUnpaid } from "../src/checkout/settlement.js";
import { Conflict } from "../src/errors.js";
import { PaymentProviderError, type PaymentProvider } from "../src/payments/provider.js";
import { canMove, fromStates, moveOn, statusIn, type StateMachine } from "../src/states.js";
import { startServer, type TestServer } from "./support/harness.js";
import { keyOf } from "./support/ids.js";
import { CHECKOUT, market, NOW, reserve, type Market } from "./support/market.js";

type AnyMachine = StateMachine<string, string>;

/** Each machine's statuses and its allowed moves ("FROM -> TO"); every other pair is forbidden. */
const EXPECTED: Record<string, { machine: AnyMachine; states: string[]; allowed: string[]; final: string[] }> = {
  order: {
    machine: orderStates,
    states: ["PENDING_PAYMENT", "PAID", "FAILED", "CANCELLED", "REFUNDED"],
    allowed: [
      "PENDING_PAYMENT -> PAID",
      "PENDING_PAYMENT -> FAILED",
      "PENDING_PAYMENT -> CANCELLED",
      "PAID -> REFUNDED",
    ],
    final: ["FAILED", "CANCELLED", "REFUNDED"],
  },
  reservation: {
    machine: reservationStates,
    states: ["HELD", "CONFIRMED", "EXPIRED", "CANCELLED"],
    allowed: ["HELD -> CONFIRMED", "HELD -> EXPIRED", "HELD -> CANCELLED", "CONFIRMED -> CANCELLED"],
    final: ["EXPIRED", "CANCELLED"],
  },
  delivery: {
    machine: deliveryStates,
    states: ["REPORTED", "DISPUTED", "FINAL"],
    allowed: ["REPORTED -> DISPUTED", "REPORTED -> FINAL", "DISPUTED -> FINAL"],
    final: ["FINAL"],
  },
  bid: {
    machine: bidStates,
    states: ["OPEN", "MATCHED", "CANCELLED", "EXPIRED"],
    allowed: ["OPEN -> MATCHED", "OPEN -> CANCELLED", "OPEN -> EXPIRED", "MATCHED -> CANCELLED", "MATCHED -> EXPIRED"],
    final: ["CANCELLED", "EXPIRED"],
  },
};

describe("every pair of statuses, allowed or forbidden", () => {
  for (const [name, { machine, states, allowed, final }] of Object.entries(EXPECTED)) {
    it(`${name}: ${states.length * states.length} pairs`, () => {
      expect(machine.states).toEqual(states);
      let walked = 0;
      for (const from of states) {
        for (const to of states) {
          expect(canMove(machine, from, to), `${name} ${from} -> ${to}`).toBe(allowed.includes(`${from} -> ${to}`));
          walked++;
        }
      }
      expect(walked).toBe(states.length ** 2);
      // Unknown statuses move nowhere.
      expect(canMove(machine, "NOT_A_STATUS", states[0])).toBe(false);
      expect(states.filter((s) => fromStates(machine, {}).includes(s) === false)).toEqual(final);
    });

    it(`${name}: every status is reached from one a row is created in, and each event leads one way`, () => {
      const reached = new Set(machine.initial);
      for (let grew = true; grew;) {
        grew = false;
        for (const move of machine.moves) {
          if (reached.has(move.from) && !reached.has(move.to)) {
            reached.add(move.to);
            grew = true;
          }
        }
      }
      expect([...reached].sort()).toEqual([...states].sort());
      for (const move of machine.moves) {
        const targets = machine.moves.filter((m) => m.from === move.from && m.on === move.on).map((m) => m.to);
        expect(targets, `${name} ${move.from} on ${move.on}`).toEqual([move.to]);
        expect(moveOn(machine, move.from, move.on)).toBe(move.to);
      }
    });
  }

  it("the events a user triggers lead where the services say", () => {
    const on = (machine: AnyMachine, event: string) =>
      Object.fromEntries(machine.states.map((s) => [s, moveOn(machine, s, event)]));
    expect(on(orderStates, "cancelOrder")).toEqual({
      PENDING_PAYMENT: "CANCELLED",
      PAID: "REFUNDED",
      FAILED: null,
      CANCELLED: null,
      REFUNDED: null,
    });
    expect(on(bidStates, "cancelBid")).toEqual({ OPEN: "CANCELLED", MATCHED: null, CANCELLED: null, EXPIRED: null });
    expect(on(reservationStates, "cancelBid")).toEqual({
      HELD: "CANCELLED",
      CONFIRMED: null,
      EXPIRED: null,
      CANCELLED: null,
    });
  });

  it("the conditional updates guard with the tables' statuses, written as literals", () => {
    const text = (sql: ReturnType<typeof statusIn>) => new PgDialect().sqlToQuery(sql);
    const guard = (column: Column, states: string[]) => text(statusIn(column, states));
    // A re-match takes an OPEN bid; the sweeper expires an OPEN bid.
    expect(guard(bids.status, fromStates(bidStates, { on: "matched" }))).toEqual({
      sql: `"bids"."status" = 'OPEN'`,
      params: [],
    });
    expect(guard(bids.status, fromStates(bidStates, { on: "stale" }))).toEqual({
      sql: `"bids"."status" = 'OPEN'`,
      params: [],
    });
    // A lapsed hold: HELD reservation, MATCHED bid.
    expect(guard(reservations.status, fromStates(reservationStates, { on: "holdLapsed" })).sql).toBe(
      `"reservations"."status" = 'HELD'`,
    );
    expect(guard(bids.status, fromStates(bidStates, { on: "holdLapsed" })).sql).toBe(`"bids"."status" = 'MATCHED'`);
    // Releasing a reservation: HELD or CONFIRMED, and its MATCHED bid.
    expect(guard(reservations.status, fromStates(reservationStates, { to: "CANCELLED" })).sql).toBe(
      `"reservations"."status" in ('HELD', 'CONFIRMED')`,
    );
    expect(guard(bids.status, fromStates(bidStates, { to: "CANCELLED", on: "reservationCancelled" })).sql).toBe(
      `"bids"."status" = 'MATCHED'`,
    );
    expect(fromStates(reservationStates, { to: "CONFIRMED" })).toEqual(["HELD"]);
    expect(() => statusIn(bids.status, [])).toThrow();
    expect(() => statusIn(bids.status, ["OPEN'; drop table bids; --"])).toThrow();
  });

  it("docs/domain.md shows each machine's table as declared", () => {
    const domain = readFileSync(new URL("../docs/domain.md", import.meta.url), "utf8");
    const section = domain.slice(domain.indexOf("## Status machines"));
    for (const [name, { machine }] of Object.entries(EXPECTED)) {
      const plural = name.endsWith("y") ? `${name.slice(0, -1)}ies` : `${name}s`;
      const start = section.indexOf(`### ${plural[0].toUpperCase()}${plural.slice(1)}`);
      expect(start, `a table for ${plural}`).toBeGreaterThan(0);
      const table = section.slice(start).split(/\n(?=###? )/)[0];
      const rows = [...table.matchAll(/^\| `([A-Z_]+)` \| `([A-Z_]+)` \| `(\w+)` \|/gm)].map((r) => r.slice(1, 4));
      expect(rows, name).toEqual(machine.moves.map((m) => [m.from, m.to, m.on]));
    }
  });
});

describe("the services refuse what their machine forbids", () => {
  let server: TestServer;
  let m: Market;
  let keys = 0;

  beforeAll(async () => {
    server = await startServer();
    m = await market(server, { gpuCount: 8 });
  });
  afterAll(() => server?.close());

  const CANCEL_ORDER = `mutation($id: ID!) { cancelOrder(id: $id) { id status } }`;
  const CANCEL_BID = `mutation($id: ID!) { cancelBid(id: $id) { id status } }`;
  const sme = () => ({ token: m.sme.token, now: NOW });

  /** Runs `body` while the payment provider answers as `overrides` say. */
  async function withProvider<T>(overrides: Partial<PaymentProvider>, body: () => Promise<T>): Promise<T> {
    const payments = server.app.services.payments as unknown as Record<string, unknown>;
    const saved = Object.fromEntries(Object.keys(overrides).map((k) => [k, payments[k]]));
    Object.assign(payments, overrides);
    try {
      return await body();
    } finally {
      Object.assign(payments, saved);
    }
  }

  /** A checkout of a new reservation: the reservation, its bid and the answer. */
  async function checkoutNew() {
    const reservationId = await reserve(server, m.sme, 1, 1);
    const result = await server.gql(CHECKOUT, { input: { reservationId, idempotencyKey: `machine-${++keys}` } }, sme());
    const [{ bid_id: bidId }] = await server.sql(`select 'bid_' || bid_id as bid_id from reservations where id = $1`, [
      keyOf(reservationId),
    ]);
    return { reservationId, bidId: bidId as string, result };
  }

  /** An order waiting for its payment, as with Stripe until the client pays. */
  const pending = () =>
    withProvider(
      {
        createPayment: async (input) => ({
          ref: `pending_${input.orderId}`,
          clientSecret: "secret",
          status: "requires_payment_method",
        }),
      },
      checkoutNew,
    );
  const failed = () =>
    withProvider(
      {
        createPayment: async () => {
          throw new PaymentProviderError("refused");
        },
      },
      checkoutNew,
    );
  const cancelUnpaid = (id: string) =>
    withProvider({ cancelPayment: async (ref) => ({ ref, status: "canceled" }) }, () =>
      server.ok(CANCEL_ORDER, { id }, sme()),
    );
  const orderOf = async (reservationId: string) =>
    (await server.sql(`select id, status from orders where reservation_id = $1`, [keyOf(reservationId)]))[0];

  // Elsewhere: cancelOrder of a REFUNDED order (checkout.test.ts, "cancelling a paid order before the
  // start refunds it"), checkout of a lapsed hold and of a reservation that has an order
  // (checkout.test.ts), cancelBid of an EXPIRED bid (bids.test.ts, "a lapsed hold is EXPIRED before
  // any sweep"), of a paid reservation (bids.test.ts, "a paid reservation cannot be cancelled
  // through its bid"), and again of a CANCELLED bid, which answers it unchanged (bids.test.ts).

  it("cancelOrder: FAILED, CANCELLED and REFUNDED orders are CONFLICT and stay as they are", async () => {
    const failedOrder = await failed();
    expect(failedOrder.result.errors?.[0].extensions?.code).toBe("PAYMENT_FAILED");
    const cancelled = await pending();
    expect(cancelled.result.data.checkout.status).toBe("PENDING_PAYMENT");
    expect((await cancelUnpaid(cancelled.result.data.checkout.id)).cancelOrder.status).toBe("CANCELLED");
    const refunded = await checkoutNew();
    expect((await server.ok(CANCEL_ORDER, { id: refunded.result.data.checkout.id }, sme())).cancelOrder.status).toBe(
      "REFUNDED",
    );

    for (const [{ reservationId }, status] of [
      [failedOrder, "FAILED"],
      [cancelled, "CANCELLED"],
      [refunded, "REFUNDED"],
    ] as const) {
      const order = await orderOf(reservationId);
      expect(order.status).toBe(status);
      const refused = await server.fails("CONFLICT", CANCEL_ORDER, { id: `order_${order.id}` }, sme());
      expect(refused.message).toBe(`This order is already ${status.toLowerCase()}`);
      expect((await orderOf(reservationId)).status).toBe(status);
    }
  });

  it("checkout: a CANCELLED reservation, by its bid or by its failed order, is CONFLICT", async () => {
    const byBid = await reserve(server, m.sme, 1, 1);
    const [{ id: bidId }] = await server.sql(`select 'bid_' || bid_id as id from reservations where id = $1`, [
      keyOf(byBid),
    ]);
    expect((await server.ok(CANCEL_BID, { id: bidId }, sme())).cancelBid.status).toBe("CANCELLED");
    const byOrder = (await failed()).reservationId;
    for (const reservationId of [byBid, byOrder]) {
      const refused = await server.fails(
        "CONFLICT",
        CHECKOUT,
        { input: { reservationId, idempotencyKey: `machine-${++keys}` } },
        sme(),
      );
      expect(refused.message).toBe("This reservation is cancelled, not held");
    }
  });

  it("cancelBid: a reservation in checkout is CONFLICT; the bid stays MATCHED, its reservation HELD", async () => {
    const { bidId, reservationId } = await pending();
    const refused = await server.fails("CONFLICT", CANCEL_BID, { id: bidId }, sme());
    expect(refused.message).toBe("This bid's reservation is in checkout: cancel the order instead");
    const [row] = await server.sql(
      `select b.status as bid, r.status as reservation from reservations r join bids b on b.id = r.bid_id where r.id = $1`,
      [keyOf(reservationId)],
    );
    expect(row).toEqual({ bid: "MATCHED", reservation: "HELD" });
  });

  it("a payment outcome after the order moved on leaves it where it is", async () => {
    const app = server.app.services;
    const now = new Date(NOW);
    // Paid after it was cancelled: stays CANCELLED, and the money goes back.
    const cancelled = await pending();
    await cancelUnpaid(cancelled.result.data.checkout.id);
    const { id: cancelledId } = await orderOf(cancelled.reservationId);
    const refunds: string[] = [];
    const late = await withProvider(
      {
        refundPayment: async (ref, _amount, key) => {
          refunds.push(key);
          return { ref, status: "succeeded" };
        },
      },
      () => settleOrder(app, Number(cancelledId), (tx, order) => markPaid(tx, order, now), now),
    );
    expect(late.status).toBe("CANCELLED");
    expect(refunds).toEqual([`order-${cancelledId}-refund`]);
    // Failed after it was paid: stays PAID, its reservation CONFIRMED.
    const paid = await checkoutNew();
    const { id: paidId } = await orderOf(paid.reservationId);
    const after = await settleOrder(app, Number(paidId), (tx, order) => markUnpaid(tx, order, "FAILED", now), now);
    expect(after.status).toBe("PAID");
    const [{ status }] = await server.sql(`select status from reservations where id = $1`, [keyOf(paid.reservationId)]);
    expect(status).toBe("CONFIRMED");
    // A cancelled reservation cannot be confirmed.
    await expect(
      app.db.transaction((tx) => confirmReservation(tx, keyOf(cancelled.reservationId), now)),
    ).rejects.toBeInstanceOf(Conflict);
  });
});
