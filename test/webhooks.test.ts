// POST /webhooks/stripe on the real server, with the real SDK pointed at the Stripe-like test server:
// signatures, deduplication by event id, re-reading the payment, and retries after failures.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { auditLog } from "../src/db/schema.js";
import type { PaymentOutcome } from "../src/payments/provider.js";
import { startServer, type TestServer } from "./support/harness.js";
import { FakeStripe, signWebhookPayload } from "./support/fake-stripe.js";

const WEBHOOK_SECRET = "whsec_x";

let fake: FakeStripe;
let server: TestServer;
let webhookUrl: string;
let orderSeq = 0;

/** What the test handler saw, and whether it should fail after writing. */
let received: { outcome: PaymentOutcome; now: Date }[] = [];
let failHandler = false;

beforeAll(async () => {
  fake = await FakeStripe.start({ webhookSecret: WEBHOOK_SECRET });
  server = await startServer({
    STRIPE_SECRET_KEY: "sk_test_x",
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_BASE: fake.url,
  });
  webhookUrl = `${server.url}/webhooks/stripe`;
  fake.webhookUrl = webhookUrl;
  // Stands in for the checkout: writes a row in the handling transaction, so a rollback is visible.
  server.app.services.paymentEvents = {
    async onPaymentOutcome(tx, outcome, now) {
      const row = {
        role: "ADMIN" as const,
        action: "test.payment_outcome",
        targetId: outcome.ref,
        detail: `${outcome.eventType}:${outcome.status}`,
      };
      await tx.insert(auditLog).values(row);
      if (failHandler) throw new Error("handler failed on purpose");
      received.push({ outcome, now });
    },
  };
});
afterAll(async () => {
  await server?.close();
  await fake?.close();
});
beforeEach(() => {
  received = [];
  failHandler = false;
  fake.resetControls();
});

async function newIntent(amount = 9_900n): Promise<string> {
  const orderId = ++orderSeq;
  const { ref } = await server.app.services.payments.createPayment({
    orderId,
    amount,
    idempotencyKey: `order-${orderId}-create`,
  });
  return ref;
}

async function eventRows(id: string) {
  return server.sql<{ id: string; type: string }>(`select id, type from webhook_events where id = $1`, [id]);
}

async function auditRows(ref: string) {
  return server.sql<{ detail: string }>(
    `select detail from audit_log where action = 'test.payment_outcome' and target_id = $1`,
    [ref],
  );
}

