// The reports' statements, written from the schema (src/db/client.ts): the spend report, one SQL
// aggregation with its totals as one more grouping set, and a month's statement. Their rows become
// the domain's types here.
import { sql, type SQL } from "drizzle-orm";
import { alias, type PgColumn, type PgTable } from "drizzle-orm/pg-core";
import { perShape, planEachCall, prepared, tableAs, type Executor, type Placeholders } from "../db/client.js";
import {
  billingCalendar,
  cityStatements,
  claimLines,
  dataCenters,
  gpuModels,
  orders,
  organizations,
  spendByMonth,
  subsidyPrograms,
} from "../db/schema.js";
import { ID_PREFIX, type IdType } from "../graphql/ids.js";
import { formatYuanOfText } from "../money.js";
import { monthOf } from "../time.js";
import type { Dimension, SpendMoney, SpendRowData } from "./reports.service.js";

// ------------------------------------------------------------------ spend

const o = alias(orders, "o");
const s = alias(spendByMonth, "s");

/** The table a key's label comes from, and the global id the API shows for the key. */
const labelled = (type: IdType, table: PgTable & { id: PgColumn; name: PgColumn }) => ({ type, table });

/**
 * How each dimension groups, over an order `o` and over a row `s` of spend_by_month (null: the
 * monthly sums do not keep it), and, applied to the aggregated row, how its value reads as text
 * and where its label comes from (by the value when there is none). Labels are joined after the
 * aggregation, so the rows are grouped on narrow keys only.
 */
const DIMENSIONS: Record<
  Dimension,
  {
    order: SQL;
    month: SQL | null;
    value?: (k: SQL) => SQL;
    label?: ReturnType<typeof labelled>;
  }
> = {
  // Months and days of the billing time zone, from the day each order was paid there (written once,
  // by a trigger, when it was paid).
  MONTH: {
    // The month's first day in integer date arithmetic: date_trunc would make each date a timestamptz.
    order: sql`${o.paidDay} - extract(day from ${o.paidDay})::int + 1`,
    month: sql`${s.month}`,
    value: (k) => sql`to_char(${k}, 'YYYY-MM')`,
  },
  DAY: {
    order: sql`${o.paidDay}`,
    month: null,
    value: (k) => sql`to_char(${k}, 'YYYY-MM-DD')`,
  },
  PROGRAM: {
    order: sql`${o.programId}`,
    month: sql`${s.programId}`,
    label: labelled("SubsidyProgram", subsidyPrograms),
  },
  DATA_CENTER: {
    order: sql`${o.dataCenterId}`,
    month: sql`${s.dataCenterId}`,
    label: labelled("DataCenter", dataCenters),
  },
  HUB: { order: sql`${o.hub}`, month: sql`${s.hub}` },
  GPU_MODEL: { order: sql`${o.gpuModelId}`, month: null, label: labelled("GpuModel", gpuModels) },
  SME: { order: sql`${o.smeId}`, month: null, label: labelled("Organization", organizations) },
};

/** Whether spend_by_month keeps the dimension, so that whole months can be read from there. */
export const keptByMonth = (dimension: Dimension): boolean => DIMENSIONS[dimension].month != null;

/** Where a report reads: periods of the orders, the whole months of the monthly sums, and the scope. */
export interface SpendSql {
  dimensions: Dimension[];
  orders: { from: Date; to: Date }[];
  months: { from: Date; to: Date } | null;
  programId: number | null;
  city: string | null;
}

type SpendShape = { dimensions: Dimension[]; periods: number; months: boolean; program: boolean; city: boolean };
type SpendValues = {
  [bound: `${"from" | "to"}${number}`]: string;
  monthFrom?: string;
  monthTo?: string;
  programId?: string;
  city?: string;
};

/** A column of the aggregated rows, by its name in the statement. */
const k = (name: string) => sql.raw(name);

/**
 * The spend report. Planned on every call: how many orders and months a period and a grouping
 * read decides the plan. Aggregates on the narrow group keys (a hash aggregate, in bigint), with
 * the totals as one more grouping set (its keys are null, so it sorts last). A group whose orders
 * were all refunded has none left. The groups are sorted while narrow, with their labels, and
 * written as text after: a report can hold ten thousand rows, and sorting them wide cost more than
 * the aggregation.
 */
