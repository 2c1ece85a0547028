// Open bids get another look whenever capacity appears, in price-time priority (highest max price,
// then oldest, then smaller id) over the whole book, a page at a time: a bid that cannot be served
// never keeps the ones behind it from capacity.
//
// Two passes, both under the GPU model's advisory lock (passes of one model book one at a time):
// - serveFreedCapacity(offers): capacity grew on these offers (published, enlarged, a hold cancelled
//   or lapsed). One transaction locks them, expires their lapsed holds, and reads the open bids a
//   page at a time, only those that one of the offers' free spans could hold (filtered in SQL, see
//   freeSpans); it stops once no free span is left or no bid is. Its locks: these offers, the
//   holds it expires and the bids it matches. As a lapsed hold is expired in the transaction that
//   offers its capacity to the open bids, no newer bid can take that capacity first (placeBid
//   leaves a lapsed hold it meets to this pass: see lapsedHoldsFirst).
// - rematchModel: the periodic catch-all, for bids that missed capacity (placed while a cancel was
//   committing, or whose re-match failed). Each page is a transaction: its bids' candidates are read
//   without locks, and only those that can serve one of them are locked and read again.
//
// Lock order: the model's advisory lock, then offers (id order), then reservations, then bids.
import { sql, type SQL } from "drizzle-orm";
import { rowFrom, rowsOf, type Db, type Executor } from "../db/client.js";
import { bids } from "../db/schema.js";
import type { Logger } from "../logger.js";
import type { HookContext } from "../services.js";
import { ceilHour } from "../time.js";
import {
  candidateOffers,
  chooseOffer,
  insertReservation,
  lockOffers,
  readBookings,
  type BidRow,
  type LiveBookings,
} from "./bids.service.js";
import { feasibleCandidates, freeSpans, type FreeSpan, type OfferTerms } from "./match.js";

/** Open bids read per page. */
export const REMATCH_PAGE = 200;
/** First key of the advisory lock that lets one pass per GPU model book at a time, across processes. */
const REMATCH_LOCK_SPACE = 727_101;

const lockModel = (tx: Executor, gpuModelId: number) =>
  tx.execute(sql`select pg_advisory_xact_lock(${REMATCH_LOCK_SPACE}::int, ${gpuModelId}::int)`);

/** Where a page of open bids ended, in priority order; the time as PostgreSQL wrote it (microseconds). */
interface Cursor {
  price: bigint;
  createdAt: string;
  id: number;
}

type PagedBid = BidRow & { cursor: Cursor };

/**
 * The next open bids of the model that can still start in time, in priority order after `after`,
 * and that pass `filter` (on `bids`). bids_open_priority_idx holds them in this order.
 */
async function openBidsPage(
  tx: Executor,
  gpuModelId: number,
  now: Date,
  after: Cursor | null,
  filter: SQL | null,
): Promise<PagedBid[]> {
  const seek = after
    ? sql`and bids.max_price_per_gpu_hour <= ${String(after.price)}::bigint
          and (bids.max_price_per_gpu_hour < ${String(after.price)}::bigint
               or (bids.created_at, bids.id) > (${after.createdAt}::timestamptz, ${after.id}::bigint))`
    : sql``;
  const rows = await rowsOf<Record<string, unknown>>(
    tx,
    sql`select bids.*, bids.created_at::text as priority_created_at from bids
        where bids.gpu_model_id = ${gpuModelId}::bigint and bids.status = 'OPEN'
          and bids.latest_end - bids.hours * interval '1 hour' >= ${now.toISOString()}::timestamptz
          ${seek} ${filter ? sql`and ${filter}` : sql``}
        order by bids.max_price_per_gpu_hour desc, bids.created_at, bids.id
        limit ${REMATCH_PAGE}::int`,
  );
  return rows.map((row) => {
    const bid = rowFrom(bids, row);
    return {
      ...bid,
      cursor: { price: bid.maxPricePerGpuHour, createdAt: String(row.priority_created_at), id: bid.id },
    };
  });
}

/** An array parameter in PostgreSQL's text form, each element quoted. */
const arrayOf = (values: readonly (string | number | bigint)[]) =>
  `{${values.map((v) => `"${String(v).replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(",")}}`;

