// The budget-ledger invariants of docs/domain.md, checked with SQL over the whole database.
import { expect } from "vitest";

export type RunSql = (text: string, params?: unknown[]) => Promise<any[]>;

/**
 * The spend_by_month groups (program/month) that differ from the PAID orders they sum, by the month
 * of payment in the database's billing time zone (billing_zone(), migration 0011).
 */
export const SPEND_BY_MONTH_MISMATCHES = `
  select coalesce(s.program_id, o.program_id) || '/' || coalesce(s.month, o.month) as spend_group
  from spend_by_month s
  full join (
    select program_id, date_trunc('month', paid_at at time zone billing_zone())::date as month, data_center_id, hub,
           count(*) as orders, sum(gpu_hours) as gpu_hours, sum(gross) as gross, sum(subsidy) as subsidy, sum(sme_share) as sme_paid
    from orders where status = 'PAID' and program_id is not null group by 1, 2, 3, 4) o
    using (program_id, month, data_center_id, hub)
  where (coalesce(s.orders, 0), coalesce(s.gpu_hours, 0), coalesce(s.gross, 0), coalesce(s.subsidy, 0), coalesce(s.sme_paid, 0))
     <> (coalesce(o.orders, 0), coalesce(o.gpu_hours, 0), coalesce(o.gross, 0), coalesce(o.subsidy, 0), coalesce(o.sme_paid, 0))`;

/**
 * The capacity_by_day rows (data center/day) that differ from the offers (not WITHDRAWN) and the
 * CONFIRMED reservations they sum, counted here hour by hour in the billing time zone.
 */
export const CAPACITY_BY_DAY_MISMATCHES = `
  select coalesce(c.data_center_id, x.dc) || '/' || coalesce(c.day, x.day) as capacity_day
  from capacity_by_day c
  full join (
    select dc, day, sum(offered) as offered, sum(reserved) as reserved from (
      select o.data_center_id as dc, (h at time zone billing_zone())::date as day, o.gpu_count as offered, 0 as reserved
      from offers o cross join lateral generate_series(o.available_from, o.available_until - interval '1 hour', interval '1 hour') h
      where o.status <> 'WITHDRAWN'
      union all
      select o.data_center_id, (h at time zone billing_zone())::date, 0, r.gpu_count
      from reservations r join offers o on o.id = r.offer_id
      cross join lateral generate_series(r.starts_at, r.ends_at - interval '1 hour', interval '1 hour') h
      where r.status = 'CONFIRMED') u
    group by dc, day) x on x.dc = c.data_center_id and x.day = c.day
  where (coalesce(c.offered_gpu_hours, 0), coalesce(c.reserved_gpu_hours, 0)) <> (coalesce(x.offered, 0), coalesce(x.reserved, 0))`;

/** The capacity_by_month rows (data center/month) that differ from the days of capacity_by_day they sum. */
export const CAPACITY_BY_MONTH_MISMATCHES = `
  select coalesce(m.data_center_id, d.data_center_id) || '/' || coalesce(m.month, d.month) as capacity_month
  from capacity_by_month m
  full join (
    select data_center_id, date_trunc('month', day)::date as month,
           sum(offered_gpu_hours) as offered, sum(reserved_gpu_hours) as reserved
    from capacity_by_day group by 1, 2) d on d.data_center_id = m.data_center_id and d.month = m.month
  where (coalesce(m.offered_gpu_hours, 0), coalesce(m.reserved_gpu_hours, 0)) <> (coalesce(d.offered, 0), coalesce(d.reserved, 0))`;

