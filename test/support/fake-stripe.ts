// A small Stripe-like HTTP server for tests: enough of /v1 for the real `stripe` SDK pointed at it
// (STRIPE_API_BASE), with idempotency keys as Stripe honours them, injected failures, request
// counts, and webhooks signed exactly as Stripe signs them.
//
// Test controls:
//   fake.setOutcome("succeed")       every later intent succeeds at creation (default: it waits for the client)
//   fake.nextOutcome("decline")      only the next intent (queued; wins over setOutcome)
//   fake.failNext(2)                 the next 2 requests answer HTTP 500
//   fake.hangNext(1)                 the next request never answers (the client times out)
//   fake.count("POST /v1/payment_intents")   requests received on a route (":id" for ids)
//   fake.created                     intents actually created (replays do not count)
//   await fake.succeed(id) / fake.fail(id) / fake.cancel(id)   change an intent and send the webhook
//   POST /v1/payment_intents/:id     updates amount, currency and metadata, as Stripe does before payment
//   allowed_payment_method_types     card, alipay, wechat_pay (the ones compatible with cny) become the
//                                    intent's payment_method_types; a writable payment_method_types is
//                                    refused, as on Stripe's API version of the SDK
//   POST .../confirm with payment_method_data[type]=alipay | wechat_pay   requires_action with Stripe's
//                                    next_action (alipay_handle_redirect, wechat_pay_display_qr_code)
//   await fake.sendWebhook(url, event)                          sign and POST any event
import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export type IntentOutcome = "requires_payment_method" | "succeed" | "decline" | "processing";

export interface FakeIntent {
  id: string;
  object: "payment_intent";
  amount: number;
  amount_received: number;
  currency: string;
  status:
    "requires_payment_method" | "requires_confirmation" | "requires_action" | "processing" | "succeeded" | "canceled";
  client_secret: string;
  metadata: Record<string, string>;
  created: number;
  livemode: false;
  last_payment_error: null | { type: string; code: string; decline_code: string; message: string };
  latest_charge: string | null;
  cancellation_reason: string | null;
  payment_method_types: string[];
  automatic_payment_methods: { enabled: boolean } | null;
  payment_method_options: Record<string, unknown>;
  next_action: null | ({ type: string } & Record<string, unknown>);
}

export interface FakeCharge {
  id: string;
  object: "charge";
  amount: number;
  amount_refunded: number;
  currency: string;
  payment_intent: string;
  refunded: boolean;
  status: "succeeded";
  created: number;
}

export interface FakeRefund {
  id: string;
  object: "refund";
  amount: number;
  currency: string;
  charge: string;
  payment_intent: string;
  status: "succeeded";
  created: number;
}

export interface StripeEvent {
  id: string;
  object: "event";
  api_version: string;
  created: number;
  type: string;
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  data: { object: Record<string, unknown> };
}

export interface WebhookDelivery {
  status: number;
  body: any;
}

export interface FakeStripeOptions {
  /** Secret used to sign webhooks (default `whsec_test`). */
  webhookSecret?: string;
  /** Where succeed()/fail()/cancel()/deliver() send events; can be set later. */
  webhookUrl?: string;
}

interface StoredResponse {
  fingerprint: string;
  status: number;
  body: unknown;
}

