// Periodic expiry of lapsed holds and of bids that can no longer start, then a re-match of open bids.
// Safe in several processes at once: rows are claimed with FOR UPDATE SKIP LOCKED and changed by
// conditional updates, so each row changes once and a row someone is working on is left for later.
import { sql } from "drizzle-orm";
import { rowsOf, type Executor } from "../db/client.js";
import type { MaintenanceTask } from "../maintenance/maintenance.js";
import { modelsWithOpenBids, rematchModels } from "./rematch.js";

/** Rows claimed per statement, so one pass never holds a huge set of locks. */
const SWEEP_BATCH = 1000;

/** HELD reservations whose hold has lapsed become EXPIRED, and so do their bids. */
export async function expireLapsedHolds(db: Executor, now: Date): Promise<{ reservations: number; bids: number }> {
  const at = now.toISOString();
  const [row] = await rowsOf<{ reservations: string | number; bids: string | number }>(
    db,
    sql`
      with due as (
        select id from reservations
        where status = 'HELD' and hold_expires_at <= ${at}::timestamptz
        order by id limit ${SWEEP_BATCH}
        for update skip locked
      ), expired as (
        update reservations r set status = 'EXPIRED', updated_at = ${at}::timestamptz
        from due where r.id = due.id and r.status = 'HELD'
        returning r.bid_id
      ), expired_bids as (
        update bids b set status = 'EXPIRED', updated_at = ${at}::timestamptz
        from expired where b.id = expired.bid_id and b.status = 'MATCHED'
        returning b.id
      )
      select (select count(*) from expired) as reservations, (select count(*) from expired_bids) as bids`,
  );
  return { reservations: Number(row.reservations), bids: Number(row.bids) };
}

/** OPEN bids whose latest possible start (latestEnd - hours) has passed become EXPIRED. */
export async function expireStaleBids(db: Executor, now: Date): Promise<number> {
  const at = now.toISOString();
  const rows = await rowsOf<{ id: string | number }>(
    db,
    sql`
      with due as (
        select id from bids
        where status = 'OPEN' and latest_end - hours * interval '1 hour' < ${at}::timestamptz
        order by id limit ${SWEEP_BATCH}
        for update skip locked
      )
      update bids b set status = 'EXPIRED', updated_at = ${at}::timestamptz
      from due where b.id = due.id and b.status = 'OPEN'
      returning b.id`,
  );
  return rows.length;
}

/**
 * In this order: lapsed holds expire (count: reservations), stale open bids expire (count: bids),
 * then every open bid gets another look, which also catches a re-match that a request could not
 * run after its commit (count: bids matched).
 */
export const bidsMaintenanceTasks: MaintenanceTask[] = [
  { name: "expireLapsedHolds", run: async (app, now) => (await expireLapsedHolds(app.db, now)).reservations },
  { name: "expireStaleBids", run: (app, now) => expireStaleBids(app.db, now) },
  {
    name: "rematchOpenBids",
    run: async (app, now) => rematchModels(app.db, await modelsWithOpenBids(app.db), now, app.config.holdMinutes),
  },
];
