// The city's reports: subsidy spend by any combination of dimensions, and monthly statements.
// Each is one SQL aggregation, its totals as one more grouping set.
import { sql, type SQL } from "drizzle-orm";
import { PLAN_EACH_CALL, rowsOf, type Executor } from "../db/client.js";
import type { Viewer } from "../graphql/context.js";
import { badInput, conflict, forbidden } from "../errors.js";
import { lockProgram } from "../ledger/ledger.service.js";
import { programInScope, type ProgramRow } from "../vouchers/programs.service.js";
import { requireStorable } from "../accounts/accounts.service.js";
import { monthHasEnded, nextMonthStart, startOfMonth } from "../time.js";
import { formatYuanOfText } from "../money.js";
import { ID_PREFIX, type IdType } from "../graphql/ids.js";

export type Dimension = "MONTH" | "PROGRAM" | "DATA_CENTER" | "HUB" | "GPU_MODEL" | "SME";

/**
 * How each dimension groups, over an order `o` and over a row `s` of spend_by_month (null: the
 * monthly sums do not keep it), and, applied to the aggregated row (its key `k`), how its value
 * reads as text and how it is labelled (by the value when no label is given), with the join the
 * label needs. Labels are joined after the aggregation, so the rows are grouped on narrow keys only.
 */
/** SQL text for the global id of the key in column `k`, as the API shows it. */
const globalIdSql = (type: IdType, k: string) => `'${ID_PREFIX[type]}_' || ${k}`;

const DIMENSIONS: Record<
  Dimension,
  {
    order: string;
    month: string | null;
    value: (k: string) => string;
    label?: (k: string, i: number) => string;
    join?: (k: string, i: number) => string;
  }
> = {
  MONTH: {
    order: `date_trunc('month', o.paid_at at time zone 'UTC')::date`,
    month: `s.month`,
    value: (k) => `to_char(${k}, 'YYYY-MM')`,
  },
  PROGRAM: {
    order: `o.program_id`,
    month: `s.program_id`,
    value: (k) => globalIdSql("SubsidyProgram", k),
    label: (_k, i) => `l${i}.name`,
    join: (k, i) => `left join subsidy_programs l${i} on l${i}.id = ${k}`,
  },
  DATA_CENTER: {
    order: `o.data_center_id`,
    month: `s.data_center_id`,
    value: (k) => globalIdSql("DataCenter", k),
    label: (_k, i) => `l${i}.name`,
    join: (k, i) => `left join data_centers l${i} on l${i}.id = ${k}`,
  },
  HUB: { order: `o.hub`, month: `s.hub`, value: (k) => k },
  GPU_MODEL: {
    order: `o.gpu_model_id`,
    month: null,
    value: (k) => globalIdSql("GpuModel", k),
    label: (_k, i) => `l${i}.name`,
    join: (k, i) => `left join gpu_models l${i} on l${i}.id = ${k}`,
  },
  SME: {
    order: `o.sme_id`,
    month: null,
    value: (k) => globalIdSql("Organization", k),
    label: (_k, i) => `l${i}.name`,
    join: (k, i) => `left join organizations l${i} on l${i}.id = ${k}`,
  },
};

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

interface SpendSqlRow {
  orders: number;
  gpu_hours: string;
  gross: string;
  subsidy: string;
  sme_paid: string;
  [key: string]: unknown;
}

interface Period {
  from: Date;
  to: Date;
}

/**
 * Where a report over [from, to) reads its figures: the whole UTC months inside it from the monthly
 * sums (when its dimensions are kept there), the rest from the orders themselves.
 */
