// The bids domain's statements written once from the schema (src/db/client.ts): a bid's
// candidates and its winner's lock, the rows a bid writes, a checkout's lock and confirmation of
// its reservation, and what a re-matching pass reads. Their rows become the domain's types here.
import { and, eq, sql, type Column, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import {
  columnsOf,
  nameOf,
  perShape,
  planEachCall,
  prepared,
  qb,
  rowFrom,
  tableAs,
  valueFor,
  valuesFor,
  type Executor,
  type Placeholders,
} from "../db/client.js";
import { bids, dataCenters, offers, orders, reservations } from "../db/schema.js";
import type { BidRow } from "./bids.service.js";
import type { FreeSpan, OfferTerms } from "./match.js";
import type { ReservationRow } from "./reservations.service.js";
import { fromStates, statusIn } from "../states.js";
import { bidStates } from "./bid-states.js";

// ------------------------------------------------------------------ a bid's candidates

/**
 * What matching reads of an offer (OfferTerms but the hub). All of it is in offers_search_idx's
 * key, so candidates are read from the index alone, never from the offers they skip.
 */
const OFFER_TERMS: Column[] = [
  offers.id,
  offers.dataCenterId,
  offers.gpuModelId,
  offers.gpuCount,
  offers.pricePerGpuHour,
  offers.availableFrom,
  offers.availableUntil,
  offers.minHours,
  offers.status,
  offers.createdAt,
];

/** An offer row read with its data center's hub (as offer_hub). */
const offerTermsOf = (row: Record<string, unknown>): OfferTerms => ({
  ...rowFrom(offers, row),
  hub: String(row.offer_hub),
});

/**
 * The SQL side of isCandidateOffer for some bids (the pure functions decide): the loosest terms
 * among them, and for a single bid its hubs and hours. Dates are [from, until), the span the bids
 * cover.
 */
export interface CandidateFilter {
  gpuModelId: number;
  maxPricePerGpuHour: bigint;
  maxHours: number;
  minGpuCount: number;
  from: Date;
  until: Date;
  /** Only for a single bid: its hubs (null: any) and the hours that must fit in an offer's window. */
  single: { hubs: readonly string[] | null; hours: number } | null;
}

type CandidateValues = {
  gpuModelId: number;
  maxPrice: string;
  maxHours: number;
  minGpuCount: number;
  from: string;
  until: string;
  hours?: number;
  afterPrice?: string;
  afterId?: number;
} & { [hub: `hub${number}`]: string };

/** How candidates are ordered: by id (and locked, in that order), or a batch by price. */
export type CandidateOrder = { by: "id"; lock: boolean } | { by: "price"; batch: number };

/**
 * A bid's candidates with their hubs. Planned on every call: how selective a bid's candidates are
 * depends on its price, size and window, and a plan cached for any values read the later batches
 * in 9.6 ms instead of 2.3 ms.
 */
const candidatesStatement = perShape(
  ({ hubs, single, after, order }: { hubs: number; single: boolean; after: boolean; order: CandidateOrder }) =>
    planEachCall<CandidateValues>("bid_candidates", (p) => {
      const conditions: SQL[] = [
        sql`${offers.status} = 'ACTIVE' and ${offers.gpuModelId} = ${p.gpuModelId}::bigint
            and ${offers.pricePerGpuHour} <= ${p.maxPrice}::bigint
            and ${offers.minHours} <= ${p.maxHours}::int
            and ${offers.gpuCount} >= ${p.minGpuCount}::int`,
        // Implied by the window test below, but usable by an index: offers still running in the window.
        sql`${offers.availableFrom} < ${p.until}::timestamptz and ${offers.availableUntil} > ${p.from}::timestamptz`,
      ];
      if (single) {
        if (hubs > 0)
          conditions.push(
            sql`${dataCenters.hub} in (${sql.join(
              Array.from({ length: hubs }, (_, i) => p[`hub${i}`]),
              sql`, `,
            )})`,
          );
        // Some window of `hours` hours fits between the bid's and the offer's bounds.
        conditions.push(
          sql`greatest(${offers.availableFrom}, ${p.from}::timestamptz) + ${p.hours}::int * interval '1 hour'
              <= least(${offers.availableUntil}, ${p.until}::timestamptz)`,
        );
      }
      if (after)
        conditions.push(
          sql`(${offers.pricePerGpuHour} > ${p.afterPrice}::bigint or (${offers.pricePerGpuHour} = ${p.afterPrice}::bigint and ${offers.id} > ${p.afterId}::bigint))`,
        );
      const tail =
        order.by === "price"
          ? sql`order by ${offers.pricePerGpuHour}, ${offers.id} limit ${sql.raw(String(order.batch))}`
          : order.lock
            ? sql`order by ${offers.id} for no key update of ${offers}`
            : sql`order by ${offers.id}`;
      return sql`select ${sql.join(OFFER_TERMS, sql`, `)}, ${dataCenters.hub} as offer_hub
          from ${offers} join ${dataCenters} on ${dataCenters.id} = ${offers.dataCenterId}
          where ${and(...conditions)} ${tail}`;
    }),
);

/** The candidate offers of the filter, in `order`; `after`: those after this price and id. */
export async function candidateRows(
  tx: Executor,
  filter: CandidateFilter,
  order: CandidateOrder,
  after: { price: bigint; id: number } | null = null,
): Promise<OfferTerms[]> {
  const hubs = filter.single?.hubs ?? [];
  const values: CandidateValues = {
    gpuModelId: filter.gpuModelId,
    maxPrice: String(filter.maxPricePerGpuHour),
    maxHours: filter.maxHours,
    minGpuCount: filter.minGpuCount,
    from: filter.from.toISOString(),
    until: filter.until.toISOString(),
    hours: filter.single?.hours,
    afterPrice: after ? String(after.price) : undefined,
    afterId: after?.id,
  };
  hubs.forEach((hub, i) => (values[`hub${i}`] = hub));
  const statement = candidatesStatement({ hubs: hubs.length, single: filter.single != null, after: !!after, order });
  return (await statement.rows(tx, values)).map(offerTermsOf);
}

/** These offers of the GPU model, in any status, locked in id order, with their hubs. */
const lockOffersStatement = prepared(
  "offers_lock_of_model",
  (p: Placeholders<{ ids: string; gpuModelId: number }>) =>
    sql`select ${sql.join(OFFER_TERMS, sql`, `)}, ${dataCenters.hub} as offer_hub
        from ${offers} join ${dataCenters} on ${dataCenters.id} = ${offers.dataCenterId}
        where ${offers.id} = any(${p.ids}::bigint[]) and ${offers.gpuModelId} = ${p.gpuModelId}::bigint
        order by ${offers.id} for no key update of ${offers}`,
);

export async function lockOffersOfModel(
  tx: Executor,
  gpuModelId: number,
  offerIds: readonly number[],
): Promise<OfferTerms[]> {
  const rows = await lockOffersStatement.rows(tx, { ids: `{${offerIds.join(",")}}`, gpuModelId });
  return rows.map(offerTermsOf);
}

// ------------------------------------------------------------------ a new bid's winner

const o = alias(offers, "o");
const dc = alias(dataCenters, "dc");

/** The savepoint of an attempt to lock a winner, and its rollback. */
const savepointStatement = perShape((attempt: number) =>
  prepared("match_attempt_savepoint", () => sql.raw(`savepoint match_attempt_${attempt}`)),
);
const rollbackStatement = perShape((attempt: number) =>
  prepared("match_attempt_rollback", () => sql.raw(`rollback to savepoint match_attempt_${attempt}`)),
);

export const savepoint = (tx: Executor, attempt: number) => savepointStatement(attempt).rows(tx, {});
export const rollbackToSavepoint = (tx: Executor, attempt: number) => rollbackStatement(attempt).rows(tx, {});

const lockWinnerStatement = prepared(
  "offer_lock_with_hub",
  (p: Placeholders<{ id: number }>) =>
    sql`select ${columnsOf(o)}, ${dc.hub} as offer_hub from ${tableAs(offers, o)} join ${tableAs(dataCenters, dc)} on ${dc.id} = ${o.dataCenterId}
        where ${o.id} = ${p.id} for no key update of o`,
);

/** The offer with its hub, locked (NO KEY UPDATE) for the rest of the transaction. */
export async function lockOfferWithHub(tx: Executor, offerId: number): Promise<OfferTerms> {
  const [row] = await lockWinnerStatement.rows(tx, { id: offerId });
  return offerTermsOf(row);
}

// ------------------------------------------------------------------ the rows a bid writes
//
// A bid writes its row, its reservation and an audit entry. drizzle's insert builder took 236 µs
// of CPU for a bid's row against 138 µs for the same SQL written out (docs/decisions/0002): these
// are rendered once, and each call sends the text with its values.

const NEW_BID = [
  "smeId",
  "gpuModelId",
  "gpuCount",
  "hours",
  "earliestStart",
  "latestEnd",
  "maxPricePerGpuHour",
  "hubs",
  "status",
  "createdAt",
  "updatedAt",
] as const;
export type NewBid = Pick<typeof bids.$inferInsert, (typeof NEW_BID)[number]>;

const insertBidStatement = prepared<NewBid>("bid_insert", () =>
  qb.insert(bids).values(valuesFor(bids, NEW_BID)).returning(),
);

export async function insertBid(tx: Executor, values: NewBid): Promise<BidRow> {
  const [row] = await insertBidStatement.rows(tx, values);
  return rowFrom(bids, row);
}

const NEW_RESERVATION = [
  "bidId",
  "offerId",
  "smeId",
  "gpuCount",
  "startsAt",
  "endsAt",
  "pricePerGpuHour",
  "status",
  "holdExpiresAt",
  "createdAt",
  "updatedAt",
] as const;
export type NewReservation = Pick<typeof reservations.$inferInsert, (typeof NEW_RESERVATION)[number]>;

const insertReservationStatement = prepared<NewReservation>("reservation_insert", () =>
  qb.insert(reservations).values(valuesFor(reservations, NEW_RESERVATION)).returning(),
);

export async function insertReservationRow(tx: Executor, values: NewReservation): Promise<ReservationRow> {
  const [row] = await insertReservationStatement.rows(tx, values);
  return rowFrom(reservations, row);
}

// ------------------------------------------------------------------ a checkout's reservation

type HeldSafely = { safelyHeldUntil: string };

/**
 * The reservation (as `reservations`) is HELD and lapses after `safelyHeldUntil`. The CASE keeps
 * the planner on the primary key: written plainly, the conditions match the partial index of held
 * reservations, which looks tiny to stale statistics (holds come and go faster than autovacuum
 * analyzes a large table) and gets scanned whole instead (2.3 ms per lock on full bench data).
 */
const heldSafely = (p: Placeholders<HeldSafely>) =>
  sql`case when ${reservations.status} = 'HELD' then ${reservations.holdExpiresAt} > ${p.safelyHeldUntil}::timestamptz else false end`;

/**
 * Locks a reservation held safely: its offer's KEY SHARE (what the order's foreign key takes
 * anyway) and then its own row; no row (and no lock) for any other reservation.
 */
const lockHeldSafelyStatement = prepared(
  "reservation_lock_held_safely",
  (p: Placeholders<{ id: number } & HeldSafely>) =>
    sql`select ${columnsOf(reservations)} from ${tableAs(offers, o)} join ${reservations} on ${reservations.offerId} = ${o.id}
        where ${reservations.id} = ${p.id} and ${heldSafely(p)}
        for key share of o for update of ${reservations}`,
);

export async function lockHeldSafely(tx: Executor, id: number, safelyHeldUntil: Date): Promise<ReservationRow | null> {
  const [row] = await lockHeldSafelyStatement.rows(tx, { id, safelyHeldUntil: safelyHeldUntil.toISOString() });
  return row ? rowFrom(reservations, row) : null;
}

/** HELD -> CONFIRMED for a reservation held safely, in one guarded update; no row for any other. */
const confirmHeldSafelyStatement = prepared(
  "reservation_confirm_held_safely",
  (p: Placeholders<{ id: number; now: string } & HeldSafely>) =>
    sql`update ${reservations} set ${nameOf(reservations.status)} = 'CONFIRMED', ${nameOf(reservations.updatedAt)} = ${p.now}::timestamptz
        where ${reservations.id} = ${p.id} and ${heldSafely(p)}
        returning *`,
);

export async function confirmHeldSafely(
  tx: Executor,
  id: number,
  safelyHeldUntil: Date,
  now: Date,
): Promise<ReservationRow | null> {
  const [row] = await confirmHeldSafelyStatement.rows(tx, {
    id,
    now: now.toISOString(),
    safelyHeldUntil: safelyHeldUntil.toISOString(),
  });
  return row ? rowFrom(reservations, row) : null;
}

/**
 * A HELD reservation kept until `until` (never shortened). HELD is a parameter, not a literal:
 * see heldSafely for the partial index the literal would pick.
 */
const extendHoldStatement = prepared(
  "reservation_extend_hold",
  (p: Placeholders<{ id: number; until: string; now: Date }>) =>
    qb
      .update(reservations)
      .set({
        holdExpiresAt: sql`greatest(${reservations.holdExpiresAt}, ${p.until}::timestamptz)`,
        updatedAt: valueFor(reservations.updatedAt, p.now),
      })
      .where(and(eq(reservations.id, p.id), eq(reservations.status, "HELD")))
      .returning(),
);

export async function extendHold(tx: Executor, id: number, until: Date, now: Date): Promise<ReservationRow | null> {
  const [row] = await extendHoldStatement.rows(tx, { id, until: until.toISOString(), now });
  return row ? rowFrom(reservations, row) : null;
}

/**
 * The reservation's pending or paid order, if any. The statuses are written out: they are what
 * orders_live_reservation_uq covers.
 */
const liveOrderStatement = prepared(
  "order_live_of_reservation",
  (p: Placeholders<{ reservationId: number }>) =>
    sql`select ${orders.id} from ${orders}
        where ${orders.reservationId} = ${p.reservationId} and ${orders.status} in ('PENDING_PAYMENT', 'PAID') limit 1`,
);

export async function liveOrderOf(tx: Executor, reservationId: number): Promise<{ id: number } | null> {
  const [row] = await liveOrderStatement.rows<{ id: string | number }>(tx, { reservationId });
  return row ? { id: Number(row.id) } : null;
}

// ------------------------------------------------------------------ re-matching open bids

/** Held until the transaction ends: one pass per GPU model books at a time, across processes. */
const lockModelStatement = prepared(
  "rematch_model_lock",
  (p: Placeholders<{ space: number; gpuModelId: number }>) =>
    sql`select pg_advisory_xact_lock(${p.space}::int, ${p.gpuModelId}::int)`,
);

export const lockModel = (tx: Executor, space: number, gpuModelId: number) =>
  lockModelStatement.rows(tx, { space, gpuModelId });

/** Where a page of open bids ended, in priority order; the time as PostgreSQL wrote it (microseconds). */
export interface BidCursor {
  price: bigint;
  createdAt: string;
  id: number;
}

export type PagedBid = BidRow & { cursor: BidCursor };

/** A free span with its offer. */
export type SpanOf = FreeSpan & { offer: OfferTerms };

type SpanValues = {
  /** The cheapest span's price: no bid below it fits any span, and the index stops there. */
  minPrice: string;
  prices: string;
  minHours: string;
  hubs: string;
  levels: string;
  froms: string;
  tos: string;
};
type PageValues = {
  gpuModelId: number;
  now: string;
  afterPrice?: string;
  afterCreatedAt?: string;
  afterId?: number;
  limit: number;
} & Partial<SpanValues>;

/**
 * The open bids (as `bids`) that one of these free spans could hold: the span's offer's terms
 * (price, minHours, hub), its level and its hours against the bid's; by freeSpans, the answer of
 * feasibleCandidates. Bids that cannot fit stay out of the page, however many they are.
 */
const fitsSomeSpan = (p: Placeholders<PageValues>) =>
  sql`exists (
    select 1 from unnest(${p.prices}::bigint[], ${p.minHours}::int[], ${p.hubs}::text[], ${p.levels}::int[],
                         ${p.froms}::timestamptz[], ${p.tos}::timestamptz[])
      as span(price, min_hours, hub, level, span_from, span_to)
    where span.price <= ${bids.maxPricePerGpuHour} and span.min_hours <= ${bids.hours} and span.level >= ${bids.gpuCount}
      and (${bids.hubs} is null or cardinality(${bids.hubs}) = 0 or span.hub = any(${bids.hubs}))
      and greatest(span.span_from, ${bids.earliestStart}) + ${bids.hours} * interval '1 hour' <= least(span.span_to, ${bids.latestEnd}))`;

/**
 * The next open bids of the model that can still start in time, in priority order after the
 * cursor; with spans, only those one of them could hold. bids_open_priority_idx holds them in
 * this order, highest price first: with spans, the scan ends at the cheapest span's price, so the
 * open bids priced below every span (most of a book that waits for cheaper capacity) are never read.
 */
const openBidsStatement = perShape(({ after, spans }: { after: boolean; spans: boolean }) =>
  prepared<PageValues>("open_bids_page", (p) => {
    const seek = after
      ? sql`and ${bids.maxPricePerGpuHour} <= ${p.afterPrice}::bigint
            and (${bids.maxPricePerGpuHour} < ${p.afterPrice}::bigint
                 or (${bids.createdAt}, ${bids.id}) > (${p.afterCreatedAt}::timestamptz, ${p.afterId}::bigint))`
      : sql``;
    return sql`select ${columnsOf(bids)}, ${bids.createdAt}::text as priority_created_at from ${bids}
        where ${bids.gpuModelId} = ${p.gpuModelId}::bigint and ${bids.status} = 'OPEN'
          and ${bids.latestEnd} - ${bids.hours} * interval '1 hour' >= ${p.now}::timestamptz
          ${seek} ${spans ? sql`and ${bids.maxPricePerGpuHour} >= ${p.minPrice}::bigint and ${fitsSomeSpan(p)}` : sql``}
        order by ${bids.maxPricePerGpuHour} desc, ${bids.createdAt}, ${bids.id}
        limit ${p.limit}::int`;
  }),
);

/** An array parameter in PostgreSQL's text form, each element quoted. */
const arrayOf = (values: readonly (string | number | bigint)[]) =>
  `{${values.map((v) => `"${String(v).replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(",")}}`;

export async function openBidsPage(
  tx: Executor,
  gpuModelId: number,
  now: Date,
  after: BidCursor | null,
  spans: readonly SpanOf[] | null,
  limit: number,
): Promise<PagedBid[]> {
  const values: PageValues = {
    gpuModelId,
    now: now.toISOString(),
    afterPrice: after ? String(after.price) : undefined,
    afterCreatedAt: after?.createdAt,
    afterId: after?.id,
    limit,
  };
  if (spans) {
    const prices = spans.map((s) => s.offer.pricePerGpuHour);
    Object.assign(values, {
      minPrice: String(prices.reduce((min, price) => (price < min ? price : min), prices[0] ?? 0n)),
      prices: arrayOf(prices),
      minHours: arrayOf(spans.map((s) => s.offer.minHours)),
      hubs: arrayOf(spans.map((s) => s.offer.hub)),
      levels: arrayOf(spans.map((s) => s.level)),
      froms: arrayOf(spans.map((s) => s.from.toISOString())),
      tos: arrayOf(spans.map((s) => s.to.toISOString())),
    } satisfies SpanValues);
  }
  const rows = await openBidsStatement({ after: after != null, spans: spans != null }).rows(tx, values);
  return rows.map((row) => {
    const bid = rowFrom(bids, row);
    return {
      ...bid,
      cursor: { price: bid.maxPricePerGpuHour, createdAt: String(row.priority_created_at), id: bid.id },
    };
  });
}

/** The bids that expire when their latest possible start passes (OPEN, by bidStates). */
const STALE = statusIn(bids.status, fromStates(bidStates, { on: "stale" }));

/** OPEN bids whose latest possible start (latestEnd - hours) is before `at` become EXPIRED, a batch at a time. */
const expireStaleBidsStatement = prepared(
  "bids_expire_stale",
  (p: Placeholders<{ at: string; batch: number }>) =>
    sql`with due as (
          select ${bids.id} from ${bids}
          where ${STALE} and ${bids.latestEnd} - ${bids.hours} * interval '1 hour' < ${p.at}::timestamptz
          order by ${bids.id} limit ${p.batch}
          for update skip locked
        )
        update ${bids} set ${nameOf(bids.status)} = 'EXPIRED', ${nameOf(bids.updatedAt)} = ${p.at}::timestamptz
        from due where ${bids.id} = due.id and ${STALE}
        returning ${bids.id}`,
);

/** How many bids expired (claimed with SKIP LOCKED: a row another process holds is left to it). */
export async function expireStaleBidsBatch(db: Executor, at: Date, batch: number): Promise<number> {
  return (await expireStaleBidsStatement.rows(db, { at: at.toISOString(), batch })).length;
}
