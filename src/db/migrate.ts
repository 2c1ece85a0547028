// The migrator: applies drizzle-kit's migrations (drizzle/, listed in meta/_journal.json) in order,
// each in a transaction of its own, on a connection without a statement timeout. It keeps
// drizzle's own record (drizzle.__drizzle_migrations: hash, created_at = the journal's `when`), so
// a database migrated before reads the same.
//
// A migration whose first line is `-- migrate: no-transaction` runs statement by statement outside
// any transaction: what PostgreSQL refuses inside one, above all CREATE INDEX CONCURRENTLY, which
// builds an index on a large table without blocking its writes. It is recorded once every statement
// succeeded; a failure half-way leaves the statements before it applied, so such migrations are
// written to be run again (docs/operations.md).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { pgCode } from "../errors.js";
import type { Database, MigrationSession } from "./client.js";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../drizzle", import.meta.url));
const NO_TRANSACTION = /^--\s*migrate:\s*no-transaction\s*$/m;
const RECORD = `"drizzle"."__drizzle_migrations"`;

export interface Migration {
  tag: string;
  /** The journal's `when`, drizzle's created_at: migrations apply in this order. */
  when: number;
  hash: string;
  statements: string[];
  transaction: boolean;
}

export function readMigrations(folder: string = MIGRATIONS_FOLDER): Migration[] {
  const journal = JSON.parse(readFileSync(path.join(folder, "meta", "_journal.json"), "utf8")) as {
    entries: { tag: string; when: number }[];
  };
  return journal.entries.map(({ tag, when }) => {
    const text = readFileSync(path.join(folder, `${tag}.sql`), "utf8");
    const firstLine = text.split("\n", 1)[0] ?? "";
    return {
      tag,
      when,
      hash: createHash("sha256").update(text).digest("hex"),
      statements: text
        .split("--> statement-breakpoint")
        .map((statement) => statement.trim())
        .filter(Boolean),
      transaction: !NO_TRANSACTION.test(firstLine),
    };
  });
}

async function lastApplied(run: MigrationSession["run"]): Promise<number | null> {
  await run(`create schema if not exists "drizzle"`);
  await run(`create table if not exists ${RECORD} (id serial primary key, hash text not null, created_at bigint)`);
  const [row] = await run(`select max(created_at)::text as last from ${RECORD}`);
  return row?.last == null ? null : Number(row.last);
}

const record = (migration: Migration) =>
  `insert into ${RECORD} (hash, created_at) values ('${migration.hash}', ${migration.when})`;

export interface MigrateResult {
  applied: string[];
}

/**
 * Applies the migrations newer than the last one recorded. Callers hold the database's migration
 * lock (Database.migrateWithLock) so that processes starting together migrate one at a time.
 */
export async function migrate(
  database: Database,
  folder: string = MIGRATIONS_FOLDER,
  onApplied: (tag: string) => void = () => {},
): Promise<MigrateResult> {
  const migrations = readMigrations(folder);
  const session = await database.migrationSession();
  const applied: string[] = [];
  try {
    const last = await lastApplied(session.run);
    for (const migration of migrations) {
      if (last != null && migration.when <= last) continue;
      if (migration.transaction) {
        await session.transaction(async (run) => {
          for (const statement of migration.statements) await run(statement);
          await run(record(migration));
        });
      } else {
        for (const statement of migration.statements) await session.run(statement);
        await session.run(record(migration));
      }
      applied.push(migration.tag);
      onApplied(migration.tag);
    }
  } finally {
    await session.close();
  }
  return { applied };
}

/** The migrations this code knows that the database has not applied (for /readyz and the start). */
export async function pendingMigrations(database: Database, folder: string = MIGRATIONS_FOLDER): Promise<string[]> {
  const migrations = readMigrations(folder);
  let last: number | null = null;
  try {
    const rows = (await database.db.execute(
      `select max(created_at)::text as last from ${RECORD}` as never,
    )) as unknown as { rows: { last: string | null }[] } | { last: string | null }[];
    const row = Array.isArray(rows) ? rows[0] : rows.rows[0];
    last = row?.last == null ? null : Number(row.last);
  } catch (error) {
    // No record yet (a database never migrated): everything is pending. Anything else (the
    // database is away) is the caller's.
    if (pgCode(error) !== "42P01" && pgCode(error) !== "3F000") throw error;
  }
  return migrations.filter((migration) => last == null || migration.when > last).map((m) => m.tag);
}
