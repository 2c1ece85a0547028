// Per-request batch loading: every `load(id)` of one table in a tick becomes one `where id in (...)`.
import DataLoader from "dataloader";
import { inArray } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import type { Db } from "../db/client.js";

type TableWithId = PgTable & { id: PgColumn };

export class Loaders {
  private byTable = new Map<PgTable, DataLoader<number, unknown>>();
  private custom = new Map<string, DataLoader<unknown, unknown>>();

  constructor(private db: Db) {}

  /** A row by id from any table that has an `id` column; null when absent. */
  byId<T extends TableWithId>(table: T): DataLoader<number, T["$inferSelect"] | null> {
    let loader = this.byTable.get(table);
    if (!loader) {
      loader = new DataLoader<number, unknown>(async (ids) => {
        const rows = (await this.db
          .select()
          .from(table as PgTable)
          .where(inArray(table.id, ids as number[]))) as { id: number }[];
        const found = new Map(rows.map((row) => [row.id, row]));
        return ids.map((id) => found.get(id) ?? null);
      });
      this.byTable.set(table, loader);
    }
    return loader as DataLoader<number, T["$inferSelect"] | null>;
  }

  /** A named loader built once per request, for batch lookups that are not by id. */
  named<K, V>(
    name: string,
    batch: (keys: readonly K[]) => Promise<V[]>,
    cacheKeyFn?: (key: K) => unknown,
  ): DataLoader<K, V> {
    let loader = this.custom.get(name);
    if (!loader) {
      loader = new DataLoader<K, V, unknown>(batch, cacheKeyFn ? { cacheKeyFn } : undefined) as DataLoader<
        unknown,
        unknown
      >;
      this.custom.set(name, loader);
    }
    return loader as DataLoader<K, V>;
  }
}
