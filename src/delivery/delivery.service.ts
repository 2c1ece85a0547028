// Delivered hours behind every claim. Once a CONFIRMED reservation ends, its data center reports
// what it delivered (once; only the admin corrects it), the SME may dispute it, and within
// DELIVERY_REPORT_DAYS nothing reported means delivered in full. When the delivery is final, the
// undelivered GPU-hours are credited pro rata (credit.ts): the subsidy back to the program (a
// ledger REFUND of that part, voucher and annual cap restored, a negative credit line on the
// statement) and the SME's share through the payment provider (a partial refund, keyed by the order).
//
// Lock order, as in the checkout's settlement: the order row, then the delivery row, then the
// program (the ledger's). The provider's refund runs after the commit; the maintenance retries it.
import { and, eq, lte } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { cityStatements, dataCenters, deliveries, offers, orders, reservations } from "../db/schema.js";
import { badInput, conflict, notFound } from "../errors.js";
import type { Viewer } from "../graphql/context.js";
import { creditSubsidy } from "../ledger/ledger.service.js";
import { paymentKey } from "../checkout/checkout.service.js";
import { requireText } from "../accounts/accounts.service.js";
import type { AppServices, MaintenanceTask } from "../services.js";
import { moveOn } from "../states.js";
import { addHours } from "../time.js";
import { checkReport, creditFor, outagesToJson, type Outage } from "./credit.js";
import { deliveryStates } from "./delivery-states.js";
import { claimsHoldingStatements, insertAssumedDeliveries } from "./delivery.queries.js";

export type DeliveryRow = typeof deliveries.$inferSelect;
type ReservationRow = typeof reservations.$inferSelect;
type OrderRow = typeof orders.$inferSelect;

/** Until when a rental's delivery may be reported or disputed: its end plus the grace period. */
export const reportDeadline = (endsAt: Date, graceDays: number): Date => addHours(endsAt, 24 * graceDays);

/** A reservation with what delivery needs of it: its data center's operator and its paid order. */
interface Rental {
  reservation: ReservationRow;
  operatorId: number;
  order: OrderRow | null;
}

async function readRental(db: Executor, reservationId: number): Promise<Rental | null> {
  const [row] = await db
    .select({ reservation: reservations, operatorId: dataCenters.operatorId, order: orders })
    .from(reservations)
    .innerJoin(offers, eq(offers.id, reservations.offerId))
    .innerJoin(dataCenters, eq(dataCenters.id, offers.dataCenterId))
    .leftJoin(orders, and(eq(orders.reservationId, reservations.id), eq(orders.status, "PAID")))
    .where(eq(reservations.id, reservationId));
  return row ?? null;
}

/** Who may see a rental's delivery: its SME, its data center's operator, the admin. */
function sees(viewer: Viewer, rental: Rental): boolean {
  if (viewer.role === "ADMIN") return true;
  if (viewer.organizationId == null) return false;
  return (
    (viewer.role === "SME" && rental.reservation.smeId === viewer.organizationId) ||
    (viewer.role === "DATA_CENTER" && rental.operatorId === viewer.organizationId)
  );
}

/** A delivery as the API shows it: the stored row, or what the clock says when there is none yet. */
export interface DeliveryView {
  reservation: ReservationRow;
  orderId: number | null;
  row: DeliveryRow | null;
  deadline: Date;
}

export async function deliveryOf(
  db: Executor,
  viewer: Viewer,
  reservationId: number,
  graceDays: number,
): Promise<DeliveryView | null> {
  const rental = await readRental(db, reservationId);
  if (!rental || !sees(viewer, rental)) return null;
  const [row] = await db.select().from(deliveries).where(eq(deliveries.reservationId, reservationId));
  return {
    reservation: rental.reservation,
    orderId: rental.order?.id ?? row?.orderId ?? null,
    row: row ?? null,
    deadline: reportDeadline(rental.reservation.endsAt, graceDays),
  };
}

/**
 * The rental, its paid order locked, and its delivery row locked: refused unless the rental is
 * CONFIRMED and has ended.
 */
