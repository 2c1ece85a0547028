// The events that time makes, not a change (reservation.hold_expiring, statement.ready), and the
// outbox's retention. Each is one statement, safe in several processes at once: the hold's warning
// is kept once by its dedupe key, a statement's by its ready_at.
import type { MaintenanceTask } from "../services.js";
import { addMinutes } from "../time.js";
import { pruneBatch, recordHoldsExpiring, recordStatementsReady } from "./events.queries.js";

const PRUNE_BATCH = 5_000;
/** Batches per run, so one run never holds the database long; the next run goes on. */
const PRUNE_BATCHES = 20;

export const holdsExpiringTask: MaintenanceTask = {
  name: "events.holdsExpiring",
  run: (app, now) => recordHoldsExpiring(app.db, now, addMinutes(now, app.config.holdExpiringMinutes)),
};

export const statementsReadyTask: MaintenanceTask = {
  name: "events.statementsReady",
  // Months before the current UTC month have ended.
  run: (app, now) => recordStatementsReady(app.db, now.toISOString().slice(0, 7)),
};

export const pruneEventsTask: MaintenanceTask = {
  name: "events.prune",
  // On the database's clock, which dated the events (not the request's).
  run: async (app) => {
    let pruned = 0;
    for (let batch = 0; batch < PRUNE_BATCHES; batch++) {
      const count = await pruneBatch(app.db, app.config.eventRetentionDays, PRUNE_BATCH);
      pruned += count;
      if (count < PRUNE_BATCH) break;
    }
    return pruned;
  },
};

export const eventsMaintenanceTasks = [holdsExpiringTask, statementsReadyTask, pruneEventsTask];