const CHECKS: Record<string, string> = {
  "total = available + pending + spent, each >= 0": `
    select id from subsidy_programs
    where budget_total <> available + pending + spent or available < 0 or pending < 0 or spent < 0`,
  "spent = subsidies of PAID orders less their credits; pending = subsidies of PENDING_PAYMENT orders": `
    select p.id from subsidy_programs p
    left join lateral (
      select coalesce(sum(subsidy - subsidy_credited) filter (where status = 'PAID'), 0) as paid,
             coalesce(sum(subsidy) filter (where status = 'PENDING_PAYMENT'), 0) as pending
      from orders o where o.program_id = p.id) o on true
    where p.spent <> o.paid or p.pending <> o.pending`,
  "the ledger entries replay to the balances": `
    select p.id from subsidy_programs p
    left join lateral (
      select coalesce(sum(amount) filter (where kind = 'RESERVE'), 0) as reserve,
             coalesce(sum(amount) filter (where kind = 'POST'), 0) as post,
             coalesce(sum(amount) filter (where kind = 'VOID'), 0) as void,
             coalesce(sum(amount) filter (where kind = 'REFUND'), 0) as refund
      from ledger_entries e where e.program_id = p.id) e on true
    where p.pending <> e.reserve - e.post - e.void
       or p.spent <> e.post - e.refund
       or p.available <> p.budget_total - e.reserve + e.void + e.refund`,
  "voucher remaining = granted - subsidies of its live orders less their credits": `
    select v.id from vouchers v
    left join lateral (
      select coalesce(sum(subsidy - subsidy_credited), 0) as used from orders o
      where o.voucher_id = v.id and o.status in ('PENDING_PAYMENT', 'PAID')) o on true
    where v.remaining <> v.granted_amount - o.used or v.remaining < 0`,
  "per-SME annual counters = subsidies of live orders less their credits, within the cap": `
    select a.program_id from sme_annual_subsidy a
    join subsidy_programs p on p.id = a.program_id
    left join lateral (
      select coalesce(sum(subsidy - subsidy_credited), 0) as used from orders o
      where o.program_id = a.program_id and o.sme_id = a.sme_id and o.subsidy_year = a.year
        and o.status in ('PENDING_PAYMENT', 'PAID')) o on true
    where a.committed <> o.used or (p.per_sme_annual_cap is not null and a.committed > p.per_sme_annual_cap)`,
  "every order: subsidy + smeShare = gross": `
    select id from orders where subsidy + sme_share <> gross or subsidy < 0 or sme_share < 0`,
  "a PAID order's reservation is CONFIRMED": `
    select o.id from orders o join reservations r on r.id = o.reservation_id
    where o.status = 'PAID' and r.status <> 'CONFIRMED'`,
  "the spend report's monthly sums = the PAID orders they sum": SPEND_BY_MONTH_MISMATCHES,
  "an order's credits = its final delivery's, its subsidy credit = its credit lines and its REFUND entry": `
    select o.id from orders o
    left join deliveries d on d.order_id = o.id and d.status = 'FINAL'
    left join lateral (select coalesce(-sum(amount), 0) as credited from claim_lines c where c.order_id = o.id and c.credit) c on true
    left join lateral (select coalesce(sum(amount), 0) as refunded from ledger_entries e where e.order_id = o.id and e.kind = 'REFUND') e on true
    where (o.subsidy_credited, o.sme_share_credited) <> (coalesce(d.subsidy_credit, 0), coalesce(d.sme_share_credit, 0))
       or c.credited <> o.subsidy_credited
       or (o.status = 'PAID' and e.refunded <> o.subsidy_credited)`,
  "the city's statements bill the subsidy of PAID orders less credits": `
    select p.id from subsidy_programs p
    left join lateral (select coalesce(sum(amount), 0) as billed from claim_lines c where c.program_id = p.id) c on true
    where c.billed <> p.spent`,
  "an order's paid_day is the day of its payment in the billing time zone": `
    select id from orders where paid_day is distinct from (paid_at at time zone billing_zone())::date`,
  "the daily capacity = the offers and paid reservations it sums": CAPACITY_BY_DAY_MISMATCHES,
  "the monthly capacity = the days it sums": CAPACITY_BY_MONTH_MISMATCHES,
};

/** The names of the invariants that some row breaks; empty when all hold. */
export async function brokenLedgerInvariants(run: RunSql): Promise<string[]> {
  const broken: string[] = [];
  for (const [name, query] of Object.entries(CHECKS)) {
    const rows = await run(query);
    if (rows.length) broken.push(`${name}: ${rows.map((r) => Object.values(r)[0]).join(", ")}`);
  }
  return broken;
}

export async function assertLedgerInvariants(server: { sql: RunSql }): Promise<void> {
  expect(await brokenLedgerInvariants((text, params) => server.sql(text, params))).toEqual([]);
}
