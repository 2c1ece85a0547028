// The invariants of docs/domain.md over the whole database, written to stay fast over millions of rows
// (set-wise aggregates instead of per-row lookups). The same rules as test/support/invariants.ts
// and test/support/ledger-invariants.ts. Each query returns the offending ids (empty = holds).
const LIVE = (now) =>
  `(r.status = 'CONFIRMED' or (r.status = 'HELD' and r.hold_expires_at > '${now.toISOString()}'::timestamptz))`;

export const checks = (now) => ({
  // A sweep over each offer's reservation starts (+gpus) and ends (-gpus): the running sum is the
  // GPUs taken in that hour; ends sort before starts at one instant, as windows are half-open.
  "no overbooked hour (live GPUs per offer-hour <= offer.gpu_count)": `
    with events as (
      select r.offer_id, r.starts_at as at, r.gpu_count as delta from reservations r where ${LIVE(now)}
      union all
      select r.offer_id, r.ends_at, -r.gpu_count from reservations r where ${LIVE(now)}
    ), running as (
      select offer_id, sum(delta) over (partition by offer_id order by at, delta rows unbounded preceding) as taken from events
    )
    select distinct running.offer_id from running join offers o on o.id = running.offer_id where running.taken > o.gpu_count limit 20`,
  "no live reservation outside its offer's window": `
    select r.id from reservations r join offers o on o.id = r.offer_id
    where ${LIVE(now)} and (r.starts_at < o.available_from or r.ends_at > o.available_until or r.gpu_count <= 0) limit 20`,
  "a MATCHED bid has its reservation, an OPEN bid none": `
    select b.id from bids b left join reservations r on r.bid_id = b.id
    where (b.status = 'MATCHED' and r.id is null) or (b.status = 'OPEN' and r.id is not null) limit 20`,
  "no overspent program: total = available + pending + spent, each >= 0": `
    select id from subsidy_programs where budget_total <> available + pending + spent or available < 0 or pending < 0 or spent < 0`,
  "spent = subsidies of PAID orders less their credits; pending = subsidies of PENDING_PAYMENT orders": `
    select p.id from subsidy_programs p
    left join (select program_id,
                      sum(subsidy - subsidy_credited) filter (where status = 'PAID') as paid,
                      sum(subsidy) filter (where status = 'PENDING_PAYMENT') as pending
               from orders where program_id is not null group by program_id) o on o.program_id = p.id
    where p.spent <> coalesce(o.paid, 0) or p.pending <> coalesce(o.pending, 0)`,
  "ledger balanced: the entries replay to every program's balances": `
    select p.id from subsidy_programs p
    left join (select program_id,
                      coalesce(sum(amount) filter (where kind = 'RESERVE'), 0) as reserve,
                      coalesce(sum(amount) filter (where kind = 'POST'), 0) as post,
                      coalesce(sum(amount) filter (where kind = 'VOID'), 0) as void,
                      coalesce(sum(amount) filter (where kind = 'REFUND'), 0) as refund
               from ledger_entries group by program_id) e on e.program_id = p.id
    where p.pending <> coalesce(e.reserve - e.post - e.void, 0)
       or p.spent <> coalesce(e.post - e.refund, 0)
       or p.available <> p.budget_total - coalesce(e.reserve - e.void - e.refund, 0)`,
  "every subsidized order's entries match its status": `
    select o.id from orders o
    left join (select order_id, array_agg(kind::text order by kind::text) as kinds,
                      -- a PAID order's REFUND is the credit for undelivered GPU-hours
                      bool_and(amount = case when e.kind = 'REFUND' and o2.status = 'PAID' then o2.subsidy_credited else o2.subsidy end) as same
               from ledger_entries e join orders o2 on o2.id = e.order_id group by order_id) e on e.order_id = o.id
    where o.subsidy > 0 and o.program_id is not null and not coalesce(e.same, false)
       or (o.subsidy > 0 and o.status = 'PAID'
           and e.kinds <> case when o.subsidy_credited > 0 then '{POST,REFUND,RESERVE}'::text[] else '{POST,RESERVE}'::text[] end)
       or (o.subsidy > 0 and o.status = 'PENDING_PAYMENT' and e.kinds <> '{RESERVE}')
    limit 20`,
  "voucher remaining = granted - subsidies of its live orders less their credits": `
    select v.id from vouchers v
    left join (select voucher_id, sum(subsidy - subsidy_credited) as used from orders where status in ('PENDING_PAYMENT', 'PAID') and voucher_id is not null group by voucher_id) o
      on o.voucher_id = v.id
    where v.remaining <> v.granted_amount - coalesce(o.used, 0) or v.remaining < 0 limit 20`,
  "per-SME annual counters = subsidies of live orders less their credits, within the cap": `
    select a.program_id, a.sme_id from sme_annual_subsidy a
    join subsidy_programs p on p.id = a.program_id
    left join (select program_id, sme_id, subsidy_year, sum(subsidy - subsidy_credited) as used from orders
               where status in ('PENDING_PAYMENT', 'PAID') and program_id is not null group by program_id, sme_id, subsidy_year) o
      on o.program_id = a.program_id and o.sme_id = a.sme_id and o.subsidy_year = a.year
    where a.committed <> coalesce(o.used, 0) or (p.per_sme_annual_cap is not null and a.committed > p.per_sme_annual_cap) limit 20`,
  "every order: subsidy + smeShare = gross": `
    select id from orders where subsidy + sme_share <> gross or subsidy < 0 or sme_share < 0 limit 20`,
  "a PAID order's reservation is CONFIRMED": `
    select o.id from orders o join reservations r on r.id = o.reservation_id where o.status = 'PAID' and r.status <> 'CONFIRMED' limit 20`,
  "claim lines of each program add up to its spent budget": `
    select p.id from subsidy_programs p
    left join (select program_id, sum(amount) as claimed from claim_lines group by program_id) c on c.program_id = p.id
    where p.spent <> coalesce(c.claimed, 0)`,
  "an order's paid_day is the day of its payment in the billing time zone": `
    select id from orders where paid_day is distinct from (paid_at at time zone billing_zone())::date limit 20`,
  "the spend report's monthly sums = the PAID orders they sum": `
    select coalesce(s.program_id, o.program_id) as program_id, coalesce(s.month, o.month) as month, coalesce(s.data_center_id, o.data_center_id) as data_center_id
    from spend_by_month s
    full join (select program_id, date_trunc('month', paid_at at time zone billing_zone())::date as month, data_center_id, hub,
                      count(*) as orders, sum(gpu_hours) as gpu_hours, sum(gross) as gross, sum(subsidy) as subsidy, sum(sme_share) as sme_paid
               from orders where status = 'PAID' and program_id is not null group by 1, 2, 3, 4) o
      using (program_id, month, data_center_id, hub)
    where (coalesce(s.orders, 0), coalesce(s.gpu_hours, 0), coalesce(s.gross, 0), coalesce(s.subsidy, 0), coalesce(s.sme_paid, 0))
       <> (coalesce(o.orders, 0), coalesce(o.gpu_hours, 0), coalesce(o.gross, 0), coalesce(o.subsidy, 0), coalesce(o.sme_paid, 0))
    limit 20`,
});

/** Runs every check; returns [{ name, ok, offending }]. */
export async function checkInvariants(sql, now = new Date()) {
  const results = [];
  for (const [name, query] of Object.entries(checks(now))) {
    const started = Date.now();
    const rows = await sql.unsafe(query);
    results.push({
      name,
      ok: rows.length === 0,
      offending: rows.slice(0, 10).map((r) => Object.values(r).join(":")),
      ms: Date.now() - started,
    });
  }
  return results;
}
