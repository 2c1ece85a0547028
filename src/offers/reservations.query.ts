// Live reservations: HELD with an unexpired hold, or CONFIRMED. Only these take capacity.
import { and, eq, gt, lt, or, sql } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { reservations } from "../db/schema.js";

export const isLive = (now: Date) =>
  or(eq(reservations.status, "CONFIRMED"), and(eq(reservations.status, "HELD"), gt(reservations.holdExpiresAt, now)));

export interface LiveBooking {
  offerId: number;
  startsAt: Date;
  endsAt: Date;
  gpuCount: number;
}

/** Live reservations of the offers that overlap [from, to), grouped by offer. */
export async function liveBookings(db: Executor, offerIds: readonly number[], from: Date, to: Date, now: Date) {
  const byOffer = new Map<number, LiveBooking[]>();
  if (offerIds.length === 0) return byOffer;
  const rows = await db
    .select({
      offerId: reservations.offerId,
      startsAt: reservations.startsAt,
      endsAt: reservations.endsAt,
      gpuCount: reservations.gpuCount,
    })
    .from(reservations)
    .where(
      and(
        // One array parameter: the same prepared statement whatever the number of offers.
        sql`${reservations.offerId} = any(${`{${offerIds.join(",")}}`}::bigint[])`,
        sql`${reservations.status} in ('HELD', 'CONFIRMED')`,
        isLive(now),
        lt(reservations.startsAt, to),
        gt(reservations.endsAt, from),
      ),
    );
  for (const row of rows) {
    const list = byOffer.get(row.offerId) ?? [];
    list.push(row);
    byOffer.set(row.offerId, list);
  }
  return byOffer;
}
