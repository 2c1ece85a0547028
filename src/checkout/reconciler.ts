// Finishes orders whose payment outcome was never heard: the process died between reserving the
// subsidy and hearing from the provider, or a webhook was lost. Safe on several processes at once:
// each step locks the order and only moves it forward, and provider calls reuse the order's keys.
import { and, asc, eq, gt, inArray, isNotNull, lt } from "drizzle-orm";
import { orders } from "../db/schema.js";
import type { AppServices, MaintenanceTask } from "../services.js";
import { PaymentNotFoundError, ProviderUnavailableError, type RetrievedPayment } from "../payments/provider.js";
import { addMinutes } from "../time.js";
import { afterSettled, PAYMENT_WINDOW_MINUTES, paymentKey, settleOrder, startPayment } from "./checkout.service.js";
import {
  applyPaymentStatus,
  lockOrder,
  markUnpaid,
  paymentMismatch,
  recordPaymentMismatch,
  type OrderRow,
} from "./settlement.js";

/** Orders younger than this are left to the request that created them. */
const GRACE_MINUTES = 2;
const BATCH = 100;

async function reconcileOne(app: AppServices, seen: OrderRow, now: Date): Promise<boolean> {
  let order = seen;
  const expired = order.createdAt <= addMinutes(now, -PAYMENT_WINDOW_MINUTES);
  if (!order.paymentRef) {
    let after: OrderRow | null = null;
    try {
      // Creates the payment, or finds the one a crashed request created, by the order's key.
      after = await startPayment(app, order, now);
    } catch {
      if (!expired) return false;
    }
    if (!expired) return !!after && (after.status !== order.status || !!after.paymentRef);
    if (after && after.status !== "PENDING_PAYMENT") return true;
    if (!after?.paymentRef) {
      // The provider was never reached within the window: nobody can have paid (no client secret).
      await settleOrder(app, order.id, (tx, locked) => markUnpaid(tx, locked, "FAILED", now, "unreachable"), now);
      return true;
    }
    // Past its window: that payment is settled or cancelled below, like any other.
    order = after;
  }
  const paymentRef = order.paymentRef!;
  let payment: RetrievedPayment;
  try {
    payment = await app.payments.retrievePayment(paymentRef);
  } catch (error) {
    if (error instanceof ProviderUnavailableError) return false;
    if (!(error instanceof PaymentNotFoundError)) throw error;
    payment = { ref: paymentRef, status: "canceled", amount: null, currency: null, amountRefunded: null, metadata: {} };
  }
  const { status } = payment;
  // Paid, but not for the order's amount in CNY (the intent was changed at the provider): never
  // PAID from it. Recorded for the admin; the order stays as it is.
  const mismatch = paymentMismatch(order, payment);
  const refuse = async () => {
    await app.db.transaction(async (tx) => {
      const locked = await lockOrder(tx, order.id);
      if (locked)
        await recordPaymentMismatch(
          tx,
          locked,
          { ...payment, status: "succeeded" },
          mismatch!.reason,
          "reconciler",
          now,
        );
    });
    return false;
  };
  if (status === "succeeded" && mismatch) return refuse();
  // Within the window, or once the provider has decided (or is still processing): apply what it says.
  const decided = status === "succeeded" || status === "failed" || status === "canceled" || status === "processing";
  if (!expired || decided) {
    const settled = await settleOrder(app, order.id, (tx, locked) => applyPaymentStatus(tx, locked, status, now), now);
    return settled.status !== order.status;
  }
  // Still waiting for the client after the window: cancel it so it cannot be paid, then free everything.
  const cancelled = await app.payments.cancelPayment(paymentRef, paymentKey(order.id, "cancel"));
  if (cancelled.status === "succeeded" && mismatch) return refuse();
  await settleOrder(app, order.id, (tx, locked) => applyPaymentStatus(tx, locked, cancelled.status, now), now);
  return true;
}

/** Money taken for orders that could not be served (paid after they failed): give it back. */
async function refundsDue(app: AppServices, now: Date): Promise<number> {
  const due = await app.db
    .select()
    .from(orders)
    .where(
      and(
        inArray(orders.status, ["FAILED", "CANCELLED"]),
        eq(orders.paymentStatus, "succeeded"),
        isNotNull(orders.paymentRef),
        gt(orders.smeShare, 0n),
      ),
    )
    .limit(BATCH);
  let refunded = 0;
  for (const order of due) {
    try {
      await afterSettled(app, { order, refundDue: true, cancelDue: false, freedGpuModelId: null }, now);
      refunded++;
    } catch {
      // Retried on the next run.
    }
  }
  return refunded;
}

export async function reconcilePayments(app: AppServices, now: Date): Promise<number> {
  const stale = await app.db
    .select()
    .from(orders)
    .where(and(eq(orders.status, "PENDING_PAYMENT"), lt(orders.updatedAt, addMinutes(now, -GRACE_MINUTES))))
    .orderBy(asc(orders.updatedAt))
    .limit(BATCH);
  let changed = 0;
  for (const order of stale) {
    try {
      if (await reconcileOne(app, order, now)) changed++;
    } catch {
      // One order's trouble must not stop the others; the next run tries again.
    }
  }
  return changed + (await refundsDue(app, now));
}

export const reconcilerTask: MaintenanceTask = { name: "reconcile-payments", run: reconcilePayments };
