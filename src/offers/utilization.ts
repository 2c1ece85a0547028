// Data center utilization over a period: reserved GPU-hours / offered GPU-hours, as exact integers.
import { sql } from "drizzle-orm";
import { rowsOf, type Executor } from "../db/client.js";

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
  const ids = sql`${`{${dataCenterIds.join(",")}}`}::bigint[]`;
  const rows = await rowsOf<{ dc: string | number; offered: string | number; reserved: string | number }>(
    db,
    sql`
      with span as (select ${from.toISOString()}::timestamptz as f, ${to.toISOString()}::timestamptz as t),
      offered as (
        select o.data_center_id as dc,
               sum(o.gpu_count * extract(epoch from least(o.available_until, span.t) - greatest(o.available_from, span.f)) / 3600)::bigint as gpu_hours
        from offers o, span
        where o.data_center_id = any(${ids}) and o.status <> 'WITHDRAWN'
          and o.available_until > span.f and o.available_from < span.t
        group by o.data_center_id
      ),
      reserved as (
        select o.data_center_id as dc,
               sum(r.gpu_count * extract(epoch from least(r.ends_at, span.t) - greatest(r.starts_at, span.f)) / 3600)::bigint as gpu_hours
        from reservations r join offers o on o.id = r.offer_id, span
        -- A reservation lies within its offer's window: only offers running in the span can hold one.
        where o.data_center_id = any(${ids}) and o.available_until > span.f and o.available_from < span.t
          and (r.status = 'CONFIRMED' or (r.status = 'HELD' and r.hold_expires_at > ${now.toISOString()}::timestamptz))
          and r.starts_at < span.t and r.ends_at > span.f
        group by o.data_center_id
      )
      select coalesce(offered.dc, reserved.dc) as dc,
             coalesce(offered.gpu_hours, 0) as offered,
             coalesce(reserved.gpu_hours, 0) as reserved
      from offered full join reserved on reserved.dc = offered.dc`,
  );
  for (const row of rows) {
    result.set(Number(row.dc), { offeredGpuHours: Number(row.offered), reservedGpuHours: Number(row.reserved) });
  }
  return result;
}
