// The city's reports: subsidy spend by any combination of dimensions, and monthly statements.
// Each is one SQL aggregation (a statement's totals through grouping sets; a spend report's are
// the sum of its groups).
import { sql, type SQL } from "drizzle-orm";
import { PLAN_EACH_CALL, rowsOf, type Executor } from "../db/client.js";
import type { Viewer } from "../graphql/context.js";
import { badInput, conflict, forbidden } from "../graphql/errors.js";
import { lockProgram } from "../ledger/ledger.service.js";
import { programInScope, type ProgramRow } from "../vouchers/programs.service.js";
import { requireStorable } from "../accounts/accounts.service.js";

export type Dimension = "MONTH" | "PROGRAM" | "DATA_CENTER" | "HUB" | "GPU_MODEL" | "SME";

/**
 * How each dimension groups (an expression over the order `o`), and, applied to the aggregated row
 * (its key `k`), how its value reads as text and how it is labelled, with the join the label needs.
 * Labels are joined after the aggregation, so the rows are grouped on narrow keys only.
 */
const DIMENSIONS: Record<Dimension, { group: string; value: (k: string) => string; label: (k: string, i: number) => string; join?: (k: string, i: number) => string }> = {
  MONTH: { group: `date_trunc('month', o.paid_at at time zone 'UTC')`, value: (k) => `to_char(${k}, 'YYYY-MM')`, label: (k) => `to_char(${k}, 'YYYY-MM')` },
  PROGRAM: {
    group: `o.program_id`,
    value: (k) => `${k}::text`,
    label: (_k, i) => `l${i}.name`,
    join: (k, i) => `left join subsidy_programs l${i} on l${i}.id = ${k}`,
  },
  DATA_CENTER: {
    group: `o.data_center_id`,
    value: (k) => `${k}::text`,
    label: (_k, i) => `l${i}.name`,
    join: (k, i) => `left join data_centers l${i} on l${i}.id = ${k}`,
  },
  HUB: { group: `o.hub`, value: (k) => k, label: (k) => k },
  GPU_MODEL: {
    group: `o.gpu_model_id`,
    value: (k) => `${k}::text`,
    label: (_k, i) => `l${i}.name`,
    join: (k, i) => `left join gpu_models l${i} on l${i}.id = ${k}`,
  },
  SME: {
    group: `o.sme_id`,
    value: (k) => `${k}::text`,
    label: (_k, i) => `l${i}.name`,
    join: (k, i) => `left join organizations l${i} on l${i}.id = ${k}`,
  },
};

export interface SpendFigures {
  orders: number;
  gpuHours: number;
  gross: bigint;
  subsidy: bigint;
  smePaid: bigint;
}

export interface SpendRowData extends SpendFigures {
  keys: { dimension: Dimension; value: string; label: string }[];
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
  orders: number | string;
  gpu_hours: string;
  gross: string;
  subsidy: string;
  sme_paid: string;
  [key: string]: unknown;
}

/** Which programs the viewer may report on: a finance team its own city only, the admin every city. */
async function spendScope(db: Executor, viewer: Viewer, query: SpendQuery): Promise<{ program: ProgramRow | null; city: string | null }> {
  const program = query.programAsked ? await programInScope(db, viewer, query.programId) : null;
  if (viewer.role === "ADMIN") return { program, city: query.city == null ? null : requireStorable("city", query.city) };
  if (query.city != null && query.city !== viewer.city) throw forbidden("A finance team reads its own city's spend only");
  return { program, city: viewer.city };
}

