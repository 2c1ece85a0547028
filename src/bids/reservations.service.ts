// The life of a reservation after matching: lock, confirm, extend, release, and who may see it.
//
// Lock order everywhere: offer, then reservation, then bid; a re-matching pass (rematch.ts) takes
// its GPU model's advisory lock before any offer. Every change that makes GPUs count (a new HELD
// reservation, HELD -> CONFIRMED, a longer hold) happens under the offer's row lock (NO KEY
// UPDATE: bookers exclude each other, but not the KEY SHARE of foreign keys and of checkouts) and
// re-checks the offer's free capacity, so a hold that lapsed on one process's clock and was booked
// over by another can never come back to life on top of that booking. The one exception is a hold
// far from lapsing (lockForPayment): it is live on every clock, so its GPUs are its own and
// confirming or extending it changes nobody's capacity.
import { and, count, desc, eq, gt, inArray, lt, ne, or } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { bids, dataCenters, offers, reservations } from "../db/schema.js";
import { conflict, notFound } from "../errors.js";
import { decodeCursor, encodeCursor, toPage, type Page } from "../graphql/pagination.js";
import { freeGpus } from "../offers/capacity.js";
import type { OfferRow } from "../offers/offers.service.js";
import type { Viewer } from "../graphql/context.js";
import { canMove, fromStates, statusIn } from "../states.js";
import { bidStates } from "./bid-states.js";
import { reservationStates } from "./reservation-states.js";
import { confirmHeldSafely, extendHold, liveOrderOf, lockHeldSafely } from "./bids.queries.js";

export type ReservationRow = typeof reservations.$inferSelect;

export interface LockedReservation {
  reservation: ReservationRow;
  /** The offer, locked with it; null for a hold locked alone by lockForPayment. */
  offer: OfferRow | null;
}

/**
 * How far apart our processes' clocks may be. A hold that lapses later than this from now is live
 * on every process's clock: nobody can have booked its GPUs as free.
 */
export const CLOCK_SKEW_ALLOWANCE_MINUTES = 2;

/**
 * Locks the reservation's offer, then the reservation itself, for the rest of the transaction.
 * Null when there is no such reservation; the caller checks who owns it.
 */
export async function lockReservation(tx: Executor, id: number): Promise<LockedReservation | null> {
  // A reservation's offer never changes: the subquery finds it without a lock.
  const [offer] = await tx
    .select()
    .from(offers)
    .where(
      eq(offers.id, tx.select({ offerId: reservations.offerId }).from(reservations).where(eq(reservations.id, id))),
    )
    .for("no key update");
  if (!offer) return null;
  const [reservation] = await tx.select().from(reservations).where(eq(reservations.id, id)).for("update");
  return { reservation, offer };
}

/**
 * The time after which a hold must lapse to be held safely: beyond the clock-skew allowance from
 * the later of the request's time and this moment (a request that waited long, for a lock say,
 * must not judge a hold by the time it started).
 */
function safelyHeldUntil(now: Date): Date {
  return new Date(Math.max(now.getTime(), Date.now()) + CLOCK_SKEW_ALLOWANCE_MINUTES * 60_000);
}

/**
 * Locks a reservation to check it out, then runs `reads` that need the lock held (each sees
 * everything committed before it was granted). A HELD reservation whose hold lapses beyond the
 * clock-skew allowance is live on every clock, so nobody can have booked its GPUs: it needs
 * neither its offer's exclusive lock nor a capacity re-check, and checkouts of one popular offer
 * no longer queue behind each other. It takes its offer's KEY SHARE lock (what the order's foreign
 * key takes anyway) and then its own, the lock order offer -> reservation, and the reads follow in
 * the same round trip. Any other reservation matches no row, so nothing is locked, and takes
 * lockReservation's path: the exclusive offer lock and the capacity re-check. Each read starts its
 * statement when called (see Statement.rows in src/db/client.ts).
 */