/** A free span with its offer. */
type SpanOf = FreeSpan & { offer: OfferTerms };

/**
 * The open bids (as `bids`) that one of these free spans could hold: the span's offer's terms
 * (price, minHours, hub), its level and its hours against the bid's; by freeSpans, the answer of
 * feasibleCandidates. Bids that cannot fit stay out of the page, however many they are.
 */
function fitsSomeSpan(spans: readonly SpanOf[]): SQL {
  return sql`exists (
    select 1 from unnest(${arrayOf(spans.map((s) => s.offer.pricePerGpuHour))}::bigint[], ${arrayOf(spans.map((s) => s.offer.minHours))}::int[],
                         ${arrayOf(spans.map((s) => s.offer.hub))}::text[], ${arrayOf(spans.map((s) => s.level))}::int[],
                         ${arrayOf(spans.map((s) => s.from.toISOString()))}::timestamptz[], ${arrayOf(spans.map((s) => s.to.toISOString()))}::timestamptz[])
      as span(price, min_hours, hub, level, span_from, span_to)
    where span.price <= bids.max_price_per_gpu_hour and span.min_hours <= bids.hours and span.level >= bids.gpu_count
      and (bids.hubs is null or cardinality(bids.hubs) = 0 or span.hub = any(bids.hubs))
      and greatest(span.span_from, bids.earliest_start) + bids.hours * interval '1 hour' <= least(span.span_to, bids.latest_end))`;
}

/**
 * Books the bid on its best offer among `offers` (locked by the caller), if any fits. Conditional:
 * a bid cancelled meanwhile stays cancelled.
 */
async function book(
  tx: Executor,
  bid: BidRow,
  offers: readonly OfferTerms[],
  bookings: LiveBookings,
  now: Date,
  holdMinutes: number,
): Promise<OfferTerms | null> {
  const winner = await chooseOffer(tx, bid, offers, bookings, now);
  if (!winner) return null;
  const taken = await rowsOf(
    tx,
    sql`update bids set status = 'MATCHED', updated_at = ${now.toISOString()}::timestamptz
                                     where id = ${bid.id} and status = 'OPEN' returning id`,
  );
  if (taken.length === 0) return null;
  await insertReservation(tx, bid, winner.offer, winner.startsAt, bookings, now, holdMinutes);
  return winner.offer;
}

/** HELD reservations of these offers whose hold has lapsed become EXPIRED, and so do their bids. */
async function expireLapsedHoldsOn(tx: Executor, offerIds: readonly number[], now: Date): Promise<number> {
  const at = now.toISOString();
  const [row] = await rowsOf<{ reservations: string | number }>(
    tx,
    sql`
      with expired as (
        update reservations set status = 'EXPIRED', updated_at = ${at}::timestamptz
        where offer_id = any(${`{${offerIds.join(",")}}`}::bigint[]) and status = 'HELD' and hold_expires_at <= ${at}::timestamptz
        returning bid_id
      ), expired_bids as (
        update bids b set status = 'EXPIRED', updated_at = ${at}::timestamptz
        from expired where b.id = expired.bid_id and b.status = 'MATCHED'
      )
      select count(*) as reservations from expired`,
  );
  return Number(row.reservations);
}

/**
 * Capacity grew on these offers of one GPU model: in one transaction, under their locks, their
 * lapsed holds expire and the open bids get what is free on them, in priority order, over the
 * whole book. Returns the holds expired and the bids matched.
 */
