// Bids: validation, placing with immediate matching, cancelling, reading. Tenant checks live here.
import { and, count, desc, eq, lt, sql, type SQL } from "drizzle-orm";
import { insertRow, pipelined, PLAN_EACH_CALL, rowFrom, rowsOf, type Executor } from "../db/client.js";
import { bids, dataCenters, offers, reservations } from "../db/schema.js";
import { badInput, conflict, notFound } from "../graphql/errors.js";
import { decodeCursor, encodeCursor, toPage, type Page } from "../graphql/pagination.js";
import type { Catalog } from "../offers/catalog.js";
import { requireHub } from "../offers/catalog.js";
import { MAX_WINDOW_HOURS, requireGpuCount, requirePrice } from "../offers/offers.service.js";
import { bookingsByOffer, liveBookings, liveBookingsQuery, type LiveBooking, type PackedBookings } from "../offers/reservations.query.js";
import { utilizationOf } from "../offers/utilization.js";
import { addHours, addMinutes, ceilHour, maxDate, requireWholeHour } from "../time.js";
import { dataCentersToCompare, feasibleCandidates, isStale, pickWinner, type BidTerms, type Candidate, type OfferTerms } from "./match.js";
import { hasLiveOrder, releaseReservation, type ReservationRow } from "./reservations.service.js";

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
  if (isStale(bid, now)) throw badInput("latestEnd", "latestEnd - hours has already passed: the bid could not start in time");
  const hubs = [...new Set((input.hubs ?? []).map((hub) => requireHub("hubs", hub)))];
  bid.hubs = hubs.length ? hubs : null;
  return bid;
}

// ------------------------------------------------------------------ matching against the database

export type LiveBookings = Map<number, LiveBooking[]>;

/**
 * The SQL side of isCandidateOffer for these bids (the pure functions decide), and the span of
 * time they cover. Columns are named in the text: every bid builds this, and drizzle checks the
 * type of each column object it renders.
 */
function candidateConditions(terms: readonly BidTerms[], now: Date) {
  const maxPrice = terms.reduce((m, b) => (b.maxPricePerGpuHour > m ? b.maxPricePerGpuHour : m), 0n);
  const earliest = maxDate(new Date(Math.min(...terms.map((b) => b.earliestStart.getTime()))), ceilHour(now));
  const latest = new Date(Math.max(...terms.map((b) => b.latestEnd.getTime())));
  const [from, until] = [earliest.toISOString(), latest.toISOString()];
  const conditions: SQL[] = [
    PLAN_EACH_CALL,
    sql`offers.status = 'ACTIVE' and offers.gpu_model_id = ${terms[0].gpuModelId}::bigint
        and offers.price_per_gpu_hour <= ${String(maxPrice)}::bigint
        and offers.min_hours <= ${Math.max(...terms.map((b) => b.hours))}::int
        and offers.gpu_count >= ${Math.min(...terms.map((b) => b.gpuCount))}::int`,
    // Implied by the window test below, but usable by an index: offers still running in the window.
    sql`offers.available_from < ${until}::timestamptz and offers.available_until > ${from}::timestamptz`,
  ];
  if (terms.length === 1) {
    const [bid] = terms;
    if (bid.hubs) conditions.push(sql`data_centers.hub in (${sql.join(bid.hubs.map((hub) => sql`${hub}`), sql`, `)})`);
    // Some window of `hours` hours fits between the bid's and the offer's bounds.
    conditions.push(
      sql`greatest(offers.available_from, ${from}::timestamptz) + ${bid.hours}::int * interval '1 hour'
          <= least(offers.available_until, ${until}::timestamptz)`,
    );
  }
  return { conditions, earliest, latest };
}

/**
 * What matching reads of an offer (OfferTerms but the hub). All of it is in offers_search_idx's
 * key, so candidates are read from the index alone, never from the offers they skip.
 */
const OFFER_TERMS = sql.raw(
  ["id", "data_center_id", "gpu_model_id", "gpu_count", "price_per_gpu_hour", "available_from", "available_until", "min_hours", "status", "created_at"]
    .map((column) => `offers.${column}`)
    .join(", "),
);

/** Candidate offers with their hubs: `tail` orders, limits or locks them. */
async function candidateRows(tx: Executor, where: SQL | undefined, tail: SQL): Promise<OfferTerms[]> {
  const rows = await rowsOf<Record<string, unknown>>(
    tx,
    sql`select ${OFFER_TERMS}, data_centers.hub as offer_hub from offers join data_centers on data_centers.id = offers.data_center_id
        where ${where} ${tail}`,
  );
  return rows.map(offerTermsOf);
}

