// The baseline: the same work as the hot paths (the offers search, placeBid, the spend report,
// the policy report, bulk publishing), as raw SQL through `postgres` behind a bare node:http
// handler, answering the same JSON as the GraphQL server. The statements are those the server
// sends (src/*/*.queries.ts); the matching rules are the server's own pure functions
// (dist/bids/match.js), so a bid wins the same offer at the same start. The ratio GraphQL / raw is
// the overhead of our stack over the database: GraphQL, the services, drizzle, the loaders.
// Env: DATABASE_URL, PORT, DB_POOL_SIZE.
import { createHash, randomUUID } from "node:crypto";
import http from "node:http";
import postgres from "postgres";
import { dataCentersToCompare, feasibleCandidates, pickWinner } from "../../dist/bids/match.js";
import { checkEligibility, computeSubsidy } from "../../dist/vouchers/subsidy.js";
import { monthOf, yearOf } from "../../dist/time.js";

const sql = postgres(process.env.DATABASE_URL, {
  max: Number(process.env.DB_POOL_SIZE || 10),
  onnotice: () => {},
  connection: { application_name: "bench-raw-baseline" },
});
const models = new Map((await sql`select id, name from gpu_models`).map((m) => [m.name, Number(m.id)]));
const hubs = new Set((await sql`select name from hubs`).map((h) => h.name));

const yuan = (fen) => {
  const value = BigInt(fen);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  return `${negative ? "-" : ""}${abs / 100n}.${String(abs % 100n).padStart(2, "0")}`;
};
const cursorOf = (values) => Buffer.from(JSON.stringify(values)).toString("base64url");

async function offers({ gpuModel, hub, availableFrom, availableUntil, first = 20 }) {
  const modelId = models.get(gpuModel);
  if (modelId == null || !hubs.has(hub))
    return { errors: [{ message: "bad filter", extensions: { code: "BAD_USER_INPUT" } }] };
  const from = new Date(availableFrom).toISOString();
  const until = new Date(availableUntil).toISOString();
  const where = sql`o.status = 'ACTIVE' and o.gpu_model_id = ${modelId} and dc.hub = ${hub}
    and o.available_from <= ${from} and o.available_until > ${from} and o.available_until >= ${until} and o.available_from < ${until}`;
  const [rows, [{ total }]] = await Promise.all([
    sql`select o.id, o.gpu_count, o.price_per_gpu_hour, o.available_from, o.available_until, o.min_hours,
               dc.name as dc_name, dc.hub, op.name as operator_name
        from offers o join data_centers dc on dc.id = o.data_center_id join organizations op on op.id = dc.operator_id
        where ${where} order by o.price_per_gpu_hour, o.id limit ${first + 1}`,
    sql`select count(*)::int as total from offers o join data_centers dc on dc.id = o.data_center_id where ${where}`,
  ]);
  const shown = rows.slice(0, first);
  const edges = shown.map((r) => ({
    cursor: cursorOf([String(r.price_per_gpu_hour), Number(r.id)]),
    node: {
      id: `offer_${r.id}`,
      gpuCount: r.gpu_count,
      pricePerGpuHour: { amount: yuan(r.price_per_gpu_hour) },
      availableFrom: r.available_from.toISOString(),
      availableUntil: r.available_until.toISOString(),
      minHours: r.min_hours,
      dataCenter: { name: r.dc_name, hub: r.hub, operator: { name: r.operator_name } },
      gpuModel: { name: gpuModel },
    },
  }));
  return {
    data: {
      offers: {
        totalCount: total,
        pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
        edges,
      },
    },
  };
}

// The same brief cache of token -> viewer as the server's authenticator.
const viewers = new Map();
async function viewerOf(authorization) {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
  if (!token) return null;
  const hash = createHash("sha256").update(token).digest("hex");
  const cached = viewers.get(hash);
  if (cached && cached.until > Date.now()) return cached.viewer;
  const [row] =
    await sql`select o.id::int as organization_id, k.id::int as api_key_id, o.kind, o.city from api_keys k join organizations o on o.id = k.organization_id where k.token_hash = ${hash} and k.revoked_at is null`;
  const viewer = row ?? null;
  viewers.set(hash, { viewer, until: Date.now() + 10_000 });
  return viewer;
}

