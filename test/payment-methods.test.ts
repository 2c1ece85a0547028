// The payment methods Chinese SMEs use: STRIPE_PAYMENT_METHODS picks card, Alipay and WeChat Pay for
// the PaymentIntent in cny, and the order returns what the client needs to finish each (the client
// secret for a card, Alipay's redirect, WeChat Pay's QR code), against the fake Stripe over HTTP.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "./support/harness.js";
import { FakeStripe } from "./support/fake-stripe.js";
import { market, NOW, reserve, type Market } from "./support/market.js";
import { assertLedgerInvariants } from "./support/ledger-invariants.js";
import { loadConfig, parsePaymentMethods } from "../src/config.js";

const PAYMENT = `id status payment { status clientSecret methods nextAction { type redirectUrl nativeUrl qrCodeData
  qrCodeImageUrlPng qrCodeImageUrlSvg hostedInstructionsUrl } }`;
const CHECKOUT_PAYMENT = `mutation($input: CheckoutInput!) { checkout(input: $input) { ${PAYMENT} } }`;
const CONFIRM = `mutation($id: ID!, $method: PaymentMethod!, $returnUrl: String) {
  confirmPayment(orderId: $id, method: $method, returnUrl: $returnUrl) { ${PAYMENT} } }`;

describe("STRIPE_PAYMENT_METHODS", () => {
  it("defaults to card; takes card, alipay and wechat_pay in the order given; refuses anything else", () => {
    expect(parsePaymentMethods(undefined)).toEqual(["card"]);
    expect(parsePaymentMethods("")).toEqual(["card"]);
    expect(parsePaymentMethods("wechat_pay, alipay,card,alipay")).toEqual(["wechat_pay", "alipay", "card"]);
    expect(() => parsePaymentMethods("card,paypal")).toThrow(/unknown payment method "paypal"/);
    expect(() => loadConfig({ STRIPE_PAYMENT_METHODS: "card,paypal" })).toThrow(/STRIPE_PAYMENT_METHODS="card,paypal"/);
    expect(() => loadConfig({ STRIPE_PAYMENT_METHODS: "unionpay" })).toThrow(/STRIPE_PAYMENT_METHODS/);
  });
});

async function stripeMarket(methods: string | undefined) {
  const secret = "whsec_methods";
  const fake = await FakeStripe.start({ webhookSecret: secret });
  const server = await startServer({
    STRIPE_SECRET_KEY: "sk_test_methods",
    STRIPE_WEBHOOK_SECRET: secret,
    STRIPE_API_BASE: fake.url,
    ...(methods ? { STRIPE_PAYMENT_METHODS: methods } : {}),
  });
  fake.webhookUrl = `${server.url}/webhooks/stripe`;
  const m = await market(server, { gpuCount: 8, price: "20.00" });
  return { fake, server, m };
}

