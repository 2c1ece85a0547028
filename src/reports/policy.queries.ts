// The policy report's statements, written from the schema (src/db/client.ts): the subsidized
// GPU-hours of a period with the figures the policy asks about, and the hubs' capacity over time.
// Both are planned per call: a city's month and the whole market's year read very different amounts.
import { sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { perShape, planEachCall, tableAs, type Executor, type Placeholders } from "../db/client.js";
import { capacityByDay, gpuModels, orders, subsidyPrograms } from "../db/schema.js";
import { WESTERN_HUBS } from "../db/reference.js";

const o = alias(orders, "o");
const p = alias(subsidyPrograms, "p");
const m = alias(gpuModels, "m");
const c = capacityByDay;

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

/** The first day of a day's period: itself, its ISO week's Monday, or its month's first day. */
const BUCKET: Record<Granularity, ReturnType<typeof sql>> = {
  DAY: sql`${c.day}`,
  WEEK: sql`date_trunc('week', ${c.day})::date`,
  MONTH: sql`date_trunc('month', ${c.day})::date`,
};

/**
 * Offered and paid-for GPU-hours per hub and period over [from, to), from capacity_by_day (kept by
 * triggers on offers and reservations). A period is named by its first day inside [from, to).
 */
const capacityStatement = perShape((granularity: Granularity) =>
  planEachCall<{ from: string; to: string }>(
    "policy_capacity",
    (v) =>
      sql`select ${c.hub} as hub, to_char(greatest(${BUCKET[granularity]}, ${v.from}::date), 'YYYY-MM-DD') as start,
                 sum_bigint(${c.offeredGpuHours})::text as offered, sum_bigint(${c.reservedGpuHours})::text as reserved
          from ${c}
          where ${c.day} >= ${v.from}::date and ${c.day} < ${v.to}::date
          group by 1, 2
          order by 1, 2`,
  ),
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
