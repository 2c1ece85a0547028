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

// ------------------------------------------------------------------ the billing calendar
// Statement months, the spend report's months and days, and the annual cap's year are calendar
// dates in the billing time zone (BILLING_TIME_ZONE, default Asia/Shanghai); instants stay UTC.
// One zone per process, set once at start (configureBillingTimeZone), like the database's.

export const DEFAULT_BILLING_TIME_ZONE = "Asia/Shanghai";

let zone = DEFAULT_BILLING_TIME_ZONE;
let formatter = dayFormatter(zone);

function dayFormatter(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** The zone's calendar fields at an instant, as its formatter writes them. */
function formattedFieldsAt(at: Date, f: Intl.DateTimeFormat): CalendarFields {
  const parts: Record<string, number> = {};
  for (const part of f.formatToParts(at)) if (part.type !== "literal") parts[part.type] = Number(part.value);
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return {
    year: parts.year,
    month: parts.month,
    day: parts.day,
    offsetMs: wall - (at.getTime() - at.getUTCMilliseconds()),
  };
}

interface CalendarFields {
  year: number;
  month: number;
  day: number;
  offsetMs: number;
}

// The billing zone's offset per UTC hour, for the hours whose offset is the same at both ends:
// formatToParts costs some 4 µs a call, and a month's bounds take several calls each.
// An hour with a change of offset inside it (none in a zone of whole hours) is never kept.
const HOURS_KEPT = 10_000;
let offsetByHour = new Map<number, number | null>();

function offsetOfHour(hour: number): number | null {
  let offset = offsetByHour.get(hour);
  if (offset === undefined) {
    const start = formattedFieldsAt(new Date(hour * HOUR_MS), formatter).offsetMs;
    const end = formattedFieldsAt(new Date((hour + 1) * HOUR_MS - 1000), formatter).offsetMs;
    offset = start === end ? start : null;
    if (offsetByHour.size >= HOURS_KEPT) offsetByHour = new Map();
    offsetByHour.set(hour, offset);
  }
  return offset;
}

/** The billing zone's calendar fields at an instant (or another zone's, with its formatter). */
function fieldsAt(at: Date, f = formatter): CalendarFields {
  const offsetMs = f === formatter ? offsetOfHour(Math.floor(at.getTime() / HOUR_MS)) : null;
  if (offsetMs == null) return formattedFieldsAt(at, f);
  const wall = new Date(at.getTime() + offsetMs);
  return { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate(), offsetMs };
}

/**
 * Checks a time zone name for billing: known to the runtime, and an offset from UTC of whole hours
 * at every month start from 2000 to 2099 (the day and month tables count whole GPU-hours). Returns
 * the reason it cannot be used, or null.
 */
export function billingTimeZoneProblem(timeZone: string): string | null {
  let f: Intl.DateTimeFormat;
  try {
    f = dayFormatter(timeZone);
  } catch {
    return `unknown time zone ${JSON.stringify(timeZone)}`;
  }
  for (let year = 2000; year < 2100; year++) {
    for (let month = 0; month < 12; month++) {
      if (fieldsAt(new Date(Date.UTC(year, month, 1)), f).offsetMs % HOUR_MS !== 0)
        return `${timeZone} is not a whole number of hours from UTC`;
    }
  }
  return null;
}

/** Sets the process's billing time zone (checked by loadConfig). */
export function configureBillingTimeZone(timeZone: string): void {
  zone = timeZone;
  formatter = dayFormatter(timeZone);
  offsetByHour = new Map();
}

export function billingTimeZone(): string {
  return zone;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "2026-12" for an instant: its month in the billing time zone. 2026-11-30T16:00Z is "2026-12" in Shanghai. */
export function monthOf(at: Date): string {
  const { year, month } = fieldsAt(at);
  return `${year}-${pad(month)}`;
}

/** "2026-12-01" for an instant: its day in the billing time zone. */
export function dayOf(at: Date): string {
  const { year, month, day } = fieldsAt(at);
  return `${year}-${pad(month)}-${pad(day)}`;
}

/** The calendar year of an instant in the billing time zone: the per-SME annual cap's year. */
export function yearOf(at: Date): number {
  return fieldsAt(at).year;
}

/** The instant a day of the billing zone starts (midnight there), month 1-12; days past the month's end roll over. */
export function zonedMidnight(year: number, month: number, day: number): Date {
  const base = new Date(Date.UTC(2000, 0, 1));
  base.setUTCFullYear(year, month - 1, day); // Date.UTC reads years below 100 as 19xx: set the year apart
  // The zone's offset at the guess, then again at the corrected instant (a change of offset between).
  let at = base.getTime() - fieldsAt(base).offsetMs;
  at = base.getTime() - fieldsAt(new Date(at)).offsetMs;
  return new Date(at);
}

/** When a month written "2026-11" ends: the start of the next month in the billing time zone. */
export function monthEnd(month: string): Date {
  const [year, mon] = month.split("-").map(Number);
  return zonedMidnight(year, mon + 1, 1);
}

/** When a month written "2026-11" starts in the billing time zone. */
export function monthStart(month: string): Date {
  const [year, mon] = month.split("-").map(Number);
  return zonedMidnight(year, mon, 1);
}

/** Whether the month ("2026-11") is over at `now`, the rule for settling a city's statement. */
export function monthHasEnded(month: string, now: Date): boolean {
  return monthEnd(month).getTime() <= now.getTime();
}

/** The start of the billing month `at` falls in. */
export function startOfMonth(at: Date): Date {
  const { year, month } = fieldsAt(at);
  return zonedMidnight(year, month, 1);
}

/** The first start of a billing month at or after `at`. */
export function nextMonthStart(at: Date): Date {
  const start = startOfMonth(at);
  if (start.getTime() === at.getTime()) return start;
  const { year, month } = fieldsAt(at);
  return zonedMidnight(year, month + 1, 1);
}

/** The start of the billing day `at` falls in. */
export function startOfDay(at: Date): Date {
  const { year, month, day } = fieldsAt(at);
  return zonedMidnight(year, month, day);
}

/** The first start of a billing day at or after `at`. */
export function nextDayStart(at: Date): Date {
  const start = startOfDay(at);
  if (start.getTime() === at.getTime()) return start;
  const { year, month, day } = fieldsAt(at);
  return zonedMidnight(year, month, day + 1);
}