export async function lockForPayment<T extends unknown[]>(
  tx: Executor,
  id: number,
  now: Date,
  reads: { [K in keyof T]: (tx: Executor) => Promise<T[K]> },
  /** A lock the caller takes before any of these (the checkout's idempotency-key lock), in the same round trip. */
  first?: (tx: Executor) => Promise<unknown>,
): Promise<{ locked: LockedReservation | null; reads: T }> {
  const read = () => Promise.all(reads.map((r) => r(tx))) as Promise<T>;
  const [, held, results] = await Promise.all([first?.(tx), lockHeldSafely(tx, id, safelyHeldUntil(now)), read()]);
  if (held) return { locked: { reservation: held, offer: null }, reads: results };
  const locked = await lockReservation(tx, id);
  return { locked, reads: await read() };
}

/** Throws CONFLICT unless the reservation's GPUs fit next to every other live reservation of its offer. */
async function requireStillFits(tx: Executor, locked: LockedReservation, now: Date): Promise<void> {
  const { reservation: r, offer } = locked;
  if (!offer) return; // a hold far from lapsing: see lockForPayment and confirmReservation
  const others = await tx
    .select({ startsAt: reservations.startsAt, endsAt: reservations.endsAt, gpuCount: reservations.gpuCount })
    .from(reservations)
    .where(
      and(
        eq(reservations.offerId, r.offerId),
        ne(reservations.id, r.id),
        inArray(reservations.status, ["HELD", "CONFIRMED"]),
        or(
          eq(reservations.status, "CONFIRMED"),
          and(eq(reservations.status, "HELD"), gt(reservations.holdExpiresAt, now)),
        ),
        lt(reservations.startsAt, r.endsAt),
        gt(reservations.endsAt, r.startsAt),
      ),
    );
  if (freeGpus(offer, others, r.startsAt, r.endsAt) < r.gpuCount) {
    throw conflict("The hold on this reservation lapsed and its GPUs were taken");
  }
}

/**
 * HELD -> CONFIRMED (paid). Already CONFIRMED is returned as is; EXPIRED or CANCELLED is a CONFLICT,
 * and so is a lapsed hold whose GPUs someone else has taken since.
 */
export async function confirmReservation(tx: Executor, id: number, now: Date): Promise<ReservationRow> {
  // A hold far from lapsing is confirmed by one guarded update (see lockForPayment; the update
  // changes no foreign key, so it needs no lock on the offer). Anything else goes the long way.
  const confirmed = await confirmHeldSafely(tx, id, safelyHeldUntil(now), now);
  if (confirmed) return confirmed;
  const locked = await lockReservation(tx, id);
  if (!locked) throw notFound("Reservation");
  if (locked.reservation.status === "CONFIRMED") return locked.reservation;
  if (!canMove(reservationStates, locked.reservation.status, "CONFIRMED"))
    throw conflict("This reservation is no longer held");
  await requireStillFits(tx, locked, now);
  const [row] = await tx
    .update(reservations)
    .set({ status: "CONFIRMED", updatedAt: now })
    .where(
      and(eq(reservations.id, id), inArray(reservations.status, fromStates(reservationStates, { to: "CONFIRMED" }))),
    )
    .returning();
  return row;
}

/**
 * Keeps a HELD reservation, already locked by this transaction, until `until` (never shortens it),
 * with the same checks as confirming.
 */
export async function extendLockedHold(
  tx: Executor,
  locked: LockedReservation,
  until: Date,
  now: Date,
): Promise<ReservationRow> {
  if (locked.reservation.status !== "HELD") throw conflict("This reservation is no longer held");
  await requireStillFits(tx, locked, now);
  const row = await extendHold(tx, locked.reservation.id, until, now);
  return row!;
}

/**
 * Frees a HELD or CONFIRMED reservation: it and its bid become `status`. Returns the GPU model whose
 * capacity grew, so the caller can re-match open bids after commit; null when it was not live.
 */