export function spendSources(
  from: Date,
  to: Date,
  dimensions: Dimension[],
): { months: Period | null; orders: Period[] } {
  const months = { from: nextMonthStart(from), to: startOfMonth(to) };
  if (months.from >= months.to || dimensions.some((d) => DIMENSIONS[d].month == null))
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

  // The program and city filters, over the source's alias (`o` or `s`, joined to its program `p`).
  const scope = (alias: "o" | "s") => [
    ...(program ? [sql`${sql.raw(alias)}.program_id = ${String(program.id)}::bigint`] : []),
    ...(city != null ? [sql`p.city = ${city}::text`] : []),
  ];
  const keysOf = (alias: "o" | "s") =>
    sql.raw(
      dimensions.map((d, i) => `${alias === "o" ? DIMENSIONS[d].order : DIMENSIONS[d].month} as k${i}, `).join(""),
    );
  const parts: SQL[] = sources.orders.map(
    (period) =>
      sql`select ${keysOf("o")} 1 as orders, o.gpu_hours, o.gross, o.subsidy, o.sme_share as sme_paid
          from orders o
          join subsidy_programs p on p.id = o.program_id
          where ${sql.join(
            [
              sql`o.status = 'PAID'`,
              sql`o.program_id is not null`,
              sql`o.paid_at >= ${period.from.toISOString()}::timestamptz`,
              sql`o.paid_at < ${period.to.toISOString()}::timestamptz`,
              ...scope("o"),
            ],
            sql` and `,
          )}`,
  );
  if (sources.months) {
    parts.push(
      sql`select ${keysOf("s")} s.orders, s.gpu_hours, s.gross, s.subsidy, s.sme_paid
          from spend_by_month s
          join subsidy_programs p on p.id = s.program_id
          where ${sql.join(
            [
              sql`s.month >= ${sources.months.from.toISOString().slice(0, 10)}::date`,
              sql`s.month < ${sources.months.to.toISOString().slice(0, 10)}::date`,
              ...scope("s"),
            ],
            sql` and `,
          )}`,
    );
  }

  // Aggregate on the narrow group keys (a hash aggregate, in bigint), with the totals as one more
  // grouping set (its keys are null, so it sorts last). A group whose orders were all refunded has
  // none left. The groups are sorted while narrow, with their labels, and written as text after:
  // a report can hold ten thousand rows, and sorting them wide cost more than the aggregation.
  const keys = dimensions.map((d, i) => ({ ...DIMENSIONS[d], i }));
  const groupKeys = dimensions.map((_, i) => `u.k${i}`).join(", ");
  const grouped = dimensions.length
    ? sql.raw(`group by grouping sets ((${groupKeys}), ()) having sum(u.orders) > 0 or grouping(${groupKeys}) <> 0`)
    : sql``;
  const sorted = (alias: string) =>
    dimensions.length ? sql.raw(`order by ${keys.map((d) => `${alias}.k${d.i}`).join(", ")}`) : sql``;
  const rows = await rowsOf<SpendSqlRow>(
    db,
    sql`select ${sql.raw(keys.map((d) => `${d.value(`x.k${d.i}`)} as k${d.i}v, ${d.label ? `x.k${d.i}l, ` : ""}`).join(""))}
               x.orders, x.gpu_hours::text, x.gross::text, x.subsidy::text, x.sme_paid::text
        from (
          select g.*${sql.raw(keys.map((d) => (d.label ? `, ${d.label(`g.k${d.i}`, d.i)} as k${d.i}l` : "")).join(""))}
          from (
            select ${sql.raw(dimensions.map((_, i) => `u.k${i}, `).join(""))}
                   coalesce(sum(u.orders), 0)::int as orders,
                   sum_bigint(u.gpu_hours) as gpu_hours,
                   sum_bigint(u.gross) as gross,
                   sum_bigint(u.subsidy) as subsidy,
                   sum_bigint(u.sme_paid) as sme_paid
            from (${sql.join(parts, sql` union all `)}) u
            where ${PLAN_EACH_CALL}
            ${grouped}
          ) g
          ${sql.raw(
            keys
              .map((d) => d.join?.(`g.k${d.i}`, d.i) ?? "")
              .filter(Boolean)
              .join("\n"),
          )}
          ${sorted("g")}
        ) x
        ${sorted("x")}`,
  );

  const money = (fen: string): SpendMoney => ({ amount: formatYuanOfText(fen), fen, currency: "CNY" });
  // Rows share their keys: a year by data center repeats each month a thousand times.
  const columns = dimensions.map((dimension, i) => ({
    dimension,
    value: `k${i}v`,
    label: DIMENSIONS[dimension].label ? `k${i}l` : `k${i}v`,
    seen: new Map<string, SpendRowData["keys"][number]>(),
  }));
  const keyOf = (row: SpendSqlRow, column: (typeof columns)[number]) => {
    const value = row[column.value] as string;
    let key = column.seen.get(value);
    if (!key)
      column.seen.set(value, (key = { dimension: column.dimension, value, label: row[column.label] as string }));
    return key;
  };
  const toRow = (row: SpendSqlRow, withKeys: boolean): SpendRowData => ({
    keys: withKeys ? columns.map((column) => keyOf(row, column)) : [],
    orders: row.orders,
    gpuHours: Number(row.gpu_hours),
    gross: money(row.gross),
    subsidy: money(row.subsidy),
    smePaid: money(row.sme_paid),
  });
  // The totals row comes last; without dimensions it is the only one, and rows = [totals].
  const totals = toRow(rows[rows.length - 1], false);
  if (dimensions.length === 0) return { rows: [totals], totals };
  return { rows: rows.slice(0, -1).map((row) => toRow(row, true)), totals };
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
  lines: { dataCenterId: number; orders: number; subsidy: bigint }[];
  total: bigint;
}