async function lockEnded(
  tx: Executor,
  reservationId: number,
  allowed: (rental: Rental) => boolean,
  now: Date,
): Promise<{ rental: Rental & { order: OrderRow }; delivery: DeliveryRow | null }> {
  const rental = await readRental(tx, reservationId);
  if (!rental || !allowed(rental)) throw notFound("Reservation");
  if (rental.reservation.status !== "CONFIRMED" || !rental.order)
    throw conflict(`This reservation is ${rental.reservation.status.toLowerCase()}: only a paid rental has a delivery`);
  if (rental.reservation.endsAt > now)
    throw conflict("The rental has not ended yet; its delivery is reported after it");
  const [order] = await tx.select().from(orders).where(eq(orders.id, rental.order.id)).for("update");
  if (order.status !== "PAID") throw conflict("The rental's order is no longer paid");
  const [delivery] = await tx
    .select()
    .from(deliveries)
    .where(eq(deliveries.reservationId, reservationId))
    .for("update");
  return { rental: { ...rental, order }, delivery: delivery ?? null };
}

export interface DeliveryReport {
  deliveredGpuHours: number;
  outages: Outage[];
}

/** The operator of the rental's data center reports, once, within the grace period. */
export async function reportDelivery(
  tx: Executor,
  operatorId: number,
  reservationId: number,
  report: DeliveryReport,
  graceDays: number,
  now: Date,
): Promise<DeliveryRow> {
  const { rental, delivery } = await lockEnded(tx, reservationId, (r) => r.operatorId === operatorId, now);
  if (delivery?.reportedAt != null || delivery?.status === "FINAL")
    throw conflict("This delivery was already reported; only the admin can correct it", "DELIVERY_ALREADY_REPORTED");
  if (now >= reportDeadline(rental.reservation.endsAt, graceDays))
    throw conflict(
      `The ${graceDays}-day grace period has passed: the delivery counts as delivered in full; only the admin can correct it`,
      "DELIVERY_REPORT_CLOSED",
    );
  const { booked } = checkReport(rental.reservation, report.deliveredGpuHours, report.outages);
  const figures = {
    bookedGpuHours: booked,
    deliveredGpuHours: report.deliveredGpuHours,
    outages: outagesToJson(report.outages),
    reportedBy: operatorId,
    reportedAt: now,
  };
  if (delivery) {
    // Disputed before any report: the report is recorded, the dispute stands for the admin.
    const [row] = await tx
      .update(deliveries)
      .set(figures)
      .where(eq(deliveries.reservationId, reservationId))
      .returning();
    return row;
  }
  const [row] = await tx
    .insert(deliveries)
    .values({ reservationId, orderId: rental.order.id, status: "REPORTED", ...figures })
    .returning();
  return row;
}

/** The rental's SME disputes the delivery within the grace period, reported or not: the claim waits for the admin. */
export async function disputeDelivery(
  tx: Executor,
  smeId: number,
  reservationId: number,
  reason: string,
  graceDays: number,
  now: Date,
): Promise<DeliveryRow> {
  const text = requireText("reason", reason, 1_000);
  const { rental, delivery } = await lockEnded(tx, reservationId, (r) => r.reservation.smeId === smeId, now);
  if (now >= reportDeadline(rental.reservation.endsAt, graceDays))
    throw conflict(`The ${graceDays}-day grace period for disputes has passed`, "DELIVERY_REPORT_CLOSED");
  if (delivery) {
    if (delivery.status === "DISPUTED") throw conflict("This delivery is already disputed", "DELIVERY_DISPUTED");
    if (!moveOn(deliveryStates, delivery.status, "disputeDelivery"))
      throw conflict("This delivery is final and can no longer be disputed");
    const [row] = await tx
      .update(deliveries)
      .set({ status: "DISPUTED", disputeReason: text, disputedAt: now })
      .where(eq(deliveries.reservationId, reservationId))
      .returning();
    return row;
  }
  const booked = rental.order.gpuHours;
  const [row] = await tx
    .insert(deliveries)
    .values({
      reservationId,
      orderId: rental.order.id,
      status: "DISPUTED",
      bookedGpuHours: booked,
      // Nothing reported yet: the figures stay at "in full" until a report or the admin's correction.
      deliveredGpuHours: booked,
      disputeReason: text,
      disputedAt: now,
    })
    .returning();
  return row;
}

