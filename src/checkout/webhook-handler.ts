// What a verified payment webhook does to our orders. The route re-read the payment from the
// provider, so `status` is the truth now, whatever order the events arrived in.
import { eq } from "drizzle-orm";
import { orders } from "../db/schema.js";
import type { AppServices } from "../graphql/context.js";
import type { PaymentEventHandler } from "../payments/provider.js";
import { afterSettled } from "./checkout.service.js";
import { applyPaymentStatus, lockOrder } from "./settlement.js";

export function paymentEventsFor(app: AppServices): PaymentEventHandler {
  return {
    async onPaymentOutcome(tx, outcome, now) {
      if (outcome.eventType === "charge.refunded") return; // our own refunds: the order already says so
      const [byRef] = await tx.select({ id: orders.id }).from(orders).where(eq(orders.paymentRef, outcome.ref));
      const metadataId = /^\d{1,15}$/.test(outcome.metadata.orderId ?? "") ? Number(outcome.metadata.orderId) : null;
      const order = await lockOrder(tx, byRef?.id ?? metadataId ?? 0);
      // The order that made this payment may not be committed yet: throwing makes the provider retry.
      if (!order) throw new Error("no order for this payment yet");
      const settled = await applyPaymentStatus(tx, order, outcome.status, now);
      // A failure after commit is left to the reconciler (refunds due, re-matching).
      return () => afterSettled(app, settled, now).catch(() => {});
    },
  };
}
