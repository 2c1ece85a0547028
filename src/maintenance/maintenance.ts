// Periodic work that keeps the database honest: expiring lapsed holds and stale bids, finishing
// payments whose outcome was never heard. Every task is safe to run in several processes at once.
import type { Logger } from "../logger.js";
import type { AppServices } from "../services.js";

export async function runMaintenance(app: AppServices, now: Date): Promise<{ task: string; changed: number }[]> {
  const results = [];
  for (const task of app.maintenanceTasks) results.push({ task: task.name, changed: await task.run(app, now) });
  return results;
}

/** Runs the tasks every `intervalMs` (0 = never); returns a stop function. */
export function startMaintenanceTimer(app: AppServices, intervalMs: number, logger: Logger): () => void {
  if (intervalMs <= 0) return () => {};
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      const results = await runMaintenance(app, new Date());
      const changed = results.filter((r) => r.changed > 0);
      if (changed.length) logger.info({ maintenance: changed }, "maintenance");
    } catch (error) {
      logger.warn({ err: error }, "maintenance failed; will retry");
    } finally {
      running = false;
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
