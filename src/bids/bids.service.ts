// Bids: validation, placing with immediate matching, cancelling, reading. Tenant checks live here.
import { and, count, desc, eq, exists, lt, lte, not, or, type SQL } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { bids, reservations } from "../db/schema.js";
import { badInput, conflict, notFound } from "../errors.js";
import { decodeCursor, encodeCursor, toPage, type Page } from "../graphql/pagination.js";
import type { Catalog } from "../offers/catalog.js";
import { requireHub } from "../offers/catalog.js";
import { MAX_WINDOW_HOURS, requireGpuCount, requirePrice } from "../offers/offers.service.js";
import { readLiveBookings, type LiveBookings } from "../offers/offers.queries.js";
import { utilizationOf } from "../offers/utilization.js";
import { addHours, addMinutes, ceilHour, maxDate, requireWholeHour } from "../time.js";
import {
  dataCentersToCompare,
  feasibleCandidates,
  isStale,
  pickWinner,
  type BidTerms,
  type Candidate,
  type OfferTerms,
} from "./match.js";
import { moveOn } from "../states.js";
import { bidStates } from "./bid-states.js";
import {
  candidateRows,
  insertBid,
  insertReservationRow,
  lockOfferWithHub,
  lockOffersOfModel,
  rollbackToSavepoint,
  savepoint,
  type CandidateFilter,
} from "./bids.queries.js";
import { hasLiveOrder, releaseReservation, type ReservationRow } from "./reservations.service.js";
import { reservationStates } from "./reservation-states.js";

export type BidRow = typeof bids.$inferSelect;
export type BidStatusValue = BidRow["status"];

export const MAX_BID_HOURS = MAX_WINDOW_HOURS;

export interface PlaceBid {
  gpuModel: string;
  gpuCount: number;
  hours: number;
  earliestStart: Date;
  latestEnd: Date;
  maxPricePerGpuHour: string;
  hubs?: string[] | null;
}

/** Checks every field before anything is written; the bid's terms in database units. */
export function validateBid(catalog: Catalog, input: PlaceBid, now: Date): BidTerms {
  const model = catalog.modelNamed("gpuModel", input.gpuModel);
  const gpuCount = requireGpuCount("gpuCount", input.gpuCount);
  if (!Number.isInteger(input.hours) || input.hours < 1 || input.hours > MAX_BID_HOURS) {
    throw badInput("hours", `hours must be between 1 and ${MAX_BID_HOURS}`);
  }
  requireWholeHour("earliestStart", input.earliestStart);
  requireWholeHour("latestEnd", input.latestEnd);
  if (input.latestEnd < addHours(input.earliestStart, input.hours)) {
    throw badInput("latestEnd", "latestEnd must be at least earliestStart + hours");
  }
  const bid: BidTerms = {
    gpuModelId: model.id,
    gpuCount,
    hours: input.hours,
    earliestStart: input.earliestStart,
    latestEnd: input.latestEnd,
    maxPricePerGpuHour: requirePrice("maxPricePerGpuHour", input.maxPricePerGpuHour),
    hubs: null,
  };
  if (isStale(bid, now))
    throw badInput("latestEnd", "latestEnd - hours has already passed: the bid could not start in time");
  const hubs = [...new Set((input.hubs ?? []).map((hub) => requireHub("hubs", hub)))];
  bid.hubs = hubs.length ? hubs : null;
  return bid;
}

// ------------------------------------------------------------------ matching against the database

export type { LiveBookings };

/** The SQL side of isCandidateOffer for these bids (the pure functions decide), and the span of time they cover. */
function candidateFilter(terms: readonly BidTerms[], now: Date): CandidateFilter {
  const maxPrice = terms.reduce((m, b) => (b.maxPricePerGpuHour > m ? b.maxPricePerGpuHour : m), 0n);
  const earliest = maxDate(new Date(Math.min(...terms.map((b) => b.earliestStart.getTime()))), ceilHour(now));
  const latest = new Date(Math.max(...terms.map((b) => b.latestEnd.getTime())));
  return {
    gpuModelId: terms[0].gpuModelId,
    maxPricePerGpuHour: maxPrice,
    maxHours: Math.max(...terms.map((b) => b.hours)),
    minGpuCount: Math.min(...terms.map((b) => b.gpuCount)),
    from: earliest,
    until: latest,
    single: terms.length === 1 ? { hubs: terms[0].hubs, hours: terms[0].hours } : null,
  };
}

