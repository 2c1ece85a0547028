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
import { and, count, desc, eq, gt, inArray, lt, ne, sql, type SQL } from "drizzle-orm";
import { pipelined, rowFrom, rowsOf, updateRow, type Executor } from "../db/client.js";
import { dataCenters, offers, reservations } from "../db/schema.js";
import { conflict, notFound } from "../errors.js";
import { decodeCursor, encodeCursor, toPage, type Page } from "../graphql/pagination.js";
import { freeGpus } from "../offers/capacity.js";
import { isLive } from "../offers/reservations.query.js";
import type { OfferRow } from "../offers/offers.service.js";
import type { Viewer } from "../graphql/context.js";
import { canMove, fromStates, statusIn } from "../states.js";
import { bidStates } from "./bid-states.js";
import { reservationStates } from "./reservation-states.js";

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
    .where(eq(offers.id, sql`(select ${reservations.offerId} from ${reservations} where ${reservations.id} = ${id})`))
    .for("no key update");
  if (!offer) return null;
  const [reservation] = await tx.select().from(reservations).where(eq(reservations.id, id)).for("update");
  return { reservation, offer };
}

/**
 * The reservation (as `reservations`) is HELD and lapses beyond the clock-skew allowance. The CASE
 * keeps the planner on the primary key: written plainly, the conditions match the partial index
 * of held reservations, which looks tiny to stale statistics (holds come and go faster than
 * autovacuum analyzes a large table) and gets scanned whole instead.
 */
function heldSafely(now: Date): SQL {
  // From the later of the request's time and this moment: a request that waited long (for a lock,
  // say) must not judge a hold by the time it started.
  const safelyHeldUntil = new Date(Math.max(now.getTime(), Date.now()) + CLOCK_SKEW_ALLOWANCE_MINUTES * 60_000);
  return sql`case when reservations.status = 'HELD' then reservations.hold_expires_at > ${safelyHeldUntil.toISOString()}::timestamptz else false end`;
}

/**
 * Locks a reservation to check it out, then runs `reads` that need the lock held (each sees
 * everything committed before it was granted). A HELD reservation whose hold lapses beyond the
 * clock-skew allowance is live on every clock, so nobody can have booked its GPUs: it needs
 * neither its offer's exclusive lock nor a capacity re-check, and checkouts of one popular offer
 * no longer queue behind each other. It takes its offer's KEY SHARE lock (what the order's foreign
 * key takes anyway) and then its own, the lock order offer -> reservation, and the reads follow in
 * the same round trip. Any other reservation matches no row, so nothing is locked, and takes
 * lockReservation's path: the exclusive offer lock and the capacity re-check.
 */
export async function lockForPayment<T extends unknown[]>(
  tx: Executor,
  id: number,
  now: Date,
  reads: { [K in keyof T]: SQL },
  /** A lock the caller takes before any of these (the checkout's idempotency-key lock), in the same round trip. */
  first?: SQL,
): Promise<{ locked: LockedReservation | null; reads: { [K in keyof T]: T[K][] } }> {
  const lockSafelyHeld = sql`select reservations.* from offers o join reservations on reservations.offer_id = o.id
      where reservations.id = ${id} and ${heldSafely(now)}
      for key share of o for update of reservations`;
  const answers = await pipelined<unknown[]>(
    tx,
    (first ? [first, lockSafelyHeld, ...reads] : [lockSafelyHeld, ...reads]) as never,
  );
  const [[held], ...results] = (first ? answers.slice(1) : answers) as [Record<string, unknown>[], ...unknown[][]];
  if (held) return { locked: { reservation: rowFrom(reservations, held), offer: null }, reads: results as never };
  const locked = await lockReservation(tx, id);
  return { locked, reads: (await pipelined<T>(tx, reads)) as never };
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
        sql`${reservations.status} in ('HELD', 'CONFIRMED')`,
        isLive(now),
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
  const [confirmed] = await rowsOf<Record<string, unknown>>(
    tx,
    sql`update reservations set status = 'CONFIRMED', updated_at = ${now.toISOString()}::timestamptz
        where id = ${id} and ${heldSafely(now)}
        returning *`,
  );
  if (confirmed) return rowFrom(reservations, confirmed);
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
  const row = await updateRow(
    tx,
    reservations,
    { holdExpiresAt: sql`greatest(hold_expires_at, ${until.toISOString()}::timestamptz)`, updatedAt: now },
    // HELD as a parameter, not a literal: see heldSafely for the partial index the literal would pick.
    sql`id = ${locked.reservation.id} and status = ${"HELD"}`,
  );
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
  const at = now.toISOString();
  // The statuses the reservation and its bid leave for `status` (reservation-states.ts, bid-states.ts).
  const reservationFrom = statusIn("status", fromStates(reservationStates, { to: status }));
  const bidFrom = statusIn(
    "b.status",
    fromStates(bidStates, { to: status, on: status === "CANCELLED" ? "reservationCancelled" : "holdLapsed" }),
  );
  const rows = await rowsOf<{ gpu_model_id: string | number }>(
    tx,
    sql`
      with released as (
        update reservations set status = ${status}::reservation_status, updated_at = ${at}::timestamptz
        where id = ${id} and ${reservationFrom}
        returning bid_id, offer_id
      ), bid as (
        update bids b set status = ${status}::bid_status, updated_at = ${at}::timestamptz
        from released where b.id = released.bid_id and ${bidFrom}
        returning b.id
      )
      select o.gpu_model_id, (select count(*) from bid) as bids
      from released join offers o on o.id = released.offer_id`,
  );
  return rows.length ? Number(rows[0].gpu_model_id) : null;
}

/** The reservation's pending or paid order, if any: then only cancelling the order frees it. */
export const liveOrderOf = (reservationId: number) =>
  sql`select id from orders where reservation_id = ${reservationId} and status in ('PENDING_PAYMENT', 'PAID') limit 1`;

export async function hasLiveOrder(tx: Executor, reservationId: number): Promise<boolean> {
  return (await rowsOf(tx, liveOrderOf(reservationId))).length > 0;
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
