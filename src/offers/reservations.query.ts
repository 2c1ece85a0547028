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
 * hundreds of them and every bid on it reads them all: PostgreSQL packs each offer's into three
 * integer arrays (starts and ends in epoch seconds, GPUs), far cheaper to build and decode than a
 * row with two timestamps each.
 */
export async function liveBookings(db: Executor, offerIds: readonly number[], from: Date, to: Date, now: Date) {
  if (offerIds.length === 0) return new Map<number, LiveBooking[]>();
  return bookingsByOffer(await rowsOf<PackedBookings>(db, liveBookingsQuery(offerIds, from, to, now)));
}

/** One offer's live bookings as liveBookingsQuery packs them: int arrays in their text form, like {1,2,3}. */
export type PackedBookings = { offer_id: string | number; starts: string; ends: string; gpus: string };

/** The statement of liveBookings, for a pipeline; bookingsByOffer reads its rows. */
export function liveBookingsQuery(offerIds: readonly number[], from: Date, to: Date, now: Date) {
  const epoch = (column: typeof reservations.startsAt) => sql`extract(epoch from ${column})::int8`;
  return sql`select ${reservations.offerId} as offer_id,
                    array_agg(${epoch(reservations.startsAt)})::text as starts,
                    array_agg(${epoch(reservations.endsAt)})::text as ends,
                    array_agg(${reservations.gpuCount})::text as gpus
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

const integers = (packed: string) => packed.slice(1, -1).split(",").map(Number);

export function bookingsByOffer(rows: readonly PackedBookings[]): Map<number, LiveBooking[]> {
  const byOffer = new Map<number, LiveBooking[]>();
  for (const row of rows) {
    const offerId = Number(row.offer_id);
    const [starts, ends, gpus] = [integers(row.starts), integers(row.ends), integers(row.gpus)];
    byOffer.set(
      offerId,
      starts.map((start, i) => ({ offerId, startsAt: new Date(start * 1000), endsAt: new Date(ends[i] * 1000), gpuCount: gpus[i] })),
    );
  }
  return byOffer;
}
