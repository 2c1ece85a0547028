// The policy report (docs/domain.md, "The policy report"): does the subsidy fill the idle western
// hubs, does it favour domestic chips, how widely is it spread. Each figure is computed in SQL over
// the whole period (policy.queries.ts); here the days are checked and the shares divided exactly.
import { HUBS, WESTERN_HUBS } from "../db/reference.js";
import type { Executor } from "../db/client.js";
import type { Viewer } from "../graphql/context.js";
import { badInput, forbidden } from "../errors.js";
import { requireStorable } from "../accounts/accounts.service.js";
import { hubCapacity, policySubsidy, type Granularity, type PolicySubsidy } from "./policy.queries.js";

export type { Granularity };

/** The longest period a report covers: three years of days, weeks or months. */
export const MAX_POLICY_DAYS = 1100;

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** A day like "2026-11-30" (a day of the billing calendar), from 2000 to 2099; else BAD_USER_INPUT. */
export function requireDay(field: string, value: string): number {
  const match = DAY.exec(value);
  const at = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN;
  if (!match || Number.isNaN(at) || new Date(at).toISOString().slice(0, 10) !== value)
    throw badInput(field, `${field} must be a day like "2026-11-30"`);
  if (value < "2000-01-01" || value > "2099-12-31")
    throw badInput(field, `${field} must be a day from 2000-01-01 to 2099-12-31`);
  return at;
}

const dayText = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The first days of the periods of [from, to) (UTC-midnight milliseconds of calendar days). */
export function periodStarts(from: number, to: number, granularity: Granularity): string[] {
  const starts: string[] = [];
  for (let at = from; at < to;) {
    starts.push(dayText(at));
    const d = new Date(at);
    if (granularity === "DAY") at += DAY_MS;
    else if (granularity === "WEEK") at += ((8 - (d.getUTCDay() || 7)) % 7 || 7) * DAY_MS;
    else at = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
  return starts;
}

/** part / whole in basis points, rounded down; null when whole is 0. */
export function basisPoints(part: bigint, whole: bigint): number | null {
  return whole === 0n ? null : Number((part * 10_000n) / whole);
}

export interface HubPeriodData {
  start: string;
  offered: bigint;
  reserved: bigint;
}

export interface PolicyData {
  city: string | null;
  from: string;
  to: string;
  granularity: Granularity;
  subsidy: PolicySubsidy;
  hubs: { hub: string; western: boolean; offered: bigint; reserved: bigint; periods: HubPeriodData[] }[];
}

export async function policyReport(
  db: Executor,
  viewer: Viewer,
  query: { city: string | null; from: string; to: string; granularity: Granularity },
): Promise<PolicyData> {
  const from = requireDay("from", query.from);
  const to = requireDay("to", query.to);
  if (to <= from) throw badInput("to", "to must be after from");
  if ((to - from) / DAY_MS > MAX_POLICY_DAYS) throw badInput("to", `A report covers at most ${MAX_POLICY_DAYS} days`);
  // Months are read as whole months (capacity_by_month): a report by MONTH covers whole months.
  if (query.granularity === "MONTH")
    for (const [field, day] of [
      ["from", query.from],
      ["to", query.to],
    ] as const)
      if (!day.endsWith("-01")) throw badInput(field, `A report by MONTH runs from and to first days of months`);
  let city: string | null;
  if (viewer.role === "ADMIN") city = query.city == null ? null : requireStorable("city", query.city);
  else if (query.city != null && query.city !== viewer.city)
    throw forbidden("A finance team reads its own city's policy report only");
  else city = viewer.city;

  const period = { from: query.from, to: query.to };
  const [subsidy, capacity] = await Promise.all([
    policySubsidy(db, period, city),
    hubCapacity(db, period, query.granularity),
  ]);
  const starts = periodStarts(from, to, query.granularity);
  const hubs = HUBS.map(({ name }) => {
    const mine = new Map(capacity.filter((row) => row.hub === name).map((row) => [row.start, row]));
    const periods = starts.map((start) => ({
      start,
      offered: mine.get(start)?.offered ?? 0n,
      reserved: mine.get(start)?.reserved ?? 0n,
    }));
    return {
      hub: name,
      western: WESTERN_HUBS.includes(name),
      offered: periods.reduce((sum, p) => sum + p.offered, 0n),
      reserved: periods.reduce((sum, p) => sum + p.reserved, 0n),
      periods,
    };
  });
  return { city, from: query.from, to: query.to, granularity: query.granularity, subsidy, hubs };
}