const API_VERSION = "2026-10-28.endive";

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString("hex")}`;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Parses Stripe's form encoding (`metadata[orderId]=1&expand[0]=latest_charge`) into nested objects. */
export function parseStripeForm(text: string): Record<string, any> {
  const result: Record<string, any> = {};
  for (const [fullKey, value] of new URLSearchParams(text)) {
    const match = /^([^[\]]+)((?:\[[^\]]*\])*)$/.exec(fullKey);
    if (!match) continue;
    const path = [match[1], ...[...match[2].matchAll(/\[([^\]]*)\]/g)].map((m) => m[1])];
    let node: any = result;
    for (let i = 0; i < path.length; i++) {
      const segment = path[i];
      const last = i === path.length - 1;
      const nextIsIndex = !last && /^\d*$/.test(path[i + 1]);
      const key = Array.isArray(node) && segment === "" ? node.length : segment;
      if (last) node[key] = value;
      else node = node[key] ??= nextIsIndex ? [] : {};
    }
  }
  return result;
}

/** The `Stripe-Signature` header Stripe would send for this exact payload. */
export function signWebhookPayload(payload: string, secret: string, timestamp: number = nowSeconds()): string {
  const signature = createHmac("sha256", secret).update(`${timestamp}.${payload}`, "utf8").digest("hex");
  return `t=${timestamp},v1=${signature}`;
}

function stripeError(status: number, type: string, message: string, extra: Record<string, unknown> = {}) {
  return { status, body: { error: { type, message, ...extra } } };
}

export class FakeStripe {
  url = "";
  webhookSecret: string;
  webhookUrl: string | undefined;
  readonly intents = new Map<string, FakeIntent>();
  readonly charges = new Map<string, FakeCharge>();
  readonly refunds = new Map<string, FakeRefund>();
  /** Intents actually created (an idempotent replay does not create one). */
  created = 0;
  /** Every request received, in order. */
  readonly log: { method: string; route: string; idempotencyKey: string | null; body: Record<string, any> }[] = [];

  private readonly server: http.Server;
  private readonly idempotency = new Map<string, StoredResponse>();
  private readonly hung = new Set<http.ServerResponse>();
  private readonly counts = new Map<string, number>();
  private defaultOutcome: IntentOutcome = "requires_payment_method";
  private readonly queuedOutcomes: IntentOutcome[] = [];
  private failuresLeft = 0;
  private failureStatus = 500;
  private hangsLeft = 0;

  private constructor(options: FakeStripeOptions) {
    this.webhookSecret = options.webhookSecret ?? "whsec_test";
    this.webhookUrl = options.webhookUrl;
    this.server = http.createServer((req, res) => void this.onRequest(req, res));
  }

  static async start(options: FakeStripeOptions = {}): Promise<FakeStripe> {
    const fake = new FakeStripe(options);
    await new Promise<void>((resolve) => fake.server.listen(0, "127.0.0.1", resolve));
    const { port } = fake.server.address() as AddressInfo;
    fake.url = `http://127.0.0.1:${port}`;
    return fake;
  }

  async close(): Promise<void> {
    for (const res of this.hung) res.destroy();
    this.hung.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ------------------------------------------------------------ controls
  setOutcome(outcome: IntentOutcome): void {
    this.defaultOutcome = outcome;
  }

  nextOutcome(...outcomes: IntentOutcome[]): void {
    this.queuedOutcomes.push(...outcomes);
  }

  /** The next `count` requests answer `status` (500 by default) before anything else happens. */
  failNext(count: number, status = 500): void {
    this.failuresLeft = count;
    this.failureStatus = status;
  }

  /** The next `count` requests get no answer at all. */
  hangNext(count: number): void {
    this.hangsLeft = count;
  }

  /** Requests received on a route such as `POST /v1/payment_intents` or `GET /v1/payment_intents/:id`. */
  count(route: string): number {
    return this.counts.get(route) ?? 0;
  }

  /** Forgets injected failures and outcome settings (not the stored objects). */
  resetControls(): void {
    this.failuresLeft = 0;
    this.hangsLeft = 0;
    this.defaultOutcome = "requires_payment_method";
    this.queuedOutcomes.length = 0;
  }

  intent(id: string): FakeIntent {
    const intent = this.intents.get(id);
    if (!intent) throw new Error(`fake stripe: no intent ${id}`);
    return intent;
  }

  // ------------------------------------------------------------ state changes + webhooks
  /** The client paid: the intent succeeds; sends `payment_intent.succeeded` to webhookUrl when set. */
  async succeed(id: string): Promise<{ event: StripeEvent; delivery: WebhookDelivery | null }> {
    this.markSucceeded(this.intent(id));
    return this.deliver("payment_intent.succeeded", id);
  }

  /** The client's card was declined; sends `payment_intent.payment_failed`. */
  async fail(id: string): Promise<{ event: StripeEvent; delivery: WebhookDelivery | null }> {
    this.markDeclined(this.intent(id));
    return this.deliver("payment_intent.payment_failed", id);
  }

  /** Canceled outside the API (e.g. the dashboard); sends `payment_intent.canceled`. */
  async cancel(id: string): Promise<{ event: StripeEvent; delivery: WebhookDelivery | null }> {
    const intent = this.intent(id);
    intent.status = "canceled";
    intent.cancellation_reason = "requested_by_customer";
    return this.deliver("payment_intent.canceled", id);
  }

  /** An event about an intent's current state (`charge.refunded` carries its charge), sent to webhookUrl when set. */
  async deliver(type: string, intentId: string): Promise<{ event: StripeEvent; delivery: WebhookDelivery | null }> {
    const intent = this.intent(intentId);
    const object = type.startsWith("charge.") ? this.charges.get(intent.latest_charge ?? "") : intent;
    if (!object) throw new Error(`fake stripe: intent ${intentId} has no charge`);
    const event = this.event(type, object);
    const delivery = this.webhookUrl ? await this.sendWebhook(this.webhookUrl, event) : null;
    return { event, delivery };
  }

  /** A Stripe event wrapping a snapshot of `object`. */
  event(type: string, object: object): StripeEvent {
    return {
      id: newId("evt"),
      object: "event",
      api_version: API_VERSION,
      created: nowSeconds(),
      type,
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      data: { object: structuredClone(object) as Record<string, unknown> },
    };
  }

  /** POSTs the event signed as Stripe signs it; `signature` overrides the header (null = none). */
  async sendWebhook(
    targetUrl: string,
    event: object,
    options: { secret?: string; timestamp?: number; signature?: string | null; headers?: Record<string, string> } = {},
  ): Promise<WebhookDelivery> {
    const payload = JSON.stringify(event, null, 2); // Stripe sends indented JSON; the signature covers these exact bytes
    const headers: Record<string, string> = {
      "content-type": "application/json; charset=utf-8",
      "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
      ...options.headers,
    };
    const signature =
      options.signature === undefined
        ? signWebhookPayload(payload, options.secret ?? this.webhookSecret, options.timestamp)
        : options.signature;
    if (signature !== null) headers["stripe-signature"] = signature;
    const response = await fetch(targetUrl, { method: "POST", headers, body: payload });
    const text = await response.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body };
  }

  // ------------------------------------------------------------ HTTP
  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://fake");
    const method = req.method ?? "GET";
    const route = `${method} ${url.pathname.replace(/\/(pi|re|ch)_[A-Za-z0-9]+/g, "/:id")}`;
    const body = method === "GET" ? parseStripeForm(url.search.slice(1)) : parseStripeForm(rawBody);
    const idempotencyKey = (req.headers["idempotency-key"] as string | undefined) ?? null;
    this.counts.set(route, (this.counts.get(route) ?? 0) + 1);
    this.log.push({ method, route, idempotencyKey, body });

    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", "request-id": newId("req"), ...headers });
      res.end(JSON.stringify(payload));
    };

    // Injected trouble comes first, as if the load balancer failed before the API saw the request.
    if (this.hangsLeft > 0) {
      this.hangsLeft--;
      this.hung.add(res);
      res.on("close", () => this.hung.delete(res));
      return;
    }
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      return send(this.failureStatus, { error: { type: "api_error", message: "Injected failure" } });
    }

    if (!/^Bearer sk_/.test(req.headers.authorization ?? "")) {
      const failure = stripeError(401, "invalid_request_error", "Invalid API Key provided");
      return send(failure.status, failure.body);
    }

    if (method === "POST" && idempotencyKey) {
      const fingerprint = `${method} ${url.pathname}\n${rawBody}`;
      const stored = this.idempotency.get(idempotencyKey);
      if (stored) {
        if (stored.fingerprint !== fingerprint) {
          const failure = stripeError(
            400,
            "idempotency_error",
            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
          );
          return send(failure.status, failure.body);
        }
        return send(stored.status, stored.body, { "idempotent-replayed": "true", "idempotency-key": idempotencyKey });
      }
      const result = this.route(method, url.pathname, body);
      // Stripe saves a result once the endpoint ran; a request refused by validation can be retried.
      if (result.status === 200 || result.status === 402)
        this.idempotency.set(idempotencyKey, { fingerprint, ...result });
      return send(result.status, result.body, { "idempotency-key": idempotencyKey });
    }
    const result = this.route(method, url.pathname, body);
    return send(result.status, result.body);
  }

  private route(method: string, path: string, body: Record<string, any>): { status: number; body: unknown } {
    if (method === "POST" && path === "/v1/payment_intents") return this.createIntent(body);
    if (method === "POST" && path === "/v1/refunds") return this.createRefund(body);
    const intentPath = /^\/v1\/payment_intents\/([^/]+)(?:\/(cancel|confirm))?$/.exec(path);
    if (intentPath) {
      const intent = this.intents.get(intentPath[1]);
      if (!intent)
        return stripeError(404, "invalid_request_error", `No such payment_intent: '${intentPath[1]}'`, {
          code: "resource_missing",
          param: "intent",
        });
      if (method === "GET" && !intentPath[2]) return { status: 200, body: this.render(intent, body.expand) };
      if (method === "POST" && !intentPath[2]) return this.updateIntent(intent, body);
      if (method === "POST" && intentPath[2] === "cancel") return this.cancelIntent(intent, body);
      if (method === "POST" && intentPath[2] === "confirm") return this.confirmIntent(intent, body);
    }
    return stripeError(404, "invalid_request_error", `Unrecognized request URL (${method}: ${path}).`);
  }

  private createIntent(body: Record<string, any>) {
    const amount = Number(body.amount);
    if (!/^\d+$/.test(String(body.amount ?? "")) || amount < 1) {
      return stripeError(400, "invalid_request_error", "Invalid positive integer", {
        code: "parameter_invalid_integer",
        param: "amount",
      });
    }
    if (typeof body.currency !== "string" || !/^[a-z]{3}$/.test(body.currency)) {
      return stripeError(400, "invalid_request_error", "Invalid currency", {
        code: "parameter_invalid_string",
        param: "currency",
      });
    }
    if (body.payment_method_types !== undefined) {
      return stripeError(
        400,
        "invalid_request_error",
        "payment_method_types is no longer supported on this API version; use allowed_payment_method_types",
        { code: "payment_method_types_no_longer_supported", param: "payment_method_types" },
      );
    }
    const allowed: string[] | null = Array.isArray(body.allowed_payment_method_types)
      ? body.allowed_payment_method_types
      : null;
    if (allowed && body.automatic_payment_methods) {
      return stripeError(
        400,
        "invalid_request_error",
        "allowed_payment_method_types excludes automatic_payment_methods",
        {
          code: "parameters_exclusive",
          param: "allowed_payment_method_types",
        },
      );
    }
    // Stripe keeps the allowed types that work with the currency; these three all take cny.
    const compatible = allowed?.filter((type) => ["card", "alipay", "wechat_pay"].includes(type));
    if (compatible && compatible.length === 0) {
      return stripeError(400, "invalid_request_error", "No allowed payment method type works with this PaymentIntent", {
        code: "payment_intent_invalid_parameter",
        param: "allowed_payment_method_types",
      });
    }
    const id = newId("pi");
    const intent: FakeIntent = {
      id,
      object: "payment_intent",
      amount,
      amount_received: 0,
      currency: body.currency,
      status: "requires_payment_method",
      client_secret: `${id}_secret_${randomBytes(12).toString("hex")}`,
      metadata: { ...(body.metadata ?? {}) },
      created: nowSeconds(),
      livemode: false,
      last_payment_error: null,
      latest_charge: null,
      cancellation_reason: null,
      payment_method_types: compatible ?? ["card"],
      automatic_payment_methods: body.automatic_payment_methods
        ? { enabled: body.automatic_payment_methods.enabled === "true" }
        : null,
      payment_method_options: body.payment_method_options ?? {},
      next_action: null,
    };
    this.intents.set(id, intent);
    this.created++;
    this.applyOutcome(intent, this.queuedOutcomes.shift() ?? this.defaultOutcome);
    return { status: 200, body: this.render(intent) };
  }

  /** Stripe lets the amount, currency and metadata change until the intent is processing or done. */
  private updateIntent(intent: FakeIntent, body: Record<string, any>) {
    if (!["requires_payment_method", "requires_confirmation", "requires_action"].includes(intent.status))
      return this.unexpectedState(intent, "update");
    if (body.amount !== undefined) {
      if (!/^\d+$/.test(String(body.amount)) || Number(body.amount) < 1) {
        return stripeError(400, "invalid_request_error", "Invalid positive integer", {
          code: "parameter_invalid_integer",
          param: "amount",
        });
      }
      intent.amount = Number(body.amount);
    }
    if (body.currency !== undefined) {
      if (typeof body.currency !== "string" || !/^[a-z]{3}$/.test(body.currency)) {
        return stripeError(400, "invalid_request_error", "Invalid currency", {
          code: "parameter_invalid_string",
          param: "currency",
        });
      }
      intent.currency = body.currency;
    }
    if (body.metadata && typeof body.metadata === "object") intent.metadata = { ...intent.metadata, ...body.metadata };
    return { status: 200, body: this.render(intent) };
  }

  /**
   * The client confirmed: the configured outcome happens now. With payment_method_data[type] alipay or
   * wechat_pay (a server-side confirmation), the intent waits for the payer with Stripe's next_action.
   */
  private confirmIntent(intent: FakeIntent, body: Record<string, any> = {}) {
    const type = body.payment_method_data?.type as string | undefined;
    if (type === "alipay" || type === "wechat_pay") {
      if (!["requires_payment_method", "requires_confirmation", "requires_action"].includes(intent.status))
        return this.unexpectedState(intent, "confirm");
      if (!intent.payment_method_types.includes(type)) {
        return stripeError(
          400,
          "invalid_request_error",
          `The payment method type "${type}" is not among this PaymentIntent's payment_method_types`,
          { code: "payment_intent_invalid_parameter", param: "payment_method_data[type]" },
        );
      }
      if (type === "alipay") {
        if (typeof body.return_url !== "string")
          return stripeError(400, "invalid_request_error", "Alipay needs a return_url", {
            code: "parameter_missing",
            param: "return_url",
          });
        intent.next_action = {
          type: "alipay_handle_redirect",
          alipay_handle_redirect: {
            url: `${this.url}/alipay/${intent.id}/redirect`,
            native_url: `alipays://platformapi/startapp?saId=10000007&qrcode=${intent.id}`,
            native_data: `https://qr.alipay.com/${intent.id}`,
            return_url: body.return_url,
          },
        };
      } else {
        if (body.payment_method_options?.wechat_pay?.client === undefined)
          return stripeError(
            400,
            "invalid_request_error",
            "WeChat Pay needs payment_method_options[wechat_pay][client]",
            {
              code: "parameter_missing",
              param: "payment_method_options[wechat_pay][client]",
            },
          );
        intent.next_action = {
          type: "wechat_pay_display_qr_code",
          wechat_pay_display_qr_code: {
            data: `weixin://wxpay/bizpayurl?pr=${intent.id.slice(3, 15)}`,
            hosted_instructions_url: `${this.url}/wechat_pay/${intent.id}`,
            image_data_url: "data:image/png;base64,iVBORw0KGgo=",
            image_url_png: `${this.url}/wechat_pay/${intent.id}/qr.png`,
            image_url_svg: `${this.url}/wechat_pay/${intent.id}/qr.svg`,
          },
        };
      }
      intent.status = "requires_action";
      return { status: 200, body: this.render(intent) };
    }
    if (intent.status !== "requires_payment_method" && intent.status !== "requires_confirmation")
      return this.unexpectedState(intent, "confirm");
    const outcome = this.queuedOutcomes.shift() ?? this.defaultOutcome;
    this.applyOutcome(intent, outcome === "requires_payment_method" ? "succeed" : outcome);
    return { status: 200, body: this.render(intent) };
  }

  private cancelIntent(intent: FakeIntent, body: Record<string, any>) {
    if (intent.status === "succeeded" || intent.status === "canceled" || intent.status === "processing")
      return this.unexpectedState(intent, "cancel");
    intent.status = "canceled";
    intent.cancellation_reason = typeof body.cancellation_reason === "string" ? body.cancellation_reason : null;
    return { status: 200, body: this.render(intent) };
  }

  private createRefund(body: Record<string, any>) {
    const intent = typeof body.payment_intent === "string" ? this.intents.get(body.payment_intent) : undefined;
    if (!intent)
      return stripeError(404, "invalid_request_error", "No such payment_intent", {
        code: "resource_missing",
        param: "payment_intent",
      });
    const charge = intent.latest_charge ? this.charges.get(intent.latest_charge) : undefined;
    if (intent.status !== "succeeded" || !charge) {
      return stripeError(
        400,
        "invalid_request_error",
        "This PaymentIntent does not have a successful charge to refund.",
        { code: "charge_not_refundable" },
      );
    }
    const remaining = charge.amount - charge.amount_refunded;
    const amount = body.amount === undefined ? remaining : Number(body.amount);
    if (!Number.isInteger(amount) || amount < 1)
      return stripeError(400, "invalid_request_error", "Invalid positive integer", {
        code: "parameter_invalid_integer",
        param: "amount",
      });
    if (amount > remaining)
      return stripeError(400, "invalid_request_error", "Refund amount is greater than unrefunded amount on charge", {
        code: "amount_too_large",
        param: "amount",
      });
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded === charge.amount;
    const refund: FakeRefund = {
      id: newId("re"),
      object: "refund",
      amount,
      currency: charge.currency,
      charge: charge.id,
      payment_intent: intent.id,
      status: "succeeded",
      created: nowSeconds(),
    };
    this.refunds.set(refund.id, refund);
    return { status: 200, body: refund };
  }

  private applyOutcome(intent: FakeIntent, outcome: IntentOutcome): void {
    if (outcome === "succeed") this.markSucceeded(intent);
    else if (outcome === "decline") this.markDeclined(intent);
    else if (outcome === "processing") intent.status = "processing";
  }

  private markSucceeded(intent: FakeIntent): void {
    intent.status = "succeeded";
    intent.next_action = null;
    intent.amount_received = intent.amount;
    intent.last_payment_error = null;
    if (!intent.latest_charge) {
      const charge: FakeCharge = {
        id: newId("ch"),
        object: "charge",
        amount: intent.amount,
        amount_refunded: 0,
        currency: intent.currency,
        payment_intent: intent.id,
        refunded: false,
        status: "succeeded",
        created: nowSeconds(),
      };
      this.charges.set(charge.id, charge);
      intent.latest_charge = charge.id;
    }
  }

  private markDeclined(intent: FakeIntent): void {
    intent.status = "requires_payment_method";
    intent.last_payment_error = {
      type: "card_error",
      code: "card_declined",
      decline_code: "generic_decline",
      message: "Your card was declined.",
    };
  }

  private unexpectedState(intent: FakeIntent, action: string) {
    return stripeError(
      400,
      "invalid_request_error",
      `You cannot ${action} this PaymentIntent because it has a status of ${intent.status}.`,
      { code: "payment_intent_unexpected_state", payment_intent: this.render(intent) },
    );
  }

  private render(intent: FakeIntent, expand?: unknown): Record<string, unknown> {
    const copy = structuredClone(intent) as unknown as Record<string, unknown>;
    const expanded = Array.isArray(expand) ? expand : [];
    if (expanded.includes("latest_charge") && intent.latest_charge)
      copy.latest_charge = structuredClone(this.charges.get(intent.latest_charge));
    return copy;
  }
}
