// POST /webhooks/stripe: mounted with express.raw() before any JSON parser, since the signature is
// over the exact bytes Stripe sent.
import type { Request, RequestHandler, Response } from "express";
import type { AppServices } from "../services.js";
import type { Logger } from "../logger.js";
import { handleStripeEvent } from "./payments.service.js";
import { constructStripeEvent, isSignatureError } from "./stripe.js";

/** A delivery's outcome for /metrics: the result when handled, else why not (from the answer). */
function outcomeOf(status: number, body: Record<string, unknown>): string {
  if (typeof body.result === "string") return body.result;
  if (status === 404) return "not_configured";
  if (status >= 500) return "error";
  return String(body.error).includes("Signature") ? "bad_signature" : "bad_request";
}

/** The request clock: tests may set it with X-Now when the test clock is on; Stripe never does. */
function clockOf(req: Request, services: AppServices): Date | null {
  const header = services.config.testClock ? req.headers["x-now"] : undefined;
  if (typeof header !== "string") return new Date();
  const now = new Date(header);
  return Number.isNaN(now.getTime()) ? null : now;
}

export function stripeWebhookRoute(services: AppServices, logger: Logger): RequestHandler {
  // Every answer is sent here, and counted once by outcome.
  const reply = (res: Response, status: number, body: Record<string, unknown>): void => {
    services.meters.webhook(outcomeOf(status, body));
    res.status(status).json(body);
  };
  return async (req, res) => {
    const { stripeSecretKey, stripeWebhookSecret } = services.config;
    if (!stripeSecretKey || !stripeWebhookSecret || services.payments.name !== "stripe") {
      return reply(res, 404, { error: "Stripe webhooks are not configured on this server" });
    }
    const signature = req.headers["stripe-signature"];
    if (typeof signature !== "string" || !signature)
      return reply(res, 400, { error: "Missing Stripe-Signature header" });
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);

    let event;
    try {
      event = constructStripeEvent(rawBody, signature, stripeWebhookSecret);
    } catch (error) {
      if (isSignatureError(error)) return reply(res, 400, { error: "Invalid Stripe-Signature" });
      // A signed body that is not a JSON event.
      return reply(res, 400, { error: "The body is not a Stripe event" });
    }
    if (typeof event?.id !== "string" || typeof event?.type !== "string")
      return reply(res, 400, { error: "The body is not a Stripe event" });

    const now = clockOf(req, services);
    if (!now) return reply(res, 400, { error: "X-Now must be an ISO-8601 time" });

    try {
      const result = await handleStripeEvent(
        { db: services.db, payments: services.payments, paymentEvents: services.paymentEvents },
        event,
        now,
      );
      if (result === "unknown_payment")
        logger.warn(
          { eventId: event.id, eventType: event.type },
          "webhook about a payment the provider does not know; ignored",
        );
      return reply(res, 200, { received: true, result });
    } catch (error) {
      // Stripe retries non-2xx deliveries: nothing was recorded, so the retry handles the event again.
      logger.error(
        { err: error, eventId: event.id, eventType: event.type },
        "webhook handling failed; the provider will retry",
      );
      return reply(res, 500, { error: "Internal error; retry later" });
    }
  };
}
