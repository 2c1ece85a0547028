// The policy report's statements, written from the schema (src/db/client.ts): the subsidized
// GPU-hours of a period with the figures the policy asks about, and the hubs' capacity over time.
// Both are planned per call: a city's month and the whole market's year read very different amounts.
import { sql, type SQL } from "drizzle-orm";
import { alias, type PgColumn } from "drizzle-orm/pg-core";
import { perShape, planEachCall, tableAs, type Executor, type Placeholders } from "../db/client.js";
import { capacityByDay, capacityByMonth, gpuModels, orders, subsidyPrograms } from "../db/schema.js";
import { WESTERN_HUBS } from "../db/reference.js";

const o = alias(orders, "o");
const p = alias(subsidyPrograms, "p");
const m = alias(gpuModels, "m");

type SubsidyValues = { from: string; to: string; city?: string };

/**
 * The paid orders with a program (PAID now: refunded ones drop out, as in the spend report) whose
 * billing day of payment is in [from, to), in one pass over orders_paid_policy_idx: their GPU-hours,
 * those in the western hubs and on domestic models, their subsidy, and per SME the subsidy, from
 * which the number of SMEs and the share of the ten that got the most.
 */
const subsidyStatement = perShape((shape: { city: boolean }) =>
  planEachCall<SubsidyValues>("policy_subsidy", (v: Placeholders<SubsidyValues>) => {
    const western = sql.join(
      WESTERN_HUBS.map((hub) => sql`${hub}`),
      sql`, `,
    );
    return sql`with paid as (
          select ${o.smeId} as sme_id, ${o.gpuHours} as gpu_hours, ${o.subsidy} as subsidy,
                 ${o.hub} in (${western}) as western, ${m.domestic} as domestic
          from ${tableAs(orders, o)}
          join ${tableAs(subsidyPrograms, p)} on ${p.id} = ${o.programId}
          join ${tableAs(gpuModels, m)} on ${m.id} = ${o.gpuModelId}
          where ${o.status} = 'PAID' and ${o.programId} is not null
            and ${o.paidDay} >= ${v.from}::date and ${o.paidDay} < ${v.to}::date
            ${shape.city ? sql`and ${p.city} = ${v.city}::text` : sql``}
        ), per_sme as (
          select sme_id, sum_bigint(subsidy) as subsidy from paid group by sme_id
        )
        select coalesce(sum_bigint(gpu_hours), 0)::text as gpu_hours,
               coalesce(sum_bigint(gpu_hours) filter (where western), 0)::text as western_gpu_hours,
               coalesce(sum_bigint(gpu_hours) filter (where domestic), 0)::text as domestic_gpu_hours,
               coalesce(sum_bigint(subsidy), 0)::text as subsidy,
               (select count(*) from per_sme)::int as smes,
               (select coalesce(sum_bigint(t.subsidy), 0) from (select subsidy from per_sme order by subsidy desc limit 10) t)::text as top10_subsidy
        from paid`;
  }),
);

export interface PolicySubsidy {
  gpuHours: bigint;
  westernGpuHours: bigint;
  domesticGpuHours: bigint;
  subsidy: bigint;
  smes: number;
  top10Subsidy: bigint;
}

export async function policySubsidy(
  db: Executor,
  period: { from: string; to: string },
  city: string | null,
): Promise<PolicySubsidy> {
  const [row] = await subsidyStatement({ city: city != null }).rows<Record<string, string | number>>(db, {
    ...period,
    ...(city != null ? { city } : {}),
  });
  return {
    gpuHours: BigInt(row.gpu_hours),
    westernGpuHours: BigInt(row.western_gpu_hours),
    domesticGpuHours: BigInt(row.domestic_gpu_hours),
    subsidy: BigInt(row.subsidy),
    smes: Number(row.smes),
    top10Subsidy: BigInt(row.top10_subsidy),
  };
}

export type Granularity = "DAY" | "WEEK" | "MONTH";

const cd = capacityByDay;
const cm = capacityByMonth;

/**
 * Where each granularity reads and the first day of a row's period: days and ISO weeks (Monday) from
 * capacity_by_day, months from capacity_by_month (a year is twelve rows per data center). Date
 * arithmetic in integers: no conversion to a timestamp per row.
 */
const SOURCE: Record<Granularity, { table: typeof cd | typeof cm; day: PgColumn; bucket: SQL }> = {
  DAY: { table: cd, day: cd.day, bucket: sql`${cd.day}` },
  WEEK: { table: cd, day: cd.day, bucket: sql`${cd.day} - extract(isodow from ${cd.day})::int + 1` },
  MONTH: { table: cm, day: cm.month, bucket: sql`${cm.month}` },
};

/**
 * Offered and paid-for GPU-hours per hub and period over [from, to), summed while the keys are
 * narrow, then named by each period's first day inside [from, to). A month's row covers the whole
 * month: the MONTH report's from and to are first days of months (policy.ts rounds them).
 */
const capacityStatement = perShape((granularity: Granularity) =>
  planEachCall<{ from: string; to: string }>("policy_capacity", (v) => {
    const { table, day, bucket } = SOURCE[granularity];
    const columns = table === cd ? cd : cm;
    return sql`select g.hub, to_char(greatest(g.bucket, ${v.from}::date), 'YYYY-MM-DD') as start,
                 g.offered::text as offered, g.reserved::text as reserved
          from (
            select ${columns.hub} as hub, ${bucket} as bucket,
                   sum_bigint(${columns.offeredGpuHours}) as offered, sum_bigint(${columns.reservedGpuHours}) as reserved
            from ${table}
            where ${day} >= ${v.from}::date and ${day} < ${v.to}::date
            group by 1, 2
          ) g
          order by 1, 2`;
  }),
);

export interface CapacityRow {
  hub: string;
  start: string;
  offered: bigint;
  reserved: bigint;
}

export async function hubCapacity(
  db: Executor,
  period: { from: string; to: string },
  granularity: Granularity,
): Promise<CapacityRow[]> {
  const rows = await capacityStatement(granularity).rows<{
    hub: string;
    start: string;
    offered: string;
    reserved: string;
  }>(db, period);
  return rows.map((row) => ({
    hub: row.hub,
    start: row.start,
    offered: BigInt(row.offered),
    reserved: BigInt(row.reserved),
  }));
}
