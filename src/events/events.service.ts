// Reading events: the catch-up query and the subscriptions' filters. An organization reads only its
// own events; the platform admin reads every organization's.
import { badInput, notFound } from "../errors.js";
import type { Context, Viewer } from "../graphql/context.js";
import { parseId } from "../graphql/ids.js";
import { pageSize } from "../graphql/pagination.js";
import { KIND_BY_KEY } from "./catalogue.js";
import { positionOf, readAll, readOwn, START, type EventRow, type Position } from "./events.queries.js";
import type { Filter } from "./stream.js";

/** The catalogue names of EventType values; none given: every type. */
export function typeNames(types: readonly string[] | null | undefined): string[] {
  return (types ?? []).map((key) => KIND_BY_KEY.get(key)!.name);
}

const organizationOf = (viewer: Viewer) => (viewer.role === "ADMIN" ? null : viewer.organizationId);

/** Where to start after an event id the caller saw; BAD_USER_INPUT for an id that is not one of its events. */
export async function resumeAfter(ctx: Context, viewer: Viewer, after: string | null | undefined) {
  if (after == null) return null;
  const position = await positionOf(ctx.db, parseId("after", after, "Event"), organizationOf(viewer));
  if (!position)
    throw badInput("after", "after names no event of yours (events are kept EVENT_RETENTION_DAYS days): start over");
  return position;
}

/** The caller's events after `after`, oldest first, at most `first`. */
export async function eventsAfter(
  ctx: Context,
  viewer: Viewer,
  after: string | null | undefined,
  first: number | null | undefined,
  types: readonly string[] | null | undefined,
): Promise<EventRow[]> {
  const limit = pageSize(first);
  const from: Position = (await resumeAfter(ctx, viewer, after)) ?? START;
  const names = typeNames(types);
  const organizationId = organizationOf(viewer);
  if (organizationId != null) return readOwn(ctx.db, organizationId, from, names, limit);
  // The admin: every organization's, filtered here (a page may then hold fewer than `first`).
  const rows = await readAll(ctx.db, from, limit);
  return names.length ? rows.filter((row) => names.includes(row.type)) : rows;
}

/** The filter of a subscription to the caller's events. */
export function filterFor(viewer: Viewer, types: readonly string[] | null | undefined, about?: string): Filter {
  return { organizationId: organizationOf(viewer), types: typeNames(types), about };
}

/** The subscription's iterator; `check` runs first (a bidUpdated for another SME's bid is NOT_FOUND). */
export async function subscribe(
  ctx: Context,
  filter: Filter,
  after: string | null | undefined,
  check?: () => Promise<boolean>,
) {
  const viewer = ctx.viewer!;
  if (check && !(await check())) throw notFound(filter.about?.split("_")[0] === "order" ? "Order" : "Bid");
  return ctx.app.events.subscribe(filter, await resumeAfter(ctx, viewer, after));
}