async function spend({ city, from, to }, authorization) {
  const viewer = await viewerOf(authorization);
  if (!viewer || viewer.kind !== "CITY_FINANCE" || viewer.city !== city)
    return { errors: [{ message: "forbidden", extensions: { code: "FORBIDDEN" } }] };
  // The same sources as the server: whole months of the billing time zone (Asia/Shanghai, UTC+8
  // all year) from the monthly sums, the ends from the orders.
  const CHINA = 8 * 3_600_000;
  const monthStart = (at, add = 0) => {
    const china = new Date(at.getTime() + CHINA);
    return new Date(Date.UTC(china.getUTCFullYear(), china.getUTCMonth() + add, 1) - CHINA);
  };
  const monthDate = (at) => new Date(at.getTime() + CHINA).toISOString().slice(0, 10);
  const start = new Date(from);
  const end = new Date(to);
  const firstMonth = monthStart(start).getTime() === start.getTime() ? start : monthStart(start, 1);
  const lastMonth = monthStart(end);
  const whole = firstMonth < lastMonth;
  const periods = whole
    ? [
        [start, firstMonth],
        [lastMonth, end],
      ].filter(([a, b]) => a < b)
    : [[start, end]];
  const fromOrders = (a, b) => sql`
    select o.paid_day - extract(day from o.paid_day)::int + 1 as k0, o.data_center_id as k1, 1 as orders, o.gpu_hours, o.gross, o.subsidy, o.sme_share as sme_paid
    from orders o
    where o.status = 'PAID' and o.program_id is not null and o.paid_at >= ${a.toISOString()} and o.paid_at < ${b.toISOString()}
      and o.program_id = any(array(select id from subsidy_programs where city = ${city}))`;
  const fromMonths = sql`
    select s.month as k0, s.data_center_id as k1, s.orders, s.gpu_hours, s.gross, s.subsidy, s.sme_paid
    from spend_by_month s
    where s.month >= ${monthDate(firstMonth)}::date and s.month < ${monthDate(lastMonth)}::date
      and s.program_id = any(array(select id from subsidy_programs where city = ${city}))`;
  const parts = [...periods.map(([a, b]) => fromOrders(a, b)), ...(whole ? [fromMonths] : [])];
  const union = parts.reduce((all, part) => sql`${all} union all ${part}`);
  // As the server sends it: summed in bigint with the totals as a grouping set (last), sorted narrow.
  const rows = await sql`
    select to_char(x.k0, 'YYYY-MM') as k0v, 'dc_' || x.k1 as k1v, x.k1l, x.orders, x.gpu_hours::text, x.gross::text, x.subsidy::text, x.sme_paid::text
    from (
      select g.*, dc.name as k1l
      from (
        select u.k0, u.k1, coalesce(sum(u.orders), 0)::int as orders, sum_bigint(u.gpu_hours) as gpu_hours, sum_bigint(u.gross) as gross,
               sum_bigint(u.subsidy) as subsidy, sum_bigint(u.sme_paid) as sme_paid
        from (${union}) u
        group by grouping sets ((u.k0, u.k1), ()) having sum(u.orders) > 0 or grouping(u.k0, u.k1) <> 0
      ) g
      left join data_centers dc on dc.id = g.k1
      order by g.k0, g.k1
    ) x
    order by x.k0, x.k1`;
  const total = rows.pop();
  const figures = (r) => ({
    orders: r.orders,
    gpuHours: Number(r.gpu_hours),
    gross: { amount: yuan(r.gross) },
    subsidy: { amount: yuan(r.subsidy) },
    smePaid: { amount: yuan(r.sme_paid) },
  });
  return {
    data: {
      subsidySpend: {
        rows: rows.map((r) => ({
          keys: [
            { dimension: "MONTH", value: r.k0v, label: r.k0v },
            { dimension: "DATA_CENTER", value: r.k1v, label: r.k1l },
          ],
          ...figures(r),
        })),
        totals: figures(total),
      },
    },
  };
}

