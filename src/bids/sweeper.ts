// Periodic expiry of lapsed holds and of bids that can no longer start, then a re-match of open bids.
// Safe in several processes at once: lapsed holds are expired under their offers' locks and the
// model's advisory lock by conditional updates (see serveFreedCapacity), stale bids are claimed
// with FOR UPDATE SKIP LOCKED, so each row changes once.
import { and, eq, lte } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { offers, reservations as reservationRows } from "../db/schema.js";
import type { MaintenanceTask } from "../services.js";
import { expireStaleBidsBatch } from "./bids.queries.js";
import { LapsedHoldsFirst } from "./bids.service.js";
import { modelsWithOpenBids, rematchModels, serveFreedCapacity } from "./rematch.js";

/** Rows looked at per statement, so one pass never holds a huge set of locks. */
const SWEEP_BATCH = 1000;

/**
 * HELD reservations whose hold has lapsed become EXPIRED, and so do their bids; each model's batch
 * in one transaction that also offers the freed capacity to the open bids (serveFreedCapacity), so
 * no newer bid can take it first. Only the given model's, when one is given.
 */
export async function expireLapsedHolds(
  db: Db,
  now: Date,
  holdMinutes: number,
  gpuModelId?: number,
): Promise<{ reservations: number; matched: number }> {
  let reservations = 0;
  let matched = 0;
  for (;;) {
    const due = await db
      .select({ offerId: reservationRows.offerId, gpuModelId: offers.gpuModelId })
      .from(reservationRows)
      .innerJoin(offers, eq(offers.id, reservationRows.offerId))
      .where(
        and(
          eq(reservationRows.status, "HELD"),
          lte(reservationRows.holdExpiresAt, now),
          gpuModelId == null ? undefined : eq(offers.gpuModelId, gpuModelId),
        ),
      )
      .orderBy(reservationRows.holdExpiresAt, reservationRows.id)
      .limit(SWEEP_BATCH);
    const offersByModel = new Map<number, Set<number>>();
    for (const row of due) {
      if (!offersByModel.has(row.gpuModelId)) offersByModel.set(row.gpuModelId, new Set());
      offersByModel.get(row.gpuModelId)!.add(row.offerId);
    }
    let changed = 0;
    for (const [model, offerIds] of [...offersByModel].sort((a, b) => a[0] - b[0])) {
      const served = await serveFreedCapacity(
        db,
        model,
        [...offerIds].sort((a, b) => a - b),
        now,
        holdMinutes,
      );
      changed += served.expired;
      matched += served.matched;
    }
    reservations += changed;
    // Fewer than a batch: none left. None changed: what is left is someone else's to change.
    if (due.length < SWEEP_BATCH || changed === 0) return { reservations, matched };
  }
}

/** Rounds of expiring a model's lapsed holds before a new bid is matched without looking for them. */
const LAPSED_ROUNDS = 3;

/**
 * Places a bid (`place` runs its transaction) so that capacity freed by a lapsed hold goes to the
 * standing open bids first: when the new bid's winner carries a lapsed hold, `place` throws
 * LapsedHoldsFirst (its transaction rolled back), the model's lapsed holds expire and their
 * capacity is offered to the open bids in priority order, then the bid is placed again on what is
 * left. A round expires every hold of the model that has lapsed at `now`, so a second round
 * rarely finds one; after LAPSED_ROUNDS the bid is placed without looking.
 */
export async function lapsedHoldsFirst<T>(
  db: Db,
  now: Date,
  holdMinutes: number,
  place: (lapsedFirst: boolean) => Promise<T>,
): Promise<T> {
  for (let round = 1; ; round++) {
    try {
      return await place(round <= LAPSED_ROUNDS);
    } catch (error) {
      if (!(error instanceof LapsedHoldsFirst)) throw error;
      await expireLapsedHolds(db, now, holdMinutes, error.gpuModelId);
    }
  }
}

/** OPEN bids whose latest possible start (latestEnd - hours) has passed become EXPIRED. */
export async function expireStaleBids(db: Db, now: Date): Promise<number> {
  return expireStaleBidsBatch(db, now, SWEEP_BATCH);
}

/**
 * In this order: lapsed holds expire, their capacity offered to the open bids (count:
 * reservations), stale open bids expire (count: bids), then every open bid of every model gets
 * another look, which also catches a re-match that a request could not run after its commit
 * (count: bids matched).
 */
export const bidsMaintenanceTasks: MaintenanceTask[] = [
  {
    name: "expireLapsedHolds",
    run: async (app, now) => {
      const { reservations, matched } = await expireLapsedHolds(app.db, now, app.config.holdMinutes);
      app.meters.matched("rematch", matched);
      return reservations;
    },
  },
  { name: "expireStaleBids", run: (app, now) => expireStaleBids(app.db, now) },
  {
    name: "rematchOpenBids",
    run: async (app, now) => {
      const matched = await rematchModels(app.db, await modelsWithOpenBids(app.db), now, app.config.holdMinutes);
      app.meters.matched("rematch", matched);
      return matched;
    },
  },
];
