// Stripe PaymentIntents through the official SDK. The client app confirms with the client secret;
// the outcome arrives by signed webhook (see webhook.route.ts) and is re-read from here.
import Stripe from "stripe";
import {
  PAYMENT_CURRENCY,
  PaymentNotFoundError,
  PaymentProviderError,
  ProviderUnavailableError,
  fenToProviderAmount,
  type CancelResult,
  type ConfirmPaymentInput,
  type CreatedPayment,
  type PaymentAction,
  type CreatePaymentInput,
  type PaymentProvider,
  type PaymentStatus,
  type RefundResult,
  type RefundStatus,
  type RetrievedPayment,
} from "./provider.js";

export interface StripeProviderOptions {
  secretKey: string;
  /** The payment method types of every intent (STRIPE_PAYMENT_METHODS); default card. */
  paymentMethods?: readonly string[];
  /** e.g. `http://127.0.0.1:12111`: another host for the API (a local Stripe-like server). */
  apiBase?: string;
  /** Per attempt; the SDK retries connection errors, timeouts, 409 and 5xx `maxNetworkRetries` times. */
  timeoutMs?: number;
  maxNetworkRetries?: number;
}

export const STRIPE_DEFAULT_TIMEOUT_MS = 10_000;

/** SDK host settings from a base URL; throws on anything that is not an http(s) URL. */
export function stripeHostOptions(apiBase: string | undefined): {
  host?: string;
  port?: number;
  protocol?: "http" | "https";
} {
  if (!apiBase) return {};
  let url: URL;
  try {
    url = new URL(apiBase);
  } catch {
    throw new Error("STRIPE_API_BASE must be an http(s) URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("STRIPE_API_BASE must be an http(s) URL");
  const protocol = url.protocol === "http:" ? "http" : "https";
  const port = url.port ? Number(url.port) : protocol === "http" ? 80 : 443;
  return { host: url.hostname, port, protocol };
}

/** Our status for a PaymentIntent: a declined attempt (back to requires_payment_method with an error) is `failed`. */
export function paymentStatusOf(intent: { status: string; last_payment_error?: unknown }): PaymentStatus {
  switch (intent.status) {
    case "succeeded":
      return "succeeded";
    case "canceled":
      return "canceled";
    case "processing":
    case "requires_capture": // authorised, not captured yet: still in flight
      return "processing";
    case "requires_action":
      return "requires_action";
    case "requires_payment_method":
      return intent.last_payment_error ? "failed" : "requires_payment_method";
    case "requires_confirmation":
      return "requires_payment_method";
    default:
      // An unknown new status is treated as unsettled: never as paid or as failed.
      return "processing";
  }
}

export function refundStatusOf(status: string | null | undefined): RefundStatus {
  switch (status) {
    case "succeeded":
      return "succeeded";
    case "failed":
      return "failed";
    case "canceled":
      return "canceled";
    default:
      return "pending";
  }
}

/** Maps SDK errors to the provider's error types; a card decline is not an error here (see callers). */
export function providerErrorOf(error: unknown, ref?: string): Error {
  if (!(error instanceof Stripe.errors.StripeError)) return error instanceof Error ? error : new Error(String(error));
  const status = error.statusCode;
  if (
    error instanceof Stripe.errors.StripeConnectionError ||
    error.type === "StripeConnectionError" ||
    status === undefined ||
    status >= 500 ||
    status === 429
  ) {
    return new ProviderUnavailableError("The payment provider is unavailable; the outcome is unknown", {
      cause: error,
    });
  }
  if (status === 404 && ref && error.code === "resource_missing")
    return new PaymentNotFoundError(ref, { cause: error });
  const code = error.code ?? error.rawType ?? error.type;
  return new PaymentProviderError(`The payment provider refused the request (${code})`, code, { cause: error });
}

/** What the payer must do next, from an intent's next_action; null when nothing. */
export function nextActionOf(intent: Pick<Stripe.PaymentIntent, "next_action">): PaymentAction | null {
  const next = intent.next_action as (Record<string, unknown> & { type: string }) | null | undefined;
  if (!next) return null;
  const detail = (next[next.type] ?? {}) as Record<string, unknown>;
  const text = (key: string) => (typeof detail[key] === "string" ? (detail[key] as string) : null);
  return {
    type: next.type,
    redirectUrl: text("url"),
    nativeUrl: text("native_url"),
    qrCodeData: text("data"),
    qrCodeImageUrlPng: text("image_url_png"),
    qrCodeImageUrlSvg: text("image_url_svg"),
    hostedInstructionsUrl: text("hosted_instructions_url"),
  };
}

function createdOf(intent: Stripe.PaymentIntent): CreatedPayment {
  return {
    ref: intent.id,
    clientSecret: intent.client_secret,
    status: paymentStatusOf(intent),
    methods: intent.payment_method_types ?? [],
    nextAction: nextActionOf(intent),
  };
}

function metadataOf(metadata: Stripe.Metadata | null | undefined): Record<string, string> {
  return { ...(metadata ?? {}) };
}

export class StripeProvider implements PaymentProvider {
  readonly name = "stripe" as const;
  private readonly stripe: Stripe;
  private readonly paymentMethods: string[];

  constructor(options: StripeProviderOptions) {
    this.paymentMethods = [...(options.paymentMethods ?? ["card"])];
    this.stripe = new Stripe(options.secretKey, {
      ...stripeHostOptions(options.apiBase),
      maxNetworkRetries: options.maxNetworkRetries ?? 2,
      timeout: options.timeoutMs ?? STRIPE_DEFAULT_TIMEOUT_MS,
      telemetry: false,
    });
  }

  async createPayment(input: CreatePaymentInput): Promise<CreatedPayment> {
    const amount = fenToProviderAmount(input.amount);
    try {
      const intent = await this.stripe.paymentIntents.create(
        {
          amount,
          currency: PAYMENT_CURRENCY,
          // The methods SMEs in China pay with, as configured. Stripe's API version of this SDK takes them
          // as allowed_payment_method_types (payment_method_types is no longer writable) and answers the
          // compatible ones in the intent's payment_method_types. WeChat Pay shows its QR code on a web page.
          allowed_payment_method_types: this.paymentMethods,
          ...(this.paymentMethods.includes("wechat_pay")
            ? { payment_method_options: { wechat_pay: { client: "web" } } }
            : {}),
          metadata: { ...input.metadata, orderId: String(input.orderId) },
        },
        { idempotencyKey: input.idempotencyKey },
      );
      return createdOf(intent);
    } catch (error) {
      // A decline while creating (only when confirming at once) leaves an intent behind: report it as failed.
      if (error instanceof Stripe.errors.StripeCardError && error.payment_intent?.id) {
        return { ref: error.payment_intent.id, clientSecret: error.payment_intent.client_secret, status: "failed" };
      }
      throw providerErrorOf(error);
    }
  }

  async confirmPayment(ref: string, input: ConfirmPaymentInput, idempotencyKey: string): Promise<CreatedPayment> {
    try {
      const intent = await this.stripe.paymentIntents.confirm(
        ref,
        {
          payment_method_data: { type: input.method } as Stripe.PaymentIntentConfirmParams.PaymentMethodData,
          ...(input.returnUrl ? { return_url: input.returnUrl } : {}),
          ...(input.method === "wechat_pay" ? { payment_method_options: { wechat_pay: { client: "web" } } } : {}),
        },
        { idempotencyKey },
      );
      return createdOf(intent);
    } catch (error) {
      throw providerErrorOf(error, ref);
    }
  }

  async retrievePayment(ref: string): Promise<RetrievedPayment> {
    try {
      const intent = await this.stripe.paymentIntents.retrieve(ref, { expand: ["latest_charge"] });
      const charge = intent.latest_charge && typeof intent.latest_charge === "object" ? intent.latest_charge : null;
      return {
        ref: intent.id,
        status: paymentStatusOf(intent),
        amount: BigInt(intent.amount),
        currency: intent.currency.toLowerCase(),
        amountRefunded: BigInt(charge?.amount_refunded ?? 0),
        metadata: metadataOf(intent.metadata),
      };
    } catch (error) {
      throw providerErrorOf(error, ref);
    }
  }

  async cancelPayment(ref: string, idempotencyKey: string): Promise<CancelResult> {
    try {
      const intent = await this.stripe.paymentIntents.cancel(ref, {}, { idempotencyKey });
      return { ref: intent.id, status: paymentStatusOf(intent) };
    } catch (error) {
      // Already paid (or already canceled): the caller needs the true state, not an error.
      if (error instanceof Stripe.errors.StripeError && error.code === "payment_intent_unexpected_state") {
        const current = await this.retrievePayment(ref);
        return { ref, status: current.status };
      }
      throw providerErrorOf(error, ref);
    }
  }

  async refundPayment(ref: string, amount: bigint, idempotencyKey: string): Promise<RefundResult> {
    const fen = fenToProviderAmount(amount);
    try {
      const refund = await this.stripe.refunds.create({ payment_intent: ref, amount: fen }, { idempotencyKey });
      return { ref: refund.id, status: refundStatusOf(refund.status) };
    } catch (error) {
      throw providerErrorOf(error, ref);
    }
  }
}

/** Verifies a webhook's `Stripe-Signature` on the raw body (throws a signature error) and parses the event. */
export function constructStripeEvent(rawBody: Buffer, signatureHeader: string, webhookSecret: string): Stripe.Event {
  return Stripe.webhooks.constructEvent(rawBody, signatureHeader, webhookSecret);
}

export function isSignatureError(error: unknown): boolean {
  return error instanceof Stripe.errors.StripeSignatureVerificationError;
}