/** What a final delivery leaves for after the commit: the SME's refund. */
export interface CreditDue {
  orderId: number;
  reservationId: number;
  paymentRef: string | null;
  smeShareCredit: bigint;
}

/**
 * Makes a delivery FINAL with its credit, under the order's and the delivery's locks: the subsidy
 * part through the ledger, both parts recorded on the order and the delivery. The SME's part is
 * refunded after the commit (refundCredit).
 */
async function finalize(
  tx: Executor,
  order: OrderRow,
  delivery: Pick<DeliveryRow, "reservationId" | "bookedGpuHours" | "deliveredGpuHours">,
  changes: Partial<DeliveryRow>,
  now: Date,
): Promise<{ row: DeliveryRow; due: CreditDue | null }> {
  const { subsidyCredit, smeShareCredit } = creditFor(order, delivery.bookedGpuHours, delivery.deliveredGpuHours);
  const refundable = smeShareCredit > 0n && order.paymentRef != null;
  await creditSubsidy(tx, order, subsidyCredit, now);
  if (subsidyCredit > 0n || smeShareCredit > 0n) {
    await tx
      .update(orders)
      .set({ subsidyCredited: subsidyCredit, smeShareCredited: smeShareCredit, updatedAt: now })
      .where(eq(orders.id, order.id));
  }
  const [row] = await tx
    .update(deliveries)
    .set({
      ...changes,
      status: "FINAL",
      finalAt: now,
      subsidyCredit,
      smeShareCredit,
      refundStatus: refundable ? "pending" : null,
    })
    .where(eq(deliveries.reservationId, delivery.reservationId))
    .returning();
  return {
    row,
    due: refundable
      ? { orderId: order.id, reservationId: delivery.reservationId, paymentRef: order.paymentRef, smeShareCredit }
      : null,
  };
}

/**
 * The admin sets the delivered hours of a rental whose delivery is not final yet (reported,
 * disputed, or not reported at all), resolving any dispute: the delivery is FINAL at once.
 */
export async function correctDelivery(
  tx: Executor,
  reservationId: number,
  report: DeliveryReport,
  now: Date,
): Promise<{ row: DeliveryRow; due: CreditDue | null }> {
  const { rental, delivery } = await lockEnded(tx, reservationId, () => true, now);
  if (delivery?.status === "FINAL") throw conflict("This delivery is final: its credit was made");
  const { booked } = checkReport(rental.reservation, report.deliveredGpuHours, report.outages);
  const figures = {
    bookedGpuHours: booked,
    deliveredGpuHours: report.deliveredGpuHours,
    outages: outagesToJson(report.outages),
    correctedAt: now,
  };
  if (!delivery) {
    await tx.insert(deliveries).values({ reservationId, orderId: rental.order.id, status: "REPORTED", ...figures });
  }
  return finalize(tx, rental.order, { reservationId, ...figures }, figures, now);
}

/** Refunds a final delivery's SME credit at the provider, keyed by the order: safe to repeat. */
export async function refundCredit(app: AppServices, due: CreditDue, now: Date): Promise<void> {
  if (!due.paymentRef) return;
  try {
    const refund = await app.payments.refundPayment(
      due.paymentRef,
      due.smeShareCredit,
      paymentKey(due.orderId, "credit"),
    );
    await app.db
      .update(deliveries)
      .set({ refundStatus: refund.status, refundRef: refund.ref })
      .where(eq(deliveries.reservationId, due.reservationId));
    await app.db.update(orders).set({ updatedAt: now }).where(eq(orders.id, due.orderId));
  } catch {
    // Left pending: the maintenance tries again with the same key.
  }
}

// ------------------------------------------------------------------ the grace period (maintenance)

const BATCH = 200;

/**
 * Rentals whose grace period has passed: those nobody reported are delivered in full (FINAL,
 * assumed; no credit), reported ones become FINAL with their credit, and SME refunds still pending
 * are sent again. Disputed ones wait for the admin. Returns the deliveries it changed.
 */
