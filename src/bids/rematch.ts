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
import { and, count, eq, inArray, lte } from "drizzle-orm";
import type { Db, Executor } from "../db/client.js";
import { bids, reservations } from "../db/schema.js";
import type { HookContext } from "../services.js";
import type { Logger } from "../logger.js";
import { fromStates, statusIn } from "../states.js";
import { ceilHour } from "../time.js";
import { bidStates } from "./bid-states.js";
import {
  candidateOffers,
  chooseOffer,
  insertReservation,
  lockOffers,
  readBookings,
  type BidRow,
  type LiveBookings,
} from "./bids.service.js";
import { reservationStates } from "./reservation-states.js";
import { lockModel as lockModelOf, openBidsPage, type BidCursor as Cursor, type SpanOf } from "./bids.queries.js";
import { feasibleCandidates, freeSpans, type OfferTerms } from "./match.js";

/** Open bids read per page. */
export const REMATCH_PAGE = 200;
/** First key of the advisory lock that lets one pass per GPU model book at a time, across processes. */
const REMATCH_LOCK_SPACE = 727_101;

const lockModel = (tx: Executor, gpuModelId: number) => lockModelOf(tx, REMATCH_LOCK_SPACE, gpuModelId);

/** The bids a re-match may take (OPEN), as the condition of the update that takes one. */
const MATCHABLE = statusIn(bids.status, fromStates(bidStates, { on: "matched" }));

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
  const taken = await tx
    .update(bids)
    .set({ status: "MATCHED", updatedAt: now })
    .where(and(eq(bids.id, bid.id), MATCHABLE))
    .returning({ id: bids.id });
  if (taken.length === 0) return null;
  await insertReservation(tx, bid, winner.offer, winner.startsAt, bookings, now, holdMinutes);
  return winner.offer;
}

/** What a lapsed hold moves: its HELD reservation and its MATCHED bid become EXPIRED (the machines' tables). */
const LAPSING = statusIn(reservations.status, fromStates(reservationStates, { on: "holdLapsed" }));
const LAPSING_BID = statusIn(bids.status, fromStates(bidStates, { on: "holdLapsed" }));

/** HELD reservations of these offers whose hold has lapsed become EXPIRED, and so do their bids. */
async function expireLapsedHoldsOn(tx: Executor, offerIds: readonly number[], now: Date): Promise<number> {
  const expired = tx.$with("expired").as(
    tx
      .update(reservations)
      .set({ status: "EXPIRED", updatedAt: now })
      .where(and(inArray(reservations.offerId, offerIds as number[]), LAPSING, lte(reservations.holdExpiresAt, now)))
      .returning({ bidId: reservations.bidId }),
  );
  const expiredBids = tx.$with("expired_bids").as(
    tx
      .update(bids)
      .set({ status: "EXPIRED", updatedAt: now })
      .from(expired)
      .where(and(eq(bids.id, expired.bidId), LAPSING_BID))
      .returning({ id: bids.id }),
  );
  const [row] = await tx.with(expired, expiredBids).select({ reservations: count() }).from(expired);
  return row.reservations;
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
      const page = await openBidsPage(tx, gpuModelId, now, after, spans, REMATCH_PAGE);
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
      const bidsOfPage = await openBidsPage(tx, gpuModelId, now, after, null, REMATCH_PAGE);
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
  const rows = await db.selectDistinct({ id: bids.gpuModelId }).from(bids).where(eq(bids.status, "OPEN"));
  return rows.map((r) => r.id);
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
        const matched = offerIds?.length
          ? (await serveFreedCapacity(ctx.app.db, id, offerIds, ctx.now, ctx.app.config.holdMinutes)).matched
          : await rematchModel(ctx.app.db, id, ctx.now, ctx.app.config.holdMinutes);
        ctx.app.meters.matched("rematch", matched);
      }
    } catch (error) {
      logger.warn({ err: error, gpuModelIds, offerIds }, "re-matching open bids failed; maintenance will retry");
    }
  };
}
