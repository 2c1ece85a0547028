// Live reservations: HELD with an unexpired hold, or CONFIRMED. Only these take capacity.
import { sql } from "drizzle-orm";
import { rowsOf, type Executor } from "../db/client.js";

/**
 * The condition on `reservations` (not aliased). The statuses are parameters, which keeps plans on
 * reservations_offer_live_idx; columns are named in the text, since every bid renders it twice.
 */
export const isLive = (now: Date) =>
  sql`(reservations.status = ${"CONFIRMED"} or (reservations.status = ${"HELD"} and reservations.hold_expires_at > ${now.toISOString()}::timestamptz))`;

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

/**
 * One offer's live bookings as liveBookingsQuery packs them: int arrays in their text form, like
 * {1,2,3}; `lapsed` when some HELD reservation of the offer in the span has lapsed at `now`.
 */
export type PackedBookings = {
  offer_id: string | number;
  starts: string;
  ends: string;
  gpus: string;
  lapsed?: boolean;
};

/**
 * The statement of liveBookings, for a pipeline; bookingsByOffer reads its rows. Every bid sends it
 * twice, so its columns are named in the text rather than rendered from drizzle's objects. It also
 * tells which offers carry a lapsed hold in the span (its capacity is free, but not yet swept):
 * those rows are read anyway, in the same index range.
 */
export function liveBookingsQuery(offerIds: readonly number[], from: Date, to: Date, now: Date) {
  // One array parameter: the same prepared statement whatever the number of offers. Among HELD
  // and CONFIRMED, live is CONFIRMED or a hold that lapses after now (isLive, written once).
  return sql`select offer_id,
                    coalesce(array_agg(starts) filter (where live), '{}')::text as starts,
                    coalesce(array_agg(ends) filter (where live), '{}')::text as ends,
                    coalesce(array_agg(gpu_count) filter (where live), '{}')::text as gpus,
                    bool_or(not live) as lapsed
             from (select offer_id, extract(epoch from starts_at)::int8 as starts, extract(epoch from ends_at)::int8 as ends, gpu_count,
                          status = 'CONFIRMED' or hold_expires_at > ${now.toISOString()}::timestamptz as live
                   from reservations
                   where offer_id = any(${`{${offerIds.join(",")}}`}::bigint[]) and status in ('HELD', 'CONFIRMED')
                     and starts_at < ${to.toISOString()}::timestamptz and ends_at > ${from.toISOString()}::timestamptz) as booked
             group by offer_id`;
}

/** The offers whose rows (from liveBookingsQuery) carry a lapsed hold. */
export function offersWithLapsedHolds(rows: readonly PackedBookings[]): number[] {
  return rows.filter((row) => row.lapsed).map((row) => Number(row.offer_id));
}

/** The integers of an int array's text form, like {1,-2,3}: one pass, no strings in between (twice as fast). */
export function integers(packed: string): number[] {
  const values: number[] = [];
  let value = 0;
  let negative = false;
  let digits = false;
  for (let i = 1; i < packed.length; i++) {
    const c = packed.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      digits = true;
    } else if (c === 45) {
      negative = true;
    } else {
      // "," or the closing "}"
      if (digits) values.push(negative ? -value : value);
      value = 0;
      negative = false;
      digits = false;
    }
  }
  return values;
}

export function bookingsByOffer(rows: readonly PackedBookings[]): Map<number, LiveBooking[]> {
  const byOffer = new Map<number, LiveBooking[]>();
  for (const row of rows) {
    const offerId = Number(row.offer_id);
    const [starts, ends, gpus] = [integers(row.starts), integers(row.ends), integers(row.gpus)];
    byOffer.set(
      offerId,
      starts.map((start, i) => ({
        offerId,
        startsAt: new Date(start * 1000),
        endsAt: new Date(ends[i] * 1000),
        gpuCount: gpus[i],
      })),
    );
  }
  return byOffer;
}
