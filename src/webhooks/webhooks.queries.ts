// The webhooks domain's statement written once (src/db/client.ts): a worker's claim of the
// deliveries due. FOR UPDATE SKIP LOCKED lets workers in several processes claim at once without
// waiting on each other or taking the same row; the claim lasts a lease (the attempt's timeout and a
// margin), so a delivery whose worker died is due again when its lease ends.
import { and, eq, isNotNull, sql } from "drizzle-orm";
import { nameOf, prepared, rowFrom, type Db, type Executor, type Placeholders } from "../db/client.js";
import { events, webhookAttempts, webhookDeliveries, webhookEndpoints } from "../db/schema.js";
import type { EventRow } from "../events/events.queries.js";

export interface Claim {
  deliveryId: number;
  /** This attempt's number, from 1. */
  attempt: number;
  endpointId: number;
  url: string;
  secrets: string[];
  event: EventRow;
}

const claimStatement = prepared("webhook_deliveries_claim", (p: Placeholders<{ batch: number; leaseMs: number }>) => {
  const due = sql.identifier("due");
  const d = webhookDeliveries;
  return sql`with ${due} as (
        select ${d.id} from ${d} join ${webhookEndpoints} on ${webhookEndpoints.id} = ${d.endpointId}
        where ${d.status} = 'PENDING' and ${d.nextAttemptAt} <= now()
          and (${d.lockedUntil} is null or ${d.lockedUntil} <= now()) and ${webhookEndpoints.enabled}
        order by ${d.nextAttemptAt}, ${d.id} limit ${p.batch}::int
        for update of ${d} skip locked)
      update ${d} set ${nameOf(d.attempts)} = ${d.attempts} + 1,
        ${nameOf(d.lockedUntil)} = now() + ${p.leaseMs}::int * interval '1 millisecond'
      from ${due}, ${events}, ${webhookEndpoints}
      where ${d.id} = due.id and ${events.id} = ${d.eventId} and ${webhookEndpoints.id} = ${d.endpointId}
      returning ${d.id} as delivery_id, ${d.attempts} as attempt, ${webhookEndpoints.id} as endpoint_id,
        ${webhookEndpoints.url} as url, ${webhookEndpoints.secret} as secret,
        case when ${webhookEndpoints.previousSecretUntil} > now() then ${webhookEndpoints.previousSecret} end as previous_secret,
        ${events.id}, ${events.xid}::text as xid, ${events.type}, ${events.organizationId}, ${events.objectId},
        ${events.payload}, ${events.createdAt}`;
});

export async function claimDue(db: Executor, batch: number, leaseMs: number): Promise<Claim[]> {
  const rows = await claimStatement.rows(db, { batch, leaseMs });
  return rows.map((raw) => ({
    deliveryId: Number(raw.delivery_id),
    attempt: Number(raw.attempt),
    endpointId: Number(raw.endpoint_id),
    url: String(raw.url),
    secrets: [String(raw.secret), ...(raw.previous_secret == null ? [] : [String(raw.previous_secret)])],
    event: { ...rowFrom(events, raw), xid: String(raw.xid) },
  }));
}

export interface AttemptOutcome {
  succeeded: boolean;
  responseStatus: number | null;
  latencyMs: number;
  error: string | null;
}

/**
 * Records an attempt and what follows: DELIVERED (and the endpoint no longer failing), a retry after
 * the schedule's wait for this attempt, or FAILED after the last (and the endpoint failing).
 */
export async function recordAttempt(
  db: Db,
  claim: Claim,
  outcome: AttemptOutcome,
  schedule: readonly number[],
): Promise<void> {
  const d = webhookDeliveries;
  await db.transaction(async (tx) => {
    await tx.insert(webhookAttempts).values({
      deliveryId: claim.deliveryId,
      attempt: claim.attempt,
      succeeded: outcome.succeeded,
      responseStatus: outcome.responseStatus,
      latencyMs: outcome.latencyMs,
      error: outcome.error,
    });
    if (outcome.succeeded) {
      await tx
        .update(d)
        .set({ status: "DELIVERED", deliveredAt: sql`now()`, lockedUntil: null })
        .where(eq(d.id, claim.deliveryId));
      await tx
        .update(webhookEndpoints)
        .set({ failingSince: null })
        .where(and(eq(webhookEndpoints.id, claim.endpointId), isNotNull(webhookEndpoints.failingSince)));
      return;
    }
    const wait = schedule[claim.attempt - 1];
    if (wait != null) {
      await tx
        .update(d)
        .set({
          nextAttemptAt: sql`now() + ${Math.round(wait * 1000)}::int * interval '1 millisecond'`,
          lockedUntil: null,
        })
        .where(eq(d.id, claim.deliveryId));
      return;
    }
    await tx.update(d).set({ status: "FAILED", lockedUntil: null }).where(eq(d.id, claim.deliveryId));
    await tx
      .update(webhookEndpoints)
      .set({ failingSince: sql`coalesce(${webhookEndpoints.failingSince}, now())` })
      .where(eq(webhookEndpoints.id, claim.endpointId));
  });
}
