// The events domain's statements, written once from the schema (src/db/client.ts): reading the
// outbox in its stable order, the events the maintenance tasks record, and the prune.
//
// The order: an event's id is taken when it is inserted, but its transaction may commit after one
// that took a later id, so "every id after the last one read" would skip it. Readers take instead
// only events whose transaction is older than every transaction still running
// (pg_snapshot_xmin(pg_current_snapshot())): those are final, committed or rolled back, and are read
// in (xid, id) order, which nothing can enter behind a reader's position (docs/decisions/0012).
import { sql } from "drizzle-orm";
import { nameOf, prepared, rowFrom, type Executor, type Placeholders } from "../db/client.js";
import {
  cityStatements,
  claimLines,
  events,
  orders,
  reservations,
  subsidyPrograms,
  webhookDeliveries,
} from "../db/schema.js";

export type EventRow = typeof events.$inferSelect;

/** A place in the outbox's order: after this event. `{ xid: "0", id: 0 }` is before every event. */
export type Position = {
  xid: string;
  id: number;
};

export const START: Position = { xid: "0", id: 0 };

const final = sql`${events.xid} < pg_snapshot_xmin(pg_current_snapshot())`;
const after = (p: Placeholders<Position>) => sql`(${events.xid}, ${events.id}) > (${p.xid}::xid8, ${p.id}::bigint)`;
const selected = sql`${events.id}, ${events.xid}::text as xid, ${events.type}, ${events.organizationId}, ${events.objectId}, ${events.payload}, ${events.createdAt}`;

/** Every organization's final events after a position: what a process's stream fans out. */
const readAllStatement = prepared(
  "events_read_all",
  (p: Placeholders<Position & { limit: number }>) =>
    sql`select ${selected} from ${events} where ${after(p)} and ${final}
      order by ${events.xid}, ${events.id} limit ${p.limit}::int`,
);

/** One organization's final events after a position, of some types (comma-separated; empty: all). */
const readOwnStatement = prepared(
  "events_read_own",
  (p: Placeholders<Position & { organizationId: number; types: string; limit: number }>) =>
    sql`select ${selected} from ${events}
        where ${events.organizationId} = ${p.organizationId}::bigint and ${after(p)} and ${final}
          and (${p.types}::text = '' or ${events.type} = any (string_to_array(${p.types}::text, ',')))
        order by ${events.xid}, ${events.id} limit ${p.limit}::int`,
);

/**
 * Some organizations' events after a position, up to and including a horizon (an earlier tail):
 * what a process's stream fans out when no subscription of its process takes every organization's.
 * Every event up to the horizon is final, so the rows in (from, upTo] never change once it is known,
 * and the stream may move to the horizon when fewer than `limit` come back.
 */
const readForStatement = prepared(
  "events_read_for",
  (p: Placeholders<Position & { upToXid: string; upToId: number; organizationIds: string; limit: number }>) =>
    sql`select ${selected} from ${events}
        where ${after(p)} and (${events.xid}, ${events.id}) <= (${p.upToXid}::xid8, ${p.upToId}::bigint)
          and ${events.organizationId} = any (string_to_array(${p.organizationIds}::text, ',')::bigint[])
        order by ${events.xid}, ${events.id} limit ${p.limit}::int`,
);

/** The position of the last final event: a stream that starts now starts after it. */
const tailStatement = prepared(
  "events_tail",
  () =>
    sql`select ${events.id}, ${events.xid}::text as xid from ${events} where ${final}
        order by ${events.xid} desc, ${events.id} desc limit 1`,
);

/** Where an event stands in the order, to resume after it; the caller checks whose it is. */
const positionStatement = prepared(
  "events_position",
  (p: Placeholders<{ id: number }>) =>
    sql`select ${events.id}, ${events.xid}::text as xid, ${events.organizationId} from ${events} where ${events.id} = ${p.id}::bigint`,
);

const toRow = (raw: Record<string, unknown>): EventRow => ({ ...rowFrom(events, raw), xid: String(raw.xid) });

export async function readAll(db: Executor, from: Position, limit: number): Promise<EventRow[]> {
  return (await readAllStatement.rows(db, { ...from, limit })).map(toRow);
}

export async function readOwn(
  db: Executor,
  organizationId: number,
  from: Position,
  types: readonly string[],
  limit: number,
): Promise<EventRow[]> {
  return (await readOwnStatement.rows(db, { ...from, organizationId, types: types.join(","), limit })).map(toRow);
}

export async function readFor(
  db: Executor,
  organizationIds: readonly number[],
  from: Position,
  upTo: Position,
  limit: number,
): Promise<EventRow[]> {
  const rows = await readForStatement.rows(db, {
    ...from,
    upToXid: upTo.xid,
    upToId: upTo.id,
    organizationIds: organizationIds.join(","),
    limit,
  });
  return rows.map(toRow);
}

export async function tail(db: Executor): Promise<Position> {
  const [row] = await tailStatement.rows<{ id: unknown; xid: string }>(db, {});
  return row ? { xid: row.xid, id: Number(row.id) } : START;
}