interface StatementSqlRow {
  status: "OPEN" | "SETTLED";
  settled_at: Date | string | null;
  data_center_id: string | number | null;
  is_total: number | string;
  orders: number | string;
  subsidy: string;
}

/** A month's statement with its lines per data center; a month without one reads as an empty OPEN statement. */
async function readStatement(db: Executor, program: ProgramRow, month: string): Promise<StatementData> {
  const rows = await rowsOf<StatementSqlRow>(
    db,
    sql`select s.status, s.settled_at, c.data_center_id,
               grouping(c.data_center_id) as is_total,
               coalesce(sum(sign(c.amount)), 0)::int as orders,
               coalesce(sum(c.amount), 0)::text as subsidy
        from city_statements s
        left join claim_lines c on c.statement_id = s.id
        where s.program_id = ${String(program.id)}::bigint and s.month = ${month}::text
        group by grouping sets ((s.status, s.settled_at, c.data_center_id), (s.status, s.settled_at))
        order by is_total, c.data_center_id`,
  );
  const total = rows.find((r) => Number(r.is_total) === 1);
  return {
    program,
    month,
    status: total?.status ?? "OPEN",
    settledAt: total?.settled_at == null ? null : new Date(total.settled_at),
    lines: rows
      .filter((r) => Number(r.is_total) === 0 && r.data_center_id != null)
      .map((r) => ({ dataCenterId: Number(r.data_center_id), orders: Number(r.orders), subsidy: BigInt(r.subsidy) })),
    total: total ? BigInt(total.subsidy) : 0n,
  };
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
 * already is, BAD_USER_INPUT when the month has not ended at `now` (its claims are still coming).
 * Under the program's lock, so a claim line never lands in a statement being settled: later claims
 * go to the next open statement.
 */
export async function settleStatement(
  tx: Executor,
  viewer: Viewer,
  programId: number | null,
  month: string,
  now: Date,
): Promise<StatementData> {
  requireEndedMonth("month", month, now);
  const program = await programInScope(tx, viewer, programId);
  await lockProgram(tx, program.id);
  const settled = await rowsOf<{ id: unknown }>(
    tx,
    sql`insert into city_statements (program_id, month, status, settled_at)
        values (${String(program.id)}::bigint, ${month}::text, 'SETTLED', ${now.toISOString()}::timestamptz)
        on conflict (program_id, month) do update set status = 'SETTLED', settled_at = excluded.settled_at
          where city_statements.status = 'OPEN'
        returning id`,
  );
  if (settled.length === 0) throw conflict("This statement is already settled");
  return readStatement(tx, program, month);
}
