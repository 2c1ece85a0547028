// Capacity invariants checked over the whole database after a test: no hour of any offer carries
// more live GPUs than the offer has, and no live reservation lies outside its offer's window.
export type RunSql = (text: string, params?: unknown[]) => Promise<any[]>;

export interface OverbookedHour {
  offerId: number;
  hour: string;
  gpuCount: number;
  reserved: number;
}

/**
 * Live = CONFIRMED, or HELD with a hold that has not lapsed at `now`. Without `now`, every HELD
 * reservation counts (the strictest reading, right when no hold can have lapsed).
 */
const LIVE = `(r.status = 'CONFIRMED' or (r.status = 'HELD' and ($1::timestamptz is null or r.hold_expires_at > $1::timestamptz)))`;

export async function overbookedHours(run: RunSql, now?: Date): Promise<OverbookedHour[]> {
  const rows = await run(
    `select o.id as offer_id, h.hour, o.gpu_count, sum(r.gpu_count)::int as reserved
     from reservations r
     join offers o on o.id = r.offer_id
     cross join lateral generate_series(r.starts_at, r.ends_at - interval '1 hour', interval '1 hour') as h(hour)
     where ${LIVE}
     group by o.id, h.hour, o.gpu_count
     having sum(r.gpu_count) > o.gpu_count
     order by o.id, h.hour`,
    [now ? now.toISOString() : null],
  );
  return rows.map((r) => ({
    offerId: Number(r.offer_id),
    hour: new Date(r.hour).toISOString(),
    gpuCount: Number(r.gpu_count),
    reserved: Number(r.reserved),
  }));
}

export async function reservationsOutsideWindow(run: RunSql, now?: Date): Promise<number[]> {
  const rows = await run(
    `select r.id from reservations r join offers o on o.id = r.offer_id
     where ${LIVE} and (r.starts_at < o.available_from or r.ends_at > o.available_until or r.gpu_count <= 0)
     order by r.id`,
    [now ? now.toISOString() : null],
  );
  return rows.map((r) => Number(r.id));
}

/** Throws with the offending rows when an invariant is broken. */
export async function assertCapacityInvariants(run: RunSql, now?: Date): Promise<void> {
  const overbooked = await overbookedHours(run, now);
  if (overbooked.length) throw new Error(`overbooked hours: ${JSON.stringify(overbooked.slice(0, 20))}`);
  const outside = await reservationsOutsideWindow(run, now);
  if (outside.length) throw new Error(`reservations outside their offer's window: ${outside.join(", ")}`);
  // A MATCHED bid has exactly one reservation; an OPEN bid has none.
  const mismatched = await run(
    `select b.id from bids b left join reservations r on r.bid_id = b.id
     where (b.status = 'MATCHED' and r.id is null) or (b.status = 'OPEN' and r.id is not null)`,
  );
  if (mismatched.length)
    throw new Error(`bids whose status disagrees with their reservation: ${mismatched.map((r) => r.id).join(", ")}`);
}