describe("card, Alipay and WeChat Pay through Stripe", () => {
  let fake: FakeStripe;
  let server: TestServer;
  let m: Market;
  let seq = 0;

  beforeAll(async () => {
    ({ fake, server, m } = await stripeMarket("card,alipay,wechat_pay"));
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  async function checkout() {
    const reservationId = await reserve(server, m.sme, 1, 2);
    const { checkout } = await server.ok(
      CHECKOUT_PAYMENT,
      { input: { reservationId, voucherId: m.voucherId, idempotencyKey: `methods-${++seq}` } },
      { token: m.sme.token, now: NOW },
    );
    return checkout;
  }

  it("creates the intent in cny with the configured methods, WeChat Pay for a web page", async () => {
    const order = await checkout();
    expect(order.status).toBe("PENDING_PAYMENT");
    expect(order.payment).toMatchObject({
      status: "requires_payment_method",
      methods: ["CARD", "ALIPAY", "WECHAT_PAY"],
      nextAction: null,
    });
    expect(order.payment.clientSecret).toMatch(/^pi_\w+_secret_/);
    const create = fake.log.filter((entry) => entry.route === "POST /v1/payment_intents").at(-1)!;
    expect(create.body).toMatchObject({
      currency: "cny",
      allowed_payment_method_types: ["card", "alipay", "wechat_pay"],
      payment_method_options: { wechat_pay: { client: "web" } },
    });
    expect(create.body.automatic_payment_methods).toBeUndefined();
    const intent = [...fake.intents.values()].at(-1)!;
    expect(intent.payment_method_types).toEqual(["card", "alipay", "wechat_pay"]);
  });

  it("WeChat Pay: confirmPayment answers the QR code to scan; the webhook makes the order PAID", async () => {
    const order = await checkout();
    const { confirmPayment } = await server.ok(
      CONFIRM,
      { id: order.id, method: "WECHAT_PAY" },
      { token: m.sme.token, now: NOW },
    );
    expect(confirmPayment.status).toBe("PENDING_PAYMENT");
    expect(confirmPayment.payment.status).toBe("requires_action");
    const next = confirmPayment.payment.nextAction;
    expect(next).toMatchObject({ type: "wechat_pay_display_qr_code", redirectUrl: null });
    expect(next.qrCodeData).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
    expect(next.qrCodeImageUrlPng).toMatch(/qr\.png$/);
    expect(next.qrCodeImageUrlSvg).toMatch(/qr\.svg$/);
    expect(next.hostedInstructionsUrl).toMatch(/^http/);
    const confirm = fake.log.filter((entry) => entry.route === "POST /v1/payment_intents/:id/confirm").at(-1)!;
    expect(confirm.body).toMatchObject({
      payment_method_data: { type: "wechat_pay" },
      payment_method_options: { wechat_pay: { client: "web" } },
    });
    // The same confirmation again answers the same action: the same key, so Stripe replays its answer.
    const again = await server.ok(CONFIRM, { id: order.id, method: "WECHAT_PAY" }, { token: m.sme.token, now: NOW });
    expect(again.confirmPayment.payment.nextAction).toEqual(next);
    // The payer scans and pays: Stripe's webhook settles the order.
    const ref = [...fake.intents.values()].find((i) => i.metadata.orderId === order.id.split("_")[1])!.id;
    await fake.succeed(ref);
    const { order: paid } = await server.ok(
      `query($id: ID!) { order(id: $id) { ${PAYMENT} } }`,
      { id: order.id },
      {
        token: m.sme.token,
        now: NOW,
      },
    );
    expect(paid).toMatchObject({
      status: "PAID",
      payment: { status: "succeeded", clientSecret: null, nextAction: null },
    });
    await assertLedgerInvariants(server);
  });

  it("Alipay: confirmPayment needs the return URL and answers the redirect", async () => {
    const order = await checkout();
    const missing = await server.fails(
      "BAD_USER_INPUT",
      CONFIRM,
      { id: order.id, method: "ALIPAY" },
      { token: m.sme.token, now: NOW },
    );
    expect(missing.extensions?.field).toBe("returnUrl");
    const { confirmPayment } = await server.ok(
      CONFIRM,
      { id: order.id, method: "ALIPAY", returnUrl: "https://app.example.com/orders/7" },
      { token: m.sme.token, now: NOW },
    );
    expect(confirmPayment.payment.nextAction).toMatchObject({ type: "alipay_handle_redirect", qrCodeData: null });
    expect(confirmPayment.payment.nextAction.redirectUrl).toMatch(/\/alipay\/pi_\w+\/redirect$/);
    expect(confirmPayment.payment.nextAction.nativeUrl).toMatch(/^alipays:\/\//);
    const confirm = fake.log.filter((entry) => entry.route === "POST /v1/payment_intents/:id/confirm").at(-1)!;
    expect(confirm.body).toMatchObject({
      payment_method_data: { type: "alipay" },
      return_url: "https://app.example.com/orders/7",
    });
  });

  it("a card is confirmed in the client; another SME's order is not found; a paid one has nothing to confirm", async () => {
    const order = await checkout();
    const card = await server.fails(
      "BAD_USER_INPUT",
      CONFIRM,
      { id: order.id, method: "CARD" },
      { token: m.sme.token, now: NOW },
    );
    expect(card.extensions?.field).toBe("method");
    await server.fails(
      "NOT_FOUND",
      CONFIRM,
      { id: order.id, method: "ALIPAY", returnUrl: "https://x.example" },
      {
        token: m.otherSme.token,
        now: NOW,
      },
    );
    const ref = [...fake.intents.values()].at(-1)!.id;
    await fake.succeed(ref);
    await server.fails("CONFLICT", CONFIRM, { id: order.id, method: "WECHAT_PAY" }, { token: m.sme.token, now: NOW });
  });
});

describe("with the default (card only)", () => {
  let fake: FakeStripe;
  let server: TestServer;
  let m: Market;
  beforeAll(async () => {
    ({ fake, server, m } = await stripeMarket(undefined));
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it("offers only a card, and refuses Alipay for that payment", async () => {
    const reservationId = await reserve(server, m.sme, 1, 2);
    const { checkout } = await server.ok(
      CHECKOUT_PAYMENT,
      { input: { reservationId, voucherId: m.voucherId, idempotencyKey: "card-only" } },
      { token: m.sme.token, now: NOW },
    );
    expect(checkout.payment.methods).toEqual(["CARD"]);
    const create = fake.log.filter((entry) => entry.route === "POST /v1/payment_intents").at(-1)!;
    expect(create.body.allowed_payment_method_types).toEqual(["card"]);
    const refused = await server.fails(
      "BAD_USER_INPUT",
      CONFIRM,
      { id: checkout.id, method: "ALIPAY", returnUrl: "https://app.example.com/" },
      { token: m.sme.token, now: NOW },
    );
    expect(refused.extensions?.field).toBe("method");
  });
});
