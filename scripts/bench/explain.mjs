// EXPLAIN ANALYZE of the hot queries, written as the services send them, on the loaded data.
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export async function explainHotQueries(sql, market, maxLines = 30) {
  const model = market.models.H800;
  const hub = market.hubs[0];
  const from = new Date(market.anchor + 2 * DAY).toISOString();
  const until = new Date(market.anchor + 9 * DAY).toISOString();
  const earliest = new Date(Math.ceil(Date.now() / HOUR) * HOUR + 24 * HOUR).toISOString();
  const latest = new Date(Date.parse(earliest) + 40 * HOUR).toISOString();
  // The spend report's year, the whole months inside it in the billing time zone (Asia/Shanghai,
  // UTC+8 all year) and its ends.
  const CHINA = 8 * HOUR;
  const yearStart = new Date(market.anchor - 365 * DAY);
  const yearEnd = new Date(market.anchor);
  const monthStart = (at, add = 0) => {
    const china = new Date(at.getTime() + CHINA);
    return new Date(Date.UTC(china.getUTCFullYear(), china.getUTCMonth() + add, 1) - CHINA);
  };
  const monthDate = (at) => new Date(at.getTime() + CHINA).toISOString().slice(0, 10);
  const firstMonth = monthStart(yearStart).getTime() === yearStart.getTime() ? yearStart : monthStart(yearStart, 1);
  const lastMonth = monthStart(yearEnd);
  // What the services read of an offer: every column but updated_at (search), the match terms (bids).
  const LISTED_OFFER =
    "offers.id, offers.data_center_id, offers.gpu_model_id, offers.gpu_count, offers.price_per_gpu_hour, offers.available_from, offers.available_until, offers.min_hours, offers.status, offers.created_at";
  const candidates = `
      select ${LISTED_OFFER}, data_centers.hub from offers join data_centers on data_centers.id = offers.data_center_id
      where offers.status = 'ACTIVE' and offers.gpu_model_id = ${model} and offers.price_per_gpu_hour <= 3120
        and offers.min_hours <= 12 and offers.gpu_count >= 8
        and offers.available_from < '${latest}'::timestamptz and offers.available_until > '${earliest}'::timestamptz
        and greatest(offers.available_from, '${earliest}'::timestamptz) + 12 * interval '1 hour' <= least(offers.available_until, '${latest}'::timestamptz)
      order by offers.price_per_gpu_hour, offers.id limit 64`;
  // The search as the service sends it: one prepared statement whose count is a column, run on
  // the plan PostgreSQL caches for any values (forced here; it is what the server settles on).
  const searchWhere = `offers.status = 'ACTIVE' and offers.gpu_model_id = $1::bigint and data_centers.hub = $2::text
      and offers.available_from <= $3::timestamptz and offers.available_until > $3::timestamptz
      and offers.available_until >= $4::timestamptz and offers.available_from < $4::timestamptz`;
  const queries = {
    "offers search: page (first 50 by price) with its totalCount, on the cached plan": {
      sql: `select (select count(*) from offers join data_centers on data_centers.id = offers.data_center_id where ${searchWhere}) as total_count,
               ${LISTED_OFFER}, data_centers.*, organizations.*
        from offers join data_centers on data_centers.id = offers.data_center_id join organizations on organizations.id = data_centers.operator_id
        where ${searchWhere} order by offers.price_per_gpu_hour, offers.id limit $5::int`,
      params: [model, hub, from, until, 51],
    },
    "placeBid: the cheapest 64 candidates, read without locks (8 GPUs, 12 h in a 40 h window)": candidates,
    "placeBid: the live reservations of those candidates": `
      select offer_id, array_agg(extract(epoch from starts_at)::int8)::text as starts,
             array_agg(extract(epoch from ends_at)::int8)::text as ends, array_agg(gpu_count)::text as gpus
      from reservations
      where offer_id = any(array(select id from (${candidates}) c)) and status in ('HELD', 'CONFIRMED')
        and (status = 'CONFIRMED' or (status = 'HELD' and hold_expires_at > now()))
        and starts_at < '${latest}'::timestamptz and ends_at > '${earliest}'::timestamptz
      group by offer_id`,
    "placeBid: the utilization tie-break (three data centers of those candidates)": `
      select o.data_center_id as dc,
             coalesce(sum(o.gpu_count * extract(epoch from least(o.available_until, '${latest}'::timestamptz) - greatest(o.available_from, '${earliest}'::timestamptz)) / 3600)
                      filter (where o.status <> 'WITHDRAWN'), 0)::bigint as offered,
             coalesce(sum(booked.gpu_hours), 0)::bigint as reserved
      from offers o
      left join lateral (
        select sum(reservations.gpu_count * extract(epoch from least(reservations.ends_at, '${latest}'::timestamptz) - greatest(reservations.starts_at, '${earliest}'::timestamptz)) / 3600) as gpu_hours
        from reservations
        where reservations.offer_id = o.id and reservations.status in ('HELD', 'CONFIRMED')
          and (reservations.status = 'CONFIRMED' or (reservations.status = 'HELD' and reservations.hold_expires_at > now()))
          and reservations.starts_at < '${latest}'::timestamptz and reservations.ends_at > '${earliest}'::timestamptz
      ) booked on true
      where o.data_center_id = any(array(select distinct data_center_id from (${candidates}) c limit 3))
        and o.available_until > '${earliest}'::timestamptz and o.available_from < '${latest}'::timestamptz
      group by o.data_center_id`,
    "subsidySpend: one city, a year, by MONTH and DATA_CENTER (whole months from spend_by_month, the ends from orders)": `
      select to_char(x.k0, 'YYYY-MM') as k0v, x.k1::text as k1v, x.k1l, x.orders, x.gpu_hours::text, x.gross::text, x.subsidy::text, x.sme_paid::text
      from (
        select g.*, l1.name as k1l
        from (
          select u.k0, u.k1, coalesce(sum(u.orders), 0)::int as orders, sum_bigint(u.gpu_hours) as gpu_hours, sum_bigint(u.gross) as gross,
                 sum_bigint(u.subsidy) as subsidy, sum_bigint(u.sme_paid) as sme_paid
          from (
            ${[
              [yearStart, firstMonth],
              [lastMonth, yearEnd],
            ]
              .filter(([a, b]) => a < b)
              .map(
                ([
                  a,
                  b,
                ]) => `select o.paid_day - extract(day from o.paid_day)::int + 1 as k0, o.data_center_id as k1, 1 as orders,
                     o.gpu_hours, o.gross, o.subsidy, o.sme_share as sme_paid
              from orders o join subsidy_programs p on p.id = o.program_id
              where o.status = 'PAID' and o.program_id is not null and o.paid_at >= '${a.toISOString()}' and o.paid_at < '${b.toISOString()}'
                and p.city = 'Shanghai'
            union all`,
              )
              .join("\n          ")}
            select s.month, s.data_center_id, s.orders, s.gpu_hours, s.gross, s.subsidy, s.sme_paid
            from spend_by_month s join subsidy_programs p on p.id = s.program_id
            where s.month >= '${monthDate(firstMonth)}' and s.month < '${monthDate(lastMonth)}' and p.city = 'Shanghai'
          ) u
          group by grouping sets ((u.k0, u.k1), ()) having sum(u.orders) > 0 or grouping(u.k0, u.k1) <> 0
        ) g
        left join data_centers l1 on l1.id = g.k1
        order by g.k0, g.k1
      ) x
      order by x.k0, x.k1`,
  };
  const plans = {};
  for (const [name, query] of Object.entries(queries)) {
    // In a transaction rolled back: nothing is kept or changed.
    const lines = await sql
      .begin(async (tx) => {
        let rows;
        if (typeof query === "string") rows = await tx.unsafe(`explain (analyze, buffers, costs off) ${query}`);
        else {
          await tx.unsafe("set local plan_cache_mode = force_generic_plan");
          await tx.unsafe(`prepare explained as ${query.sql}`);
          const values = query.params
            .map((v) => (typeof v === "number" ? String(v) : `'${String(v).replace(/'/g, "''")}'`))
            .join(", ");
          rows = await tx.unsafe(`explain (analyze, buffers, costs off) execute explained(${values})`);
          await tx.unsafe("deallocate explained");
        }
        throw Object.assign(new Error("rollback"), { rows });
      })
      .catch((error) => (error.rows ? error.rows : [{ "QUERY PLAN": `failed: ${error.message}` }]));
    const text = lines.map((r) => r["QUERY PLAN"]);
    plans[name] = (text.length > maxLines ? [...text.slice(0, maxLines - 3), "  ...", ...text.slice(-2)] : text).join(
      "\n",
    );
  }
  return plans;
}
