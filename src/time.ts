// Times of offers, bids and reservations are whole UTC hours.
import { badInput } from "./errors.js";

export const HOUR_MS = 3_600_000;

export function requireWholeHour(field: string, value: Date): Date {
  if (value.getTime() % HOUR_MS !== 0)
    throw badInput(field, `${field} must be a whole UTC hour, like 2026-12-01T08:00:00Z`);
  return value;
}

export function hoursBetween(from: Date, to: Date): number {
  return Math.floor((to.getTime() - from.getTime()) / HOUR_MS);
}

export function addHours(at: Date, hours: number): Date {
  return new Date(at.getTime() + hours * HOUR_MS);
}

export function addMinutes(at: Date, minutes: number): Date {
  return new Date(at.getTime() + minutes * 60_000);
}

/** The next whole hour at or after `at`. */
export function ceilHour(at: Date): Date {
  return new Date(Math.ceil(at.getTime() / HOUR_MS) * HOUR_MS);
}

export function maxDate(a: Date, b: Date): Date {
  return a.getTime() >= b.getTime() ? a : b;
}

export function minDate(a: Date, b: Date): Date {
  return a.getTime() <= b.getTime() ? a : b;
}

/** "2026-11" for a time, in UTC. */
export function monthOf(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/** When a month written "2026-11" ends: the start of the next UTC month. */
export function monthEnd(month: string): Date {
  const [year, mon] = month.split("-").map(Number);
  const end = new Date(Date.UTC(2000, mon, 1)); // Date.UTC reads years below 100 as 19xx: set the year apart
  end.setUTCFullYear(year + Math.floor(mon / 12), mon % 12, 1);
  return end;
}

/**
 * Whether the month ("2026-11") is over at `now`, the rule for settling a city's statement. Months
 * are UTC months here, like monthOf: the one place to change when they follow another time zone.
 */
export function monthHasEnded(month: string, now: Date): boolean {
  return monthEnd(month).getTime() <= now.getTime();
}

/** The start of the UTC month `at` falls in. */
export function startOfMonth(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
}

/** The first start of a UTC month at or after `at`. */
export function nextMonthStart(at: Date): Date {
  const start = startOfMonth(at);
  return start.getTime() === at.getTime() ? start : new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
}
