// Open bids get another look whenever capacity appears, in price-time priority.
import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { bids } from "../db/schema.js";
import type { Context } from "../graphql/context.js";
import type { Logger } from "../logger.js";
import { chooseOffer, insertReservation, lockCandidateOffers } from "./bids.service.js";
import type { BidTerms } from "./match.js";

/** Open bids looked at per GPU model and pass; the rest wait for the next pass. */
export const REMATCH_BATCH = 200;
/** First key of the advisory lock that lets one re-match per GPU model run at a time, across processes. */
const REMATCH_LOCK_SPACE = 727_101;

/**
 * Re-matches the open bids of one GPU model in one transaction: highest max price first, then
 * oldest. Passes for one model run one at a time (advisory lock), and every reservation is made
 * under the locks of the offers it could use, as placeBid does. Returns how many bids got matched.
 */
export async function rematchModel(db: Db, gpuModelId: number, now: Date, holdMinutes: number): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${REMATCH_LOCK_SPACE}::int, ${gpuModelId}::int)`);
    const open = await tx
      .select()
      .from(bids)
      .where(
        and(
          eq(bids.gpuModelId, gpuModelId),
          eq(bids.status, "OPEN"),
          sql`${bids.latestEnd} - ${bids.hours} * interval '1 hour' >= ${now.toISOString()}::timestamptz`,
        ),
      )
      .orderBy(desc(bids.maxPricePerGpuHour), asc(bids.createdAt), asc(bids.id))
      .limit(REMATCH_BATCH);
    if (open.length === 0) return 0;

    const terms: BidTerms[] = open;
    const { offers, bookings } = await lockCandidateOffers(tx, terms, now);
    if (offers.length === 0) return 0;

    let matched = 0;
    for (const bid of open) {
      const winner = await chooseOffer(tx, bid, offers, bookings, now);
      if (!winner) continue;
      // Conditional: a bid cancelled meanwhile stays cancelled.
      const [taken] = await tx
        .update(bids)
        .set({ status: "MATCHED", updatedAt: now })
        .where(and(eq(bids.id, bid.id), eq(bids.status, "OPEN")))
        .returning({ id: bids.id });
      if (!taken) continue;
      await insertReservation(tx, bid, winner.offer, winner.startsAt, bookings, now, holdMinutes);
      matched++;
    }
    return matched;
  });
}

/** Re-matches the open bids of each model, one model after another (ids ascending). */
export async function rematchModels(db: Db, gpuModelIds: Iterable<number>, now: Date, holdMinutes: number): Promise<number> {
  let matched = 0;
  for (const id of [...new Set(gpuModelIds)].sort((a, b) => a - b)) matched += await rematchModel(db, id, now, holdMinutes);
  return matched;
}

/** The GPU models that have open bids. */
export async function modelsWithOpenBids(db: Db): Promise<number[]> {
  const rows = await db.selectDistinct({ id: bids.gpuModelId }).from(bids).where(eq(bids.status, "OPEN"));
  return rows.map((r) => r.id);
}

/**
 * The `afterCapacityFreed` hook: runs after the change that freed capacity has committed. A failure
 * here cannot undo that change, so it is logged; the periodic maintenance re-matches later.
 */
export function rematcherFor(logger: Logger) {
  return async (ctx: Context, gpuModelIds: number[]): Promise<void> => {
    try {
      await rematchModels(ctx.app.db, gpuModelIds, ctx.now, ctx.app.config.holdMinutes);
    } catch (error) {
      logger.warn({ err: error, gpuModelIds }, "re-matching open bids failed; maintenance will retry");
    }
  };
}
