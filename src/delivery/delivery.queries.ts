// The delivery's statements that the builder alone cannot say: the maintenance's batch of rentals
// delivered in full, and the claims that keep a statement from being settled.
import { and, eq, inArray, isNull, lte, sql } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { claimLines, deliveries, orders, reservations } from "../db/schema.js";

/**
 * Up to `limit` paid rentals that ended before `cutoff` with nothing reported or disputed: FINAL,
 * delivered in full (assumed), no credit. One statement; returns how many it wrote.
 */
export async function insertAssumedDeliveries(db: Executor, cutoff: Date, now: Date, limit: number): Promise<number> {
  const rows = await db
    .insert(deliveries)
    .select(
      db
        .select({
          reservationId: reservations.id,
          orderId: orders.id,
          bookedGpuHours: orders.gpuHours,
          deliveredGpuHours: orders.gpuHours,
          outages: sql<string>`'[]'`.as("outages"),
          status: sql<"FINAL">`'FINAL'::delivery_status`.as("status"),
          assumed: sql<boolean>`true`.as("assumed"),
          reportedBy: sql<number | null>`null::bigint`.as("reported_by"),
          reportedAt: sql<Date | null>`null::timestamptz`.as("reported_at"),
          disputeReason: sql<string | null>`null::text`.as("dispute_reason"),
          disputedAt: sql<Date | null>`null::timestamptz`.as("disputed_at"),
          correctedAt: sql<Date | null>`null::timestamptz`.as("corrected_at"),
          finalAt: sql<Date>`${now.toISOString()}::timestamptz`.as("final_at"),
          subsidyCredit: sql<bigint>`0::bigint`.as("subsidy_credit"),
          smeShareCredit: sql<bigint>`0::bigint`.as("sme_share_credit"),
          refundStatus: sql<string | null>`null::text`.as("refund_status"),
          refundRef: sql<string | null>`null::text`.as("refund_ref"),
        })
        .from(reservations)
        .innerJoin(orders, and(eq(orders.reservationId, reservations.id), eq(orders.status, "PAID")))
        .leftJoin(deliveries, eq(deliveries.reservationId, reservations.id))
        .where(
          and(eq(reservations.status, "CONFIRMED"), lte(reservations.endsAt, cutoff), isNull(deliveries.reservationId)),
        )
        .limit(limit),
    )
    .onConflictDoNothing()
    .returning({ reservationId: deliveries.reservationId });
  return rows.length;
}

/**
 * The paid claims of these statements whose delivery is disputed, and those not final otherwise:
 * the rental ended after `cutoff` (not ended, or its grace period runs), or a reported shortfall
 * awaits its credit. A rental that ended before `cutoff` with nothing reported counts as final.
 */
export async function claimsHoldingStatements(
  tx: Executor,
  statementIds: number[],
  cutoff: Date,
): Promise<{ disputed: number; waiting: number }> {
  const [counts] = await tx
    .select({
      disputed: sql<number>`count(*) filter (where ${deliveries.status} = 'DISPUTED')::int`,
      waiting: sql<number>`count(*) filter (where ${deliveries.status} is distinct from 'DISPUTED')::int`,
    })
    .from(claimLines)
    .innerJoin(orders, eq(orders.id, claimLines.orderId))
    .innerJoin(reservations, eq(reservations.id, orders.reservationId))
    .leftJoin(deliveries, eq(deliveries.reservationId, orders.reservationId))
    .where(
      and(
        inArray(claimLines.statementId, statementIds),
        sql`${claimLines.amount} > 0`,
        eq(orders.status, "PAID"),
        sql`(${deliveries.status} = 'DISPUTED' or (${deliveries.status} is distinct from 'FINAL' and (
              ${reservations.endsAt} > ${cutoff.toISOString()}::timestamptz
              or ${deliveries.deliveredGpuHours} < ${deliveries.bookedGpuHours})))`,
      ),
    );
  return { disputed: Number(counts?.disputed ?? 0), waiting: Number(counts?.waiting ?? 0) };
}