export async function releaseReservation(
  tx: Executor,
  id: number,
  status: "CANCELLED" | "EXPIRED",
  now: Date,
): Promise<number | null> {
  // The reservation, then its bid if it is MATCHED: one statement. The bid's update runs whether or
  // not the select reads it (PostgreSQL runs every data-modifying WITH once). The statuses each
  // leaves for `status` come from the machines (reservation-states.ts, bid-states.ts).
  const reservationFrom = fromStates(reservationStates, { to: status });
  const bidFrom = fromStates(bidStates, {
    to: status,
    on: status === "CANCELLED" ? "reservationCancelled" : "holdLapsed",
  });
  const released = tx.$with("released").as(
    tx
      .update(reservations)
      .set({ status, updatedAt: now })
      .where(and(eq(reservations.id, id), statusIn(reservations.status, reservationFrom)))
      .returning({ bidId: reservations.bidId, offerId: reservations.offerId }),
  );
  const bid = tx.$with("bid").as(
    tx
      .update(bids)
      .set({ status, updatedAt: now })
      .from(released)
      .where(and(eq(bids.id, released.bidId), statusIn(bids.status, bidFrom)))
      .returning({ id: bids.id }),
  );
  const rows = await tx
    .with(released, bid)
    .select({ gpuModelId: offers.gpuModelId })
    .from(released)
    .innerJoin(offers, eq(offers.id, released.offerId));
  return rows.length ? rows[0].gpuModelId : null;
}

/** The reservation's pending or paid order, if any: then only cancelling the order frees it. */
export { liveOrderOf };

export async function hasLiveOrder(tx: Executor, reservationId: number): Promise<boolean> {
  return (await liveOrderOf(tx, reservationId)) != null;
}

// ------------------------------------------------------------------ reading

/** A reservation the viewer may see: its SME, or the operator of the offer's data center. Else null. */
export async function visibleReservation(db: Executor, viewer: Viewer, id: number): Promise<ReservationRow | null> {
  if (viewer.organizationId == null) return null;
  const [row] = await db
    .select({ reservation: reservations, operatorId: dataCenters.operatorId })
    .from(reservations)
    .innerJoin(offers, eq(offers.id, reservations.offerId))
    .innerJoin(dataCenters, eq(dataCenters.id, offers.dataCenterId))
    .where(eq(reservations.id, id));
  return row && seesReservation(viewer, row.reservation, row.operatorId) ? row.reservation : null;
}

/** A reservation is seen by the SME that holds it and by the operator of its offer's data center. */
export function seesReservation(
  viewer: Viewer,
  reservation: Pick<ReservationRow, "smeId">,
  operatorId: number,
): boolean {
  if (viewer.organizationId == null) return false;
  return (
    (viewer.role === "SME" && reservation.smeId === viewer.organizationId) ||
    (viewer.role === "DATA_CENTER" && operatorId === viewer.organizationId)
  );
}

/** Reservations on one of the operator's offers, newest first; another operator's offer is NOT_FOUND. */
export async function offerReservations(
  db: Executor,
  operatorId: number,
  offerId: number,
  first: number,
  after: string | null | undefined,
): Promise<Page<ReservationRow>> {
  const cursor = decodeCursor(after, ["number"]);
  const [owner] = await db
    .select({ operatorId: dataCenters.operatorId })
    .from(offers)
    .innerJoin(dataCenters, eq(dataCenters.id, offers.dataCenterId))
    .where(eq(offers.id, offerId));
  if (!owner || owner.operatorId !== operatorId) throw notFound("Offer");
  const ofOffer = eq(reservations.offerId, offerId);
  const [rows, [{ total }]] = await Promise.all([
    db
      .select()
      .from(reservations)
      .where(and(ofOffer, cursor ? lt(reservations.id, cursor[0] as number) : undefined))
      .orderBy(desc(reservations.id))
      .limit(first + 1),
    db.select({ total: count() }).from(reservations).where(ofOffer),
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

/** Reservations by bid, for batch loading. */
export async function reservationsOfBids(
  db: Executor,
  bidIds: readonly number[],
): Promise<Map<number, ReservationRow>> {
  const rows = bidIds.length
    ? await db
        .select()
        .from(reservations)
        .where(inArray(reservations.bidId, bidIds as number[]))
    : [];
  return new Map(rows.map((r) => [r.bidId, r]));
}
