// The payment providers: StripeProvider through the real `stripe` SDK over HTTP against the
// Stripe-like test server, the simulated provider, and the pure mappings.
import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPaymentProvider, describePayments, paymentRefOf } from "../src/payments/payments.service.js";
import {
  PaymentNotFoundError,
  PaymentProviderError,
  ProviderUnavailableError,
  fenToProviderAmount,
} from "../src/payments/provider.js";
import { SimulatedProvider } from "../src/payments/simulated.js";
import { StripeProvider, paymentStatusOf, refundStatusOf, stripeHostOptions } from "../src/payments/stripe.js";
import { FakeStripe, parseStripeForm, signWebhookPayload } from "./support/fake-stripe.js";

let fake: FakeStripe;
let stripe: StripeProvider;
let orderSeq = 1000;
const nextOrder = () => ++orderSeq;

beforeAll(async () => {
  fake = await FakeStripe.start();
  stripe = new StripeProvider({ secretKey: "sk_test_payments", apiBase: fake.url, timeoutMs: 2_000 });
});
afterAll(() => fake?.close());
beforeEach(() => fake.resetControls());

async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

describe("pure mappings", () => {
  it("maps PaymentIntent statuses, a declined attempt being failed", () => {
    expect(paymentStatusOf({ status: "succeeded" })).toBe("succeeded");
    expect(paymentStatusOf({ status: "canceled" })).toBe("canceled");
    expect(paymentStatusOf({ status: "processing" })).toBe("processing");
    expect(paymentStatusOf({ status: "requires_capture" })).toBe("processing");
    expect(paymentStatusOf({ status: "requires_action" })).toBe("requires_action");
    expect(paymentStatusOf({ status: "requires_confirmation" })).toBe("requires_payment_method");
    expect(paymentStatusOf({ status: "requires_payment_method", last_payment_error: null })).toBe(
      "requires_payment_method",
    );
    expect(paymentStatusOf({ status: "requires_payment_method", last_payment_error: { code: "card_declined" } })).toBe(
      "failed",
    );
    expect(paymentStatusOf({ status: "something_new" })).toBe("processing");
    expect(refundStatusOf("succeeded")).toBe("succeeded");
    expect(refundStatusOf("requires_action")).toBe("pending");
    expect(refundStatusOf(null)).toBe("pending");
    expect(refundStatusOf("failed")).toBe("failed");
  });

  it("parses STRIPE_API_BASE into SDK host options", () => {
    expect(stripeHostOptions(undefined)).toEqual({});
    expect(stripeHostOptions("http://127.0.0.1:12111")).toEqual({ host: "127.0.0.1", port: 12111, protocol: "http" });
    expect(stripeHostOptions("https://stripe.example.com")).toEqual({
      host: "stripe.example.com",
      port: 443,
      protocol: "https",
    });
    expect(() => stripeHostOptions("ftp://x")).toThrow(/STRIPE_API_BASE/);
    expect(() => stripeHostOptions("not a url")).toThrow(/STRIPE_API_BASE/);
  });

  it("takes only positive exact fen amounts", () => {
    expect(fenToProviderAmount(1n)).toBe(1);
    expect(fenToProviderAmount(9_007_199_254_740_991n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => fenToProviderAmount(0n)).toThrow(RangeError);
    expect(() => fenToProviderAmount(-5n)).toThrow(RangeError);
    expect(() => fenToProviderAmount(9_007_199_254_740_992n)).toThrow(RangeError);
  });

  it("finds the PaymentIntent an event is about", () => {
    const event = (type: string, object: object) => ({ id: "evt_1", type, data: { object } });
    expect(paymentRefOf(event("payment_intent.succeeded", { id: "pi_1" }))).toBe("pi_1");
    expect(paymentRefOf(event("payment_intent.payment_failed", { id: "pi_2" }))).toBe("pi_2");
    expect(paymentRefOf(event("charge.refunded", { id: "ch_1", payment_intent: "pi_3" }))).toBe("pi_3");
    expect(paymentRefOf(event("charge.refunded", { id: "ch_1", payment_intent: { id: "pi_4" } }))).toBe("pi_4");
    expect(paymentRefOf(event("customer.created", { id: "cus_1" }))).toBeNull();
    expect(paymentRefOf(event("charge.refunded", { id: "ch_1", payment_intent: null }))).toBeNull();
  });

  it("the test server parses Stripe's form encoding and signs webhooks as the SDK does", () => {
    expect(
      parseStripeForm("amount=100&metadata[orderId]=7&expand[0]=latest_charge&expand[1]=customer&a[b][c]=d&list[]=x"),
    ).toEqual({
      amount: "100",
      metadata: { orderId: "7" },
      expand: ["latest_charge", "customer"],
      a: { b: { c: "d" } },
      list: ["x"],
    });
    const payload = JSON.stringify({ id: "evt_x", object: "event" });
    const header = signWebhookPayload(payload, "whsec_cross", 1_700_000_000);
    expect(header).toBe(
      Stripe.webhooks.generateTestHeaderString({ payload, secret: "whsec_cross", timestamp: 1_700_000_000 }),
    );
  });
});

describe("StripeProvider over the real SDK", () => {
  it("creates a PaymentIntent in fen, CNY, with the order in metadata and the caller's idempotency key", async () => {
    const orderId = nextOrder();
    const created = await stripe.createPayment({
      orderId,
      amount: 12_345n,
      idempotencyKey: `order-${orderId}-create`,
      metadata: { sme: "42" },
    });
    expect(created.ref).toMatch(/^pi_/);
    expect(created.clientSecret).toMatch(new RegExp(`^${created.ref}_secret_`));
    expect(created.status).toBe("requires_payment_method");

    const stored = fake.intent(created.ref);
    expect(stored).toMatchObject({
      amount: 12_345,
      currency: "cny",
      metadata: { orderId: String(orderId), sme: "42" },
      // STRIPE_PAYMENT_METHODS unset: card only, sent as allowed_payment_method_types.
      payment_method_types: ["card"],
      automatic_payment_methods: null,
    });
    const request = fake.log.filter((entry) => entry.route === "POST /v1/payment_intents").at(-1)!;
    expect(request.idempotencyKey).toBe(`order-${orderId}-create`);
  });

  it("replays a creation with the same key: one intent, the same ref and client secret", async () => {
    const orderId = nextOrder();
    const createdBefore = fake.created;
    const postsBefore = fake.count("POST /v1/payment_intents");
    const first = await stripe.createPayment({ orderId, amount: 5_000n, idempotencyKey: `order-${orderId}-create` });
    const second = await stripe.createPayment({ orderId, amount: 5_000n, idempotencyKey: `order-${orderId}-create` });
    expect(second).toEqual(first);
    expect(fake.count("POST /v1/payment_intents") - postsBefore).toBe(2);
    expect(fake.created - createdBefore).toBe(1);
  });

  it("refuses the same key with other parameters (not retryable)", async () => {
    const orderId = nextOrder();
    await stripe.createPayment({ orderId, amount: 5_000n, idempotencyKey: `order-${orderId}-create` });
    const error = await rejection(
      stripe.createPayment({ orderId, amount: 6_000n, idempotencyKey: `order-${orderId}-create` }),
    );
    expect(error).toBeInstanceOf(PaymentProviderError);
    expect(error).not.toBeInstanceOf(ProviderUnavailableError);
    expect(error.code).toBe("idempotency_error");
    expect(error.retryable).toBe(false);
  });

  it("retrieves the true state: waiting, then succeeded with its amount and metadata", async () => {
    const orderId = nextOrder();
    const { ref } = await stripe.createPayment({ orderId, amount: 8_800n, idempotencyKey: `order-${orderId}-create` });
    expect(await stripe.retrievePayment(ref)).toEqual({
      ref,
      status: "requires_payment_method",
      amount: 8_800n,
      currency: "cny",
      amountRefunded: 0n,
      metadata: { orderId: String(orderId) },
    });
    await fake.succeed(ref);
    expect(await stripe.retrievePayment(ref)).toMatchObject({
      ref,
      status: "succeeded",
      amount: 8_800n,
      amountRefunded: 0n,
    });
  });

  it("reports a decline as status failed, never as an exception", async () => {
    fake.nextOutcome("decline");
    const orderId = nextOrder();
    const created = await stripe.createPayment({ orderId, amount: 100n, idempotencyKey: `order-${orderId}-create` });
    expect(created.status).toBe("failed");
    expect((await stripe.retrievePayment(created.ref)).status).toBe("failed");

    const other = nextOrder();
    const { ref } = await stripe.createPayment({
      orderId: other,
      amount: 100n,
      idempotencyKey: `order-${other}-create`,
    });
    await fake.fail(ref);
    expect((await stripe.retrievePayment(ref)).status).toBe("failed");
  });

  it("passes through the outcomes the test server is told to give", async () => {
    fake.nextOutcome("processing", "succeed");
    const a = nextOrder();
    const b = nextOrder();
    expect((await stripe.createPayment({ orderId: a, amount: 100n, idempotencyKey: `order-${a}-create` })).status).toBe(
      "processing",
    );
    expect((await stripe.createPayment({ orderId: b, amount: 100n, idempotencyKey: `order-${b}-create` })).status).toBe(
      "succeeded",
    );
  });

  it("an unknown ref is PaymentNotFoundError", async () => {
    const error = await rejection(stripe.retrievePayment("pi_doesnotexist"));
    expect(error).toBeInstanceOf(PaymentNotFoundError);
    expect(error.ref).toBe("pi_doesnotexist");
  });

  it("cancels an unpaid payment, and reports succeeded when it was paid first", async () => {
    const orderId = nextOrder();
    const { ref } = await stripe.createPayment({ orderId, amount: 2_000n, idempotencyKey: `order-${orderId}-create` });
    expect(await stripe.cancelPayment(ref, `order-${orderId}-cancel`)).toEqual({ ref, status: "canceled" });
    expect((await stripe.retrievePayment(ref)).status).toBe("canceled");
    // Cancelling again is answered with the true state, not an error.
    expect(await stripe.cancelPayment(ref, `order-${orderId}-cancel-2`)).toEqual({ ref, status: "canceled" });

    const paidOrder = nextOrder();
    const paid = await stripe.createPayment({
      orderId: paidOrder,
      amount: 2_000n,
      idempotencyKey: `order-${paidOrder}-create`,
    });
    await fake.succeed(paid.ref);
    expect(await stripe.cancelPayment(paid.ref, `order-${paidOrder}-cancel`)).toEqual({
      ref: paid.ref,
      status: "succeeded",
    });
    expect(fake.intent(paid.ref).status).toBe("succeeded");
  });

  it("refunds part of a paid payment once per key, and refuses more than was paid", async () => {
    const orderId = nextOrder();
    const { ref } = await stripe.createPayment({ orderId, amount: 3_000n, idempotencyKey: `order-${orderId}-create` });
    await fake.succeed(ref);

    const refund = await stripe.refundPayment(ref, 1_200n, `order-${orderId}-refund`);
    expect(refund.ref).toMatch(/^re_/);
    expect(refund.status).toBe("succeeded");
    const again = await stripe.refundPayment(ref, 1_200n, `order-${orderId}-refund`);
    expect(again).toEqual(refund);
    expect((await stripe.retrievePayment(ref)).amountRefunded).toBe(1_200n);

    const tooMuch = await rejection(stripe.refundPayment(ref, 1_801n, `order-${orderId}-refund-2`));
    expect(tooMuch).toBeInstanceOf(PaymentProviderError);
    expect(tooMuch.code).toBe("amount_too_large");
    expect(await stripe.refundPayment(ref, 1_800n, `order-${orderId}-refund-3`)).toMatchObject({ status: "succeeded" });
    expect((await stripe.retrievePayment(ref)).amountRefunded).toBe(3_000n);
  });

  it("refuses to refund an unpaid payment", async () => {
    const orderId = nextOrder();
    const { ref } = await stripe.createPayment({ orderId, amount: 3_000n, idempotencyKey: `order-${orderId}-create` });
    const error = await rejection(stripe.refundPayment(ref, 100n, `order-${orderId}-refund`));
    expect(error).toBeInstanceOf(PaymentProviderError);
    expect(error).not.toBeInstanceOf(ProviderUnavailableError);
  });

  it("a 500 is retried by the SDK with the same key, and the payment is created once", async () => {
    const orderId = nextOrder();
    const createdBefore = fake.created;
    const postsBefore = fake.count("POST /v1/payment_intents");
    fake.failNext(2);
    const created = await stripe.createPayment({ orderId, amount: 700n, idempotencyKey: `order-${orderId}-create` });
    expect(created.ref).toMatch(/^pi_/);
    expect(fake.count("POST /v1/payment_intents") - postsBefore).toBe(3);
    expect(fake.created - createdBefore).toBe(1);
    const attempts = fake.log.filter((entry) => entry.route === "POST /v1/payment_intents").slice(-3);
    expect(new Set(attempts.map((entry) => entry.idempotencyKey))).toEqual(new Set([`order-${orderId}-create`]));
  });

  it("an outage (every attempt 500) is ProviderUnavailableError, and a later retry with the key creates it", async () => {
    const orderId = nextOrder();
    const createdBefore = fake.created;
    const postsBefore = fake.count("POST /v1/payment_intents");
    fake.failNext(3);
    const error = await rejection(
      stripe.createPayment({ orderId, amount: 700n, idempotencyKey: `order-${orderId}-create` }),
    );
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.retryable).toBe(true);
    expect(fake.count("POST /v1/payment_intents") - postsBefore).toBe(3); // 1 + maxNetworkRetries
    expect(fake.created - createdBefore).toBe(0);

    const later = await stripe.createPayment({ orderId, amount: 700n, idempotencyKey: `order-${orderId}-create` });
    expect(later.status).toBe("requires_payment_method");
    expect(fake.created - createdBefore).toBe(1);
  });

  it("a hang is a timeout, retried, then ProviderUnavailableError", async () => {
    const quick = new StripeProvider({ secretKey: "sk_test_payments", apiBase: fake.url, timeoutMs: 200 });
    const gets = fake.count("GET /v1/payment_intents/:id");
    fake.hangNext(3);
    const error = await rejection(quick.retrievePayment("pi_whatever"));
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(fake.count("GET /v1/payment_intents/:id") - gets).toBe(3);
  });

  it("an unreachable host is ProviderUnavailableError", async () => {
    const closed = await FakeStripe.start();
    const url = closed.url;
    await closed.close();
    const offline = new StripeProvider({
      secretKey: "sk_test_payments",
      apiBase: url,
      timeoutMs: 500,
      maxNetworkRetries: 0,
    });
    expect(await rejection(offline.retrievePayment("pi_x"))).toBeInstanceOf(ProviderUnavailableError);
  });

  it("a bad API key is a refusal, not an outage", async () => {
    const wrong = new StripeProvider({ secretKey: "rk_wrong", apiBase: fake.url });
    const error = await rejection(wrong.retrievePayment("pi_x"));
    expect(error).toBeInstanceOf(PaymentProviderError);
    expect(error).not.toBeInstanceOf(ProviderUnavailableError);
  });

  it("refuses a non-positive amount before calling Stripe", async () => {
    const posts = fake.count("POST /v1/payment_intents");
    await expect(stripe.createPayment({ orderId: nextOrder(), amount: 0n, idempotencyKey: "k-zero" })).rejects.toThrow(
      RangeError,
    );
    expect(fake.count("POST /v1/payment_intents")).toBe(posts);
  });
});

