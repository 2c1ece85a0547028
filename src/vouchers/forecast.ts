// A program's budget forecast (docs/domain.md, "Budget forecast"): the rate of the last 30 days,
// carried forward. Exact integer arithmetic on fen and milliseconds; no floats.

export const FORECAST_WINDOW_DAYS = 30;
const DAY_MS = 86_400_000n;
const WINDOW_MS = BigInt(FORECAST_WINDOW_DAYS) * DAY_MS;
/** Beyond a thousand years a budget does not run out, for any purpose here (and a Date could not hold it). */
const HORIZON_MS = 1000n * 366n * DAY_MS;

/** The shares of the budget committed (pending or spent) at which a finance team is warned. */
export const BUDGET_THRESHOLDS = [80, 95, 100] as const;

export interface ForecastInput {
  total: bigint;
  available: bigint;
  /** Net budget committed over the last FORECAST_WINDOW_DAYS days (reserved less voided and refunded). */
  committed: bigint;
  now: Date;
  validUntil: Date;
}

export interface BudgetForecast {
  committedInWindow: bigint;
  /** Rounded down to the fen. */
  committedPerDay: bigint;
  /** null when nothing was committed over the window (or more came back than went out), or past 1,000 years. */
  exhaustsAt: Date | null;
  /** Whole hundredths of a 30-day month, rounded down; null with exhaustsAt. */
  monthsLeftHundredths: bigint | null;
  /** exhaustsAt falls before the program's validUntil: it runs out while it still pays. */
  runsOutBeforeEnd: boolean;
  /** (total − available) / total in basis points, rounded down. */
  usedBasisPoints: number;
  thresholdsCrossed: number[];
}

export function forecastBudget(input: ForecastInput): BudgetForecast {
  const { total, available, committed, now } = input;
  const used = total - available;
  const thresholdsCrossed = BUDGET_THRESHOLDS.filter((pct) => used * 100n >= BigInt(pct) * total);
  const usedBasisPoints = total > 0n ? Number((used * 10_000n) / total) : 0;
  const base = { committedInWindow: committed, usedBasisPoints, thresholdsCrossed };
  if (committed <= 0n) {
    return { ...base, committedPerDay: 0n, exhaustsAt: null, monthsLeftHundredths: null, runsOutBeforeEnd: false };
  }
  // available / (committed / window) = available × window / committed, in milliseconds.
  const left = (available * WINDOW_MS) / committed;
  if (left > HORIZON_MS) {
    return {
      ...base,
      committedPerDay: committed / BigInt(FORECAST_WINDOW_DAYS),
      exhaustsAt: null,
      monthsLeftHundredths: null,
      runsOutBeforeEnd: false,
    };
  }
  const exhaustsAt = new Date(now.getTime() + Number(left));
  return {
    ...base,
    committedPerDay: committed / BigInt(FORECAST_WINDOW_DAYS),
    exhaustsAt,
    monthsLeftHundredths: (available * 100n) / committed,
    runsOutBeforeEnd: exhaustsAt.getTime() < input.validUntil.getTime(),
  };
}
