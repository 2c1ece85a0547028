// Checkout: one transaction commits the order, its subsidy reservation and a longer hold; then the
// provider is asked for the SME's share. Every provider call carries a key derived from the order,
// so a retry (by the client, the reconciler or after a crash) can never charge twice.
//
// Lock order of the checkout's transaction, always in this order:
//   1. the SME's idempotency key: a transaction-scoped advisory lock on the hash of (SME, key);
//   2. the reservation's offer, then the reservation (lockForPayment);
//   3. the program, then the voucher, then the SME's annual counter (priceReservation, the ledger's order);
//   4. the new order's row (its insert).
// The key's lock comes first so that two checkouts with one key wait for each other before they
// hold anything else: the second reads the first's order once that is committed and never inserts
// a row with the same key. Without it, the second (holding the program) waited on the unique index
// for the settlement of the first's order, which waited for the program: a deadlock.
// Once the order is committed, the client is told about it whatever happens next: the order, or
// an error that carries its orderId.
import { createHash } from "node:crypto";
import { and, count, desc, eq, lt } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { orders, reservations } from "../db/schema.js";
import type { AppServices } from "../services.js";
import { badInput, conflict, notFound, PaymentFailed, PaymentNotStarted, pgCode } from "../errors.js";
import { decodeCursor, encodeCursor, toPage } from "../graphql/pagination.js";
import { extendLockedHold, liveOrderOf, lockForPayment, releaseReservation } from "../bids/reservations.service.js";
import { rematchModels } from "../bids/rematch.js";
import { refundSubsidy, reserveSubsidy } from "../ledger/ledger.service.js";
import { priceReservation, type PricedReservation } from "../vouchers/quote.service.js";
import {
  ProviderUnavailableError,
  PaymentProviderError,
  type ConfirmPaymentInput,
  type CreatedPayment,
} from "../payments/provider.js";
import { moveOn } from "../states.js";
import { addMinutes } from "../time.js";
import { orderStates } from "./order-states.js";
import { insertOrder, lockKey, orderByKey, updateOrder } from "./checkout.queries.js";
import { applyPaymentStatus, lockOrder, markPaid, markUnpaid, type OrderRow, type Settled } from "./settlement.js";

/** How long a reservation stays held while its payment is pending; the reconciler cancels after it. */
export const PAYMENT_WINDOW_MINUTES = 60;

export const paymentKey = (orderId: number, step: "create" | "cancel" | "refund" | "credit") =>
  `order-${orderId}-${step}`;

export interface CheckoutRequest {
  smeId: number;
  reservationId: number;
  voucherId: number | null;
  idempotencyKey: string;
}

function requireKey(key: string): string {
  if (!/^[\x21-\x7e]{1,200}$/.test(key)) {
    throw badInput("idempotencyKey", "idempotencyKey must be 1 to 200 printable ASCII characters without spaces");
  }
  return key;
}

/** What makes two checkouts "the same input" for one idempotency key. */
const fingerprintOf = (request: CheckoutRequest) =>
  `reservation:${request.reservationId};voucher:${request.voucherId ?? "none"}`;

/** First key of the advisory lock on an SME's idempotency key (see the lock order above). */
const CHECKOUT_KEY_LOCK_SPACE = 727_201;

function sameRequest(order: OrderRow, request: CheckoutRequest): OrderRow {
  if (order.requestFingerprint !== fingerprintOf(request)) {
    throw conflict("This idempotencyKey was already used for another checkout");
  }
  return order;
}

/** A new order's row: the reservation as priced, under the checkout's key. */
export function newOrder(
  reservationId: number,
  smeId: number,
  priced: PricedReservation,
  key: { idempotencyKey: string; requestFingerprint: string },
  paymentProvider: string,
  now: Date,
) {
  return {
    reservationId,
    smeId,
    voucherId: priced.voucherId,
    programId: priced.programId,
    offerId: priced.offerId,
    dataCenterId: priced.dataCenterId,
    hub: priced.hub,
    gpuModelId: priced.gpuModelId,
    gpuHours: priced.gpuHours,
    gross: priced.gross,
    subsidy: priced.subsidy,
    smeShare: priced.smeShare,
    subsidyYear: priced.year,
    ...key,
    paymentProvider,
    createdAt: now,
    updatedAt: now,
  };
}

/** Runs inside the transaction that commits an order's change (the audit trail's entry). */
export type OrderCommitHook = (tx: Executor, order: OrderRow) => Promise<void>;

/**
 * The order, its subsidy reserved and its hold kept for the payment window: one transaction. A
 * checkout already made with this key (a replay, or a concurrent twin that got the lock first) is
 * returned as it is.
 */
