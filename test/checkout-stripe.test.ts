// Checkout through the real Stripe SDK against a Stripe-like server: intents, webhooks in any order
// and more than once, declines, outages and recovery. Money and capacity must always add up.
import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { FakeStripe, signWebhookPayload } from "./support/fake-stripe.js";
import { budget, CHECKOUT, market, NOW, ORDER_FIELDS, reserve, type Market } from "./support/market.js";
import { assertLedgerInvariants } from "./support/ledger-invariants.js";
import { keyOf } from "./support/ids.js";

const SECRET = "whsec_checkout";
let fake: FakeStripe;
let server: TestServer;
let m: Market;
let keySeq = 0;
/** The real SDK on the same Stripe account, as another integration (or a person) would use it. */
let sdk: Stripe;

beforeAll(async () => {
  fake = await FakeStripe.start({ webhookSecret: SECRET });
  server = await startServer({
    STRIPE_SECRET_KEY: "sk_test_checkout",
    STRIPE_WEBHOOK_SECRET: SECRET,
    STRIPE_API_BASE: fake.url,
  });
  fake.webhookUrl = `${server.url}/webhooks/stripe`;
  m = await market(server, { gpuCount: 8, price: "20.00" });
  const base = new URL(fake.url);
  sdk = new Stripe("sk_test_checkout", {
    host: base.hostname,
    port: Number(base.port),
    protocol: "http",
    telemetry: false,
    maxNetworkRetries: 0,
  });
});
afterAll(async () => {
  await server?.close();
  await fake?.close();
});
beforeEach(() => {
  fake.resetControls();
  fake.webhookUrl = `${server.url}/webhooks/stripe`;
});

async function checkoutNew(gpus = 2, hours = 10) {
  const reservationId = await reserve(server, m.sme, gpus, hours);
  const idempotencyKey = `stripe-${++keySeq}`;
  const result = await server.gql(
    CHECKOUT,
    { input: { reservationId, voucherId: m.voucherId, idempotencyKey } },
    { token: m.sme.token, now: NOW },
  );
  return { reservationId, idempotencyKey, result };
}

async function order(id: string) {
  return (
    await server.ok(`query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`, { id }, { token: m.sme.token, now: NOW })
  ).order;
}

async function freeGpus() {
  const { offer } = await server.ok(
    `query($id: ID!) { offer(id: $id) { freeGpus(from: "2027-03-10T00:00:00Z", to: "2027-03-10T10:00:00Z") } }`,
    { id: m.offerId },
    { now: NOW },
  );
  return offer.freeGpus;
}

