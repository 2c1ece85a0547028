// The checkout's statements written once from the schema (src/db/client.ts): the idempotency
// key's lock, the order under a key, the new order and its updates. A checkout writes five or six
// rows, and drizzle's builders cost about 0.1 ms of CPU more per statement when they render on
// each call (docs/decisions/0002): these are rendered once. Their rows become OrderRow here.
import { and, eq, sql } from "drizzle-orm";
import { perShape, prepared, qb, rowFrom, valuesFor, type Executor, type Placeholders } from "../db/client.js";
import { orders } from "../db/schema.js";
import type { OrderRow } from "./settlement.js";

/**
 * Held until the transaction ends: checkouts with one key (on any process) run one after the
 * other. The key is the SME's and its idempotency key, hashed into the lock's second key.
 */
const keyLockStatement = prepared(
  "checkout_key_lock",
  (p: Placeholders<{ space: number; key: string }>) =>
    sql`select pg_advisory_xact_lock(${p.space}::int, hashtext(${p.key}::text))::text as locked`,
);

export const lockKey = (tx: Executor, space: number, smeId: number, key: string) =>
  keyLockStatement.rows(tx, { space, key: `${smeId}:${key}` });

const orderByKeyStatement = prepared("order_by_key", (p: Placeholders<{ smeId: number; key: string }>) =>
  qb
    .select()
    .from(orders)
    .where(and(eq(orders.smeId, p.smeId), eq(orders.idempotencyKey, p.key))),
);

/** The SME's order under an idempotency key, if any. */
export async function orderByKey(db: Executor, smeId: number, key: string): Promise<OrderRow | null> {
  const [row] = await orderByKeyStatement.rows(db, { smeId, key });
  return row ? rowFrom(orders, row) : null;
}

const NEW_ORDER = [
  "reservationId",
  "smeId",
  "voucherId",
  "programId",
  "offerId",
  "dataCenterId",
  "hub",
  "gpuModelId",
  "gpuHours",
  "gross",
  "subsidy",
  "smeShare",
  "subsidyYear",
  "idempotencyKey",
  "requestFingerprint",
  "paymentProvider",
  "createdAt",
  "updatedAt",
] as const;
export type NewOrder = Pick<typeof orders.$inferInsert, (typeof NEW_ORDER)[number]>;

const insertOrderStatement = prepared<NewOrder>("order_insert", () =>
  qb.insert(orders).values(valuesFor(orders, NEW_ORDER)).returning(),
);

export async function insertOrder(tx: Executor, values: NewOrder): Promise<OrderRow> {
  const [row] = await insertOrderStatement.rows(tx, values);
  return rowFrom(orders, row);
}

type OrderChange = Partial<Omit<typeof orders.$inferInsert, "id">>;

/** An update of the order by id that sets these properties: one statement for each set of them. */
const updateOrderStatement = perShape((keys: (keyof OrderChange & string)[]) =>
  prepared<OrderChange & { id: number }>("order_update", (p) =>
    qb.update(orders).set(valuesFor(orders, keys)).where(eq(orders.id, p.id)).returning(),
  ),
);

/** Sets these properties of the order; the row as updated, or null when there is no such order. */
export async function updateOrder(tx: Executor, id: number, change: OrderChange): Promise<OrderRow | null> {
  const keys = Object.keys(change) as (keyof OrderChange & string)[];
  const [row] = await updateOrderStatement(keys).rows(tx, { ...change, id });
  return row ? rowFrom(orders, row) : null;
}