const spendStatement = perShape((shape: SpendShape) =>
  planEachCall<SpendValues>("spend_report", (v: Placeholders<SpendValues>) => {
    const { dimensions } = shape;
    // The program and city filters, over the source's program column (`o` or `s`). A city is the
    // list of its programs' ids: PostgreSQL then reads each program's rows by their index. Joined
    // to the programs instead, it scanned every month's sums: the programs' rows are updated with
    // every payment, and between vacuums it took them for twenty times as many.
    const scope = (programId: PgColumn) => [
      ...(shape.program ? [sql`${programId} = ${v.programId}::bigint`] : []),
      ...(shape.city
        ? [
            sql`${programId} = any(array(select ${subsidyPrograms.id} from ${subsidyPrograms} where ${subsidyPrograms.city} = ${v.city}::text))`,
          ]
        : []),
    ];
    const keysOf = (source: "order" | "month") =>
      sql.join(
        dimensions.map((d, i) => sql`${DIMENSIONS[d][source]} as ${k(`k${i}`)}, `),
        sql``,
      );
    const parts: SQL[] = Array.from(
      { length: shape.periods },
      (_, i) =>
        sql`select ${keysOf("order")} 1 as orders, ${o.gpuHours} as gpu_hours, ${o.gross} as gross, ${o.subsidy} as subsidy, ${o.smeShare} as sme_paid
            from ${tableAs(orders, o)}
            where ${sql.join(
              [
                sql`${o.status} = 'PAID'`,
                sql`${o.programId} is not null`,
                sql`${o.paidAt} >= ${v[`from${i}`]}::timestamptz`,
                sql`${o.paidAt} < ${v[`to${i}`]}::timestamptz`,
                ...scope(o.programId),
              ],
              sql` and `,
            )}`,
    );
    if (shape.months) {
      parts.push(
        sql`select ${keysOf("month")} ${s.orders} as orders, ${s.gpuHours} as gpu_hours, ${s.gross} as gross, ${s.subsidy} as subsidy, ${s.smePaid} as sme_paid
            from ${tableAs(spendByMonth, s)}
            where ${sql.join(
              [sql`${s.month} >= ${v.monthFrom}::date`, sql`${s.month} < ${v.monthTo}::date`, ...scope(s.programId)],
              sql` and `,
            )}`,
      );
    }
    const keys = dimensions.map((d, i) => {
      const { label } = DIMENSIONS[d];
      return { ...DIMENSIONS[d], i, joined: label ? alias(label.table, `l${i}`) : null };
    });
    const groupKeys = dimensions.map((_, i) => `u.k${i}`).join(", ");
    const grouped = dimensions.length
      ? k(`group by grouping sets ((${groupKeys}), ()) having sum(u.orders) > 0 or grouping(${groupKeys}) <> 0`)
      : sql``;
    const sorted = (from: string) =>
      dimensions.length ? k(`order by ${keys.map((d) => `${from}.k${d.i}`).join(", ")}`) : sql``;
    // A labelled key is an id: the global id the API shows for it.
    const valueOf = (d: (typeof keys)[number]) => {
      const key = k(`x.k${d.i}`);
      if (d.label) return sql`${k(`'${ID_PREFIX[d.label.type]}_'`)} || ${key}`;
      return d.value ? d.value(key) : key;
    };
    return sql`select ${sql.join(
      keys.map((d) => sql`${valueOf(d)} as ${k(`k${d.i}v`)}, ${d.label ? k(`x.k${d.i}l, `) : sql``}`),
      sql``,
    )}
               x.orders, x.gpu_hours::text, x.gross::text, x.subsidy::text, x.sme_paid::text
        from (
          select g.*${sql.join(
            keys.map((d) => (d.joined ? sql`, ${d.joined.name} as ${k(`k${d.i}l`)}` : sql``)),
            sql``,
          )}
          from (
            select ${k(dimensions.map((_, i) => `u.k${i}, `).join(""))}
                   coalesce(sum(u.orders), 0)::int as orders,
                   sum_bigint(u.gpu_hours) as gpu_hours,
                   sum_bigint(u.gross) as gross,
                   sum_bigint(u.subsidy) as subsidy,
                   sum_bigint(u.sme_paid) as sme_paid
            from (${sql.join(parts, sql` union all `)}) u
            ${grouped}
          ) g
          ${sql.join(
            keys.map((d) =>
              d.joined
                ? sql`left join ${tableAs(d.label!.table, d.joined)} on ${d.joined.id} = ${k(`g.k${d.i}`)}`
                : sql``,
            ),
            sql` `,
          )}
          ${sorted("g")}
        ) x
        ${sorted("x")}`;
  }),
);