describe("checkout with Stripe", () => {
  it("creates a PaymentIntent for the SME's share and waits for the webhook", async () => {
    const before = await budget(server, m.finance, m.programId);
    const { result } = await checkoutNew();
    const pending = result.data.checkout;
    expect(pending).toMatchObject({
      status: "PENDING_PAYMENT",
      gross: { fen: "40000" },
      subsidy: { fen: "12000" },
      smeShare: { fen: "28000" },
      payment: { provider: "stripe", status: "requires_payment_method" },
      reservation: { status: "HELD" },
    });
    expect(pending.payment.providerRef).toMatch(/^pi_/);
    expect(pending.payment.clientSecret).toMatch(/_secret_/);
    const intent = fake.intent(pending.payment.providerRef);
    expect(intent).toMatchObject({ amount: 28000, currency: "cny", metadata: { orderId: String(keyOf(pending.id)) } });
    const during = await budget(server, m.finance, m.programId);
    expect(BigInt(during.pending) - BigInt(before.pending)).toBe(12000n);

    const { delivery } = await fake.succeed(intent.id);
    expect(delivery?.status).toBe(200);
    const paid = await order(pending.id);
    expect(paid).toMatchObject({
      status: "PAID",
      reservation: { status: "CONFIRMED" },
      payment: { status: "succeeded", clientSecret: null },
    });
    const after = await budget(server, m.finance, m.programId);
    expect(BigInt(after.spent) - BigInt(before.spent)).toBe(12000n);
    expect(after.pending).toBe(before.pending);
    await assertLedgerInvariants(server);
  });

  it("handles duplicate and out-of-order webhooks once, moving only forward", async () => {
    const { result } = await checkoutNew(1, 4);
    const pending = result.data.checkout;
    const intentId = pending.payment.providerRef;
    // The success happens, but its event is delayed; a stale "processing" event arrives first.
    fake.webhookUrl = undefined;
    const { event: succeeded } = await fake.succeed(intentId);
    fake.webhookUrl = `${server.url}/webhooks/stripe`;
    const stale = await fake.deliver("payment_intent.processing", intentId);
    expect(stale.delivery?.status).toBe(200);
    // The route re-reads the intent: the stale event already settles the order on the truth.
    expect((await order(pending.id)).status).toBe("PAID");
    const first = await fake.sendWebhook(fake.webhookUrl!, succeeded);
    const second = await fake.sendWebhook(fake.webhookUrl!, succeeded);
    expect([first.status, second.status]).toEqual([200, 200]);
    const [{ n }] = await server.sql(
      `select count(*)::int as n from ledger_entries where order_id = $1 and kind = 'POST'`,
      [keyOf(pending.id)],
    );
    expect(n).toBe(1);
    await assertLedgerInvariants(server);
  });

  it("a declined payment fails the order, voids the subsidy, frees the capacity and cancels the intent", async () => {
    const freeBefore = await freeGpus();
    const budgetBefore = await budget(server, m.finance, m.programId);
    const { result } = await checkoutNew(2, 10);
    const pending = result.data.checkout;
    expect(await freeGpus()).toBe(freeBefore - 2);
    await fake.fail(pending.payment.providerRef);
    const failed = await order(pending.id);
    expect(failed).toMatchObject({ status: "FAILED", reservation: { status: "CANCELLED" } });
    expect(await freeGpus()).toBe(freeBefore);
    expect(await budget(server, m.finance, m.programId)).toEqual(budgetBefore);
    expect(fake.intent(pending.payment.providerRef).status).toBe("canceled");
    await assertLedgerInvariants(server);
  });

  it("a webhook with a bad signature is refused and changes nothing", async () => {
    const { result } = await checkoutNew(1, 2);
    const pending = result.data.checkout;
    fake.webhookUrl = undefined;
    const { event } = await fake.succeed(pending.payment.providerRef);
    const payload = JSON.stringify(event);
    const response = await fetch(`${server.url}/webhooks/stripe`, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": signWebhookPayload(payload, "whsec_wrong") },
      body: payload,
    });
    expect(response.status).toBe(400);
    expect((await order(pending.id)).status).toBe("PENDING_PAYMENT");
    fake.webhookUrl = `${server.url}/webhooks/stripe`;
    await fake.sendWebhook(fake.webhookUrl, event);
    expect((await order(pending.id)).status).toBe("PAID");
  });

  it("a provider outage during checkout: PAYMENT_FAILED, then a retry with the same key charges once", async () => {
    const createdBefore = fake.created;
    fake.failNext(20);
    const { reservationId, idempotencyKey, result } = await checkoutNew(1, 3);
    expect(result.errors?.[0].extensions?.code).toBe("PAYMENT_FAILED");
    expect(result.errors?.[0].extensions?.retryable).toBe(true);
    fake.resetControls();
    const retry = await server.ok(
      CHECKOUT,
      { input: { reservationId, voucherId: m.voucherId, idempotencyKey } },
      { token: m.sme.token, now: NOW },
    );
    const again = await server.ok(
      CHECKOUT,
      { input: { reservationId, voucherId: m.voucherId, idempotencyKey } },
      { token: m.sme.token, now: NOW },
    );
    expect(again.checkout.id).toBe(retry.checkout.id);
    expect(retry.checkout).toMatchObject({ status: "PENDING_PAYMENT", payment: { status: "requires_payment_method" } });
    expect(fake.created - createdBefore).toBe(1);
    const [{ n }] = await server.sql(`select count(*)::int as n from orders where reservation_id = $1`, [
      keyOf(reservationId),
    ]);
    expect(n).toBe(1);
    await assertLedgerInvariants(server);
  });

  it("recovers orders whose outcome was never heard: lost webhooks, abandoned payments, unreachable provider", async () => {
    // 1. Paid, but the webhook was lost.
    const paid = (await checkoutNew(1, 2)).result.data.checkout;
    fake.webhookUrl = undefined;
    await fake.succeed(paid.payment.providerRef);
    // 2. Never paid by the client.
    const abandoned = (await checkoutNew(1, 2)).result.data.checkout;
    // 3. The provider never answered the checkout (as if the process had died before the call).
    fake.failNext(20);
    const unreached = await checkoutNew(1, 2);
    expect(unreached.result.errors?.[0].extensions?.code).toBe("PAYMENT_FAILED");
    fake.resetControls();
    const [{ id: unreachedId }] = await server.sql(
      `select 'order_' || id as id from orders where idempotency_key = $1`,
      [unreached.idempotencyKey],
    );

    const run = (now: string) => server.ok(`mutation { runMaintenance { task changed } }`, {}, { token: ADMIN, now });
    // A few minutes later: the lost success is found, the unreached order gets its intent.
    await run("2027-03-01T08:05:00Z");
    expect((await order(paid.id)).status).toBe("PAID");
    const resumed = await order(unreachedId);
    expect(resumed.status).toBe("PENDING_PAYMENT");
    expect(resumed.payment.providerRef).toMatch(/^pi_/);
    expect((await order(abandoned.id)).status).toBe("PENDING_PAYMENT");
    // After the payment window, unpaid orders are cancelled at the provider and everything is freed.
    await run("2027-03-01T09:30:00Z");
    expect(await order(abandoned.id)).toMatchObject({ status: "CANCELLED", reservation: { status: "CANCELLED" } });
    expect(fake.intent(abandoned.payment.providerRef).status).toBe("canceled");
    expect((await order(unreachedId)).status).toBe("CANCELLED");
    const [{ n }] = await server.sql(`select count(*)::int as n from orders where status = 'PENDING_PAYMENT'`);
    expect(n).toBe(0);
    await assertLedgerInvariants(server);
  });

  it("cancelling an unpaid order cancels its intent; cancelling a paid one refunds it", async () => {
    const unpaid = (await checkoutNew(1, 2)).result.data.checkout;
    const cancelled = await server.ok(
      `mutation($id: ID!) { cancelOrder(id: $id) { status } }`,
      { id: unpaid.id },
      { token: m.sme.token, now: NOW },
    );
    expect(cancelled.cancelOrder.status).toBe("CANCELLED");
    expect(fake.intent(unpaid.payment.providerRef).status).toBe("canceled");

    const paid = (await checkoutNew(1, 2)).result.data.checkout;
    await fake.succeed(paid.payment.providerRef);
    const refundsBefore = fake.refunds.size;
    const refunded = await server.ok(
      `mutation($id: ID!) { cancelOrder(id: $id) { status payment { status } } }`,
      { id: paid.id },
      { token: m.sme.token, now: NOW },
    );
    expect(refunded.cancelOrder).toEqual({ status: "REFUNDED", payment: { status: "refunded" } });
    expect(fake.refunds.size - refundsBefore).toBe(1);
    const refund = [...fake.refunds.values()].at(-1) as { amount: number };
    expect(refund.amount).toBe(4000 - 1200);
    await assertLedgerInvariants(server);
  });

  it("a webhook settles only the order's own payment: another intent naming the order, or its own for another amount or currency, changes nothing", async () => {
    const pending = (await checkoutNew(1, 2)).result.data.checkout;
    const own = pending.payment.providerRef;
    const budgetBefore = await budget(server, m.finance, m.programId);
    const unchanged = async () => {
      expect(await order(pending.id)).toMatchObject({
        status: "PENDING_PAYMENT",
        reservation: { status: "HELD" },
        payment: { providerRef: own, status: "requires_payment_method" },
      });
      expect(await budget(server, m.finance, m.programId)).toEqual(budgetBefore);
    };

    // Other intents that name the order: paid for the same amount, paid in another currency, declined.
    const sameAmount = await sdk.paymentIntents.create({
      amount: Number(pending.smeShare.fen),
      currency: "cny",
      metadata: { orderId: String(keyOf(pending.id)) },
    });
    expect((await fake.succeed(sameAmount.id)).delivery?.status).toBe(200);
    const otherCurrency = await sdk.paymentIntents.create({
      amount: 50,
      currency: "usd",
      metadata: { orderId: String(keyOf(pending.id)) },
    });
    expect((await fake.succeed(otherCurrency.id)).delivery?.status).toBe(200);
    const declined = await sdk.paymentIntents.create({
      amount: Number(pending.smeShare.fen),
      currency: "cny",
      metadata: { orderId: String(keyOf(pending.id)) },
    });
    expect((await fake.fail(declined.id)).delivery?.status).toBe(200);
    await unchanged();

    // Each was recorded for the admin, naming the payment and the order.
    const { auditLog } = await server.ok(
      `{ auditLog(action: PAYMENT_MISMATCH, first: 100) { edges { node { role targetId detail } } } }`,
      {},
      { token: ADMIN, now: NOW },
    );
    const findings = auditLog.edges.map((e: any) => e.node).filter((n: any) => n.targetId === pending.id);
    expect(findings).toHaveLength(3);
    for (const [intent, status] of [
      [sameAmount.id, "succeeded"],
      [otherCurrency.id, "succeeded"],
      [declined.id, "failed"],
    ]) {
      expect(
        findings.some((n: any) => n.role === "SYSTEM" && n.detail.includes(intent) && n.detail.includes(status)),
      ).toBe(true);
    }

    // The order's own intent, changed at Stripe to another amount and paid: neither the webhook nor
    // the reconciler makes the order PAID; the finding is recorded once.
    await sdk.paymentIntents.update(own, { amount: 1 });
    expect((await fake.succeed(own)).delivery?.status).toBe(200);
    await unchanged();
    await server.ok(`mutation { runMaintenance { task changed } }`, {}, { token: ADMIN, now: "2027-03-01T08:10:00Z" });
    await server.ok(`mutation { runMaintenance { task changed } }`, {}, { token: ADMIN, now: "2027-03-01T08:11:00Z" });
    await unchanged();
    const after = await server.ok(
      `{ auditLog(action: PAYMENT_MISMATCH, first: 100) { edges { node { targetId detail } } } }`,
      {},
      { token: ADMIN, now: NOW },
    );
    expect(
      after.auditLog.edges.filter((e: any) => e.node.targetId === pending.id && e.node.detail.startsWith(own)),
    ).toHaveLength(1);

    // Another order's own intent, changed to another currency and paid: not PAID either.
    const yuan = (await checkoutNew(1, 2)).result.data.checkout;
    await sdk.paymentIntents.update(yuan.payment.providerRef, { currency: "usd" });
    expect((await fake.succeed(yuan.payment.providerRef)).delivery?.status).toBe(200);
    expect(await order(yuan.id)).toMatchObject({ status: "PENDING_PAYMENT", reservation: { status: "HELD" } });
    await assertLedgerInvariants(server);

    // A second order, paid through its own intent for the right amount: PAID as always.
    const second = (await checkoutNew(1, 2)).result.data.checkout;
    const foreign = await sdk.paymentIntents.create({
      amount: Number(second.smeShare.fen),
      currency: "cny",
      metadata: { orderId: String(keyOf(second.id)) },
    });
    await fake.succeed(foreign.id);
    expect((await order(second.id)).status).toBe("PENDING_PAYMENT");
    await fake.succeed(second.payment.providerRef);
    expect(await order(second.id)).toMatchObject({ status: "PAID", reservation: { status: "CONFIRMED" } });
    await assertLedgerInvariants(server);
  });

  it("a verified webhook for a payment that names no order is acknowledged with 200 and ignored", async () => {
    const pending = (await checkoutNew(1, 2)).result.data.checkout;
    const budgetBefore = await budget(server, m.finance, m.programId);
    const [{ n: ordersBefore }] = await server.sql(`select count(*)::int as n from orders`);
    const named: Record<string, string>[] = [
      {},
      { orderId: "99999999" },
      { orderId: "not-an-order" },
      { orderId: "0" },
    ];
    for (const metadata of named) {
      const intent = await sdk.paymentIntents.create({ amount: 2_000, currency: "cny", metadata });
      const { event, delivery } = await fake.succeed(intent.id);
      expect(delivery?.status).toBe(200);
      // Stripe would retry a failed delivery; this one is done: the same event again is a duplicate.
      expect((await fake.sendWebhook(fake.webhookUrl!, event)).status).toBe(200);
      const failed = await sdk.paymentIntents.create({ amount: 2_000, currency: "cny", metadata });
      expect((await fake.fail(failed.id)).delivery?.status).toBe(200);
    }
    expect((await order(pending.id)).status).toBe("PENDING_PAYMENT");
    const [{ n: ordersAfter }] = await server.sql(`select count(*)::int as n from orders`);
    expect(ordersAfter).toBe(ordersBefore);
    expect(await budget(server, m.finance, m.programId)).toEqual(budgetBefore);
    // The order's own payment still settles it.
    await fake.succeed(pending.payment.providerRef);
    expect((await order(pending.id)).status).toBe("PAID");
  });
});