/**
 * The offers that could serve any of these bids, in id order, and their live reservations; with
 * `lock`, locked in that order. Also the offers among them that carry a lapsed hold. Two queries
 * whatever the number of offers.
 */
export async function candidateOffers(tx: Executor, terms: readonly BidTerms[], now: Date, lock: boolean) {
  const filter = candidateFilter(terms, now);
  const candidates = await candidateRows(tx, filter, { by: "id", lock });
  const read = await readBookings(
    tx,
    candidates.map((o) => o.id),
    filter.from,
    filter.until,
    now,
  );
  return { offers: candidates, ...read, earliest: filter.from, latest: filter.until };
}

/** These offers of the GPU model, in any status, locked in id order, with their hubs. */
export async function lockOffers(tx: Executor, gpuModelId: number, offerIds: readonly number[]): Promise<OfferTerms[]> {
  if (offerIds.length === 0) return [];
  return lockOffersOfModel(tx, gpuModelId, offerIds);
}

/** Live reservations of these offers over [from, to), and which of them carry a lapsed hold there. */
export async function readBookings(tx: Executor, offerIds: readonly number[], from: Date, to: Date, now: Date) {
  if (offerIds.length === 0) return { bookings: new Map() as LiveBookings, lapsed: new Set<number>() };
  return readLiveBookings(tx, offerIds, from, to, now);
}

/** Candidates read per query while looking for a new bid's winner, cheapest first. */
export const CANDIDATE_BATCH = 64;

/**
 * A new bid's candidates with their live reservations, read without locks in price order (then
 * id), a batch at a time. Every candidate cheaper than the last one read has been read, so once a
 * feasible candidate is cheaper than that, the winner's price level is complete: most bids read
 * one batch, however many offers could serve them.
 */
class CandidateReader {
  offers: OfferTerms[] = [];
  bookings: LiveBookings = new Map();
  private cursor: { price: bigint; id: number } | null = null;
  private exhausted = false;
  readonly earliest: Date;
  readonly latest: Date;
  private filter: CandidateFilter;

  constructor(
    private tx: Executor,
    private bid: BidTerms,
    private now: Date,
  ) {
    this.filter = candidateFilter([bid], now);
    ({ from: this.earliest, until: this.latest } = this.filter);
  }

  private async more(): Promise<void> {
    const batch = await candidateRows(this.tx, this.filter, { by: "price", batch: CANDIDATE_BATCH }, this.cursor);
    if (batch.length < CANDIDATE_BATCH) this.exhausted = true;
    if (batch.length === 0) return;
    const last = batch[batch.length - 1];
    this.cursor = { price: last.pricePerGpuHour, id: last.id };
    const fresh = new Set(batch.map((o) => o.id));
    this.offers = [...this.offers.filter((o) => !fresh.has(o.id)), ...batch];
    const { bookings } = await readBookings(this.tx, [...fresh], this.earliest, this.latest, this.now);
    for (const id of fresh) this.bookings.set(id, bookings.get(id) ?? []);
  }

  /**
   * Reads on until the cheapest feasible candidate's price level is complete, or nothing is left;
   * returns the feasible candidates among those read.
   */
  async untilDecidable(): Promise<Candidate[]> {
    for (;;) {
      const feasible = feasibleCandidates(this.bid, this.offers, this.bookings, this.now);
      if (this.exhausted) return feasible;
      if (this.cursor && feasible.some((c) => c.offer.pricePerGpuHour < this.cursor!.price)) return feasible;
      await this.more();
    }
  }