export async function finishDueDeliveries(app: AppServices, now: Date): Promise<number> {
  const cutoff = addHours(now, -24 * app.config.deliveryReportDays);
  let changed = 0;

  // Not reported: delivered in full, in one statement per batch.
  for (;;) {
    const assumed = await insertAssumedDeliveries(app.db, cutoff, now, BATCH);
    changed += assumed;
    if (assumed < BATCH) break;
  }

  // Reported, not disputed: final with their credit, one transaction each.
  const reported = await app.db
    .select({ reservationId: deliveries.reservationId })
    .from(deliveries)
    .innerJoin(reservations, eq(reservations.id, deliveries.reservationId))
    .where(and(eq(deliveries.status, "REPORTED"), lte(reservations.endsAt, cutoff)));
  for (const { reservationId } of reported) {
    const result = await app.db.transaction(async (tx) => {
      const [order] = await tx
        .select()
        .from(orders)
        .where(and(eq(orders.reservationId, reservationId), eq(orders.status, "PAID")))
        .for("update");
      if (!order) return null;
      const [delivery] = await tx
        .select()
        .from(deliveries)
        .where(eq(deliveries.reservationId, reservationId))
        .for("update");
      if (!delivery || !moveOn(deliveryStates, delivery.status, "graceEnded")) return null;
      return finalize(tx, order, delivery, {}, now);
    });
    if (!result) continue;
    changed++;
    if (result.due) await refundCredit(app, result.due, now);
  }

  // SME refunds that did not go through: again, with the same key.
  const pending = await app.db
    .select({
      orderId: deliveries.orderId,
      reservationId: deliveries.reservationId,
      paymentRef: orders.paymentRef,
      smeShareCredit: deliveries.smeShareCredit,
    })
    .from(deliveries)
    .innerJoin(orders, eq(orders.id, deliveries.orderId))
    .where(and(eq(deliveries.status, "FINAL"), eq(deliveries.refundStatus, "pending")));
  for (const due of pending) await refundCredit(app, due, now);
  return changed;
}

export const deliveriesTask: MaintenanceTask = { name: "deliveries", run: finishDueDeliveries };

// ------------------------------------------------------------------ statements

/**
 * Why a month's statement of a program cannot be settled yet, or null: a claim in it whose
 * delivery is disputed (DELIVERY_DISPUTED) or not final (DELIVERY_NOT_FINAL: the rental has not
 * ended, its grace period runs, or a reported shortfall awaits its credit). A rental nobody
 * reported in time counts as delivered in full, whether or not the maintenance has written it.
 */
export async function statementHold(
  tx: Executor,
  statementIds: number[],
  graceDays: number,
  now: Date,
): Promise<{ reason: "DELIVERY_DISPUTED" | "DELIVERY_NOT_FINAL"; claims: number } | null> {
  if (statementIds.length === 0) return null;
  const counts = await claimsHoldingStatements(tx, statementIds, addHours(now, -24 * graceDays));
  if (Number(counts.disputed) > 0) return { reason: "DELIVERY_DISPUTED", claims: Number(counts.disputed) };
  if (Number(counts.waiting) > 0) return { reason: "DELIVERY_NOT_FINAL", claims: Number(counts.waiting) };
  return null;
}

export function requireDeliveredHours(value: number): number {
  if (!Number.isSafeInteger(value)) throw badInput("deliveredGpuHours", "deliveredGpuHours must be a whole number");
  return value;
}

/**
 * Refuses to settle a program's month (CONFLICT with the reason) while a claim in its statement is
 * disputed or its delivery is not final. Call under the program's lock, which every claim line takes.
 */
export async function refuseWhileDeliveriesOpen(
  tx: Executor,
  programId: number,
  month: string,
  graceDays: number,
  now: Date,
): Promise<void> {
  const statements = await tx
    .select({ id: cityStatements.id })
    .from(cityStatements)
    .where(and(eq(cityStatements.programId, programId), eq(cityStatements.month, month)));
  const hold = await statementHold(
    tx,
    statements.map((s) => s.id),
    graceDays,
    now,
  );
  if (!hold) return;
  throw conflict(
    hold.reason === "DELIVERY_DISPUTED"
      ? `${hold.claims} claim(s) of this month have a disputed delivery; the admin resolves it (correctDelivery) before the month is settled`
      : `${hold.claims} claim(s) of this month await their delivery report or its credit; the month can be settled once every rental billed in it is delivered and its grace period has passed`,
    hold.reason,
  );
}
