// One drizzle database over either embedded PGlite (DATA_DIR) or PostgreSQL (DATABASE_URL), and
// the statements the hot paths write once (see below).
import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import {
  PgDialect,
  type PgDatabase,
  type PgQueryResultHKT,
  type PgTable,
  type PgTransaction,
} from "drizzle-orm/pg-core";
import {
  fillPlaceholders,
  getTableColumns,
  getTableName,
  sql,
  type Column,
  type Placeholder,
  type SQL,
  type SQLWrapper,
} from "drizzle-orm";
import { postgres } from "./postgres-driver.js";
import * as schema from "./schema.js";

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** Either the database or a transaction: services take this so callers choose the boundary. */
export type Executor = Db | Tx;

export interface Database {
  db: Db;
  kind: "pglite" | "postgres";
  /** Queries sent since start; tests read it to prove a fixed number of queries per request. */
  queryCount(): number;
  close(): Promise<void>;
  migrateWithLock(run: () => Promise<void>): Promise<void>;
  /**
   * LISTENs on a channel (events/stream.ts); `onListen` runs once listening, and again after the
   * connection was lost and made again (notifications sent meanwhile are lost: read what was missed
   * then). Returns the function that stops listening.
   */
  listen(channel: string, onNotify: (payload: string) => void, onListen: () => void): Promise<() => Promise<void>>;
  /**
   * A connection of its own for migrations: no statement timeout (an index on a large table takes
   * its time), statements sent as written, in a transaction or not. Closed by the caller.
   */
  migrationSession(): Promise<MigrationSession>;
  /** PostgreSQL connections of this application by state (all its processes), for /metrics. */
  connectionStates(): Promise<Record<string, number>>;
}

