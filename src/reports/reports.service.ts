// The city's reports: subsidy spend by any combination of dimensions, and monthly statements.
// Each is one SQL aggregation, its totals as one more grouping set.
import { eq } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { cityStatements } from "../db/schema.js";
import type { Viewer } from "../graphql/context.js";
import { badInput, conflict, forbidden } from "../errors.js";
import { lockProgram } from "../ledger/ledger.service.js";
import { refuseWhileDeliveriesOpen } from "../delivery/delivery.service.js";
import { programInScope, type ProgramRow } from "../vouchers/programs.service.js";
import { requireStorable } from "../accounts/accounts.service.js";
import { monthHasEnded, nextMonthStart, startOfMonth } from "../time.js";
import { keptByMonth, monthStatement, spendReport } from "./reports.queries.js";

export type Dimension = "MONTH" | "DAY" | "PROGRAM" | "DATA_CENTER" | "HUB" | "GPU_MODEL" | "SME";

/** An amount as the report answers it: from the fen PostgreSQL summed, without a BigInt per row. */
export interface SpendMoney {
  amount: string;
  fen: string;
  currency: "CNY";
}

export interface SpendRowData {
  keys: { dimension: Dimension; value: string; label: string }[];
  orders: number;
  gpuHours: number;
  gross: SpendMoney;
  subsidy: SpendMoney;
  smePaid: SpendMoney;
}

export interface SpendQuery {
  programId: number | null;
  /** True when a program id was given (even one that cannot exist). */
  programAsked: boolean;
  city: string | null;
  from: Date;
  to: Date;
  groupBy: Dimension[];
}

interface Period {
  from: Date;
  to: Date;
}

/**
 * Where a report over [from, to) reads its figures: the whole billing months inside it from the monthly
 * sums (when its dimensions are kept there), the rest from the orders themselves.
 */
export function spendSources(
  from: Date,
  to: Date,
  dimensions: Dimension[],
): { months: Period | null; orders: Period[] } {
  const months = { from: nextMonthStart(from), to: startOfMonth(to) };
  if (months.from >= months.to || dimensions.some((d) => !keptByMonth(d)))
    return { months: null, orders: [{ from, to }] };
  const orders = [
    { from, to: months.from },
    { from: months.to, to },
  ].filter((period) => period.from < period.to);
  return { months, orders };
}

/** Which programs the viewer may report on: a finance team its own city only, the admin every city. */
async function spendScope(
  db: Executor,
  viewer: Viewer,
  query: SpendQuery,
): Promise<{ program: ProgramRow | null; city: string | null }> {
  const program = query.programAsked ? await programInScope(db, viewer, query.programId) : null;
  if (viewer.role === "ADMIN")
    return { program, city: query.city == null ? null : requireStorable("city", query.city) };
  if (query.city != null && query.city !== viewer.city)
    throw forbidden("A finance team reads its own city's spend only");
  return { program, city: viewer.city };
}

export async function subsidySpend(
  db: Executor,
  viewer: Viewer,
  query: SpendQuery,
): Promise<{ rows: SpendRowData[]; totals: SpendRowData }> {
  if (query.to <= query.from) throw badInput("to", "to must be after from");
  const { program, city } = await spendScope(db, viewer, query);
  const dimensions = [...new Set(query.groupBy)];
  const sources = spendSources(query.from, query.to, dimensions);

  return spendReport(db, {
    dimensions,
    orders: sources.orders,
    months: sources.months,
    programId: program ? program.id : null,
    city,
  });
}

// ------------------------------------------------------------------ statements

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
/** The months a statement can be for: no program bills before 2000 or after 2099. */
export const FIRST_STATEMENT_MONTH = "2000-01";
export const LAST_STATEMENT_MONTH = "2099-12";

/** A month like "2026-11", from FIRST_STATEMENT_MONTH to LAST_STATEMENT_MONTH; else BAD_USER_INPUT. */
export function requireMonth(field: string, month: string): string {
  if (!MONTH.test(month)) throw badInput(field, `${field} must be a month like "2026-11"`);
  // Months written alike compare as text.
  if (month < FIRST_STATEMENT_MONTH || month > LAST_STATEMENT_MONTH) {
    throw badInput(field, `${field} must be a month from ${FIRST_STATEMENT_MONTH} to ${LAST_STATEMENT_MONTH}`);
  }
  return month;
}

/** A month that can be settled: a valid month that has ended at `now` (monthHasEnded). */
export function requireEndedMonth(field: string, month: string, now: Date): string {
  requireMonth(field, month);
  if (!monthHasEnded(month, now))
    throw badInput(field, `${field} has not ended yet: a statement is settled only after its month`);
  return month;
}

export interface StatementData {
  program: ProgramRow;
  month: string;
  status: "OPEN" | "SETTLED";
  settledAt: Date | null;
  settledBy: number | null;
  lines: { dataCenterId: number; orders: number; subsidy: bigint; credits: bigint }[];
  total: bigint;
}

/** A month's statement with its lines per data center; a month without one reads as an empty OPEN statement. */
async function readStatement(db: Executor, program: ProgramRow, month: string): Promise<StatementData> {
  return { program, month, ...(await monthStatement(db, program.id, month)) };
}

export async function cityStatement(
  db: Executor,
  viewer: Viewer,
  programId: number | null,
  month: string,
): Promise<StatementData> {
  requireMonth("month", month);
  return readStatement(db, await programInScope(db, viewer, programId), month);
}

/**
 * Marks a month's statement SETTLED (creating it when the month has none yet); CONFLICT when it
 * already is, or while a claim in it is disputed or awaits its delivery (DELIVERY_DISPUTED,
 * DELIVERY_NOT_FINAL: `graceDays` after its rental), BAD_USER_INPUT when the month has not ended
 * at `now` (its claims are still coming).
 * Under the program's lock, so a claim line never lands in a statement being settled: later claims
 * go to the next open statement.
 */
export async function settleStatement(
  tx: Executor,
  viewer: Viewer,
  programId: number | null,
  month: string,
  now: Date,
  graceDays: number,
): Promise<StatementData> {
  requireEndedMonth("month", month, now);
  const program = await programInScope(tx, viewer, programId);
  await lockProgram(tx, program.id);
  await refuseWhileDeliveriesOpen(tx, program.id, month, graceDays, now);
  const settled = await tx
    .insert(cityStatements)
    .values({ programId: program.id, month, status: "SETTLED", settledAt: now, settledBy: viewer.organizationId })
    .onConflictDoUpdate({
      target: [cityStatements.programId, cityStatements.month],
      set: { status: "SETTLED", settledAt: now, settledBy: viewer.organizationId },
      setWhere: eq(cityStatements.status, "OPEN"),
    })
    .returning({ id: cityStatements.id });
  if (settled.length === 0) throw conflict("This statement is already settled");
  return readStatement(tx, program, month);
}