async function createOrder(
  tx: Executor,
  request: CheckoutRequest,
  provider: string,
  now: Date,
  onCreated?: OrderCommitHook,
): Promise<OrderRow> {
  // The caller's order under the key, read under the key's and the reservation's locks.
  const { locked, reads } = await lockForPayment<[{ id: number } | null, OrderRow | null]>(
    tx,
    request.reservationId,
    now,
    [(tx) => liveOrderOf(tx, request.reservationId), (tx) => orderByKey(tx, request.smeId, request.idempotencyKey)],
    (tx) => lockKey(tx, CHECKOUT_KEY_LOCK_SPACE, request.smeId, request.idempotencyKey),
  );
  const [live, keyed] = reads;
  if (keyed) return sameRequest(keyed, request);
  if (!locked || locked.reservation.smeId !== request.smeId) throw notFound("Reservation");
  const reservation = locked.reservation;
  if (live) throw conflict("This reservation already has an order");
  if (reservation.status !== "HELD")
    throw conflict(`This reservation is ${reservation.status.toLowerCase()}, not held`);
  if (reservation.holdExpiresAt <= now) throw conflict("The hold on this reservation has lapsed; place a new bid");

  const priced = await priceReservation(tx, {
    reservation,
    voucherId: request.voucherId,
    smeId: request.smeId,
    now,
    lock: true,
  });
  const order = await insertOrder(
    tx,
    newOrder(
      reservation.id,
      request.smeId,
      priced,
      { idempotencyKey: request.idempotencyKey, requestFingerprint: fingerprintOf(request) },
      provider,
      now,
    ),
  );
  // Independent writes under the locks taken above (the reservation's, its offer's when the hold
  // is near lapsing, the program's): sent together, they take one round trip; any refusal rolls
  // back the whole transaction.
  await Promise.all([
    reserveSubsidy(tx, order),
    extendLockedHold(tx, locked, addMinutes(now, PAYMENT_WINDOW_MINUTES), now),
    onCreated?.(tx, order),
  ]);
  return order;
}

/** Runs what a settlement left for after its commit: provider refunds or cancels, then re-matching. */
export async function afterSettled(app: AppServices, settled: Settled, now: Date): Promise<void> {
  const { order } = settled;
  if (settled.refundDue && order.paymentRef) {
    await app.payments.refundPayment(order.paymentRef, order.smeShare, paymentKey(order.id, "refund"));
    await app.db.update(orders).set({ paymentStatus: "refunded", updatedAt: now }).where(eq(orders.id, order.id));
  }
  if (settled.cancelDue && order.paymentRef) {
    await app.payments.cancelPayment(order.paymentRef, paymentKey(order.id, "cancel")).catch(() => {});
  }
  if (settled.freedGpuModelId != null) {
    await rematchModels(app.db, [settled.freedGpuModelId], now, app.config.holdMinutes).catch(() => {});
  }
}

/**
 * Settles an order (locked in a transaction of its own) from a provider status. `lock` locks the
 * order and returns it: lockOrder, or an update that both records something and locks.
 */
export async function settleOrder(
  app: AppServices,
  orderId: number,
  step: (tx: Executor, order: OrderRow) => Promise<Settled>,
  now: Date,
  lock: (tx: Executor, orderId: number) => Promise<OrderRow | null> = lockOrder,
): Promise<OrderRow> {
  const settled = await app.db.transaction(async (tx) => {
    const order = await lock(tx, orderId);
    if (!order) throw notFound("Order");
    return step(tx, order);
  });
  await afterSettled(app, settled, now);
  return settled.order;
}

/**
 * Asks the provider for the SME's share of a PENDING_PAYMENT order that has no payment yet, and
 * applies what it answers. The key derived from the order makes this safe to repeat.
 */