interface SpendSqlRow {
  orders: number;
  gpu_hours: string;
  gross: string;
  subsidy: string;
  sme_paid: string;
  [key: string]: unknown;
}

/** The report's rows read straight into the answer: plain objects, keys shared between rows. */
export async function spendReport(
  db: Executor,
  report: SpendSql,
): Promise<{ rows: SpendRowData[]; totals: SpendRowData }> {
  const { dimensions } = report;
  const values: SpendValues = {};
  report.orders.forEach((period, i) => {
    values[`from${i}`] = period.from.toISOString();
    values[`to${i}`] = period.to.toISOString();
  });
  if (report.months) {
    // The months' first days as the billing zone writes them (their instants are the evening before in UTC).
    values.monthFrom = `${monthOf(report.months.from)}-01`;
    values.monthTo = `${monthOf(report.months.to)}-01`;
  }
  if (report.programId != null) values.programId = String(report.programId);
  if (report.city != null) values.city = report.city;
  const statement = spendStatement({
    dimensions,
    periods: report.orders.length,
    months: report.months != null,
    program: report.programId != null,
    city: report.city != null,
  });
  const rows = await statement.rows<SpendSqlRow>(db, values);

  // An amount from the fen PostgreSQL summed, without a BigInt per row.
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

const c = claimLines;
const st = cityStatements;

/** A month's statement: one row per data center, and its total as one more grouping set. */
const statementStatement = prepared(
  "city_statement_of_month",
  (v: Placeholders<{ programId: string; month: string }>) =>
    sql`select ${st.status} as status, ${st.settledAt} as settled_at, ${st.settledBy} as settled_by, ${c.dataCenterId} as data_center_id,
               grouping(${c.dataCenterId}) as is_total,
               coalesce(sum(sign(${c.amount})) filter (where not ${c.credit}), 0)::int as orders,
               coalesce(sum(${c.amount}), 0)::text as subsidy,
               coalesce(sum(${c.amount}) filter (where ${c.credit}), 0)::text as credits
        from ${st}
        left join ${c} on ${c.statementId} = ${st.id}
        where ${st.programId} = ${v.programId}::bigint and ${st.month} = ${v.month}::text
        group by grouping sets ((${st.status}, ${st.settledAt}, ${st.settledBy}, ${c.dataCenterId}), (${st.status}, ${st.settledAt}, ${st.settledBy}))
        order by is_total, ${c.dataCenterId}`,
);

export interface MonthStatement {
  status: "OPEN" | "SETTLED";
  settledAt: Date | null;
  settledBy: number | null;
  lines: { dataCenterId: number; orders: number; subsidy: bigint; credits: bigint }[];
  total: bigint;
}

/** A month's statement with its lines per data center; a month without one reads as an empty OPEN statement. */
export async function monthStatement(db: Executor, programId: number, month: string): Promise<MonthStatement> {
  const rows = await statementStatement.rows<{
    status: "OPEN" | "SETTLED";
    settled_at: Date | string | null;
    settled_by: string | number | null;
    data_center_id: string | number | null;
    is_total: number | string;
    orders: number | string;
    subsidy: string;
    credits: string;
  }>(db, { programId: String(programId), month });
  const total = rows.find((r) => Number(r.is_total) === 1);
  return {
    status: total?.status ?? "OPEN",
    settledAt: total?.settled_at == null ? null : new Date(total.settled_at),
    settledBy: total?.settled_by == null ? null : Number(total.settled_by),
    lines: rows
      .filter((r) => Number(r.is_total) === 0 && r.data_center_id != null)
      .map((r) => ({
        dataCenterId: Number(r.data_center_id),
        orders: Number(r.orders),
        subsidy: BigInt(r.subsidy),
        credits: BigInt(r.credits),
      })),
    total: total ? BigInt(total.subsidy) : 0n,
  };
}

// ------------------------------------------------------------------ the billing calendar

/**
 * Keeps the database's billing zone equal to the server's: when they differ, the function of
 * migration 0011 counts the payment days, the monthly spend and the daily capacity again in the
 * new zone (claim lines stay on their statements). Returns the zone the database had.
 */
export async function useBillingZone(db: Executor, zone: string): Promise<string | null> {
  const [row] = await db.select({ timeZone: billingCalendar.timeZone }).from(billingCalendar);
  if (row?.timeZone !== zone) await db.execute(sql`select billing_recalendar(${zone}::text)`);
  return row?.timeZone ?? null;
}
