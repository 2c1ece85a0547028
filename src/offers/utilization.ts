// Data center utilization over a period: reserved GPU-hours / offered GPU-hours, as exact integers.
import type { Executor } from "../db/client.js";
import { readUtilization } from "./offers.queries.js";

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
  if (dataCenterIds.length === 0 || to <= from) return new Map();
  return readUtilization(db, dataCenterIds, from, to, now);
}
