// Bids: validation, placing with immediate matching, cancelling, reading. Tenant checks live here.
import { and, asc, count, desc, eq, gte, inArray, lt, lte, sql, type SQL } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { bids, dataCenters, offers, reservations } from "../db/schema.js";
import { badInput, conflict, notFound } from "../graphql/errors.js";
import { decodeCursor, encodeCursor, toPage, type Page } from "../graphql/pagination.js";
import type { Catalog } from "../offers/catalog.js";
import { requireHub } from "../offers/catalog.js";
import { MAX_WINDOW_HOURS, requireGpuCount, requirePrice } from "../offers/offers.service.js";
import { liveBookings, type LiveBooking } from "../offers/reservations.query.js";
import { utilizationOf } from "../offers/utilization.js";
import { addHours, addMinutes, ceilHour, maxDate, requireWholeHour } from "../time.js";
import { dataCentersToCompare, feasibleCandidates, isStale, pickWinner, type BidTerms, type OfferTerms } from "./match.js";
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
 * Locks, in id order, the offers that could serve any of these bids (the SQL mirrors the static
 * part of isCandidateOffer; the pure functions decide), and reads their live reservations.
 * Two queries whatever the number of offers.
 */
export async function lockCandidateOffers(tx: Executor, terms: readonly BidTerms[], now: Date) {
  const conditions: SQL[] = [
    eq(offers.status, "ACTIVE"),
    eq(offers.gpuModelId, terms[0].gpuModelId),
    lte(offers.pricePerGpuHour, terms.reduce((m, b) => (b.maxPricePerGpuHour > m ? b.maxPricePerGpuHour : m), 0n)),
    lte(offers.minHours, Math.max(...terms.map((b) => b.hours))),
    gte(offers.gpuCount, Math.min(...terms.map((b) => b.gpuCount))),
  ];
  const earliest = maxDate(new Date(Math.min(...terms.map((b) => b.earliestStart.getTime()))), ceilHour(now));
  const latest = new Date(Math.max(...terms.map((b) => b.latestEnd.getTime())));
  if (terms.length === 1) {
    const [bid] = terms;
    if (bid.hubs) conditions.push(inArray(dataCenters.hub, [...bid.hubs]));
    // Some window of `hours` hours fits between the bid's and the offer's bounds.
    conditions.push(
      sql`greatest(${offers.availableFrom}, ${earliest.toISOString()}::timestamptz) + ${bid.hours}::int * interval '1 hour'
          <= least(${offers.availableUntil}, ${latest.toISOString()}::timestamptz)`,
    );
  } else {
    conditions.push(lt(offers.availableFrom, latest), sql`${offers.availableUntil} > ${earliest.toISOString()}::timestamptz`);
  }
  const rows = await tx
    .select({ offer: offers, hub: dataCenters.hub })
    .from(offers)
    .innerJoin(dataCenters, eq(dataCenters.id, offers.dataCenterId))
    .where(and(...conditions))
    .orderBy(asc(offers.id))
    .for("update", { of: offers });
  const candidates: OfferTerms[] = rows.map((r) => ({ ...r.offer, hub: r.hub }));
  const bookings: LiveBookings = candidates.length
    ? await liveBookings(tx, candidates.map((o) => o.id), earliest, latest, now)
    : new Map();
  return { offers: candidates, bookings };
}

/** Chooses the winning offer and start for one bid; at most one query (utilization, on a tie in price). */
export async function chooseOffer(tx: Executor, bid: BidTerms, offerTerms: readonly OfferTerms[], bookings: LiveBookings, now: Date) {
  const candidates = feasibleCandidates(bid, offerTerms, bookings, now);
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
  const [row] = await tx
    .insert(reservations)
    .values({
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
    })
    .returning();
  const list = bookings.get(offer.id) ?? [];
  list.push({ offerId: offer.id, startsAt, endsAt, gpuCount: bid.gpuCount });
  bookings.set(offer.id, list);
  return row;
}

// ------------------------------------------------------------------ placing and cancelling

/**
 * Inserts the bid and matches it at once, in the caller's transaction: the candidate offers are
 * locked first, so no concurrent match can take the same hours. No candidate: the bid stays OPEN.
 */
export async function placeBid(tx: Executor, catalog: Catalog, smeId: number, input: PlaceBid, now: Date, holdMinutes: number) {
  const terms = validateBid(catalog, input, now);
  const { offers: offerTerms, bookings } = await lockCandidateOffers(tx, [terms], now);
  const winner = offerTerms.length ? await chooseOffer(tx, terms, offerTerms, bookings, now) : null;
  const [bid] = await tx
    .insert(bids)
    .values({
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
    })
    .returning();
  const reservation = winner ? await insertReservation(tx, bid, winner.offer, winner.startsAt, bookings, now, holdMinutes) : null;
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
  return toPage(rows, first, Number(total), (r) => encodeCursor([r.id]), (r) => r);
}