// ---------------------------------------------------------------- policy report
// The two statements of src/reports/policy.queries.ts (planned per call: values written in the
// text), run together, and the figures divided as src/reports/policy.ts and reports.types.ts do.
const HUB_ORDER = [
  "Zhangjiakou",
  "Yangtze Delta",
  "Wuhu",
  "Shaoguan",
  "Chengdu Tianfu",
  "Chongqing",
  "Inner Mongolia Horinger",
  "Guizhou Gui'an",
  "Gansu Qingyang",
  "Ningxia Zhongwei",
];
const WESTERN = [
  "Ningxia Zhongwei",
  "Gansu Qingyang",
  "Inner Mongolia Horinger",
  "Guizhou Gui'an",
  "Chengdu Tianfu",
  "Chongqing",
];
const literal = (value) => `E'${String(value).replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
const DAY_PATTERN = /^\d{4}-\d{2}-01$/;

async function policy({ variables: { city, from, to } }, authorization) {
  const viewer = await viewerOf(authorization);
  if (!viewer || viewer.kind !== "CITY_FINANCE" || (city != null && viewer.city !== city))
    return { errors: [{ message: "forbidden", extensions: { code: "FORBIDDEN" } }] };
  if (!DAY_PATTERN.test(from) || !DAY_PATTERN.test(to) || to <= from)
    return { errors: [{ message: "bad period", extensions: { code: "BAD_USER_INPUT" } }] };
  const [[subsidy], capacity] = await Promise.all([
    sql.unsafe(
      `with paid as (
          select o.sme_id as sme_id, o.gpu_hours as gpu_hours, o.subsidy as subsidy,
                 o.hub in (${WESTERN.map(literal).join(", ")}) as western, m.domestic as domestic
          from orders o join subsidy_programs p on p.id = o.program_id join gpu_models m on m.id = o.gpu_model_id
          where o.status = 'PAID' and o.program_id is not null
            and o.paid_day >= ${literal(from)}::date and o.paid_day < ${literal(to)}::date
            and p.city = ${literal(viewer.city)}::text
        ), per_sme as (
          select sme_id, sum_bigint(subsidy) as subsidy from paid group by sme_id
        )
        select coalesce(sum_bigint(gpu_hours), 0)::text as gpu_hours,
               coalesce(sum_bigint(gpu_hours) filter (where western), 0)::text as western_gpu_hours,
               coalesce(sum_bigint(gpu_hours) filter (where domestic), 0)::text as domestic_gpu_hours,
               coalesce(sum_bigint(subsidy), 0)::text as subsidy,
               (select count(*) from per_sme)::int as smes,
               (select coalesce(sum_bigint(t.subsidy), 0) from (select subsidy from per_sme order by subsidy desc limit 10) t)::text as top10_subsidy
        from paid`,
      [],
      { prepare: false },
    ),
    sql.unsafe(
      `select g.hub, to_char(greatest(g.bucket, ${literal(from)}::date), 'YYYY-MM-DD') as start,
              g.offered::text as offered, g.reserved::text as reserved
       from (
         select hub as hub, month as bucket, sum_bigint(offered_gpu_hours) as offered, sum_bigint(reserved_gpu_hours) as reserved
         from capacity_by_month
         where month >= ${literal(from)}::date and month < ${literal(to)}::date
         group by 1, 2
       ) g
       order by 1, 2`,
      [],
      { prepare: false },
    ),
  ]);
  const basisPoints = (part, whole) => (whole === 0n ? null : Number((part * 10_000n) / whole));
  const ratio = (part, whole) => (whole === 0n ? null : Number(part) / Number(whole));
  const gpuHours = BigInt(subsidy.gpu_hours);
  const fen = BigInt(subsidy.subsidy);
  const starts = [];
  for (let at = Date.parse(`${from}T00:00:00Z`), end = Date.parse(`${to}T00:00:00Z`); at < end;) {
    starts.push(new Date(at).toISOString().slice(0, 10));
    const d = new Date(at);
    at = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
  const byHub = new Map(HUB_ORDER.map((hub) => [hub, new Map()]));
  for (const row of capacity) byHub.get(row.hub)?.set(row.start, row);
  return {
    data: {
      policyReport: {
        subsidizedGpuHours: Number(gpuHours),
        westernShareBasisPoints: basisPoints(BigInt(subsidy.western_gpu_hours), gpuHours),
        domesticShareBasisPoints: basisPoints(BigInt(subsidy.domestic_gpu_hours), gpuHours),
        subsidy: { amount: yuan(fen) },
        subsidyPerGpuHour: gpuHours === 0n ? null : { amount: yuan(fen / gpuHours) },
        smesServed: subsidy.smes,
        top10ShareBasisPoints: basisPoints(BigInt(subsidy.top10_subsidy), fen),
        hubs: HUB_ORDER.map((hub) => {
          const periods = starts.map((start) => {
            const row = byHub.get(hub).get(start);
            return { start, offered: BigInt(row?.offered ?? 0), reserved: BigInt(row?.reserved ?? 0) };
          });
          const offered = periods.reduce((sum, p) => sum + p.offered, 0n);
          const reserved = periods.reduce((sum, p) => sum + p.reserved, 0n);
          return {
            hub,
            offeredGpuHours: Number(offered),
            reservedGpuHours: Number(reserved),
            utilization: ratio(reserved, offered),
            periods: periods.map((p) => ({ start: p.start, utilization: ratio(p.reserved, p.offered) })),
          };
        }),
      },
    },
  };
}

// ---------------------------------------------------------------- placeBid
// src/bids: the cheapest 64 candidates at a time without locks (bid_candidates, values in the
// text), their live bookings (reservations_live_by_offer), the utilization tie-break
// (data_centers_utilization), then a savepoint, the winner's lock and its bookings again in one
// round trip, and the bid, its reservation and the audit entry; in one transaction. The winner is
// chosen by the server's own rules (dist/bids/match.js).
const HOUR = 3_600_000;
const HOLD_MINUTES = Number(process.env.HOLD_MINUTES || 15);
const CANDIDATE_BATCH = 64;
const badInput = (field, message) => ({ errors: [{ message, extensions: { code: "BAD_USER_INPUT", field } }] });
const fenOf = (text) => (/^\d{1,9}(\.\d{1,2})?$/.test(text) ? BigInt(Math.round(Number(text) * 100)) : null);
const integers = (packed) => (packed === "{}" ? [] : packed.slice(1, -1).split(",").map(Number));
const offerTerms = (r) => ({
  id: Number(r.id),
  dataCenterId: Number(r.data_center_id),
  hub: r.offer_hub,
  gpuModelId: Number(r.gpu_model_id),
  gpuCount: r.gpu_count,
  pricePerGpuHour: BigInt(r.price_per_gpu_hour),
  availableFrom: r.available_from,
  availableUntil: r.available_until,
  minHours: r.min_hours,
  status: r.status,
  createdAt: r.created_at,
});
const OFFER_COLUMNS = `offers.id, offers.data_center_id, offers.gpu_model_id, offers.gpu_count, offers.price_per_gpu_hour,
  offers.available_from, offers.available_until, offers.min_hours, offers.status, offers.created_at`;

function candidates(tx, bid, from, until, after) {
  const conditions = [
    `(offers.status = 'ACTIVE' and offers.gpu_model_id = ${bid.gpuModelId}::bigint
      and offers.price_per_gpu_hour <= ${bid.maxPricePerGpuHour}::bigint
      and offers.min_hours <= ${bid.hours}::int and offers.gpu_count >= ${bid.gpuCount}::int)`,
    `(offers.available_from < ${literal(until.toISOString())}::timestamptz and offers.available_until > ${literal(from.toISOString())}::timestamptz)`,
  ];
  if (bid.hubs) conditions.push(`data_centers.hub in (${bid.hubs.map(literal).join(", ")})`);
  conditions.push(
    `greatest(offers.available_from, ${literal(from.toISOString())}::timestamptz) + ${bid.hours}::int * interval '1 hour'
     <= least(offers.available_until, ${literal(until.toISOString())}::timestamptz)`,
  );
  if (after)
    conditions.push(
      `(offers.price_per_gpu_hour > ${after.price}::bigint or (offers.price_per_gpu_hour = ${after.price}::bigint and offers.id > ${after.id}::bigint))`,
    );
  return tx.unsafe(
    `select ${OFFER_COLUMNS}, data_centers.hub as offer_hub from offers join data_centers on data_centers.id = offers.data_center_id
     where ${conditions.join(" and ")} order by offers.price_per_gpu_hour, offers.id limit ${CANDIDATE_BATCH}`,
    [],
    { prepare: false },
  );
}

/**
 * Not an async function: postgres.js sends a query when it is first awaited, and an async function
 * would send this one at once, ahead of a savepoint and lock written before it in a Promise.all.
 */
function liveBookings(tx, offerIds, from, to, now) {
  return tx`select booked.offer_id,
         coalesce(array_agg(booked.starts) filter (where booked.live), '{}')::text as starts,
         coalesce(array_agg(booked.ends) filter (where booked.live), '{}')::text as ends,
         coalesce(array_agg(booked.gpus) filter (where booked.live), '{}')::text as gpus,
         bool_or(not booked.live) as lapsed
    from (select offer_id, extract(epoch from starts_at)::int8 as starts, extract(epoch from ends_at)::int8 as ends, gpu_count as gpus,
                 status = 'CONFIRMED' or hold_expires_at > ${now.toISOString()}::timestamptz as live
          from reservations
          where offer_id = any(${`{${offerIds.join(",")}}`}::bigint[]) and status in ('HELD', 'CONFIRMED')
            and starts_at < ${to.toISOString()}::timestamptz and ends_at > ${from.toISOString()}::timestamptz) as booked
    group by booked.offer_id`.then(bookingsOf);
}

function bookingsOf(rows) {
  const bookings = new Map();
  for (const row of rows) {
    const offerId = Number(row.offer_id);
    const ends = integers(row.ends);
    const gpus = integers(row.gpus);
    bookings.set(
      offerId,
      integers(row.starts).map((start, i) => ({
        offerId,
        startsAt: new Date(start * 1000),
        endsAt: new Date(ends[i] * 1000),
        gpuCount: gpus[i],
      })),
    );
  }
  return bookings;
}

async function utilization(tx, ids, from, to, now) {
  const rows = await tx`select o.data_center_id as dc,
         coalesce(sum(o.gpu_count * extract(epoch from least(o.available_until, ${to.toISOString()}::timestamptz) - greatest(o.available_from, ${from.toISOString()}::timestamptz)) / 3600)
                  filter (where o.status <> 'WITHDRAWN'), 0)::bigint as offered,
         coalesce(sum(booked.gpu_hours), 0)::bigint as reserved
    from offers o
    left join lateral (
      select sum(r.gpu_count * extract(epoch from least(r.ends_at, ${to.toISOString()}::timestamptz) - greatest(r.starts_at, ${from.toISOString()}::timestamptz)) / 3600) as gpu_hours
      from reservations r
      where r.offer_id = o.id and r.status in ('HELD', 'CONFIRMED')
        and (r.status = ${"CONFIRMED"} or (r.status = ${"HELD"} and r.hold_expires_at > ${now.toISOString()}::timestamptz))
        and r.starts_at < ${to.toISOString()}::timestamptz and r.ends_at > ${from.toISOString()}::timestamptz
    ) booked on true
    where o.data_center_id = any(${`{${ids.join(",")}}`}::bigint[]) and o.available_until > ${from.toISOString()}::timestamptz and o.available_from < ${to.toISOString()}::timestamptz
    group by o.data_center_id`;
  return new Map(
    rows.map((r) => [Number(r.dc), { offeredGpuHours: Number(r.offered), reservedGpuHours: Number(r.reserved) }]),
  );
}

async function chooseAmong(tx, bid, feasible, now) {
  const toCompare = dataCentersToCompare(feasible);
  const used = toCompare.length ? await utilization(tx, toCompare, bid.earliestStart, bid.latestEnd, now) : new Map();
  return pickWinner(feasible, used);
}

/** The winner with its offer locked (an optimistic attempt or four; then none: the floor does not fall back). */
async function matchNewBid(tx, bid, now) {
  const earliest = new Date(Math.max(bid.earliestStart.getTime(), Math.ceil(now.getTime() / HOUR) * HOUR));
  const latest = bid.latestEnd;
  let offers = [];
  const bookings = new Map();
  let cursor = null;
  let exhausted = false;
  for (let attempt = 1; attempt <= 4; attempt++) {
    let feasible;
    for (;;) {
      feasible = feasibleCandidates(bid, offers, bookings, now);
      if (exhausted || (cursor && feasible.some((c) => c.offer.pricePerGpuHour < cursor.price))) break;
      const batch = (await candidates(tx, bid, earliest, latest, cursor)).map(offerTerms);
      if (batch.length < CANDIDATE_BATCH) exhausted = true;
      if (!batch.length) continue;
      cursor = { price: batch.at(-1).pricePerGpuHour, id: batch.at(-1).id };
      const fresh = new Set(batch.map((o) => o.id));
      offers = [...offers.filter((o) => !fresh.has(o.id)), ...batch];
      const read = await liveBookings(tx, [...fresh], earliest, latest, now);
      for (const id of fresh) bookings.set(id, read.get(id) ?? []);
    }
    const winner = await chooseAmong(tx, bid, feasible, now);
    if (!winner) return null;
    // In this order, in one round trip: each is sent when first awaited (then), in turn.
    const savepoint = tx.unsafe(`savepoint match_attempt_${attempt}`).then((r) => r);
    const lock =
      tx`select o.*, dc.hub as offer_hub from offers o join data_centers dc on dc.id = o.data_center_id where o.id = ${winner.offer.id} for no key update of o`.then(
        (r) => r,
      );
    const reread = liveBookings(tx, [winner.offer.id], earliest, latest, now);
    const [, [locked], current] = await Promise.all([savepoint, lock, reread]);
    const again = feasibleCandidates(bid, [offerTerms(locked)], current, now)[0];
    if (
      again &&
      again.startsAt.getTime() === winner.startsAt.getTime() &&
      again.offer.pricePerGpuHour === winner.offer.pricePerGpuHour
    )
      return again;
    await tx.unsafe(`rollback to savepoint match_attempt_${attempt}`);
    offers = offers.map((o) => (o.id === locked.id ? offerTerms(locked) : o));
    bookings.set(winner.offer.id, current.get(winner.offer.id) ?? []);
  }
  return null;
}

async function placeBid({ variables: { input } }, authorization) {
  const viewer = await viewerOf(authorization);
  if (!viewer || viewer.kind !== "SME")
    return { errors: [{ message: "forbidden", extensions: { code: "FORBIDDEN" } }] };
  const now = new Date();
  const gpuModelId = models.get(input.gpuModel);
  if (gpuModelId == null) return badInput("gpuModel", "unknown GPU model");
  if (!Number.isInteger(input.gpuCount) || input.gpuCount < 1) return badInput("gpuCount", "gpuCount");
  if (!Number.isInteger(input.hours) || input.hours < 1 || input.hours > 24 * 366) return badInput("hours", "hours");
  const earliestStart = new Date(input.earliestStart);
  const latestEnd = new Date(input.latestEnd);
  if (earliestStart.getTime() % HOUR || latestEnd.getTime() % HOUR) return badInput("earliestStart", "whole hours");
  if (latestEnd.getTime() < earliestStart.getTime() + input.hours * HOUR) return badInput("latestEnd", "latestEnd");
  if (latestEnd.getTime() - input.hours * HOUR < now.getTime()) return badInput("latestEnd", "too late to start");
  const maxPricePerGpuHour = fenOf(input.maxPricePerGpuHour);
  if (maxPricePerGpuHour == null) return badInput("maxPricePerGpuHour", "malformed price");
  const hubList = [...new Set(input.hubs ?? [])];
  if (hubList.some((hub) => !hubs.has(hub))) return badInput("hubs", "unknown hub");
  const bid = {
    gpuModelId,
    gpuCount: input.gpuCount,
    hours: input.hours,
    earliestStart,
    latestEnd,
    maxPricePerGpuHour,
    hubs: hubList.length ? hubList : null,
  };
  const placed = await sql.begin(async (tx) => {
    const winner = await matchNewBid(tx, bid, now);
    const status = winner ? "MATCHED" : "OPEN";
    const [row] =
      await tx`insert into bids (sme_id, gpu_model_id, gpu_count, hours, earliest_start, latest_end, max_price_per_gpu_hour, hubs, status, created_at, updated_at)
      values (${viewer.organization_id}, ${gpuModelId}, ${bid.gpuCount}, ${bid.hours}, ${earliestStart}, ${latestEnd}, ${String(maxPricePerGpuHour)}, ${bid.hubs}, ${status}, ${now}, ${now})
      returning *`;
    let reservation = null;
    if (winner) {
      [reservation] =
        await tx`insert into reservations (bid_id, offer_id, sme_id, gpu_count, starts_at, ends_at, price_per_gpu_hour, status, hold_expires_at, created_at, updated_at)
        values (${row.id}, ${winner.offer.id}, ${viewer.organization_id}, ${bid.gpuCount}, ${winner.startsAt}, ${new Date(winner.startsAt.getTime() + bid.hours * HOUR)},
                ${String(winner.offer.pricePerGpuHour)}, 'HELD', ${new Date(now.getTime() + HOLD_MINUTES * 60_000)}, ${now}, ${now})
        returning *`;
    }
    const detail =
      `${status} ${input.gpuModel} x${bid.gpuCount} for ${bid.hours} h` +
      (reservation ? `, reservation reservation_${reservation.id} on offer offer_${reservation.offer_id}` : "");
    await tx`insert into audit_log (organization_id, api_key_id, role, action, target_id, detail, program_id, city, request_id, created_at)
      values (${viewer.organization_id}, ${viewer.api_key_id}, 'SME', 'PLACE_BID', ${String(row.id)}, ${detail}, null,
              (select city from subsidy_programs where id = ${null}::bigint), ${randomUUID()}, ${now})`;
    return { row, reservation };
  });
  return {
    data: {
      placeBid: {
        id: `bid_${placed.row.id}`,
        status: placed.row.status,
        reservation: placed.reservation
          ? { id: `reservation_${placed.reservation.id}`, status: placed.reservation.status }
          : null,
      },
    },
  };
}

// ---------------------------------------------------------------- bulk publishing
// publishOffers: the operator's data centers in one query, one multi-row insert of the offers,
// one of their audit entries, in one transaction. Not here: the re-matching of open bids on the
// new offers that the server runs after its commit (rematch.ts), which the GraphQL side pays.
async function publishOffers({ variables: { inputs } }, authorization) {
  const viewer = await viewerOf(authorization);
  if (!viewer || viewer.kind !== "DATA_CENTER_OPERATOR")
    return { errors: [{ message: "forbidden", extensions: { code: "FORBIDDEN" } }] };
  if (!Array.isArray(inputs) || inputs.length < 1 || inputs.length > 1000) return badInput("inputs", "1 to 1000");
  const now = new Date();
  const ids = [...new Set(inputs.map((input) => Number(/^dc_(\d+)$/.exec(input.dataCenterId)?.[1])))];
  const rows = [];
  for (const [i, input] of inputs.entries()) {
    const modelId = models.get(input.gpuModel);
    const price = fenOf(input.pricePerGpuHour);
    const from = new Date(input.availableFrom);
    const until = new Date(input.availableUntil);
    if (modelId == null || price == null || !(until > from) || !Number.isInteger(input.gpuCount))
      return badInput(`inputs[${i}]`, "bad offer");
    rows.push({
      data_center_id: Number(/^dc_(\d+)$/.exec(input.dataCenterId)?.[1]),
      gpu_model_id: modelId,
      gpu_count: input.gpuCount,
      price_per_gpu_hour: String(price),
      available_from: from,
      available_until: until,
      min_hours: input.minHours,
      created_at: now,
      updated_at: now,
      model: input.gpuModel,
    });
  }
  const offers = await sql.begin(async (tx) => {
    const mine = new Set(
      (
        await tx`select id from data_centers where id = any(${`{${ids.join(",")}}`}::bigint[]) and operator_id = ${viewer.organization_id}`
      ).map((r) => Number(r.id)),
    );
    if (rows.some((r) => !mine.has(r.data_center_id)))
      throw Object.assign(new Error("not yours"), { code: "BAD_USER_INPUT" });
    const inserted =
      await tx`insert into offers ${tx(rows, "data_center_id", "gpu_model_id", "gpu_count", "price_per_gpu_hour", "available_from", "available_until", "min_hours", "created_at", "updated_at")} returning *`;
    const entries = inserted.map((offer, i) => ({
      organization_id: viewer.organization_id,
      api_key_id: viewer.api_key_id,
      role: "DATA_CENTER",
      action: "PUBLISH_OFFER",
      target_id: String(offer.id),
      detail: `${offer.status} ${rows[i].model} x${offer.gpu_count} at ${yuan(offer.price_per_gpu_hour)}/GPU-h until ${offer.available_until.toISOString()}`,
      created_at: now,
    }));
    await tx`insert into audit_log ${tx(entries, "organization_id", "api_key_id", "role", "action", "target_id", "detail", "created_at")}`;
    return inserted;
  });
  return { data: { publishOffers: offers.map((offer) => ({ id: `offer_${offer.id}` })) } };
}

// ---------------------------------------------------------------- checkout
// src/checkout, src/ledger, src/vouchers: one transaction for the order (the key's advisory lock,
// the reservation's lock with the live-order and key reads; the rental, program, voucher and
// annual counter locked; the order; the RESERVE move, the audit entry and the longer hold), the
// simulated provider (succeeds at once, as the bench's), then one transaction for the payment
// (the order's payment recorded, the reservation CONFIRMED, the order PAID with the program's lock,
// the POST move and the statements, then the claim line). The same statements as the server's;
// the split is computed by the server's own rules (dist/vouchers/subsidy.js).
const CLOCK_ALLOWANCE_MS = 2 * 60_000;
const PAYMENT_WINDOW_MS = 60 * 60_000;
const CHECKOUT_KEY_LOCK_SPACE = 727_201;
const LEDGER_MOVE = {
  RESERVE: (tx, o) => tx`with entry as (
      insert into ledger_entries (program_id, voucher_id, order_id, kind, amount)
      select ${o.program_id}::bigint, ${o.voucher_id}::bigint, ${o.id}::bigint, 'RESERVE'::ledger_entry_kind, ${o.subsidy}::bigint
      where true on conflict (order_id, kind) do nothing returning ledger_entries.id
    ), program as (
      update subsidy_programs set available = subsidy_programs.available - ${o.subsidy}::bigint, pending = subsidy_programs.pending + ${o.subsidy}::bigint
      where subsidy_programs.id = ${o.program_id}::bigint and subsidy_programs.available >= ${o.subsidy}::bigint and exists (select 1 from entry)
      returning subsidy_programs.id
    ), voucher as (update vouchers set remaining = vouchers.remaining - ${o.subsidy}::bigint
          where vouchers.id = ${o.voucher_id}::bigint and vouchers.remaining >= ${o.subsidy}::bigint and exists (select 1 from entry) returning vouchers.id
    ), annual as (insert into sme_annual_subsidy (program_id, sme_id, year, committed)
          select ${o.program_id}::bigint, ${o.sme_id}::bigint, ${o.subsidy_year}::integer, ${o.subsidy}::bigint
          where exists (select 1 from entry) and ((select per_sme_annual_cap from subsidy_programs where id = ${o.program_id}::bigint) is null
            or ${o.subsidy}::bigint <= (select per_sme_annual_cap from subsidy_programs where id = ${o.program_id}::bigint))
          on conflict (program_id, sme_id, year) do update set committed = sme_annual_subsidy.committed + excluded.committed
            where (select per_sme_annual_cap from subsidy_programs where id = ${o.program_id}::bigint) is null
               or sme_annual_subsidy.committed + excluded.committed <= (select per_sme_annual_cap from subsidy_programs where id = ${o.program_id}::bigint)
          returning sme_annual_subsidy.committed)
    select (select count(*) from entry)::int as entry, (select count(*) from program)::int as program,
           (select count(*) from voucher)::int as voucher, (select count(*) from annual)::int as annual`,
  POST: (tx, o) => tx`with entry as (
      insert into ledger_entries (program_id, voucher_id, order_id, kind, amount)
      select ${o.program_id}::bigint, ${o.voucher_id}::bigint, ${o.id}::bigint, 'POST'::ledger_entry_kind, ${o.subsidy}::bigint
      where true
        and exists (select 1 from ledger_entries where order_id = ${o.id}::bigint and kind = 'RESERVE'::ledger_entry_kind)
        and not exists (select 1 from ledger_entries where order_id = ${o.id}::bigint and kind = 'VOID'::ledger_entry_kind)
      on conflict (order_id, kind) do nothing returning ledger_entries.id
    ), program as (
      update subsidy_programs set pending = subsidy_programs.pending - ${o.subsidy}::bigint, spent = subsidy_programs.spent + ${o.subsidy}::bigint
      where subsidy_programs.id = ${o.program_id}::bigint and subsidy_programs.pending >= ${o.subsidy}::bigint and exists (select 1 from entry)
      returning subsidy_programs.id
    )
    select (select count(*) from entry)::int as entry, (select count(*) from program)::int as program, 1 as voucher, 1 as annual`,
};
const refused = (code, message) => ({ errors: [{ message, extensions: { code } }] });
const moved = ([row]) => {
  if (!row || row.entry !== 1 || row.program !== 1 || row.voucher !== 1 || row.annual !== 1)
    throw new Error(`ledger move refused: ${JSON.stringify(row)}`);
};

async function checkout({ variables: { input } }, authorization) {
  const viewer = await viewerOf(authorization);
  if (!viewer || viewer.kind !== "SME") return refused("FORBIDDEN", "forbidden");
  const reservationId = Number(/^reservation_(\d+)$/.exec(input.reservationId)?.[1]);
  const voucherId = Number(/^voucher_(\d+)$/.exec(input.voucherId)?.[1]);
  const key = input.idempotencyKey;
  if (!reservationId || !voucherId) return badInput("reservationId", "malformed id");
  if (!/^[\x21-\x7e]{1,200}$/.test(key)) return badInput("idempotencyKey", "idempotencyKey");
  const smeId = viewer.organization_id;
  const now = new Date();
  const year = yearOf(now);
  const fingerprint = `reservation:${reservationId};voucher:${voucherId}`;
  const created = await sql.begin(async (tx) => {
    const [, [reservation], [live], [keyed]] = await Promise.all([
      tx`select pg_advisory_xact_lock(${CHECKOUT_KEY_LOCK_SPACE}::int, hashtext(${`${smeId}:${key}`}::text))::text as locked`,
      tx`select reservations.* from offers o join reservations on reservations.offer_id = o.id
         where reservations.id = ${reservationId} and case when reservations.status = 'HELD' then reservations.hold_expires_at > ${new Date(now.getTime() + CLOCK_ALLOWANCE_MS).toISOString()}::timestamptz else false end
         for key share of o for update of reservations`,
      tx`select id from orders where reservation_id = ${reservationId} and status in ('PENDING_PAYMENT', 'PAID') limit 1`,
      tx`select * from orders where sme_id = ${smeId} and idempotency_key = ${key}`,
    ]);
    if (keyed) return { replay: keyed };
    // (A hold near its end takes the offer's exclusive lock and a capacity re-check in the server;
    // the bench's holds last a day, so the floor refuses those instead.)
    if (!reservation || Number(reservation.sme_id) !== smeId)
      return { error: refused("NOT_FOUND", "Reservation not found") };
    if (live) return { error: refused("CONFLICT", "This reservation already has an order") };
    const [[rental], [program], [voucher], [annual]] = await Promise.all([
      tx`select dc.id as data_center_id, dc.hub as hub, o.gpu_model_id as gpu_model_id, m.domestic as domestic,
               (dc.operator_id = ${smeId} or exists (select 1 from affiliations a where a.organization_id = ${smeId} and a.affiliated_id = dc.operator_id)) as affiliated,
               exists (select 1 from offer_attestations where offer_attestations.offer_id = o.id and offer_attestations.gpu_count >= o.gpu_count) as attested,
               (select sme.category from organizations sme where sme.id = ${smeId}) as category
         from offers o join data_centers dc on dc.id = o.data_center_id join gpu_models m on m.id = o.gpu_model_id
         where o.id = ${reservation.offer_id}`,
      tx`select * from subsidy_programs where id = (select program_id from vouchers where id = ${voucherId}) for no key update`,
      tx`select sme_id, status, valid_until, remaining from vouchers where id = ${voucherId} for no key update`,
      tx`select committed from sme_annual_subsidy where program_id = (select program_id from vouchers where id = ${voucherId}) and sme_id = ${smeId} and year = ${year} for no key update`,
    ]);
    const reason = checkEligibility({
      smeId,
      voucher: voucher && { smeId: Number(voucher.sme_id), status: voucher.status, validUntil: voucher.valid_until },
      program: {
        status: program.status,
        validFrom: program.valid_from,
        validUntil: program.valid_until,
        eligibleHubs: program.eligible_hubs ?? [],
        eligibleCategories: program.eligible_categories ?? [],
        requiresHardwareAttestation: program.requires_hardware_attestation,
      },
      category: rental.category,
      hub: rental.hub,
      attested: rental.attested,
      affiliated: rental.affiliated,
      now,
    });
    if (reason) return { error: refused("NOT_ELIGIBLE", reason) };
    const hours = Math.floor((reservation.ends_at - reservation.starts_at) / HOUR);
    const big = (v) => (v == null ? null : BigInt(v));
    const split = computeSubsidy({
      gpuCount: reservation.gpu_count,
      hours,
      pricePerGpuHour: BigInt(reservation.price_per_gpu_hour),
      domestic: rental.domestic,
      program: {
        rateBasisPoints: program.rate_basis_points,
        domesticRateBasisPoints: program.domestic_rate_basis_points,
        perOrderCap: big(program.per_order_cap),
        perSmeAnnualCap: big(program.per_sme_annual_cap),
        maxSubsidizedPricePerGpuHour: big(program.max_subsidized_price_per_gpu_hour),
      },
      voucherRemaining: BigInt(voucher.remaining),
      smeCommittedThisYear: BigInt(annual?.committed ?? 0),
      programAvailable: BigInt(program.available),
    });
    const [order] =
      await tx`insert into orders (reservation_id, sme_id, voucher_id, program_id, offer_id, data_center_id, hub, gpu_model_id, gpu_hours,
        gross, subsidy, sme_share, subsidy_year, idempotency_key, request_fingerprint, payment_provider, created_at, updated_at)
      values (${reservationId}, ${smeId}, ${voucherId}, ${program.id}, ${reservation.offer_id}, ${rental.data_center_id}, ${rental.hub}, ${rental.gpu_model_id},
        ${reservation.gpu_count * hours}, ${String(split.gross)}, ${String(split.subsidy)}, ${String(split.smeShare)}, ${year}, ${key}, ${fingerprint}, 'simulated', ${now}, ${now})
      returning *`;
    const detail = `PENDING_PAYMENT reservation reservation_${reservationId}, voucher voucher_${voucherId}: gross ${yuan(split.gross)}, subsidy ${yuan(split.subsidy)}, SME ${yuan(split.smeShare)}`;
    const [reserved] = await Promise.all([
      split.subsidy > 0n ? LEDGER_MOVE.RESERVE(tx, order) : null,
      tx`insert into audit_log (organization_id, api_key_id, role, action, target_id, detail, program_id, city, request_id, created_at)
         values (${smeId}, ${viewer.api_key_id}, 'SME', 'CHECKOUT', ${String(order.id)}, ${detail}, ${program.id},
                 (select city from subsidy_programs where id = ${program.id}::bigint), ${randomUUID()}, ${now})`,
      tx`update reservations set hold_expires_at = greatest(hold_expires_at, ${new Date(now.getTime() + PAYMENT_WINDOW_MS).toISOString()}::timestamptz), updated_at = ${now}
         where id = ${reservationId} and status = ${"HELD"} returning *`,
    ]);
    if (reserved) moved(reserved);
    return { order };
  });
  if (created.error) return created.error;
  let order = created.replay ?? created.order;
  if (!created.replay) {
    // The simulated provider: the payment succeeds at once (src/payments/simulated.ts).
    const payment = { ref: `sim_${order.id}`, clientSecret: null, status: "succeeded" };
    order = await sql.begin(async (tx) => {
      const [locked] =
        await tx`update orders set payment_ref = ${payment.ref}, payment_status = ${payment.status}, client_secret = ${payment.clientSecret},
          payment_action = ${JSON.stringify({ methods: [], nextAction: null })}, updated_at = ${now} where id = ${order.id} returning *`;
      const [confirmed] =
        await tx`update reservations set status = 'CONFIRMED', updated_at = ${now.toISOString()}::timestamptz
          where id = ${reservationId} and case when status = 'HELD' then hold_expires_at > ${new Date(Date.now() + CLOCK_ALLOWANCE_MS).toISOString()}::timestamptz else false end
          returning *`;
      if (!confirmed) throw new Error("hold lapsed before payment");
      const month = monthOf(now);
      const subsidized = BigInt(locked.subsidy) > 0n && locked.program_id != null;
      const [[paid], , posted, statements] = await Promise.all([
        tx`update orders set status = ${"PAID"}, payment_status = ${"succeeded"}, paid_at = ${now}, updated_at = ${now} where id = ${locked.id} returning *`,
        subsidized
          ? tx`select per_sme_annual_cap from subsidy_programs where id = ${locked.program_id} for no key update`
          : null,
        subsidized ? LEDGER_MOVE.POST(tx, locked) : null,
        subsidized
          ? tx`select id, month, status from city_statements where program_id = ${locked.program_id} and month >= ${month} order by month`
          : [],
      ]);
      if (subsidized) {
        moved(posted);
        // The oldest OPEN statement from the payment's month on, created when there is none.
        let statementId = statements.find((st) => st.status === "OPEN")?.id;
        if (statementId == null)
          [{ id: statementId }] =
            await tx`insert into city_statements (program_id, month) values (${locked.program_id}, ${month})
            on conflict (program_id, month) do update set month = excluded.month returning id`;
        await tx`insert into claim_lines (statement_id, program_id, order_id, data_center_id, amount, credit)
          values (${statementId}, ${locked.program_id}, ${locked.id}, ${locked.data_center_id}, ${locked.subsidy}, false)`;
      }
      return paid;
    });
  }
  return {
    data: {
      checkout: {
        id: `order_${order.id}`,
        status: order.status,
        subsidy: { amount: yuan(order.subsidy) },
        smeShare: { amount: yuan(order.sme_share) },
      },
    },
  };
}

const routes = {
  "/checkout": (input, authorization) => checkout(input, authorization),
  "/offers": (input) => offers(input),
  "/spend": (input, authorization) => spend(input, authorization),
  "/policy": (input, authorization) => policy(input, authorization),
  "/placeBid": (input, authorization) => placeBid(input, authorization),
  "/publishOffers": (input, authorization) => publishOffers(input, authorization),
};

const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", async () => {
    try {
      const input = body ? JSON.parse(body) : {};
      const route = routes[req.url];
      const result = route ? await route(input, req.headers.authorization) : null;
      if (!result) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result));
    } catch (error) {
      res
        .writeHead(500, { "content-type": "application/json" })
        .end(JSON.stringify({ errors: [{ message: String(error) }] }));
    }
  });
});
server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on("SIGTERM", () => server.close(() => sql.end({ timeout: 2 }).then(() => process.exit(0))));
