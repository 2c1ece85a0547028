// `npm run db:migrate`: applies the pending migrations and exits, without starting the server
// (a release step; the servers then start with MIGRATE_ON_START=false). Exit codes: 0 done,
// 1 a migration failed, 2 a bad configuration.
import { ConfigError, loadConfig, type Config } from "../config.js";
import { openDatabase } from "./client.js";
import { migrate } from "./migrate.js";

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  for (const line of error.lines) process.stderr.write(`configuration: ${line}\n`);
  process.exit(2);
}

const say = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
const where = config.databaseUrl ? "PostgreSQL" : `PGlite in ${config.dataDir}`;
try {
  await database.migrateWithLock(async () => {
    const { applied } = await migrate(database, undefined, (tag) => say(`applied ${tag}`));
    say(applied.length ? `${applied.length} migration(s) applied to ${where}` : `${where} is up to date`);
  });
  await database.close();
} catch (error) {
  process.stderr.write(`migration failed: ${error instanceof Error ? error.message : String(error)}\n`);
  await database.close().catch(() => {});
  process.exit(1);
}
