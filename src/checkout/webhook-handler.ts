// What a verified payment webhook does to our orders. The route re-read the payment from the
// provider, so its status, amount and currency are the truth now, whatever order the events
// arrived in. Only the order's own payment moves an order: the intent recorded on it, for its SME
// share in CNY (paymentMismatch). Any other payment is logged, recorded for the admin
// (PAYMENT_MISMATCH in the audit trail) and acknowledged; the order stays as it is.
import { eq } from "drizzle-orm";
import { orders } from "../db/schema.js";
import type { AppServices } from "../services.js";
import type { Logger } from "../logger.js";
import type { PaymentEventHandler } from "../payments/provider.js";
import { afterSettled } from "./checkout.service.js";
import { applyPaymentStatus, lockOrder, paymentMismatch, recordPaymentMismatch } from "./settlement.js";

/** The order a payment's metadata names, when it names one that could exist. */
function orderIdOf(metadata: Record<string, string>): number | null {
  return /^[1-9]\d{0,14}$/.test(metadata.orderId ?? "") ? Number(metadata.orderId) : null;
}

export function paymentEventsFor(app: AppServices, logger?: Logger): PaymentEventHandler {
  return {
    async onPaymentOutcome(tx, outcome, now) {
      if (outcome.eventType === "charge.refunded") return; // our own refunds: the order already says so
      const event = { eventId: outcome.eventId, eventType: outcome.eventType, paymentRef: outcome.ref };
      const [byRef] = await tx.select({ id: orders.id }).from(orders).where(eq(orders.paymentRef, outcome.ref));
      const orderId = byRef?.id ?? orderIdOf(outcome.metadata);
      const order = orderId == null ? null : await lockOrder(tx, orderId);
      if (!order) {
        // This server creates a payment only once its order is committed: a payment that names no
        // order (or one that does not exist) is not ours to act on, now or on a retry.
        logger?.warn(
          { ...event, orderId: outcome.metadata.orderId ?? null },
          "payment webhook names no order; ignored",
        );
        return;
      }
      if (!order.paymentRef && order.status === "PENDING_PAYMENT") {
        // The order's own payment is not recorded yet (the checkout is recording it, or the
        // reconciler will): until it is, no payment can be judged against it. The provider retries.
        throw new Error("the order's payment is not recorded yet");
      }
      const mismatch = paymentMismatch(order, outcome);
      // A foreign payment changes nothing; the order's own may still fail or be cancelled, but it
      // makes the order PAID only for the order's amount and currency.
      if (mismatch && (mismatch.foreign || outcome.status === "succeeded")) {
        logger?.warn(
          { ...event, orderId: order.id, status: outcome.status, reason: mismatch.reason },
          "payment webhook does not match its order; the order is left as it is",
        );
        await recordPaymentMismatch(tx, order, outcome, mismatch.reason, outcome.eventId, now);
        return;
      }
      const settled = await applyPaymentStatus(tx, order, outcome.status, now);
      // A failure after commit is left to the reconciler (refunds due, re-matching).
      return () => afterSettled(app, settled, now).catch(() => {});
    },
  };
}
