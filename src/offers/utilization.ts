// Data center utilization over a period: reserved GPU-hours / offered GPU-hours, as exact integers.
import { sql } from "drizzle-orm";
import { rowsOf, type Executor } from "../db/client.js";
import { isLive } from "./reservations.query.js";

export interface Utilization {
  reservedGpuHours: number;
  offeredGpuHours: number;
}

export const NO_UTILIZATION: Utilization = { reservedGpuHours: 0, offeredGpuHours: 0 };

export function utilizationRatio(u: Utilization): number {
  return u.offeredGpuHours === 0 ? 0 : u.reservedGpuHours / u.offeredGpuHours;
}

/** Negative when a is less utilized than b; compares the fractions exactly. */
export function compareUtilization(a: Utilization, b: Utilization): number {
  const left = BigInt(a.reservedGpuHours) * BigInt(b.offeredGpuHours || 1) * (a.offeredGpuHours ? 1n : 0n);
  const right = BigInt(b.reservedGpuHours) * BigInt(a.offeredGpuHours || 1) * (b.offeredGpuHours ? 1n : 0n);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** One query for any number of data centers. Offers WITHDRAWN are no longer offered. */
export async function utilizationOf(
  db: Executor,
  dataCenterIds: readonly number[],
  from: Date,
  to: Date,
  now: Date,
): Promise<Map<number, Utilization>> {
  const result = new Map<number, Utilization>();
  if (dataCenterIds.length === 0 || to <= from) return result;
  // One array parameter: the same prepared statement whatever the number of data centers.
  const ids = `{${dataCenterIds.join(",")}}`;
  const [f, t] = [from.toISOString(), to.toISOString()];
  // One pass over the offers running in the period, each with its live reservations summed from
  // reservations_offer_live_idx: planned in a fifth of the time of two aggregates joined.
  // A reservation lies within its offer's window, so only those offers can hold one; a WITHDRAWN
  // offer is no longer offered, but what it served before still counts as reserved.
  const rows = await rowsOf<{ dc: string | number; offered: string | number; reserved: string | number }>(
    db,
    sql`
      select o.data_center_id as dc,
             coalesce(sum(o.gpu_count * extract(epoch from least(o.available_until, ${t}::timestamptz) - greatest(o.available_from, ${f}::timestamptz)) / 3600)
                      filter (where o.status <> 'WITHDRAWN'), 0)::bigint as offered,
             coalesce(sum(booked.gpu_hours), 0)::bigint as reserved
      from offers o
      left join lateral (
        select sum(reservations.gpu_count * extract(epoch from least(reservations.ends_at, ${t}::timestamptz) - greatest(reservations.starts_at, ${f}::timestamptz)) / 3600) as gpu_hours
        from reservations
        where reservations.offer_id = o.id and reservations.status in ('HELD', 'CONFIRMED') and ${isLive(now)}
          and reservations.starts_at < ${t}::timestamptz and reservations.ends_at > ${f}::timestamptz
      ) booked on true
      where o.data_center_id = any(${ids}::bigint[]) and o.available_until > ${f}::timestamptz and o.available_from < ${t}::timestamptz
      group by o.data_center_id`,
  );
  for (const row of rows) {
    result.set(Number(row.dc), { offeredGpuHours: Number(row.offered), reservedGpuHours: Number(row.reserved) });
  }
  return result;
}