export async function startPayment(app: AppServices, order: OrderRow, now: Date): Promise<OrderRow> {
  if (order.status !== "PENDING_PAYMENT" || order.paymentRef) return order;
  if (order.smeShare === 0n) return settleOrder(app, order.id, (tx, locked) => markPaid(tx, locked, now), now);
  let created;
  try {
    created = await app.payments.createPayment({
      orderId: order.id,
      amount: order.smeShare,
      idempotencyKey: paymentKey(order.id, "create"),
      metadata: { smeId: String(order.smeId), reservationId: String(order.reservationId) },
    });
  } catch (error) {
    if (error instanceof ProviderUnavailableError) {
      throw new PaymentFailed("The payment provider is unavailable; retry the checkout with the same idempotencyKey", {
        orderId: order.id,
        retryable: true,
      });
    }
    if (error instanceof PaymentProviderError) {
      await settleOrder(app, order.id, (tx, locked) => markUnpaid(tx, locked, "FAILED", now, "refused"), now);
      throw new PaymentFailed("The payment provider refused the payment", { orderId: order.id, retryable: false });
    }
    throw error;
  }
  // The update that records the payment is also the order's lock.
  const recordPayment = (tx: Executor, orderId: number) =>
    updateOrder(tx, orderId, {
      paymentRef: created.ref,
      clientSecret: created.clientSecret,
      paymentStatus: created.status,
      paymentAction: paymentActionJson(created),
      updatedAt: now,
    });
  return settleOrder(
    app,
    order.id,
    (tx, withPayment) => applyPaymentStatus(tx, withPayment, created.status, now),
    now,
    recordPayment,
  );
}

/** What an order keeps of its payment for the client: the methods offered and the next action, as JSON. */
export const paymentActionJson = (created: CreatedPayment): string =>
  JSON.stringify({ methods: created.methods ?? [], nextAction: created.nextAction ?? null });

/**
 * The SME chose Alipay or WeChat Pay for an order's unpaid share: the server confirms the payment
 * with that method and the order keeps the next action (Alipay's redirect, WeChat Pay's QR code).
 * A card is confirmed in the client with Stripe.js and the client secret instead. Repeating the
 * same confirmation answers the same action (the provider's key is derived from the order and the
 * input).
 */
export async function confirmOrderPayment(
  app: AppServices,
  smeId: number,
  orderId: number,
  input: ConfirmPaymentInput,
  now: Date,
): Promise<OrderRow> {
  const order = await ownOrder(app.db, smeId, orderId);
  if (!order) throw notFound("Order");
  if (input.method === "card")
    throw badInput("method", "a card is confirmed in the client app with Stripe.js and payment.clientSecret");
  const offered = paymentMethodsOf(order);
  if (!offered.includes(input.method))
    throw badInput("method", `this payment can be made with: ${offered.join(", ") || "nothing to choose"}`);
  if (input.method === "alipay") {
    if (!input.returnUrl || !/^https?:\/\/[^\s]{1,2000}$/.test(input.returnUrl))
      throw badInput("returnUrl", "Alipay needs the http(s) URL of the page it sends the payer back to");
  }
  if (order.status !== "PENDING_PAYMENT" || !order.paymentRef || order.paymentStatus === "processing")
    throw conflict(`This order is ${order.status.toLowerCase()}: there is no payment left to confirm`);
  const fingerprint = createHash("sha256")
    .update(`${input.method}\n${input.returnUrl ?? ""}`)
    .digest("hex")
    .slice(0, 16);
  let confirmed: CreatedPayment | null;
  try {
    confirmed = await app.payments.confirmPayment(order.paymentRef, input, `order-${order.id}-confirm-${fingerprint}`);
  } catch (error) {
    if (error instanceof PaymentProviderError) {
      throw new PaymentFailed("The payment provider could not confirm the payment with this method; retry", {
        orderId: order.id,
        retryable: error.retryable,
      });
    }
    throw error;
  }
  if (!confirmed) throw conflict("There is no payment left to confirm");
  const record = (tx: Executor, id: number) =>
    updateOrder(tx, id, { paymentAction: paymentActionJson(confirmed), updatedAt: now });
  return settleOrder(app, order.id, (tx, locked) => applyPaymentStatus(tx, locked, confirmed.status, now), now, record);
}

/** The payment method types an order's payment offers. */
export function paymentMethodsOf(order: Pick<OrderRow, "paymentAction">): string[] {
  if (!order.paymentAction) return [];
  return (JSON.parse(order.paymentAction) as { methods?: string[] }).methods ?? [];
}

/**
 * startPayment for an order that is committed: whatever fails now, the answer names the order, so
 * the client knows it exists and that a retry with the same key carries on with it.
 */
async function continuePayment(app: AppServices, order: OrderRow, now: Date): Promise<OrderRow> {
  try {
    return await startPayment(app, order, now);
  } catch (error) {
    if (error instanceof PaymentFailed && error.orderId != null) throw error;
    throw new PaymentNotStarted(order.id, error);
  }
}