/** Plain SQL text on one connection, for the migrator. */
export interface MigrationSession {
  /** Runs one statement (or several, without parameters) and returns the last one's rows. */
  run(text: string): Promise<Record<string, unknown>[]>;
  /** Runs `work` in one transaction on this connection. */
  transaction<T>(work: (run: (text: string) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export const APPLICATION_NAME = "gpu-voucher-market";

export interface DatabaseOptions {
  databaseUrl?: string;
  dataDir: string;
  poolSize: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  let queries = 0;
  const logger = { logQuery: () => void queries++ };

  if (options.databaseUrl) {
    const client = postgres(options.databaseUrl, {
      max: options.poolSize,
      onnotice: () => {},
      idle_timeout: 30,
      connect_timeout: 10,
      // The driver's default waits up to 20 s between reconnects after a few failed attempts,
      // which holds requests long after the database is back; a short, capped wait instead.
      backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 1),
      // A runaway statement is cancelled rather than holding locks and connections.
      connection: { application_name: APPLICATION_NAME, statement_timeout: 15_000 },
    });
    const db = drizzlePostgres(client, { schema, logger }) as unknown as Db;
    return {
      db,
      kind: "postgres",
      queryCount: () => queries,
      close: () => client.end({ timeout: 5 }),
      // The driver listens on a connection of its own, outside the pool, and listens again after a reconnect.
      listen: async (channel, onNotify, onListen) => {
        const { unlisten } = await client.listen(channel, onNotify, onListen);
        return unlisten;
      },
      // Several processes may start at once on one database: one migrates and seeds at a time.
      migrateWithLock: async (run) => {
        const lockClient = postgres(options.databaseUrl!, { max: 1, onnotice: () => {} });
        try {
          await lockClient`select pg_advisory_lock(727001)`;
          await run();
        } finally {
          await lockClient`select pg_advisory_unlock(727001)`.catch(() => {});
          await lockClient.end({ timeout: 5 });
        }
      },
      migrationSession: async () => {
        const session = postgres(options.databaseUrl!, {
          max: 1,
          onnotice: () => {},
          connect_timeout: 10,
          connection: { application_name: `${APPLICATION_NAME} migrate`, statement_timeout: 0 },
        });
        const rows = (result: unknown) => [...(result as Record<string, unknown>[])];
        return {
          run: async (text) => rows(await session.unsafe(text)),
          transaction: async (work) =>
            (await session.begin((tx) => work(async (text) => rows(await tx.unsafe(text))))) as never,
          close: () => session.end({ timeout: 5 }),
        };
      },
      connectionStates: async () => {
        const rows = await client<{ state: string | null; n: number }[]>`
          select coalesce(state, 'unknown') as state, count(*)::int as n from pg_stat_activity
          where datname = current_database() and application_name = ${APPLICATION_NAME} group by 1`;
        return Object.fromEntries(rows.map((row) => [row.state ?? "unknown", row.n]));
      },
    };
  }

  const memory = options.dataDir.startsWith("memory://");
  if (!memory) mkdirSync(options.dataDir, { recursive: true });
  const client = memory ? await blankInMemory() : await PGlite.create(options.dataDir);
  const db = drizzlePglite(client, { schema, logger }) as unknown as Db;
  return {
    db,
    kind: "pglite",
    queryCount: () => queries,
    close: () => client.close(),
    migrateWithLock: (run) => run(),
    listen: async (channel, onNotify, onListen) => {
      const unlisten = await client.listen(channel, onNotify);
      onListen();
      return () => unlisten();
    },
    // One embedded connection: the migrator shares it (PGlite runs one statement at a time).
    migrationSession: async () => {
      const last = (results: { rows: Record<string, unknown>[] }[]) => results.at(-1)?.rows ?? [];
      return {
        run: async (text) => last(await client.exec(text)),
        transaction: (work) => client.transaction((tx) => work(async (text) => last(await tx.exec(text)))),
        close: async () => {},
      };
    },
    connectionStates: async () => ({ embedded: 1 }),
  };
}

/** A blank cluster's files, kept by the first in-memory database of the process (gzipped: 4.5 MB, not 40). */
let blankCluster: Promise<Blob> | undefined;

/**
 * A new in-memory database. PGlite makes a cluster with initdb, about 2.3 s of CPU; a copy of the
 * first one made in this process loads in 0.8 s. Tests open dozens.
 */
async function blankInMemory(): Promise<PGlite> {
  if (!blankCluster) {
    const made = PGlite.create();
    blankCluster = made.then((client) => client.dumpDataDir("gzip"));
    // The copy is taken before anything is written; should it fail, the next database starts blank.
    await blankCluster.catch(() => (blankCluster = undefined));
    return made;
  }
  try {
    return await PGlite.create({ loadDataDir: await blankCluster });
  } catch {
    return PGlite.create();
  }
}

/**
 * A value written into a query's text as a constant, or undefined for a value that is not written
 * so (an array, a buffer, a text with NUL). Texts are escape strings (E'...', quotes and
 * backslashes doubled): their meaning does not depend on standard_conforming_strings. Every value
 * is quoted, untyped until PostgreSQL reads it in its place, as an untyped parameter would be.
 */
export function constantOf(value: unknown): string | undefined {
  if (value == null) return "null";
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "number" && Number.isFinite(value)) text = String(value);
  else if (typeof value === "bigint" || typeof value === "boolean") text = String(value);
  else if (value instanceof Date && !Number.isNaN(value.getTime())) text = value.toISOString();
  else return undefined;
  if (text.includes("\u0000")) return undefined;
  return `E'${text.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/**
 * The query with its parameters ($1, $2, ...) written in as constants, or null when some value
 * cannot be. For queries planned on every call: a statement without parameters is parsed, planned
 * and run in one round trip, where the driver first asks PostgreSQL for the types of parameters
 * it has not prepared (a second round trip). Only for texts with no `$` but their parameters.
 */
export function withConstants(query: string, params: readonly unknown[]): string | null {
  const constants = params.map(constantOf);
  if (constants.some((constant) => constant === undefined)) return null;
  return query.replace(/\$(\d+)/g, (_, n: string) => constants[Number(n) - 1]!);
}

// ------------------------------------------------------------------ statements written once
//
// drizzle renders a query from its objects on every call and sends it unnamed: PostgreSQL parses
// and plans it each time, and the driver first asks for the types of its parameters (a second
// round trip). That suits most queries. The statements of the hot paths (offer search, placeBid,
// checkout, the spend report) are written once instead, in their domain's `*.queries.ts`: drizzle
// renders the text once, from the schema's tables and columns with a placeholder wherever a value
// goes, and each call sends that text with its values. Where a statement is written, it says how
// it is planned (docs/decisions/0001-prepared-statements.md):
// - prepared(name, ...): a named prepared statement, as drizzle's `.prepare(name)` makes one: the
//   driver prepares it once per connection, and a repeat is a bare execute on the plan PostgreSQL
//   keeps once it finds one as good for any values;
// - planEachCall(name, ...): a statement whose best plan depends on its values, sent unnamed with
//   its values written into the text: parsed, planned for those values and run in one round trip.
// On embedded PGlite both run as drizzle runs any query.

const dialect = new PgDialect();

/**
 * A drizzle database that is never connected: the queries files write statements with its
 * builders (`qb.insert(bids)...`), which prepared() and planEachCall() render once.
 */
export const qb = drizzlePostgres.mock() as unknown as Db;

type Values = Record<string, unknown>;

/** A statement's placeholders, by the name of the value each stands for: `p.offerId`. */
export type Placeholders<V extends Values> = { readonly [K in keyof V & string]: Placeholder<K, V[K]> };

const placeholders = new Proxy({}, { get: (_, name) => sql.placeholder(String(name)) });

export class Statement<V extends Values> {
  private readonly text: string;
  private readonly params: unknown[];

  constructor(
    /** What the statement is, for readers (the driver names prepared statements per connection). */
    readonly name: string,
    private readonly planned: "once" | "each call",
    query: SQLWrapper,
  ) {
    ({ sql: this.text, params: this.params } = dialect.sqlToQuery(query.getSQL()));
  }

  /**
   * The rows as the driver returns them, named by the statement's columns, in the driver's values:
   * the domain's queries file maps them. The statement is handed to the driver at once, so
   * statements started one after another on a transaction go out in that order in one round trip
   * (Promise.all), and PostgreSQL runs each once the one before has finished, with a fresh snapshot
   * (READ COMMITTED): a read after a lock sees everything committed before the lock was granted.
   * An error aborts the transaction; Promise.all rejects with the first.
   */
  async rows<R = Record<string, unknown>>(executor: Executor, values: V): Promise<R[]> {
    const session = executor._.session;
    let result: Promise<unknown>;
    if (this.planned === "once") {
      const query = { sql: this.text, params: this.params };
      result = session.prepareQuery(query, undefined, this.name, false).execute(values);
    } else {
      const params = fillPlaceholders(this.params, values);
      const written = withConstants(this.text, params);
      const query = written == null ? { sql: this.text, params } : { sql: written, params: [] };
      result = session.prepareQuery(query, undefined, undefined, false).execute();
    }
    const rows = (await result) as R[] | { rows: R[] };
    return Array.isArray(rows) ? rows : rows.rows;
  }
}

/**
 * A named prepared statement (see above), written with placeholders for its values:
 * `prepared("order_lock", (p: Placeholders<{ id: number }>) => sql\`... where ${orders.id} = ${p.id}\`)`.
 */
export function prepared<V extends Values = Record<never, never>>(
  name: string,
  write: (p: Placeholders<V>) => SQLWrapper,
): Statement<V> {
  return new Statement<V>(name, "once", write(placeholders as Placeholders<V>));
}

/**
 * A statement planned for its values on every call, never on a plan PostgreSQL cached for any
 * values, which would not know how selective they are. Its values are written into the text as
 * constants (withConstants); one that cannot be stays a parameter.
 */
export function planEachCall<V extends Values = Record<never, never>>(
  name: string,
  write: (p: Placeholders<V>) => SQLWrapper,
): Statement<V> {
  return new Statement<V>(name, "each call", write(placeholders as Placeholders<V>));
}

/**
 * A statement per shape of a query whose text varies (which filters are given, how many hubs),
 * each written on first use. A shape holds choices only: every value goes through a placeholder.
 */
export function perShape<S, T>(write: (shape: S) => T): (shape: S) => T {
  const written = new Map<string, T>();
  return (shape) => {
    const key = JSON.stringify(shape);
    let statement = written.get(key);
    if (statement === undefined) written.set(key, (statement = write(shape)));
    return statement;
  };
}

// ------------------------------------------------------------------ writing and reading rows

/**
 * A value of the column in a statement written once: the placeholder, turned into the column's
 * driver value on each call as drizzle's builders turn a value (null stays null).
 */
export function valueFor(column: Column, placeholder: Placeholder): SQL {
  return sql`${sql.param(placeholder, {
    mapToDriverValue: (value: unknown) => (value == null ? null : column.mapToDriverValue(value)),
  })}`;
}

/**
 * A row's values by property name, each the placeholder of that name as valueFor its column: for
 * `qb.insert(table).values(...)` in a statement written once.
 */
export function valuesFor<T extends PgTable, K extends keyof T["$inferInsert"] & string>(
  table: T,
  keys: readonly K[],
): { [Key in K]: SQL } {
  const columns = getTableColumns(table) as Record<string, Column>;
  return Object.fromEntries(keys.map((key) => [key, valueFor(columns[key], sql.placeholder(key))])) as {
    [Key in K]: SQL;
  };
}

/** A table in the from clause of a statement written as SQL, under its alias (drizzle's `alias`): `"offers" "o"`. */
export const tableAs = (table: PgTable, aliased: PgTable): SQL =>
  sql`${table} ${sql.identifier(getTableName(aliased))}`;

/** A column's bare name, quoted: for insert lists, `set` and `on conflict`, where PostgreSQL takes no table. */
export const nameOf = (column: Column): SQL => sql`${sql.identifier(column.name)}`;

/**
 * The table's columns (of an alias, too) but those left out (by property name), or only some, for
 * a select list; with a prefix, each read as `<prefix><column name>`, for a join whose tables share names.
 */
export function columnsOf<T extends PgTable>(
  table: T,
  options: {
    prefix?: string;
    leftOut?: readonly (keyof T["$inferSelect"])[];
    /** Only these, in the table's order. */
    only?: readonly (keyof T["$inferSelect"])[];
  } = {},
): SQL {
  const { prefix, leftOut = [], only } = options;
  return sql.join(
    Object.entries(getTableColumns(table))
      .filter(([key]) => !leftOut.includes(key as keyof T["$inferSelect"]))
      .filter(([key]) => !only || only.includes(key as keyof T["$inferSelect"]))
      .map(([, column]) =>
        prefix == null ? sql`${column}` : sql`${column} as ${sql.identifier(prefix + column.name)}`,
      ),
    sql`, `,
  );
}

/**
 * Some columns of a table for a select list (as columnsOf gives them) with the reader of their
 * values from each row (as rowFrom maps them): for a statement written once whose rows are many.
 * The reader is generated with its properties written out: one object literal, one shape for
 * every row, where a loop over the columns set them one by one (a 51-row search page read in
 * 50–70 µs instead of 109). `sameAs` names keys whose value the row already carries under
 * another column (a joined row's id, equal to the foreign key it was joined on): they are read
 * from there and not selected twice.
 */
export function columnsRead<T extends PgTable>(
  table: T,
  keys: readonly (keyof T["$inferSelect"] & string)[],
  prefix?: string,
  sameAs: Partial<Record<keyof T["$inferSelect"] & string, string>> = {},
): { list: SQL; read: (raw: Record<string, unknown>) => T["$inferSelect"] } {
  const columns = namesOf(table, prefix).filter(([key]) => keys.includes(key));
  const carried = (key: string) => (sameAs as Record<string, string | undefined>)[key];
  // Property and column names come from the schema; quoted all the same.
  const properties = columns.map(
    ([key, , name], i) =>
      `${JSON.stringify(key)}: (value = raw[${JSON.stringify(carried(key) ?? name)}]) === null ? null : columns[${i}].mapFromDriverValue(value)`,
  );
  const read = new Function(
    "columns",
    `"use strict"; return function read(raw) { let value; return { ${properties.join(", ")} }; };`,
  )(columns.map(([, column]) => column)) as (raw: Record<string, unknown>) => T["$inferSelect"];
  const selected = keys.filter((key) => carried(key) == null);
  return { list: columnsOf(table, { prefix, only: selected }), read };
}

/**
 * A row of a table as the driver returns it (column names, driver values), in drizzle's shape;
 * with a prefix, of the columns columnsOf gave that prefix. A statement that reads only some
 * columns gets only those properties.
 */
export function rowFrom<T extends PgTable>(table: T, raw: Record<string, unknown>, prefix = ""): T["$inferSelect"] {
  const mapped: Record<string, unknown> = {};
  for (const [key, column, name] of namesOf(table, prefix)) {
    const value = raw[name];
    if (value === undefined) continue; // not selected (the driver gives null for NULL)
    mapped[key] = value === null ? null : column.mapFromDriverValue(value);
  }
  return mapped as T["$inferSelect"];
}

type Columns = [key: string, column: Column, name: string][];
const namesByTable = new WeakMap<PgTable, Map<string, Columns>>();

/**
 * A table's columns by property name, each with the name a row carries it under (the column's
 * own, after the prefix): listed once per table and prefix, since the hot paths map every row.
 */
function namesOf(table: PgTable, prefix = ""): Columns {
  let byPrefix = namesByTable.get(table);
  if (!byPrefix) namesByTable.set(table, (byPrefix = new Map()));
  let names = byPrefix.get(prefix);
  if (!names)
    byPrefix.set(
      prefix,
      (names = Object.entries(getTableColumns(table)).map(([key, column]) => [key, column, prefix + column.name])),
    );
  return names;
}
