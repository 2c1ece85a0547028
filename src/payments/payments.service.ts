// Choosing the provider, and turning verified Stripe events into payment outcomes for the checkout.
import { eq } from "drizzle-orm";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { webhookEvents } from "../db/schema.js";
import {
  PaymentNotFoundError,
  type PaymentEventHandler,
  type PaymentOutcome,
  type PaymentProvider,
} from "./provider.js";
import { SimulatedProvider } from "./simulated.js";
import { StripeProvider } from "./stripe.js";

/** Stripe when a secret key is set, else the simulated provider. */
export function createPaymentProvider(
  config: Pick<Config, "stripeSecretKey" | "stripeApiBase"> & Partial<Pick<Config, "stripePaymentMethods">>,
  options: { timeoutMs?: number } = {},
): PaymentProvider {
  if (!config.stripeSecretKey) return new SimulatedProvider();
  return new StripeProvider({
    secretKey: config.stripeSecretKey,
    apiBase: config.stripeApiBase,
    paymentMethods: config.stripePaymentMethods,
    timeoutMs: options.timeoutMs,
  });
}

/** A line for the start-up log: which provider, and where webhooks stand. Never contains a secret. */
export function describePayments(config: Pick<Config, "stripeSecretKey" | "stripeWebhookSecret" | "stripeApiBase">): {
  level: "info" | "warn";
  message: string;
  detail: Record<string, string>;
} {
  if (!config.stripeSecretKey) {
    return {
      level: "info",
      message: "payments are simulated (no STRIPE_SECRET_KEY): every payment succeeds at once",
      detail: { provider: "simulated" },
    };
  }
  const detail: Record<string, string> = {
    provider: "stripe",
    mode: config.stripeSecretKey.startsWith("sk_live_") ? "live" : "test",
  };
  if (config.stripeApiBase) {
    try {
      detail.apiBase = new URL(config.stripeApiBase).origin; // origin only: no credentials in logs
    } catch {
      detail.apiBase = "(invalid)";
    }
  }
  if (!config.stripeWebhookSecret) {
    return {
      level: "warn",
      message: "payments use Stripe, but STRIPE_WEBHOOK_SECRET is unset: POST /webhooks/stripe refuses every event",
      detail,
    };
  }
  return { level: "info", message: "payments use Stripe; webhooks at POST /webhooks/stripe", detail };
}

/** The parts of a Stripe event this module reads (the route verified the signature). */
export interface StripeEventLike {
  id: string;
  type: string;
  data: { object: unknown };
}

export const PAYMENT_EVENT_TYPES: ReadonlySet<string> = new Set([
  "payment_intent.succeeded",
  "payment_intent.payment_failed",
  "payment_intent.canceled",
  "payment_intent.processing",
  "charge.refunded",
]);

/** The PaymentIntent an event is about, or null for events this module does not handle. */
export function paymentRefOf(event: StripeEventLike): string | null {
  if (!PAYMENT_EVENT_TYPES.has(event.type)) return null;
  const object = event.data?.object as { id?: unknown; payment_intent?: unknown } | undefined;
  if (!object) return null;
  if (event.type.startsWith("payment_intent.")) return typeof object.id === "string" ? object.id : null;
  const intent = object.payment_intent;
  if (typeof intent === "string") return intent;
  if (intent && typeof intent === "object" && typeof (intent as { id?: unknown }).id === "string")
    return (intent as { id: string }).id;
  return null;
}

export type WebhookResult = "handled" | "duplicate" | "ignored" | "unknown_payment";

export interface WebhookDeps {
  db: Db;
  payments: PaymentProvider;
  paymentEvents: PaymentEventHandler;
}

/**
 * Handles one verified event at most once. The payment is re-read from the provider (events come in
 * any order and may be stale), then the event id is recorded and the checkout's handler runs in ONE
 * transaction: if the handler fails, neither stays, and the provider's retry handles it again.
 * Throws (→ HTTP 500, so Stripe retries) when the provider is unavailable or the handler fails.
 */
export async function handleStripeEvent(deps: WebhookDeps, event: StripeEventLike, now: Date): Promise<WebhookResult> {
  const ref = paymentRefOf(event);
  if (!ref) return "ignored";

  // Cheap check first, so a redelivered event does not cost a call to the provider.
  const seen = await deps.db
    .select({ id: webhookEvents.id })
    .from(webhookEvents)
    .where(eq(webhookEvents.id, event.id))
    .limit(1);
  if (seen.length) return "duplicate";

  let payment;
  try {
    payment = await deps.payments.retrievePayment(ref);
  } catch (error) {
    // A verified event about a payment our key cannot see (other account or mode): retrying cannot help.
    if (error instanceof PaymentNotFoundError) return "unknown_payment";
    throw error;
  }
  const outcome: PaymentOutcome = {
    eventId: event.id,
    eventType: event.type,
    ref: payment.ref,
    status: payment.status,
    amount: payment.amount,
    currency: payment.currency,
    amountRefunded: payment.amountRefunded,
    metadata: payment.metadata,
  };

  const later: { run?: (() => Promise<void>) | void } = {};
  const result = await deps.db.transaction(async (tx) => {
    // The row is the claim: a concurrent delivery of the same event waits here, then finds it taken.
    const inserted = await tx
      .insert(webhookEvents)
      .values({ id: event.id, type: event.type, receivedAt: now })
      .onConflictDoNothing({ target: webhookEvents.id })
      .returning({ id: webhookEvents.id });
    if (!inserted.length) return "duplicate" as const;
    later.run = await deps.paymentEvents.onPaymentOutcome(tx, outcome, now);
    return "handled" as const;
  });
  // Work outside the database (refunds, re-matching) runs once the handling has committed.
  if (later.run) await later.run();
  return result;
}