describe("SimulatedProvider", () => {
  it("succeeds at once with a ref derived from the order, alike in every process", async () => {
    const one = new SimulatedProvider();
    const other = new SimulatedProvider(); // as another server process
    const created = await one.createPayment({ orderId: 77, amount: 4_200n, idempotencyKey: "order-77-create" });
    expect(created).toEqual({ ref: "sim_77", clientSecret: null, status: "succeeded" });
    expect(await other.createPayment({ orderId: 77, amount: 4_200n, idempotencyKey: "order-77-create" })).toEqual(
      created,
    );

    expect(await one.retrievePayment("sim_77")).toEqual({
      ref: "sim_77",
      status: "succeeded",
      amount: 4_200n,
      currency: "cny",
      amountRefunded: 0n,
      metadata: { orderId: "77" },
    });
    expect(await other.retrievePayment("sim_78")).toMatchObject({
      status: "succeeded",
      amount: null,
      currency: null,
      metadata: { orderId: "78" },
    });
  });

  it("refunds succeed with a ref derived from the key; cancelling a paid payment reports succeeded", async () => {
    const one = new SimulatedProvider();
    const other = new SimulatedProvider();
    await one.createPayment({ orderId: 9, amount: 1_000n, idempotencyKey: "order-9-create" });
    const refund = await one.refundPayment("sim_9", 400n, "order-9-refund");
    expect(refund.status).toBe("succeeded");
    expect(await one.refundPayment("sim_9", 400n, "order-9-refund")).toEqual(refund);
    expect(await other.refundPayment("sim_9", 400n, "order-9-refund")).toEqual(refund);
    expect((await one.retrievePayment("sim_9")).amountRefunded).toBe(400n);
    expect((await one.refundPayment("sim_9", 100n, "order-9-refund-2")).ref).not.toBe(refund.ref);
    expect(await one.cancelPayment("sim_9")).toEqual({ ref: "sim_9", status: "succeeded" });
  });

  it("is chosen without STRIPE_SECRET_KEY, Stripe with it; the start-up line holds no secret", () => {
    expect(createPaymentProvider({ stripeSecretKey: undefined, stripeApiBase: undefined }).name).toBe("simulated");
    expect(createPaymentProvider({ stripeSecretKey: "sk_test_abc", stripeApiBase: fake.url }).name).toBe("stripe");

    const simulated = describePayments({
      stripeSecretKey: undefined,
      stripeWebhookSecret: undefined,
      stripeApiBase: undefined,
    });
    expect(simulated.message).toMatch(/simulated/);
    const configured = describePayments({
      stripeSecretKey: "sk_test_secret123",
      stripeWebhookSecret: "whsec_secret456",
      stripeApiBase: "http://user:pw@127.0.0.1:1",
    });
    const text = JSON.stringify(configured);
    expect(configured.detail.provider).toBe("stripe");
    for (const secret of ["sk_test_secret123", "whsec_secret456", "pw"]) expect(text).not.toContain(secret);
    expect(
      describePayments({ stripeSecretKey: "sk_test_x", stripeWebhookSecret: undefined, stripeApiBase: undefined })
        .level,
    ).toBe("warn");
  });
});