export async function subsidySpend(db: Executor, viewer: Viewer, query: SpendQuery): Promise<{ rows: SpendRowData[]; totals: SpendRowData }> {
  if (query.to <= query.from) throw badInput("to", "to must be after from");
  const { program, city } = await spendScope(db, viewer, query);
  const dimensions = [...new Set(query.groupBy)];

  const filters: SQL[] = [
    PLAN_EACH_CALL,
    sql`o.status = 'PAID'`,
    sql`o.program_id is not null`,
    sql`o.paid_at >= ${query.from.toISOString()}::timestamptz`,
    sql`o.paid_at < ${query.to.toISOString()}::timestamptz`,
  ];
  if (program) filters.push(sql`o.program_id = ${String(program.id)}::bigint`);
  if (city != null) filters.push(sql`p.city = ${city}::text`);

  // Aggregate on the narrow group keys (a hash aggregate), then read values and labels; the totals
  // are the sum of the groups, exact in BigInt.
  const keys = dimensions.map((d, i) => ({ ...DIMENSIONS[d], k: `g.k${i}`, i }));
  const rows = await rowsOf<SpendSqlRow>(
    db,
    sql`select ${sql.raw(keys.map((d) => `${d.value(d.k)} as k${d.i}v, ${d.label(d.k, d.i)} as k${d.i}l, `).join(""))}
               g.orders, g.gpu_hours, g.gross, g.subsidy, g.sme_paid
        from (
          select ${sql.raw(dimensions.map((d, i) => `${DIMENSIONS[d].group} as k${i}, `).join(""))}
                 count(*)::int as orders,
                 coalesce(sum(o.gpu_hours), 0)::text as gpu_hours,
                 coalesce(sum(o.gross), 0)::text as gross,
                 coalesce(sum(o.subsidy), 0)::text as subsidy,
                 coalesce(sum(o.sme_share), 0)::text as sme_paid
          from orders o
          join subsidy_programs p on p.id = o.program_id
          where ${sql.join(filters, sql` and `)}
          ${dimensions.length ? sql.raw(`group by ${dimensions.map((_, i) => i + 1).join(", ")}`) : sql``}
        ) g
        ${sql.raw(keys.map((d) => d.join?.(d.k, d.i) ?? "").filter(Boolean).join("\n"))}
        ${dimensions.length ? sql.raw(`order by ${keys.map((d) => d.k).join(", ")}`) : sql``}`,
  );

  const toRow = (row: SpendSqlRow, withKeys: boolean): SpendRowData => ({
    keys: withKeys ? dimensions.map((dimension, i) => ({ dimension, value: String(row[`k${i}v`]), label: String(row[`k${i}l`]) })) : [],
    orders: Number(row.orders),
    gpuHours: Number(row.gpu_hours),
    gross: BigInt(row.gross),
    subsidy: BigInt(row.subsidy),
    smePaid: BigInt(row.sme_paid),
  });
  // Without dimensions the one row is the whole: rows = [totals].
  if (dimensions.length === 0) {
    const totals = toRow(rows[0], false);
    return { rows: [totals], totals };
  }
  const detail = rows.map((r) => toRow(r, true));
  const totals: SpendRowData = { keys: [], orders: 0, gpuHours: 0, gross: 0n, subsidy: 0n, smePaid: 0n };
  for (const row of detail) {
    totals.orders += row.orders;
    totals.gpuHours += row.gpuHours;
    totals.gross += row.gross;
    totals.subsidy += row.subsidy;
    totals.smePaid += row.smePaid;
  }
  return { rows: detail, totals };
}

// ------------------------------------------------------------------ statements

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

export function requireMonth(field: string, month: string): string {
  if (!MONTH.test(month)) throw badInput(field, `${field} must be a month like "2026-11"`);
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

export async function cityStatement(db: Executor, viewer: Viewer, programId: number | null, month: string): Promise<StatementData> {
  requireMonth("month", month);
  return readStatement(db, await programInScope(db, viewer, programId), month);
}

/**
 * Marks a month's statement SETTLED (creating it when the month has none yet); CONFLICT when it
 * already is. Under the program's lock, so a claim line never lands in a statement being settled:
 * later claims go to the next open statement.
 */
export async function settleStatement(tx: Executor, viewer: Viewer, programId: number | null, month: string, now: Date): Promise<StatementData> {
  requireMonth("month", month);
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