/** `onCreated` runs in the transaction that creates the order, never for a replay of the same key. */
export async function checkout(
  app: AppServices,
  request: CheckoutRequest,
  now: Date,
  onCreated?: OrderCommitHook,
): Promise<OrderRow> {
  requireKey(request.idempotencyKey);
  let order: OrderRow;
  try {
    order = await app.db.transaction((tx) => createOrder(tx, request, app.payments.name, now, onCreated));
  } catch (error) {
    // The key's lock makes this rare; kept for safety: a concurrent checkout with the same key got there first.
    if (pgCode(error) !== "23505") throw error;
    const winner = await orderByKey(app.db, request.smeId, request.idempotencyKey);
    if (!winner) throw error;
    return continuePayment(app, sameRequest(winner, request), now);
  }
  return continuePayment(app, order, now);
}

// ------------------------------------------------------------------ cancelling

/**
 * Before the rental starts: an unpaid order's payment is cancelled at the provider (so it can no
 * longer be paid) and the order ends CANCELLED; a paid order is refunded and ends REFUNDED. Either
 * way the subsidy goes back and the capacity is freed.
 */
export async function cancelOrder(
  app: AppServices,
  smeId: number,
  orderId: number,
  now: Date,
  onCancelled?: OrderCommitHook,
): Promise<OrderRow> {
  const [order] = await app.db.select().from(orders).where(eq(orders.id, orderId));
  if (!order || order.smeId !== smeId) throw notFound("Order");
  const [{ startsAt }] = await app.db
    .select({ startsAt: reservations.startsAt })
    .from(reservations)
    .where(eq(reservations.id, order.reservationId));
  if (startsAt <= now) throw conflict("The rental has started; the order can no longer be cancelled");
  if (!moveOn(orderStates, order.status, "cancelOrder"))
    throw conflict(`This order is already ${order.status.toLowerCase()}`);

  try {
    if (order.status === "PENDING_PAYMENT" && order.paymentRef) {
      const result = await app.payments.cancelPayment(order.paymentRef, paymentKey(order.id, "cancel"));
      // Paid in the meantime: settle it as paid, then refund below.
      if (result.status === "succeeded")
        await settleOrder(app, order.id, (tx, locked) => markPaid(tx, locked, now), now);
    }
    const current = (await app.db.select().from(orders).where(eq(orders.id, order.id)))[0];
    if (current.status === "PAID" && current.smeShare > 0n && current.paymentRef) {
      await app.payments.refundPayment(current.paymentRef, current.smeShare, paymentKey(order.id, "refund"));
    }
  } catch (error) {
    if (error instanceof PaymentProviderError) {
      throw new PaymentFailed("The payment provider could not cancel or refund the payment; retry", {
        retryable: error.retryable,
      });
    }
    throw error;
  }

  return settleOrder(
    app,
    order.id,
    async (tx, locked) => {
      // Unpaid: CANCELLED; paid: REFUNDED (order-states.ts).
      const to = moveOn(orderStates, locked.status, "cancelOrder");
      if (to === "CANCELLED") {
        const unpaid = await markUnpaid(tx, locked, to, now, "canceled");
        await onCancelled?.(tx, unpaid.order);
        return { ...unpaid, cancelDue: false };
      }
      if (to !== "REFUNDED") throw conflict(`This order is already ${locked.status.toLowerCase()}`);
      // The reservation first: leaving PAID takes the lock of the order's spend_by_month group,
      // which a checkout takes after its reservation's (settlement.ts keeps that order).
      const freedGpuModelId = await releaseReservation(tx, locked.reservationId, "CANCELLED", now);
      const [row] = await tx
        .update(orders)
        .set({
          status: to,
          paymentStatus: locked.smeShare > 0n ? "refunded" : locked.paymentStatus,
          updatedAt: now,
        })
        .where(eq(orders.id, locked.id))
        .returning();
      await refundSubsidy(tx, row, now);
      await onCancelled?.(tx, row);
      return { order: row, freedGpuModelId, refundDue: false, cancelDue: false };
    },
    now,
  );
}

// ------------------------------------------------------------------ reading

export async function ownOrder(db: Executor, smeId: number, orderId: number): Promise<OrderRow | null> {
  const [row] = await db.select().from(orders).where(eq(orders.id, orderId));
  return row && row.smeId === smeId ? row : null;
}

export async function smeOrders(db: Executor, smeId: number, first: number, after: string | null | undefined) {
  const cursor = decodeCursor(after, ["number"]);
  const mine = eq(orders.smeId, smeId);
  const [rows, [{ total }]] = await Promise.all([
    db
      .select()
      .from(orders)
      .where(and(mine, cursor ? lt(orders.id, cursor[0] as number) : undefined))
      .orderBy(desc(orders.id))
      .limit(first + 1),
    db.select({ total: count() }).from(orders).where(mine),
  ]);
  return toPage(
    rows,
    first,
    Number(total),
    (r) => encodeCursor([r.id]),
    (r) => r,
    after != null,
  );
}