  /** What a lock showed about an offer replaces what was read (or drops it, to be read again at its new price). */
  refresh(current: OfferTerms, bookings: LiveBookings): void {
    const index = this.offers.findIndex((o) => o.id === current.id);
    const after = this.cursor;
    const beyond =
      !this.exhausted &&
      after != null &&
      (current.pricePerGpuHour > after.price || (current.pricePerGpuHour === after.price && current.id > after.id));
    if (beyond) this.offers.splice(index, 1);
    else this.offers[index] = current;
    this.bookings.set(current.id, bookings.get(current.id) ?? []);
  }
}

/** Times a new bid chooses again after its winner changed under it, before it locks every candidate. */
export const OPTIMISTIC_ATTEMPTS = 4;

/**
 * Thrown while placing a bid whose winning offer carries a lapsed hold that was not swept yet: its
 * capacity goes to the standing open bids first (see lapsedHoldsFirst), so the transaction is rolled
 * back and the bid placed again afterwards.
 */
export class LapsedHoldsFirst extends Error {
  constructor(readonly gpuModelId: number) {
    super("lapsed holds on the winning offer: the standing open bids are served first");
  }
}

/**
 * The winner for one new bid, with its offer row locked for the rest of the transaction. The
 * candidates and their bookings are read without locks, cheapest first, and the winner chosen from
 * them; then only that offer is locked, under a savepoint, and checked again against its row and
 * live reservations as they are once the lock is held. When it changed meanwhile, the lock is
 * given back (rollback to the savepoint), what was read replaces the stale view, and the choice is
 * made again. An attempt holds no other offer lock while it waits, so attempts cannot deadlock;
 * after OPTIMISTIC_ATTEMPTS, every candidate is locked in id order.
 *
 * With `lapsedFirst`, a winner whose bookings, read under its lock, show a lapsed hold in the bid's
 * window throws LapsedHoldsFirst: that capacity is not the new bid's to take before the standing
 * open bids have had it. The check rides on the bookings read, so it costs no query.
 */
export async function matchNewBid(
  tx: Executor,
  bid: BidTerms,
  now: Date,
  lapsedFirst = false,
): Promise<Candidate | null> {
  const reader = new CandidateReader(tx, bid, now);
  for (let attempt = 1; attempt <= OPTIMISTIC_ATTEMPTS; attempt++) {
    const winner = await chooseAmong(tx, bid, await reader.untilDecidable(), now);
    if (!winner) return null;
    // The savepoint, the lock, and the offer and its bookings as they are once the lock is held:
    // one round trip.
    const [, current, { bookings: currentBookings, lapsed }] = await Promise.all([
      savepoint(tx, attempt),
      lockOfferWithHub(tx, winner.offer.id),
      readLiveBookings(tx, [winner.offer.id], reader.earliest, reader.latest, now),
    ]);
    const again = feasibleCandidates(bid, [current], currentBookings, now)[0];
    if (
      again &&
      again.startsAt.getTime() === winner.startsAt.getTime() &&
      again.offer.pricePerGpuHour === winner.offer.pricePerGpuHour
    ) {
      if (lapsedFirst && lapsed.size) throw new LapsedHoldsFirst(bid.gpuModelId);
      return again;
    }
    await rollbackToSavepoint(tx, attempt);
    reader.refresh(current, currentBookings);
  }
  const locked = await candidateOffers(tx, [bid], now, true);
  const winner = locked.offers.length ? await chooseOffer(tx, bid, locked.offers, locked.bookings, now) : null;
  if (winner && lapsedFirst && locked.lapsed.has(winner.offer.id)) throw new LapsedHoldsFirst(bid.gpuModelId);
  return winner;
}

/** Chooses the winning offer and start for one bid; at most one query (utilization, on a tie in price). */
export async function chooseOffer(
  tx: Executor,
  bid: BidTerms,
  offerTerms: readonly OfferTerms[],
  bookings: LiveBookings,
  now: Date,
) {
  return chooseAmong(tx, bid, feasibleCandidates(bid, offerTerms, bookings, now), now);
}

