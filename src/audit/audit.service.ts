// The audit trail: who did what to which object, appended by each audited mutation inside the
// transaction of the action (a rolled-back or refused action leaves no entry), and read back by
// the admin (everything) and by a city's finance team (its own city's programs).
import { and, count, desc, eq, isNull, lt, sql, type SQL } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { auditLog } from "../db/schema.js";
import type { Context, Role, Viewer } from "../graphql/context.js";
import { decodeCursor, encodeCursor, toPage, type Page } from "../graphql/pagination.js";
import type { AuditAction } from "./audit.types.js";
import { insertAuditEntry } from "./audit.queries.js";
import { auditDetail } from "./detail.js";

export type AuditRow = typeof auditLog.$inferSelect;

/** Who is acting, taken from the request once. */
export interface AuditActor {
  organizationId: number | null;
  apiKeyId: number | null;
  /** SYSTEM: the server itself (a payment it refused), with no organization or key. */
  role: Role | "SYSTEM";
  requestId: string;
  now: Date;
}

export function actorOf(ctx: Context): AuditActor {
  const viewer = ctx.viewer;
  if (!viewer) throw new Error("an audited action needs a signed-in viewer");
  return {
    organizationId: viewer.organizationId,
    apiKeyId: viewer.apiKeyId,
    role: viewer.role,
    requestId: ctx.requestId,
    now: ctx.now,
  };
}

export interface AuditEvent {
  action: `${AuditAction}`;
  targetId: number | string | null;
  detail?: string;
  /** The program acted on; its city is read in the same statement. */
  programId?: number | null;
}

/** Appends one entry; pass the action's transaction. One statement. */
export async function recordAudit(db: Executor, actor: AuditActor, event: AuditEvent): Promise<void> {
  await insertAuditEntry(db, {
    organizationId: actor.organizationId,
    apiKeyId: actor.apiKeyId,
    role: actor.role,
    action: event.action,
    targetId: event.targetId == null ? null : String(event.targetId),
    detail: event.detail == null ? null : auditDetail(event.detail),
    programId: event.programId ?? null,
    requestId: actor.requestId.slice(0, 64),
    createdAt: actor.now,
  });
}

/** Appends one entry per event in one statement (bulk actions); events that name no program. */
export async function recordAuditMany(db: Executor, actor: AuditActor, events: AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.insert(auditLog).values(
    events.map((event) => ({
      organizationId: actor.organizationId,
      apiKeyId: actor.apiKeyId,
      role: actor.role,
      action: event.action,
      targetId: event.targetId == null ? null : String(event.targetId),
      detail: event.detail == null ? null : auditDetail(event.detail),
      programId: null,
      city: null,
      requestId: actor.requestId.slice(0, 64),
      createdAt: actor.now,
    })),
  );
}

/**
 * Like recordAudit, unless the same finding (action, target and detail) is on record already: for
 * what the server reports each time it looks (the reconciler runs every few seconds). Callers hold
 * the target's lock, so two of them cannot both miss the other's entry.
 */
export async function recordAuditOnce(db: Executor, actor: AuditActor, event: AuditEvent): Promise<void> {
  const detail = event.detail == null ? null : auditDetail(event.detail);
  const [seen] = await db
    .select({ id: auditLog.id })
    .from(auditLog)
    .where(
      and(
        eq(auditLog.action, event.action),
        event.targetId == null ? isNull(auditLog.targetId) : eq(auditLog.targetId, String(event.targetId)),
        detail == null ? isNull(auditLog.detail) : eq(auditLog.detail, detail),
      ),
    )
    .limit(1);
  if (!seen) await recordAudit(db, actor, event);
}

export interface AuditFilter {
  action?: `${AuditAction}` | null;
  organizationId?: number | null;
}

/**
 * Entries newest first. The admin sees all; a finance team only the entries on its own city's
 * programs (the caller's resolver admits no other role). Two queries whatever the page size.
 */
export async function auditEntries(
  db: Executor,
  viewer: Viewer,
  filter: AuditFilter,
  first: number,
  after: string | null | undefined,
): Promise<Page<AuditRow>> {
  const cursor = decodeCursor(after, ["number"]);
  const conditions: (SQL | undefined)[] = [
    filter.action ? eq(auditLog.action, filter.action) : undefined,
    filter.organizationId != null ? eq(auditLog.organizationId, filter.organizationId) : undefined,
  ];
  if (viewer.role !== "ADMIN") conditions.push(viewer.city ? eq(auditLog.city, viewer.city) : sql`false`);
  const where = and(...conditions);
  const [rows, [{ total }]] = await Promise.all([
    db
      .select()
      .from(auditLog)
      .where(and(where, cursor ? lt(auditLog.id, cursor[0] as number) : undefined))
      .orderBy(desc(auditLog.id))
      .limit(first + 1),
    db.select({ total: count() }).from(auditLog).where(where),
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