describe("POST /webhooks/stripe", () => {
  it("uses Stripe through STRIPE_API_BASE", async () => {
    expect(server.app.services.payments.name).toBe("stripe");
    const ref = await newIntent();
    expect(fake.intent(ref).currency).toBe("cny");
  });

  it("refuses a missing signature with 400 and changes nothing", async () => {
    const ref = await newIntent();
    const event = fake.event("payment_intent.succeeded", fake.intent(ref));
    const response = await fake.sendWebhook(webhookUrl, event, { signature: null });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/Stripe-Signature/);
    expect(await eventRows(event.id)).toHaveLength(0);
    expect(received).toHaveLength(0);
  });

  it("refuses a bad signature, a tampered body and a stale timestamp with 400", async () => {
    const ref = await newIntent();
    const event = fake.event("payment_intent.succeeded", fake.intent(ref));
    const wrongSecret = await fake.sendWebhook(webhookUrl, event, { secret: "whsec_other" });
    expect(wrongSecret.status).toBe(400);

    const signedForOther = signWebhookPayload(JSON.stringify({ ...event, id: "evt_other" }, null, 2), WEBHOOK_SECRET);
    const tampered = await fake.sendWebhook(webhookUrl, event, { signature: signedForOther });
    expect(tampered.status).toBe(400);

    const stale = await fake.sendWebhook(webhookUrl, event, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect(stale.status).toBe(400);

    const garbage = await fake.sendWebhook(webhookUrl, event, { signature: "t=1,v1=abc" });
    expect(garbage.status).toBe(400);
    expect(JSON.stringify(garbage.body)).not.toMatch(/\bat .*\.(js|ts):\d+/);

    expect(await eventRows(event.id)).toHaveLength(0);
    expect(received).toHaveLength(0);
  });

  it("handles a valid event once: records it and passes the re-read payment to the handler", async () => {
    const ref = await newIntent(9_900n);
    const { event, delivery } = await fake.succeed(ref);
    expect(delivery).toEqual({ status: 200, body: { received: true, result: "handled" } });
    expect(await eventRows(event.id)).toEqual([{ id: event.id, type: "payment_intent.succeeded" }]);
    expect(received).toHaveLength(1);
    expect(received[0].outcome).toMatchObject({
      eventId: event.id,
      eventType: "payment_intent.succeeded",
      ref,
      status: "succeeded",
      amount: 9_900n,
      amountRefunded: 0n,
      metadata: { orderId: expect.any(String) },
    });
  });

  it("the same event delivered again is acknowledged and not handled twice", async () => {
    const ref = await newIntent();
    const { event } = await fake.succeed(ref);
    const gets = fake.count("GET /v1/payment_intents/:id");
    const again = await fake.sendWebhook(webhookUrl, event);
    expect(again).toEqual({ status: 200, body: { received: true, result: "duplicate" } });
    expect(fake.count("GET /v1/payment_intents/:id")).toBe(gets); // no call to Stripe for a known event
    expect(received).toHaveLength(1);
    expect(await eventRows(event.id)).toHaveLength(1);
    expect(await auditRows(ref)).toHaveLength(1);
  });

  it("parallel deliveries of one event are handled exactly once", async () => {
    const ref = await newIntent();
    fake.intent(ref).status = "succeeded";
    const event = fake.event("payment_intent.succeeded", fake.intent(ref));
    const responses = await Promise.all(Array.from({ length: 6 }, () => fake.sendWebhook(webhookUrl, event)));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(responses.filter((r) => r.body.result === "handled")).toHaveLength(1);
    expect(received).toHaveLength(1);
    expect(await eventRows(event.id)).toHaveLength(1);
    expect(await auditRows(ref)).toHaveLength(1);
  });

  it("a stale event arriving late settles on the payment's true state", async () => {
    const ref = await newIntent();
    // A failed attempt, then a successful one; the failure's event is delivered last.
    const staleFailure = fake.event("payment_intent.payment_failed", {
      ...fake.intent(ref),
      last_payment_error: { code: "card_declined" },
    });
    await fake.succeed(ref);
    const late = await fake.sendWebhook(webhookUrl, staleFailure);
    expect(late.status).toBe(200);
    expect(received.map((r) => [r.outcome.eventType, r.outcome.status])).toEqual([
      ["payment_intent.succeeded", "succeeded"],
      ["payment_intent.payment_failed", "succeeded"],
    ]);
  });

  it("dispatches failures, cancellations and refunds with the re-read status", async () => {
    const failed = await newIntent();
    await fake.fail(failed);
    const canceled = await newIntent();
    await fake.cancel(canceled);
    const refunded = await newIntent(5_000n);
    await fake.succeed(refunded);
    await server.app.services.payments.refundPayment(refunded, 2_000n, `refund-${refunded}`);
    const { delivery } = await fake.deliver("charge.refunded", refunded);
    expect(delivery?.status).toBe(200);

    expect(received.map((r) => [r.outcome.eventType, r.outcome.ref, r.outcome.status])).toEqual([
      ["payment_intent.payment_failed", failed, "failed"],
      ["payment_intent.canceled", canceled, "canceled"],
      ["payment_intent.succeeded", refunded, "succeeded"],
      ["charge.refunded", refunded, "succeeded"],
    ]);
    expect(received[3].outcome.amountRefunded).toBe(2_000n);
  });

  it("answers 200 to event types it does not handle, and records nothing", async () => {
    const event = fake.event("customer.created", { id: "cus_123", object: "customer" });
    const response = await fake.sendWebhook(webhookUrl, event);
    expect(response).toEqual({ status: 200, body: { received: true, result: "ignored" } });
    expect(await eventRows(event.id)).toHaveLength(0);
    expect(received).toHaveLength(0);
  });

  it("acknowledges an event about a payment Stripe does not know, without handling it", async () => {
    const event = fake.event("payment_intent.succeeded", {
      id: "pi_unknown",
      object: "payment_intent",
      status: "succeeded",
    });
    const response = await fake.sendWebhook(webhookUrl, event);
    expect(response).toEqual({ status: 200, body: { received: true, result: "unknown_payment" } });
    expect(await eventRows(event.id)).toHaveLength(0);
    expect(received).toHaveLength(0);
  });

  it("a handler failure is a 500 without details, rolls everything back, and the retry handles it", async () => {
    const ref = await newIntent();
    failHandler = true;
    const { event, delivery } = await fake.succeed(ref);
    expect(delivery?.status).toBe(500);
    const text = JSON.stringify(delivery?.body);
    expect(text).not.toMatch(/on purpose|\bat .*:\d+:\d+/);
    expect(await eventRows(event.id)).toHaveLength(0);
    expect(await auditRows(ref)).toHaveLength(0); // the handler's write was rolled back with the event row

    failHandler = false;
    const retry = await fake.sendWebhook(webhookUrl, event);
    expect(retry).toEqual({ status: 200, body: { received: true, result: "handled" } });
    expect(await eventRows(event.id)).toHaveLength(1);
    expect(await auditRows(ref)).toEqual([{ detail: "payment_intent.succeeded:succeeded" }]);
  });

  it("Stripe unavailable while re-reading: 500, nothing recorded, the retry handles it", async () => {
    const ref = await newIntent();
    fake.intent(ref).status = "succeeded";
    const event = fake.event("payment_intent.succeeded", fake.intent(ref));
    fake.failNext(3); // the first try and the SDK's two retries
    const first = await fake.sendWebhook(webhookUrl, event);
    expect(first.status).toBe(500);
    expect(await eventRows(event.id)).toHaveLength(0);
    expect(received).toHaveLength(0);

    const retry = await fake.sendWebhook(webhookUrl, event);
    expect(retry.body.result).toBe("handled");
    expect(received).toHaveLength(1);
  });

  it("a signed body that is not an event is 400", async () => {
    const payload = "not json";
    const response = await fetch(webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": signWebhookPayload(payload, WEBHOOK_SECRET) },
      body: payload,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: expect.any(String) });
  });

  it("passes the request clock (X-Now, test clock only) to the handler", async () => {
    const ref = await newIntent();
    fake.intent(ref).status = "succeeded";
    const event = fake.event("payment_intent.succeeded", fake.intent(ref));
    const response = await fake.sendWebhook(webhookUrl, event, { headers: { "x-now": "2031-05-06T07:00:00.000Z" } });
    expect(response.status).toBe(200);
    expect(received[0].now.toISOString()).toBe("2031-05-06T07:00:00.000Z");
    const [row] = await server.sql<{ created_at: Date }>(`select created_at from webhook_events where id = $1`, [
      event.id,
    ]);
    expect(new Date(row.created_at).toISOString()).toBe("2031-05-06T07:00:00.000Z");
  });
});

describe("POST /webhooks/stripe without Stripe configured", () => {
  let plain: TestServer;
  beforeAll(async () => {
    plain = await startServer();
  });
  afterAll(() => plain?.close());

  it("runs the simulated provider and answers 404 with a JSON error", async () => {
    expect(plain.app.services.payments.name).toBe("simulated");
    const event = fake.event("payment_intent.succeeded", { id: "pi_1", object: "payment_intent" });
    const response = await fake.sendWebhook(`${plain.url}/webhooks/stripe`, event);
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: expect.stringMatching(/not configured/) });
    expect(await plain.sql(`select id from webhook_events`)).toHaveLength(0);
  });
});