/** An offer row read with its data center's hub (as offer_hub). */
const offerTermsOf = (row: Record<string, unknown>): OfferTerms => ({ ...rowFrom(offers, row), hub: String(row.offer_hub) });

/**
 * Locks, in id order, the offers that could serve any of these bids, and reads their live
 * reservations. Two queries whatever the number of offers.
 */
export async function lockCandidateOffers(tx: Executor, terms: readonly BidTerms[], now: Date) {
  const { conditions, earliest, latest } = candidateConditions(terms, now);
  const candidates = await candidateRows(tx, and(...conditions), sql`order by offers.id for no key update of offers`);
  const bookings: LiveBookings = candidates.length
    ? await liveBookings(tx, candidates.map((o) => o.id), earliest, latest, now)
    : new Map();
  return { offers: candidates, bookings };
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
  private conditions: SQL[];

  constructor(
    private tx: Executor,
    private bid: BidTerms,
    private now: Date,
  ) {
    ({ conditions: this.conditions, earliest: this.earliest, latest: this.latest } = candidateConditions([bid], now));
  }

  private async more(): Promise<void> {
    const after = this.cursor;
    const price = after && String(after.price);
    const seek = after
      ? sql`(offers.price_per_gpu_hour > ${price}::bigint or (offers.price_per_gpu_hour = ${price}::bigint and offers.id > ${after.id}::bigint))`
      : undefined;
    const batch = await candidateRows(
      this.tx,
      and(...this.conditions, seek),
      sql`order by offers.price_per_gpu_hour, offers.id limit ${sql.raw(String(CANDIDATE_BATCH))}`,
    );
    if (batch.length < CANDIDATE_BATCH) this.exhausted = true;
    if (batch.length === 0) return;
    const last = batch[batch.length - 1];
    this.cursor = { price: last.pricePerGpuHour, id: last.id };
    const fresh = new Set(batch.map((o) => o.id));
    this.offers = [...this.offers.filter((o) => !fresh.has(o.id)), ...batch];
    const bookings = await liveBookings(this.tx, [...fresh], this.earliest, this.latest, this.now);
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
    const beyond = !this.exhausted && after != null &&
      (current.pricePerGpuHour > after.price || (current.pricePerGpuHour === after.price && current.id > after.id));
    if (beyond) this.offers.splice(index, 1);
    else this.offers[index] = current;
    this.bookings.set(current.id, bookings.get(current.id) ?? []);
  }
}

/** Times a new bid chooses again after its winner changed under it, before it locks every candidate. */
export const OPTIMISTIC_ATTEMPTS = 4;

/**
 * The winner for one new bid, with its offer row locked for the rest of the transaction. The
 * candidates and their bookings are read without locks, cheapest first, and the winner chosen from
 * them; then only that offer is locked, under a savepoint, and checked again against its row and
 * live reservations as they are once the lock is held. When it changed meanwhile, the lock is
 * given back (rollback to the savepoint), what was read replaces the stale view, and the choice is
 * made again. An attempt holds no other offer lock while it waits, so attempts cannot deadlock;
 * after OPTIMISTIC_ATTEMPTS, every candidate is locked in id order, as the re-match does.
 */
export async function matchNewBid(tx: Executor, bid: BidTerms, now: Date): Promise<Candidate | null> {
  const reader = new CandidateReader(tx, bid, now);
  for (let attempt = 1; attempt <= OPTIMISTIC_ATTEMPTS; attempt++) {
    const winner = await chooseAmong(tx, bid, await reader.untilDecidable(), now);
    if (!winner) return null;
    const savepoint = sql.raw(`match_attempt_${attempt}`);
    // The savepoint, the lock, and the offer and its bookings as they are once the lock is held:
    // one round trip.
    const [, [row], packed] = await pipelined<[unknown, Record<string, unknown>, PackedBookings]>(tx, [
      sql`savepoint ${savepoint}`,
      sql`select o.*, dc.hub as offer_hub from ${offers} o join ${dataCenters} dc on dc.id = o.data_center_id
          where o.id = ${winner.offer.id} for no key update of o`,
      liveBookingsQuery([winner.offer.id], reader.earliest, reader.latest, now),
    ]);
    const current = offerTermsOf(row);
    const currentBookings = bookingsByOffer(packed);
    const again = feasibleCandidates(bid, [current], currentBookings, now)[0];
    if (again && again.startsAt.getTime() === winner.startsAt.getTime() && again.offer.pricePerGpuHour === winner.offer.pricePerGpuHour) {
      return again;
    }
    await tx.execute(sql`rollback to savepoint ${savepoint}`);
    reader.refresh(current, currentBookings);
  }
  const locked = await lockCandidateOffers(tx, [bid], now);
  return locked.offers.length ? chooseOffer(tx, bid, locked.offers, locked.bookings, now) : null;
}

