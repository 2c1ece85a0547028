// Moving an order forward once the payment's outcome is known, from whichever source tells first:
// the checkout's own call, a webhook, the reconciler or a cancellation. Every step locks the order
// row first and only moves it forward, so repeats and races settle on one outcome.
// Lock order: order, then offer and reservation, then the order's spend_by_month group (taken by
// the update into or out of PAID), then program (the ledger's), as everywhere else.
import { eq } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { Conflict } from "../errors.js";
import { canMove } from "../states.js";
import { orders } from "../db/schema.js";
import { confirmReservation, releaseReservation } from "../bids/reservations.service.js";
import { postSubsidy, voidSubsidy } from "../ledger/ledger.service.js";
import { recordAuditOnce } from "../audit/audit.service.js";
import { PAYMENT_CURRENCY, type PaymentStatus } from "../payments/provider.js";
import { globalId } from "../graphql/ids.js";
import { orderStates } from "./order-states.js";
import { updateOrder } from "./checkout.queries.js";

export type OrderRow = typeof orders.$inferSelect;

/** What a settlement step leaves for after the commit. */
export interface Settled {
  order: OrderRow;
  /** GPU model whose capacity was freed: re-match its open bids. */
  freedGpuModelId: number | null;
  /** The provider took money for an order that can no longer be served: refund it. */
  refundDue: boolean;
  /** An unpaid payment that must be cancelled at the provider so that it cannot be paid later. */
  cancelDue: boolean;
}

export async function lockOrder(tx: Executor, id: number): Promise<OrderRow | null> {
  const [row] = await tx.select().from(orders).where(eq(orders.id, id)).for("update");
  return row ?? null;
}

const unchanged = (order: OrderRow): Settled => ({ order, freedGpuModelId: null, refundDue: false, cancelDue: false });

/** PENDING_PAYMENT -> PAID: the reservation is confirmed and the subsidy posted (with its claim line). */
export async function markPaid(tx: Executor, order: OrderRow, now: Date): Promise<Settled> {
  if (order.status === "PAID" || order.status === "REFUNDED") return unchanged(order);
  if (!canMove(orderStates, order.status, "PAID")) {
    // Paid after we gave up on it (cancelled or failed): the money goes back.
    const [row] = await tx
      .update(orders)
      .set({ paymentStatus: "succeeded", updatedAt: now })
      .where(eq(orders.id, order.id))
      .returning();
    return { ...unchanged(row), refundDue: order.smeShare > 0n };
  }
  try {
    await confirmReservation(tx, order.reservationId, now);
  } catch (error) {
    // Only a refusal (CONFLICT) is handled here; a database error aborts the whole transaction.
    if (!(error instanceof Conflict)) throw error;
    // The hold lapsed and its GPUs went to someone else before the money arrived: undo and refund.
    const failed = await markUnpaid(tx, order, "FAILED", now);
    return { ...failed, refundDue: order.smeShare > 0n, cancelDue: false };
  }
  // The order's update, then the ledger's program lock and move: sent in this order (the lock
  // order), in one round trip. The ledger needs nothing from the update but the payment's time.
  const [row] = await Promise.all([
    updateOrder(tx, order.id, { status: "PAID", paidAt: now, paymentStatus: "succeeded", updatedAt: now }),
    postSubsidy(tx, { ...order, paidAt: now }, now),
  ]);
  return unchanged(row!);
}

/** PENDING_PAYMENT -> FAILED or CANCELLED: the subsidy goes back and the capacity is freed. */
export async function markUnpaid(
  tx: Executor,
  order: OrderRow,
  status: "FAILED" | "CANCELLED",
  now: Date,
  paymentStatus?: string,
): Promise<Settled> {
  if (!canMove(orderStates, order.status, status)) return unchanged(order);
  const [row] = await tx
    .update(orders)
    .set({ status, updatedAt: now, ...(paymentStatus ? { paymentStatus } : {}) })
    .where(eq(orders.id, order.id))
    .returning();
  // Reservation before program: the lock order every path keeps (offer, reservation, program).
  const freedGpuModelId = await releaseReservation(tx, order.reservationId, "CANCELLED", now);
  await voidSubsidy(tx, row);
  return { order: row, freedGpuModelId, refundDue: false, cancelDue: !!order.paymentRef };
}

/** A payment as the provider reported it: which one, and for how much. */
export interface ReportedPayment {
  ref: string;
  status: PaymentStatus;
  /** Fen; null when the provider cannot tell (the simulated provider). */
  amount: bigint | null;
  currency: string | null;
}

/**
 * Why a reported payment is not the order's own, or not for what the order charges: null when it
 * is the intent recorded on the order, for its SME share, in CNY. Only such a payment may make an
 * order PAID; a payment that is not the order's own changes nothing on it.
 */
export function paymentMismatch(
  order: Pick<OrderRow, "paymentRef" | "smeShare">,
  payment: Omit<ReportedPayment, "status">,
): { reason: string; foreign: boolean } | null {
  if (payment.ref !== order.paymentRef) {
    return {
      reason: order.paymentRef ? `the order's payment is ${order.paymentRef}` : "the order has no payment of its own",
      foreign: true,
    };
  }
  if (payment.currency != null && payment.currency.toLowerCase() !== PAYMENT_CURRENCY) {
    return { reason: `currency ${payment.currency}, the order's is ${PAYMENT_CURRENCY}`, foreign: false };
  }
  if (payment.amount != null && payment.amount !== order.smeShare) {
    return { reason: `amount ${payment.amount} fen, the order's share is ${order.smeShare} fen`, foreign: false };
  }
  return null;
}

/**
 * Records a payment the server refused to settle the order with, for the admin (the audit trail's
 * PAYMENT_MISMATCH, once per finding); the order is left as it is. Call under the order's lock.
 */
export async function recordPaymentMismatch(
  tx: Executor,
  order: OrderRow,
  payment: ReportedPayment,
  reason: string,
  source: string,
  now: Date,
): Promise<void> {
  const amount = payment.amount == null ? "unknown amount" : `${payment.amount} ${payment.currency ?? ""}`.trim();
  await recordAuditOnce(
    tx,
    { organizationId: null, apiKeyId: null, role: "SYSTEM", requestId: source, now },
    {
      action: "PAYMENT_MISMATCH",
      targetId: order.id,
      detail: `${payment.ref} (${payment.status}, ${amount}) not applied to ${order.status} order ${globalId("Order", order.id)}: ${reason}`,
    },
  );
}

/** Applies a status the provider reported (created, re-read or pushed by a webhook). */
export async function applyPaymentStatus(
  tx: Executor,
  order: OrderRow,
  status: PaymentStatus,
  now: Date,
): Promise<Settled> {
  switch (status) {
    case "succeeded":
      return markPaid(tx, order, now);
    case "failed":
      return markUnpaid(tx, order, "FAILED", now, status);
    case "canceled":
      return { ...(await markUnpaid(tx, order, "CANCELLED", now, status)), cancelDue: false };
    default: {
      if (order.status !== "PENDING_PAYMENT" || order.paymentStatus === status) return unchanged(order);
      const [row] = await tx
        .update(orders)
        .set({ paymentStatus: status, updatedAt: now })
        .where(eq(orders.id, order.id))
        .returning();
      return unchanged(row);
    }
  }
}
