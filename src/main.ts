// Entry point: `npm start` runs this after building.
import "reflect-metadata";
import { createApp } from "./app.js";
import { loadConfig } from "./config.js";
import { DEMO_TOKENS } from "./db/seed.js";
import { describePayments } from "./payments/payments.service.js";

const config = loadConfig();
const app = await createApp(config);
const url = await app.listen(config.port);
const log = app.logger;

log.info(
  { database: app.services.database.kind, dataDir: config.databaseUrl ? undefined : config.dataDir },
  "database ready",
);
log.info(`GraphQL API at ${url}/graphql`);
log.info(`web console at ${url}/console/ (sign in with an API key)`);
const payments = describePayments(config);
log[payments.level](payments.detail, payments.message);
if (config.adminTokenGenerated)
  log.info(`admin token (generated; set ADMIN_TOKEN to choose one): ${config.adminToken}`);
if (config.seed === "demo") {
  log.info({ demoTokens: { ...DEMO_TOKENS } }, "demo tokens, one per role (demo data only)");
}

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down: finishing requests in flight");
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    try {
      await app.close();
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, "shutdown failed");
      process.exit(1);
    }
  });
}
