// Checkout end to end on the simulated provider (the default without Stripe keys).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "./support/harness.js";
import { ADMIN, budget, CHECKOUT, market, NOW, ORDER_FIELDS, reserve, type Market } from "./support/market.js";
import { assertLedgerInvariants } from "./support/ledger-invariants.js";
import { keyOf } from "./support/ids.js";

let server: TestServer;
let m: Market;

beforeAll(async () => {
  server = await startServer();
  m = await market(server);
});
afterAll(() => server?.close());

describe("checkout with a voucher (simulated payments)", () => {
  it("pays at once: subsidy from the city, the rest from the SME, to the fen", async () => {
    const reservationId = await reserve(server, m.sme, 2, 10); // 2 GPUs x 10 h x 20.00 = 400.00
    const { quote } = await server.ok(
      `query($r: ID!, $v: ID) { quote(reservationId: $r, voucherId: $v) { gross { fen } subsidy { fen } smeShare { fen } } }`,
      { r: reservationId, v: m.voucherId },
      { token: m.sme.token, now: NOW },
    );
    expect(quote).toEqual({ gross: { fen: "40000" }, subsidy: { fen: "12000" }, smeShare: { fen: "28000" } });

    const { checkout } = await server.ok(
      CHECKOUT,
      { input: { reservationId, voucherId: m.voucherId, idempotencyKey: "order-1" } },
      { token: m.sme.token, now: NOW },
    );
    expect(checkout).toMatchObject({
      status: "PAID",
      gross: { amount: "400.00", fen: "40000" },
      subsidy: { amount: "120.00", fen: "12000" },
      smeShare: { amount: "280.00", fen: "28000" },
      payment: { provider: "simulated", status: "succeeded", clientSecret: null },
      reservation: { id: reservationId, status: "CONFIRMED" },
      voucher: { id: m.voucherId, remaining: { amount: "9880.00" } },
    });
    expect(await budget(server, m.finance, m.programId)).toEqual({
      total: "100000000",
      available: "99988000",
      pending: "0",
      spent: "12000",
    });
    await assertLedgerInvariants(server);
  });

  it("the same key and input return the same order; other input is CONFLICT", async () => {
    const reservationId = await reserve(server, m.sme, 1, 5);
    const input = { reservationId, voucherId: m.voucherId, idempotencyKey: "order-2" };
    const first = await server.ok(CHECKOUT, { input }, { token: m.sme.token, now: NOW });
    const again = await server.ok(CHECKOUT, { input }, { token: m.sme.token, now: NOW });
    expect(again.checkout.id).toBe(first.checkout.id);
    await server.fails(
      "CONFLICT",
      CHECKOUT,
      { input: { ...input, voucherId: null } },
      { token: m.sme.token, now: NOW },
    );
    const [{ n }] = await server.sql(`select count(*)::int as n from orders where idempotency_key = 'order-2'`);
    expect(n).toBe(1);
    // A second checkout of a reservation that has an order is CONFLICT.
    await server.fails(
      "CONFLICT",
      CHECKOUT,
      { input: { ...input, idempotencyKey: "order-2b" } },
      { token: m.sme.token, now: NOW },
    );
  });

  it("without a voucher the SME pays the gross", async () => {
    const reservationId = await reserve(server, m.sme, 1, 3);
    const { checkout } = await server.ok(
      CHECKOUT,
      { input: { reservationId, idempotencyKey: "no-voucher" } },
      { token: m.sme.token, now: NOW },
    );
    expect(checkout).toMatchObject({
      status: "PAID",
      gross: { fen: "6000" },
      subsidy: { fen: "0" },
      smeShare: { fen: "6000" },
      voucher: null,
    });
  });

  it("refuses others' reservations, others' vouchers, lapsed holds and bad keys, changing nothing", async () => {
    const reservationId = await reserve(server, m.sme, 1, 2);
    const [{ n: before }] = await server.sql(`select count(*)::int as n from orders`);
    const budgetBefore = await budget(server, m.finance, m.programId);
    await server.fails(
      "NOT_FOUND",
      CHECKOUT,
      { input: { reservationId, idempotencyKey: "k1" } },
      { token: m.otherSme.token, now: NOW },
    );
    await server.fails(
      "FORBIDDEN",
      CHECKOUT,
      { input: { reservationId, idempotencyKey: "k1" } },
      { token: m.operator.token, now: NOW },
    );
    const othersReservation = await reserve(server, m.otherSme, 1, 2);
    const notYours = await server.fails(
      "NOT_ELIGIBLE",
      CHECKOUT,
      { input: { reservationId: othersReservation, voucherId: m.voucherId, idempotencyKey: "k2" } },
      { token: m.otherSme.token, now: NOW },
    );
    expect(notYours.extensions?.reason).toBeDefined();
    await server.fails(
      "BAD_USER_INPUT",
      CHECKOUT,
      { input: { reservationId, idempotencyKey: "" } },
      { token: m.sme.token, now: NOW },
    );
    await server.fails(
      "BAD_USER_INPUT",
      CHECKOUT,
      { input: { reservationId, idempotencyKey: "x".repeat(201) } },
      { token: m.sme.token, now: NOW },
    );
    const later = new Date(Date.parse(NOW) + 16 * 60_000).toISOString();
    const lapsed = await server.fails(
      "CONFLICT",
      CHECKOUT,
      { input: { reservationId, voucherId: m.voucherId, idempotencyKey: "k3" } },
      { token: m.sme.token, now: later },
    );
    expect(lapsed.message).toMatch(/lapsed/);
    const [{ n: after }] = await server.sql(`select count(*)::int as n from orders`);
    expect(after).toBe(before);
    expect(await budget(server, m.finance, m.programId)).toEqual(budgetBefore);
  });

  it("an affiliated SME's voucher is not eligible, with the reason", async () => {
    await server.ok(
      `mutation($a: ID!, $b: ID!) { declareAffiliation(organizationId: $a, affiliatedId: $b) }`,
      { a: m.sme.id, b: m.operator.id },
      { token: ADMIN },
    );
    const reservationId = await reserve(server, m.sme, 1, 2);
    const error = await server.fails(
      "NOT_ELIGIBLE",
      CHECKOUT,
      { input: { reservationId, voucherId: m.voucherId, idempotencyKey: "affiliated" } },
      { token: m.sme.token, now: NOW },
    );
    expect(error.extensions?.reason).toBeDefined();
    await server.sql(`delete from affiliations`);
  });

  it("cancelling a paid order before the start refunds it, returns the subsidy and frees the capacity", async () => {
    const reservationId = await reserve(server, m.sme, 2, 10);
    const { checkout } = await server.ok(
      CHECKOUT,
      { input: { reservationId, voucherId: m.voucherId, idempotencyKey: "to-cancel" } },
      { token: m.sme.token, now: NOW },
    );
    const before = await budget(server, m.finance, m.programId);
    const { cancelOrder } = await server.ok(
      `mutation($id: ID!) { cancelOrder(id: $id) { ${ORDER_FIELDS} } }`,
      { id: checkout.id },
      { token: m.sme.token, now: NOW },
    );
    expect(cancelOrder).toMatchObject({
      status: "REFUNDED",
      reservation: { status: "CANCELLED" },
      payment: { status: "refunded" },
    });
    const after = await budget(server, m.finance, m.programId);
    expect(BigInt(after.available) - BigInt(before.available)).toBe(BigInt(checkout.subsidy.fen));
    expect(BigInt(before.spent) - BigInt(after.spent)).toBe(BigInt(checkout.subsidy.fen));
    await server.fails(
      "CONFLICT",
      `mutation($id: ID!) { cancelOrder(id: $id) { id } }`,
      { id: checkout.id },
      { token: m.sme.token, now: NOW },
    );
    const { ledger } = await server.ok(
      `query($p: ID!) { ledger: budgetLedger(programId: $p, first: 100) { edges { node { kind amount { fen } order { id } } } } }`,
      { p: m.programId },
      { token: m.finance.token, now: NOW },
    );
    const kinds = ledger.edges
      .filter((e: any) => e.node.order.id === checkout.id)
      .map((e: any) => e.node.kind)
      .sort();
    expect(kinds).toEqual(["POST", "REFUND", "RESERVE"]);
    await assertLedgerInvariants(server);
  });

  it("an order cannot be cancelled once the rental started, nor by someone else", async () => {
    const reservationId = await reserve(server, m.sme, 1, 1);
    const { checkout } = await server.ok(
      CHECKOUT,
      { input: { reservationId, idempotencyKey: "started" } },
      { token: m.sme.token, now: NOW },
    );
    await server.fails(
      "NOT_FOUND",
      `mutation($id: ID!) { cancelOrder(id: $id) { id } }`,
      { id: checkout.id },
      { token: m.otherSme.token, now: NOW },
    );
    await server.fails(
      "CONFLICT",
      `mutation($id: ID!) { cancelOrder(id: $id) { id } }`,
      { id: checkout.id },
      { token: m.sme.token, now: "2027-03-20T00:00:00Z" },
    );
  });

  it("lists the SME's orders, and hides them from others", async () => {
    const { myOrders } = await server.ok(
      `{ myOrders(first: 2) { totalCount edges { node { id status } } pageInfo { hasNextPage endCursor } } }`,
      {},
      { token: m.sme.token },
    );
    expect(myOrders.totalCount).toBeGreaterThanOrEqual(5);
    expect(myOrders.edges).toHaveLength(2);
    expect(myOrders.pageInfo.hasNextPage).toBe(true);
    const id = myOrders.edges[0].node.id;
    expect(
      (await server.ok(`query($id: ID!) { order(id: $id) { id } }`, { id }, { token: m.sme.token })).order.id,
    ).toBe(id);
    expect(await server.ok(`query($id: ID!) { order(id: $id) { id } }`, { id }, { token: m.otherSme.token })).toEqual({
      order: null,
    });
    const { myOrders: none } = await server.ok(`{ myOrders { totalCount } }`, {}, { token: m.otherSme.token });
    expect(none.totalCount).toBe(0);
  });

  it("the paid subsidy lands on the city's statement and spend report", async () => {
    const { cityStatement } = await server.ok(
      `query($p: ID!) { cityStatement(programId: $p, month: "2027-03") { month total { fen } lines { dataCenter { id } orders subsidy { fen } } status } }`,
      { p: m.programId },
      { token: m.finance.token, now: NOW },
    );
    const [{ spent }] = await server.sql(`select spent::text as spent from subsidy_programs where id = $1`, [
      keyOf(m.programId),
    ]);
    expect(cityStatement.total.fen).toBe(spent);
    expect(cityStatement.lines).toHaveLength(1);
    expect(cityStatement.lines[0].dataCenter.id).toBe(m.dataCenterId);
  });
});