/** The position of an event of this organization (any, for null: the admin); null when there is none. */
export async function positionOf(db: Executor, id: number, organizationId: number | null): Promise<Position | null> {
  const [row] = await positionStatement.rows<{ id: unknown; xid: string; organization_id: unknown }>(db, { id });
  if (!row || (organizationId != null && Number(row.organization_id) !== organizationId)) return null;
  return { xid: row.xid, id: Number(row.id) };
}

// ------------------------------------------------------------------ events of the maintenance tasks

/**
 * reservation.hold_expiring for HELD reservations without a live order whose hold lapses within
 * (now, warnUntil]; once per hold (the dedupe key carries the hold's end, so an extended hold is
 * warned again).
 */
const holdsExpiringStatement = prepared(
  "events_holds_expiring",
  (p: Placeholders<{ now: string; warnUntil: string }>) =>
    sql`insert into ${events} (${nameOf(events.type)}, ${nameOf(events.organizationId)}, ${nameOf(events.objectId)}, ${nameOf(events.payload)}, ${nameOf(events.dedupeKey)})
        select 'reservation.hold_expiring', ${reservations.smeId}, 'reservation_' || ${reservations.id},
          jsonb_build_object('reservationId', 'reservation_' || ${reservations.id}, 'bidId', 'bid_' || ${reservations.bidId},
            'offerId', 'offer_' || ${reservations.offerId}, 'holdExpiresAt', gvm_time(${reservations.holdExpiresAt})),
          'reservation.hold_expiring:' || ${reservations.id} || ':' || gvm_time(${reservations.holdExpiresAt})
        from ${reservations}
        where ${reservations.status} = 'HELD' and ${reservations.holdExpiresAt} > ${p.now}::timestamptz
          and ${reservations.holdExpiresAt} <= ${p.warnUntil}::timestamptz
          and not exists (select 1 from ${orders} where ${orders.reservationId} = ${reservations.id}
            and ${orders.status} in ('PENDING_PAYMENT', 'PAID'))
        on conflict (${nameOf(events.dedupeKey)}) do nothing
        returning ${events.id}`,
);

export async function recordHoldsExpiring(db: Executor, now: Date, warnUntil: Date): Promise<number> {
  const rows = await holdsExpiringStatement.rows(db, { now: now.toISOString(), warnUntil: warnUntil.toISOString() });
  return rows.length;
}

/**
 * statement.ready for OPEN statements of months before `month` (the current one), each once:
 * ready_at is set by the same statement, so a second pass, in any process, finds none.
 */
const statementsReadyStatement = prepared("events_statements_ready", (p: Placeholders<{ month: string }>) => {
  const ready = sql.identifier("ready");
  return sql`with ${ready} as (
        update ${cityStatements} set ${nameOf(cityStatements.readyAt)} = now()
        where ${cityStatements.status} = 'OPEN' and ${cityStatements.readyAt} is null and ${cityStatements.month} < ${p.month}::text
        returning ${cityStatements.id}, ${cityStatements.programId}, ${cityStatements.month})
      insert into ${events} (${nameOf(events.type)}, ${nameOf(events.organizationId)}, ${nameOf(events.objectId)}, ${nameOf(events.payload)})
      select 'statement.ready', ${subsidyPrograms.financeOrgId}, 'statement_' || r.program_id || '_' || r.month,
        jsonb_build_object('statementId', 'statement_' || r.program_id || '_' || r.month,
          'programId', 'program_' || r.program_id, 'month', r.month,
          'total', gvm_money(coalesce((select sum(${claimLines.amount}) from ${claimLines} where ${claimLines.statementId} = r.id), 0)::bigint))
      from ${ready} r join ${subsidyPrograms} on ${subsidyPrograms.id} = r.program_id
      returning ${events.id}`;
});

export async function recordStatementsReady(db: Executor, month: string): Promise<number> {
  return (await statementsReadyStatement.rows(db, { month })).length;
}

/**
 * Events recorded more than `days` days ago (on the database's clock, which wrote createdAt) with
 * no delivery still pending, a batch at a time; their deliveries and attempts go with them.
 */
const pruneStatement = prepared("events_prune", (p: Placeholders<{ days: number; batch: number }>) => {
  const old = sql.identifier("old");
  return sql`with ${old} as (
        select ${events.id} from ${events} where ${events.createdAt} < now() - ${p.days}::int * interval '1 day'
          and not exists (select 1 from ${webhookDeliveries} where ${webhookDeliveries.eventId} = ${events.id}
            and ${webhookDeliveries.status} = 'PENDING')
        order by ${events.createdAt} limit ${p.batch}::int)
      delete from ${events} where ${events.id} in (select id from ${old}) returning ${events.id}`;
});

export async function pruneBatch(db: Executor, days: number, batch: number): Promise<number> {
  return (await pruneStatement.rows(db, { days, batch })).length;
}
