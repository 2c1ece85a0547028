// Webhook endpoints of an organization: register (the secret shown once), list, disable and enable,
// rotate the secret, redeliver an event, read the deliveries with their attempts. An organization
// sees and changes only its own endpoints; another's are NOT_FOUND.
import { and, asc, count, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { Db, Executor } from "../db/client.js";
import { events, webhookAttempts, webhookDeliveries, webhookEndpoints } from "../db/schema.js";
import { badInput, notFound } from "../errors.js";
import { decodeCursor, encodeCursor, toPage, type Page } from "../graphql/pagination.js";
import { KIND_BY_KEY } from "../events/catalogue.js";
import { newSecret } from "./signing.js";
import { requireWebhookUrl } from "./address.js";

export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type AttemptRow = typeof webhookAttempts.$inferSelect;

/** Endpoints per organization. */
export const MAX_ENDPOINTS = 20;
/** How long the secret before a rotation is still signed with, so receivers can switch. */
export const ROTATION_GRACE_HOURS = 24;
const MAX_DESCRIPTION = 200;

export interface NewEndpoint {
  url: string;
  types?: string[] | null;
  description?: string | null;
}

export async function createEndpoint(
  db: Db,
  organizationId: number,
  input: NewEndpoint,
  allowPrivate: boolean,
): Promise<{ endpoint: EndpointRow; secret: string }> {
  const url = await requireWebhookUrl(input.url, allowPrivate);
  const description = input.description?.trim() || null;
  if (description && description.length > MAX_DESCRIPTION)
    throw badInput("description", `description must be at most ${MAX_DESCRIPTION} characters`);
  const types = [...new Set((input.types ?? []).map((key) => KIND_BY_KEY.get(key)!.name))];
  const secret = newSecret();
  return db.transaction(async (tx) => {
    // Counted under the organization's endpoints' locks: two registrations at once cannot both pass the limit.
    const mine = await tx
      .select({ id: webhookEndpoints.id })
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.organizationId, organizationId))
      .for("update");
    if (mine.length >= MAX_ENDPOINTS)
      throw badInput("url", `at most ${MAX_ENDPOINTS} webhook endpoints per organization; delete or reuse one`);
    const [endpoint] = await tx
      .insert(webhookEndpoints)
      .values({ organizationId, url: url.toString(), types, description, secret })
      .returning();
    return { endpoint, secret };
  });
}

export async function ownEndpoint(db: Executor, organizationId: number, id: number): Promise<EndpointRow> {
  const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  if (!row || row.organizationId !== organizationId) throw notFound("Webhook endpoint");
  return row;
}

export function listEndpoints(db: Executor, organizationId: number): Promise<EndpointRow[]> {
  return db
    .select()
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.organizationId, organizationId))
    .orderBy(asc(webhookEndpoints.id));
}

/**
 * Disabled: no new deliveries are made for it and pending ones wait; enabled again, they go out.
 * Enabling also clears `failingSince`: the client says the receiver works again.
 */
export async function setEnabled(db: Db, organizationId: number, id: number, enabled: boolean): Promise<EndpointRow> {
  await ownEndpoint(db, organizationId, id);
  const [row] = await db
    .update(webhookEndpoints)
    .set({ enabled, updatedAt: new Date(), ...(enabled ? { failingSince: null } : {}) })
    .where(eq(webhookEndpoints.id, id))
    .returning();
  return row;
}

/** A new secret, shown once; the old one is still signed with (a second signature) for ROTATION_GRACE_HOURS. */
export async function rotateSecret(
  db: Db,
  organizationId: number,
  id: number,
  now: Date,
): Promise<{ endpoint: EndpointRow; secret: string }> {
  const current = await ownEndpoint(db, organizationId, id);
  const secret = newSecret();
  const [endpoint] = await db
    .update(webhookEndpoints)
    .set({
      secret,
      previousSecret: current.secret,
      previousSecretUntil: new Date(now.getTime() + ROTATION_GRACE_HOURS * 3_600_000),
      updatedAt: now,
    })
    .where(eq(webhookEndpoints.id, id))
    .returning();
  return { endpoint, secret };
}

/**
 * Sends one of the organization's events again to each of its enabled endpoints that take its type,
 * as a fresh delivery (its attempts start over; earlier attempts stay listed).
 */
export async function redeliver(db: Db, organizationId: number, eventId: number): Promise<DeliveryRow[]> {
  const [event] = await db.select().from(events).where(eq(events.id, eventId));
  if (!event || event.organizationId !== organizationId) throw notFound("Event");
  const targets = (await listEndpoints(db, organizationId)).filter(
    (e) => e.enabled && (e.types.length === 0 || e.types.includes(event.type)),
  );
  if (targets.length === 0) return [];
  return db
    .insert(webhookDeliveries)
    .values(targets.map((e) => ({ endpointId: e.id, eventId })))
    .onConflictDoUpdate({
      target: [webhookDeliveries.endpointId, webhookDeliveries.eventId],
      set: { status: "PENDING", attempts: 0, nextAttemptAt: sql`now()`, lockedUntil: null, deliveredAt: null },
    })
    .returning();
}

/** An endpoint's deliveries, newest first, with their events: two queries whatever the page size. */
export async function deliveriesOf(
  db: Executor,
  organizationId: number,
  endpointId: number,
  first: number,
  after: string | null | undefined,
): Promise<Page<DeliveryRow>> {
  await ownEndpoint(db, organizationId, endpointId);
  const cursor = decodeCursor(after, ["number"]);
  const mine = eq(webhookDeliveries.endpointId, endpointId);
  const [rows, [{ total }]] = await Promise.all([
    db
      .select()
      .from(webhookDeliveries)
      .where(and(mine, cursor ? lt(webhookDeliveries.id, cursor[0] as number) : undefined))
      .orderBy(desc(webhookDeliveries.id))
      .limit(first + 1),
    db.select({ total: count() }).from(webhookDeliveries).where(mine),
  ]);
  return toPage(
    rows,
    first,
    Number(total),
    (r) => encodeCursor([r.id]),
    (r) => r,
    after != null,
  );
}

/** The attempts of these deliveries, oldest first, by delivery. */
export async function attemptsOf(db: Executor, deliveryIds: readonly number[]): Promise<Map<number, AttemptRow[]>> {
  const rows = deliveryIds.length
    ? await db
        .select()
        .from(webhookAttempts)
        .where(inArray(webhookAttempts.deliveryId, [...deliveryIds]))
        .orderBy(asc(webhookAttempts.id))
    : [];
  const byDelivery = new Map<number, AttemptRow[]>();
  for (const row of rows) {
    if (!byDelivery.has(row.deliveryId)) byDelivery.set(row.deliveryId, []);
    byDelivery.get(row.deliveryId)!.push(row);
  }
  return byDelivery;
}
