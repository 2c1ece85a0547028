import { fileURLToPath } from "node:url";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import type { Database } from "./client.js";

const MIGRATIONS = fileURLToPath(new URL("../../drizzle", import.meta.url));

export async function migrate(database: Database): Promise<void> {
  const config = { migrationsFolder: MIGRATIONS };
  if (database.kind === "postgres") await migratePostgres(database.db as never, config);
  else await migratePglite(database.db as never, config);
}
