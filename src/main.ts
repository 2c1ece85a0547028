// Entry point: `npm start` (or `node dist/main.js`). The configuration is checked before anything
// else loads, so a bad value stops the process at once: one line per variable, exit code 2.
import "reflect-metadata";
import { ConfigError, describeConfig, loadConfig, type Config } from "./config.js";

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  for (const line of error.lines) process.stderr.write(`configuration: ${line}\n`);
  process.exit(2);
}

const { createApp, StartupError } = await import("./app.js");
const { DEMO_TOKENS } = await import("./db/seed.js");
const { describePayments } = await import("./payments/payments.service.js");
const { prettyLogs } = await import("./logger.js");

const app = await createApp(config).catch((error: unknown) => {
  if (!(error instanceof StartupError)) throw error;
  process.stderr.write(`start: ${error.message}\n`);
  process.exit(1);
});
const url = await app.listen(config.port);
const log = app.logger;

log.info({ config: describeConfig(config) }, "configuration");
log.info(
  { database: app.services.database.kind, dataDir: config.databaseUrl ? undefined : config.dataDir },
  "database ready",
);
log.info(`GraphQL API at ${url}/graphql`);
log.info(`web console at ${url}/console/ (sign in with an API key)`);
const payments = describePayments(config);
log[payments.level](payments.detail, payments.message);
if (config.production && !config.stripeSecretKey)
  log.warn("ALLOW_SIMULATED_PAYMENTS=1: payments are simulated although NODE_ENV=production");
if (config.production && config.testClock)
  log.warn("ALLOW_SIMULATED_PAYMENTS=1: the test clock is on although NODE_ENV=production");
if (config.adminTokenGenerated) {
  // Printed once on a terminal, for the person who started the server; never into JSON logs,
  // which collectors keep and ship.
  if (process.stdout.isTTY)
    process.stdout.write(`admin token (generated; set ADMIN_TOKEN to choose one): ${config.adminToken}\n`);
  else log.warn("admin token generated but not logged (stdout is no terminal): set ADMIN_TOKEN to choose one");
}
if (config.seed === "demo" && prettyLogs(config.logFormat)) {
  log.info(`demo tokens, one per role (demo data only): ${Object.values(DEMO_TOKENS).join(", ")}`);
} else if (config.seed === "demo") {
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
