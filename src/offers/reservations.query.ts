// Live reservations: HELD with an unexpired hold, or CONFIRMED. Only these take capacity.
import { and, eq, gt, lt, or, sql } from "drizzle-orm";
import { rowsOf, type Executor } from "../db/client.js";
import { reservations } from "../db/schema.js";

export const isLive = (now: Date) =>
  or(eq(reservations.status, "CONFIRMED"), and(eq(reservations.status, "HELD"), gt(reservations.holdExpiresAt, now)));

export interface LiveBooking {
  offerId: number;
  startsAt: Date;
  endsAt: Date;
  gpuCount: number;
}

/**
 * Live reservations of the offers that overlap [from, to), grouped by offer. A popular offer has
 * hundreds of them and every bid on it reads them all: PostgreSQL packs each offer's into one
 * JSON array of [start ms, end ms, GPUs], far cheaper to decode than a row and two timestamps each.
 */
export async function liveBookings(db: Executor, offerIds: readonly number[], from: Date, to: Date, now: Date) {
  if (offerIds.length === 0) return new Map<number, LiveBooking[]>();
  return bookingsByOffer(await rowsOf<PackedBookings>(db, liveBookingsQuery(offerIds, from, to, now)));
}

export type PackedBookings = { offer_id: string | number; bookings: string };

/** The statement of liveBookings, for a pipeline; bookingsByOffer reads its rows. */
export function liveBookingsQuery(offerIds: readonly number[], from: Date, to: Date, now: Date) {
  const epochMs = (column: typeof reservations.startsAt) => sql`(extract(epoch from ${column}) * 1000)::bigint`;
  return sql`select ${reservations.offerId} as offer_id,
                    json_agg(json_build_array(${epochMs(reservations.startsAt)}, ${epochMs(reservations.endsAt)}, ${reservations.gpuCount}))::text as bookings
             from ${reservations}
             where ${and(
               // One array parameter: the same prepared statement whatever the number of offers.
               sql`${reservations.offerId} = any(${`{${offerIds.join(",")}}`}::bigint[])`,
               sql`${reservations.status} in ('HELD', 'CONFIRMED')`,
               isLive(now),
               lt(reservations.startsAt, to),
               gt(reservations.endsAt, from),
             )}
             group by ${reservations.offerId}`;
}

export function bookingsByOffer(rows: readonly PackedBookings[]): Map<number, LiveBooking[]> {
  const byOffer = new Map<number, LiveBooking[]>();
  for (const row of rows) {
    const offerId = Number(row.offer_id);
    const packed = JSON.parse(row.bookings) as [number, number, number][];
    byOffer.set(
      offerId,
      packed.map(([start, end, gpuCount]) => ({ offerId, startsAt: new Date(start), endsAt: new Date(end), gpuCount })),
    );
  }
  return byOffer;
}