/** Chooses the winning offer and start for one bid; at most one query (utilization, on a tie in price). */
export async function chooseOffer(tx: Executor, bid: BidTerms, offerTerms: readonly OfferTerms[], bookings: LiveBookings, now: Date) {
  return chooseAmong(tx, bid, feasibleCandidates(bid, offerTerms, bookings, now), now);
}

/** The winner among a bid's feasible candidates. */
async function chooseAmong(tx: Executor, bid: BidTerms, candidates: readonly Candidate[], now: Date) {
  const toCompare = dataCentersToCompare(candidates);
  const utilization = toCompare.length ? await utilizationOf(tx, toCompare, bid.earliestStart, bid.latestEnd, now) : new Map();
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
  const row = await insertRow(tx, reservations, {
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
 * candidate: the bid stays OPEN.
 */
export async function placeBid(tx: Executor, catalog: Catalog, smeId: number, input: PlaceBid, now: Date, holdMinutes: number) {
  const terms = validateBid(catalog, input, now);
  const winner = await matchNewBid(tx, terms, now);
  const bid = await insertRow(tx, bids, {
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
  const reservation = winner ? await insertReservation(tx, bid, winner.offer, winner.startsAt, new Map(), now, holdMinutes) : null;
  return { bid, reservation };
}

/**
 * The owner cancels a bid. OPEN: CANCELLED. MATCHED with a HELD reservation: both CANCELLED and the
 * capacity freed (returned as the GPU model to re-match after commit). A paid reservation, or one in
 * checkout, is a CONFLICT: the order is what gets cancelled then.
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

  if (bid.status === "CANCELLED") return { bid, freedGpuModelId: null };
  if (bid.status === "EXPIRED") throw conflict("This bid has expired");
  if (bid.status === "OPEN") {
    const [row] = await tx.update(bids).set({ status: "CANCELLED", updatedAt: now }).where(eq(bids.id, bidId)).returning();
    return { bid: row, freedGpuModelId: null };
  }
  if (!reservation) throw conflict("This bid's reservation is no longer held");
  if (reservation.status === "CONFIRMED") throw conflict("This bid's reservation is paid: cancel the order instead");
  if (reservation.status !== "HELD") throw conflict("This bid's reservation is no longer held");
  if (await hasLiveOrder(tx, reservation.id)) throw conflict("This bid's reservation is in checkout: cancel the order instead");
  const freedGpuModelId = await releaseReservation(tx, reservation.id, "CANCELLED", now);
  const [row] = await tx.select().from(bids).where(eq(bids.id, bidId));
  return { bid: row, freedGpuModelId };
}

// ------------------------------------------------------------------ reading

/** The SME's own bid, or null (another SME's bid is not found). */
export async function ownBid(db: Executor, smeId: number, bidId: number): Promise<BidRow | null> {
  const [row] = await db.select().from(bids).where(and(eq(bids.id, bidId), eq(bids.smeId, smeId)));
  return row ?? null;
}

/** The SME's bids, newest first: two queries whatever the page size. */
export async function smeBids(
  db: Executor,
  smeId: number,
  status: BidStatusValue | null | undefined,
  first: number,
  after: string | null | undefined,
): Promise<Page<BidRow>> {
  const cursor = decodeCursor(after, ["number"]);
  const where = and(eq(bids.smeId, smeId), status ? eq(bids.status, status) : undefined);
  const [rows, [{ total }]] = await Promise.all([
    db
      .select()
      .from(bids)
      .where(and(where, cursor ? lt(bids.id, cursor[0] as number) : undefined))
      .orderBy(desc(bids.id))
      .limit(first + 1),
    db.select({ total: count() }).from(bids).where(where),
  ]);
  return toPage(rows, first, Number(total), (r) => encodeCursor([r.id]), (r) => r, after != null);
}