/** The winner among a bid's feasible candidates. */
async function chooseAmong(tx: Executor, bid: BidTerms, candidates: readonly Candidate[], now: Date) {
  const toCompare = dataCentersToCompare(candidates);
  const utilization = toCompare.length
    ? await utilizationOf(tx, toCompare, bid.earliestStart, bid.latestEnd, now)
    : new Map();
  return pickWinner(candidates, utilization);
}

/** The HELD reservation for a matched bid, at the offer's price; also recorded in `bookings`. */
export async function insertReservation(
  tx: Executor,
  bid: { id: number; smeId: number; gpuCount: number; hours: number },
  offer: OfferTerms,
  startsAt: Date,
  bookings: LiveBookings,
  now: Date,
  holdMinutes: number,
): Promise<ReservationRow> {
  const endsAt = addHours(startsAt, bid.hours);
  const row = await insertReservationRow(tx, {
    bidId: bid.id,
    offerId: offer.id,
    smeId: bid.smeId,
    gpuCount: bid.gpuCount,
    startsAt,
    endsAt,
    pricePerGpuHour: offer.pricePerGpuHour,
    status: "HELD",
    holdExpiresAt: addMinutes(now, holdMinutes),
    createdAt: now,
    updatedAt: now,
  });
  const list = bookings.get(offer.id) ?? [];
  list.push({ offerId: offer.id, startsAt, endsAt, gpuCount: bid.gpuCount });
  bookings.set(offer.id, list);
  return row;
}

// ------------------------------------------------------------------ placing and cancelling

/**
 * Inserts the bid and matches it at once, in the caller's transaction: the winning offer is locked
 * and its capacity checked under the lock, so no concurrent match can take the same hours. No
 * candidate: the bid stays OPEN. With `lapsedFirst`, a winner with a lapsed hold throws
 * LapsedHoldsFirst (see matchNewBid).
 */
export async function placeBid(
  tx: Executor,
  catalog: Catalog,
  smeId: number,
  input: PlaceBid,
  now: Date,
  holdMinutes: number,
  lapsedFirst = false,
) {
  const terms = validateBid(catalog, input, now);
  const winner = await matchNewBid(tx, terms, now, lapsedFirst);
  const bid = await insertBid(tx, {
    smeId,
    gpuModelId: terms.gpuModelId,
    gpuCount: terms.gpuCount,
    hours: terms.hours,
    earliestStart: terms.earliestStart,
    latestEnd: terms.latestEnd,
    maxPricePerGpuHour: terms.maxPricePerGpuHour,
    hubs: terms.hubs ? [...terms.hubs] : null,
    status: winner ? "MATCHED" : "OPEN",
    createdAt: now,
    updatedAt: now,
  });
  const reservation = winner
    ? await insertReservation(tx, bid, winner.offer, winner.startsAt, new Map(), now, holdMinutes)
    : null;
  return { bid, reservation };
}

/**
 * The owner cancels a bid. OPEN: CANCELLED. MATCHED with a live HELD reservation: both CANCELLED
 * and the capacity freed (returned as the offer and its GPU model, to re-match after commit). A
 * hold that has lapsed is EXPIRED, swept or not: CONFLICT, as for any expired bid. A paid
 * reservation, or one in checkout, is a CONFLICT: the order is what gets cancelled then.
 */