export async function serveFreedCapacity(
  db: Db,
  gpuModelId: number,
  offerIds: readonly number[],
  now: Date,
  holdMinutes: number,
): Promise<{ expired: number; matched: number }> {
  if (offerIds.length === 0) return { expired: 0, matched: 0 };
  return db.transaction(async (tx) => {
    await lockModel(tx, gpuModelId);
    const locked = await lockOffers(tx, gpuModelId, offerIds);
    if (locked.length === 0) return { expired: 0, matched: 0 };
    const expired = await expireLapsedHoldsOn(
      tx,
      locked.map((o) => o.id),
      now,
    );
    const active = locked.filter((o) => o.status === "ACTIVE");
    if (active.length === 0) return { expired, matched: 0 };
    const until = new Date(Math.max(...active.map((o) => o.availableUntil.getTime())));
    const { bookings } = await readBookings(
      tx,
      active.map((o) => o.id),
      ceilHour(now),
      until,
      now,
    );

    const spansOf = new Map<number, SpanOf[]>();
    const spansNow = () =>
      active.flatMap((offer) => {
        if (!spansOf.has(offer.id))
          spansOf.set(
            offer.id,
            freeSpans(offer, bookings.get(offer.id) ?? [], now).map((span) => ({ ...span, offer })),
          );
        return spansOf.get(offer.id)!;
      });

    let matched = 0;
    let after: Cursor | null = null;
    for (;;) {
      const spans = spansNow();
      if (spans.length === 0) break;
      const page = await openBidsPage(tx, gpuModelId, now, after, fitsSomeSpan(spans));
      for (const bid of page) {
        const booked = await book(tx, bid, active, bookings, now, holdMinutes);
        if (!booked) continue;
        matched++;
        spansOf.delete(booked.id);
      }
      if (page.length < REMATCH_PAGE) break;
      after = page[page.length - 1].cursor;
    }
    return { expired, matched };
  });
}

/**
 * The catch-all pass over every open bid of one GPU model, in priority order, a page (and a
 * transaction) at a time. Returns how many bids got matched.
 */
export async function rematchModel(db: Db, gpuModelId: number, now: Date, holdMinutes: number): Promise<number> {
  let matched = 0;
  let after: Cursor | null = null;
  for (;;) {
    const page = await db.transaction(async (tx) => {
      await lockModel(tx, gpuModelId);
      const bidsOfPage = await openBidsPage(tx, gpuModelId, now, after, null);
      if (bidsOfPage.length === 0) return bidsOfPage;
      // Without locks first: a page of bids that nothing can serve locks nothing.
      const seen = await candidateOffers(tx, bidsOfPage, now, false);
      const useful = new Set<number>();
      for (const bid of bidsOfPage)
        for (const c of feasibleCandidates(bid, seen.offers, seen.bookings, now)) useful.add(c.offer.id);
      if (useful.size === 0) return bidsOfPage;
      const offers = await lockOffers(
        tx,
        gpuModelId,
        [...useful].sort((a, b) => a - b),
      );
      const { bookings } = await readBookings(
        tx,
        offers.map((o) => o.id),
        seen.earliest,
        seen.latest,
        now,
      );
      for (const bid of bidsOfPage) if (await book(tx, bid, offers, bookings, now, holdMinutes)) matched++;
      return bidsOfPage;
    });
    if (page.length < REMATCH_PAGE) return matched;
    after = page[page.length - 1].cursor;
  }
}

/** Re-matches the open bids of each model, one model after another (ids ascending). */
export async function rematchModels(
  db: Db,
  gpuModelIds: Iterable<number>,
  now: Date,
  holdMinutes: number,
): Promise<number> {
  let matched = 0;
  for (const id of [...new Set(gpuModelIds)].sort((a, b) => a - b))
    matched += await rematchModel(db, id, now, holdMinutes);
  return matched;
}

/** The GPU models that have open bids. */
export async function modelsWithOpenBids(db: Db): Promise<number[]> {
  const rows = await rowsOf<{ id: string | number }>(
    db,
    sql`select distinct gpu_model_id as id from bids where status = 'OPEN'`,
  );
  return rows.map((r) => Number(r.id));
}

/**
 * The `afterCapacityFreed` hook: runs after the change that freed capacity has committed. Given the
 * offers whose capacity grew, only those are offered to the open bids; else every offer of the
 * models. A failure here cannot undo that change, so it is logged; the periodic maintenance
 * re-matches later.
 */
export function rematcherFor(logger: Logger) {
  return async (ctx: HookContext, gpuModelIds: number[], offerIds?: number[]): Promise<void> => {
    try {
      for (const id of [...new Set(gpuModelIds)].sort((a, b) => a - b)) {
        if (offerIds?.length) await serveFreedCapacity(ctx.app.db, id, offerIds, ctx.now, ctx.app.config.holdMinutes);
        else await rematchModel(ctx.app.db, id, ctx.now, ctx.app.config.holdMinutes);
      }
    } catch (error) {
      logger.warn({ err: error, gpuModelIds, offerIds }, "re-matching open bids failed; maintenance will retry");
    }
  };
}