export async function cancelBid(tx: Executor, smeId: number, bidId: number, now: Date) {
  const [seen] = await tx.select().from(bids).where(eq(bids.id, bidId));
  if (!seen || seen.smeId !== smeId) throw notFound("Bid");
  // Reservation before bid, the order the sweeper and the checkout lock them in.
  let [reservation] = await tx.select().from(reservations).where(eq(reservations.bidId, bidId)).for("update");
  const [bid] = await tx.select().from(bids).where(eq(bids.id, bidId)).for("update");
  if (bid.status === "MATCHED" && !reservation) {
    // Matched by a re-match that committed after the first read.
    [reservation] = await tx.select().from(reservations).where(eq(reservations.bidId, bidId)).for("update");
  }

  if (bid.status === "CANCELLED") return { bid, freedGpuModelId: null, freedOfferId: null };
  if (bid.status === "EXPIRED" || (reservation && holdLapsed(reservation, now))) throw conflict("This bid has expired");
  // OPEN: cancelled as it is; MATCHED: with its reservation, below (bid-states.ts).
  const to = moveOn(bidStates, bid.status, "cancelBid");
  if (to) {
    const [row] = await tx.update(bids).set({ status: to, updatedAt: now }).where(eq(bids.id, bidId)).returning();
    return { bid: row, freedGpuModelId: null, freedOfferId: null };
  }
  if (!reservation) throw conflict("This bid's reservation is no longer held");
  if (reservation.status === "CONFIRMED") throw conflict("This bid's reservation is paid: cancel the order instead");
  if (!moveOn(reservationStates, reservation.status, "cancelBid"))
    throw conflict("This bid's reservation is no longer held");
  if (await hasLiveOrder(tx, reservation.id))
    throw conflict("This bid's reservation is in checkout: cancel the order instead");
  const freedGpuModelId = await releaseReservation(tx, reservation.id, "CANCELLED", now);
  const [row] = await tx.select().from(bids).where(eq(bids.id, bidId));
  return { bid: row, freedGpuModelId, freedOfferId: freedGpuModelId == null ? null : reservation.offerId };
}

// ------------------------------------------------------------------ reading
//
// A HELD reservation whose hold has lapsed is EXPIRED, and so is its bid, whether or not the
// sweeper has written it yet: holdLapsed and statusAsOf say so wherever a status is shown or
// filtered on (the GraphQL status fields, myBids' filter, cancelBid).

/** A HELD reservation whose hold has lapsed at `now`: EXPIRED, swept or not. */
export function holdLapsed(reservation: Pick<ReservationRow, "status" | "holdExpiresAt">, now: Date): boolean {
  return reservation.status === "HELD" && reservation.holdExpiresAt.getTime() <= now.getTime();
}

/** A MATCHED bid whose reservation is a lapsed hold (as `bids`). */
const lapsedMatch = (db: Executor, now: Date) =>
  exists(
    db
      .select({ id: reservations.id })
      .from(reservations)
      .where(
        and(eq(reservations.bidId, bids.id), eq(reservations.status, "HELD"), lte(reservations.holdExpiresAt, now)),
      ),
  );

/** Bids whose status, as of `now`, is `status`. */
function statusAsOf(db: Executor, status: BidStatusValue, now: Date): SQL | undefined {
  if (status === "MATCHED") return and(eq(bids.status, "MATCHED"), not(lapsedMatch(db, now)));
  if (status === "EXPIRED")
    return or(eq(bids.status, "EXPIRED"), and(eq(bids.status, "MATCHED"), lapsedMatch(db, now)));
  return eq(bids.status, status);
}

/** The SME's own bid, or null (another SME's bid is not found). */
export async function ownBid(db: Executor, smeId: number, bidId: number): Promise<BidRow | null> {
  const [row] = await db
    .select()
    .from(bids)
    .where(and(eq(bids.id, bidId), eq(bids.smeId, smeId)));
  return row ?? null;
}

/** The SME's bids, newest first: two queries whatever the page size. */
export async function smeBids(
  db: Executor,
  smeId: number,
  status: BidStatusValue | null | undefined,
  first: number,
  after: string | null | undefined,
  now: Date,
): Promise<Page<BidRow>> {
  const cursor = decodeCursor(after, ["number"]);
  const where = and(eq(bids.smeId, smeId), status ? statusAsOf(db, status, now) : undefined);
  const [rows, [{ total }]] = await Promise.all([
    db
      .select()
      .from(bids)
      .where(and(where, cursor ? lt(bids.id, cursor[0] as number) : undefined))
      .orderBy(desc(bids.id))
      .limit(first + 1),
    db.select({ total: count() }).from(bids).where(where),
  ]);
  return toPage(
    rows,
    first,
    Number(total),
    (r) => encodeCursor([r.id]),
    (r) => r,
    after != null,
  );
}
