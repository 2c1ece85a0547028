// Data centers and offers: search, publish, update, withdraw. Tenant checks happen here.
import { and, count, desc, eq, lt } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { dataCenters, offers, organizations } from "../db/schema.js";
import { badInput, conflict, notFound } from "../errors.js";
import { decodeCursor, encodeCursor, toPage, type Page } from "../graphql/pagination.js";
import { parsePositiveYuan } from "../money.js";
import { hoursBetween, requireWholeHour } from "../time.js";
import { requireStorable, requireText, type OrganizationRow } from "../accounts/accounts.service.js";
import { type Catalog, requireHub } from "./catalog.js";
import { peakReserved } from "./capacity.js";
import { countOffers, liveBookings, searchPage, type SearchAfter, type SearchTerms } from "./offers.queries.js";

export type OfferRow = typeof offers.$inferSelect;

/** An offer as searches answer it: every column but updated_at, which no answer shows. */
export type ListedOffer = Omit<OfferRow, "updatedAt">;
export type DataCenterRow = typeof dataCenters.$inferSelect;

export const MAX_GPUS_PER_OFFER = 100_000;
export const MAX_WINDOW_HOURS = 24 * 366;
const MAX_PRICE_FEN = 10_000_000n; // 100,000 CNY per GPU-hour

export function requireGpuCount(field: string, value: number, max = MAX_GPUS_PER_OFFER): number {
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw badInput(field, `${field} must be between 1 and ${max}`);
  return value;
}

export function requirePrice(field: string, value: string): bigint {
  const fen = parsePositiveYuan(field, value);
  if (fen > MAX_PRICE_FEN) throw badInput(field, `${field} must be at most 100000.00`);
  return fen;
}

// ------------------------------------------------------------------ data centers

export async function createDataCenter(
  db: Executor,
  input: { name: string; hub: string; province: string; operatorId: number },
): Promise<DataCenterRow> {
  const name = requireText("name", input.name);
  const hub = requireHub("hub", input.hub);
  const province = requireText("province", input.province, 100);
  const [operator] = await db.select().from(organizations).where(eq(organizations.id, input.operatorId));
  if (!operator) throw notFound("Organization");
  if (operator.kind !== "DATA_CENTER_OPERATOR")
    throw badInput("operatorId", "operatorId must be a DATA_CENTER_OPERATOR");
  const [row] = await db.insert(dataCenters).values({ name, hub, province, operatorId: operator.id }).returning();
  return row;
}

export async function listDataCenters(db: Executor, hub: string | null | undefined): Promise<DataCenterRow[]> {
  const where = hub == null ? undefined : eq(dataCenters.hub, requireHub("hub", hub));
  return db.select().from(dataCenters).where(where).orderBy(dataCenters.id);
}

// ------------------------------------------------------------------ search

export interface OfferSearch {
  gpuModel?: string | null;
  hub?: string | null;
  province?: string | null;
  dataCenterId?: number | null;
  maxPricePerGpuHour?: string | null;
  minGpuCount?: number | null;
  availableFrom?: Date | null;
  availableUntil?: Date | null;
}

export type OfferOrder = "PRICE_ASC" | "PRICE_DESC" | "NEWEST";

/** The filter, checked: BAD_USER_INPUT names the field at fault. */
function searchTerms(catalog: Catalog, filter: OfferSearch): SearchTerms {
  const terms: SearchTerms = {};
  if (filter.gpuModel != null) terms.gpuModelId = catalog.modelNamed("filter.gpuModel", filter.gpuModel).id;
  if (filter.hub != null) terms.hub = requireHub("filter.hub", filter.hub);
  if (filter.province != null) terms.province = requireStorable("filter.province", filter.province);
  if (filter.dataCenterId != null) terms.dataCenterId = filter.dataCenterId;
  if (filter.maxPricePerGpuHour != null) {
    terms.maxPricePerGpuHour = requirePrice("filter.maxPricePerGpuHour", filter.maxPricePerGpuHour);
  }
  if (filter.minGpuCount != null) terms.minGpuCount = requireGpuCount("filter.minGpuCount", filter.minGpuCount);
  const { availableFrom: from, availableUntil: until } = filter;
  if (from && until && until <= from)
    throw badInput("filter.availableUntil", "filter.availableUntil must be after filter.availableFrom");
  if (from) terms.availableFrom = from;
  if (until) terms.availableUntil = until;
  return terms;
}

/** Keyset pagination: the cursor holds the sort key of the last row shown. */
function ordering(sort: OfferOrder, after: string | null | undefined) {
  if (sort === "NEWEST") {
    const cursor = decodeCursor(after, ["number"]);
    return {
      after: cursor ? { id: cursor[0] as number } : null,
      cursorOf: (row: ListedOffer) => encodeCursor([row.id]),
    };
  }
  const cursor = decodeCursor(after, ["digits", "number"]);
  return {
    after: cursor ? ({ price: BigInt(cursor[0] as string), id: cursor[1] as number } satisfies SearchAfter) : null,
    cursorOf: (row: ListedOffer) => encodeCursor([row.pricePerGpuHour.toString(), row.id]),
  };
}

/** A data center or an operator as a search page carries it: without createdAt, which the API never shows. */
export type ShownDataCenter = Omit<DataCenterRow, "createdAt">;
export type ShownOrganization = Omit<OrganizationRow, "createdAt">;

/** A page of offers with the data center and operator of each, for the caller's loaders. */
export interface OfferPage extends Page<ListedOffer> {
  related: { dataCenter: ShownDataCenter; operator: ShownOrganization }[];
}

/**
 * One page of active offers and their count, whatever the page size: one statement, or two when
 * a cursor leads past the last offer (searchPage). The page brings each offer's data center and
 * operator along, which clients nearly always show.
 */
export async function searchOffers(
  db: Executor,
  catalog: Catalog,
  filter: OfferSearch,
  sort: OfferOrder,
  first: number,
  after: string | null | undefined,
): Promise<OfferPage> {
  const terms = searchTerms(catalog, filter);
  const order = ordering(sort, after);
  const { rows, total: counted } = await searchPage(db, terms, sort, order.after, first + 1);
  // An empty page has no row to carry the count: none match, or the cursor is past the last.
  const total = counted ?? (after ? await countOffers(db, terms) : 0);
  const page = toPage(
    rows,
    first,
    total,
    (r) => order.cursorOf(r.offer),
    (r) => r.offer,
    after != null,
  );
  return { ...page, related: rows.slice(0, first).map((r) => ({ dataCenter: r.dataCenter, operator: r.operator })) };
}

/** A data center operator's own offers, newest first, in every status. */
export async function operatorOffers(
  db: Executor,
  operatorId: number,
  first: number,
  after: string | null | undefined,
) {
  const cursor = decodeCursor(after, ["number"]);
  const mine = eq(dataCenters.operatorId, operatorId);
  const [rows, [{ total }]] = await Promise.all([
    db
      .select({ offer: offers })
      .from(offers)
      .innerJoin(dataCenters, eq(dataCenters.id, offers.dataCenterId))
      .where(and(mine, cursor ? lt(offers.id, cursor[0] as number) : undefined))
      .orderBy(desc(offers.id))
      .limit(first + 1),
    db
      .select({ total: count() })
      .from(offers)
      .innerJoin(dataCenters, eq(dataCenters.id, offers.dataCenterId))
      .where(mine),
  ]);
  return toPage(
    rows,
    first,
    Number(total),
    (r) => encodeCursor([r.offer.id]),
    (r) => r.offer,
    after != null,
  );
}

// ------------------------------------------------------------------ publish and change

export async function ownDataCenter(db: Executor, operatorId: number, dataCenterId: number): Promise<DataCenterRow> {
  const [dc] = await db.select().from(dataCenters).where(eq(dataCenters.id, dataCenterId));
  if (!dc || dc.operatorId !== operatorId) throw notFound("Data center");
  return dc;
}

export interface PublishOffer {
  dataCenterId: number;
  gpuModel: string;
  gpuCount: number;
  pricePerGpuHour: string;
  availableFrom: Date;
  availableUntil: Date;
  minHours: number;
}

export function validateWindow(from: Date, until: Date, minHours: number, now: Date): void {
  requireWholeHour("availableFrom", from);
  requireWholeHour("availableUntil", until);
  if (until <= from) throw badInput("availableUntil", "availableUntil must be after availableFrom");
  if (until <= now) throw badInput("availableUntil", "availableUntil must be in the future");
  const hours = hoursBetween(from, until);
  if (hours > MAX_WINDOW_HOURS)
    throw badInput("availableUntil", `an offer's window may span at most ${MAX_WINDOW_HOURS} hours`);
  if (!Number.isInteger(minHours) || minHours < 1 || minHours > hours) {
    throw badInput("minHours", "minHours must be at least 1 and fit in the offer's window");
  }
}

export async function publishOffer(db: Executor, catalog: Catalog, operatorId: number, input: PublishOffer, now: Date) {
  const model = catalog.modelNamed("gpuModel", input.gpuModel);
  const gpuCount = requireGpuCount("gpuCount", input.gpuCount);
  const price = requirePrice("pricePerGpuHour", input.pricePerGpuHour);
  validateWindow(input.availableFrom, input.availableUntil, input.minHours, now);
  await ownDataCenter(db, operatorId, input.dataCenterId);
  const [row] = await db
    .insert(offers)
    .values({
      dataCenterId: input.dataCenterId,
      gpuModelId: model.id,
      gpuCount,
      pricePerGpuHour: price,
      availableFrom: input.availableFrom,
      availableUntil: input.availableUntil,
      minHours: input.minHours,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return row;
}

/** The operator's offer, locked for the rest of the transaction; others' offers are not found. */
export async function lockOwnOffer(tx: Executor, operatorId: number, offerId: number): Promise<OfferRow> {
  const [row] = await tx
    .select({ offer: offers, operatorId: dataCenters.operatorId })
    .from(offers)
    .innerJoin(dataCenters, eq(dataCenters.id, offers.dataCenterId))
    .where(eq(offers.id, offerId))
    .for("no key update", { of: offers });
  if (!row || row.operatorId !== operatorId) throw notFound("Offer");
  return row.offer;
}

export interface OfferChange {
  pricePerGpuHour?: string | null;
  gpuCount?: number | null;
  availableUntil?: Date | null;
  status?: "ACTIVE" | "PAUSED" | null;
}

/**
 * Changes an offer under its row lock. Reserved capacity is untouchable: fewer GPUs than some hour
 * has reserved, or a window that ends before a live reservation does, is a CONFLICT.
 * Returns whether capacity may have grown, so open bids deserve another look.
 */
export async function updateOffer(tx: Executor, operatorId: number, offerId: number, change: OfferChange, now: Date) {
  const offer = await lockOwnOffer(tx, operatorId, offerId);
  if (offer.status === "WITHDRAWN") throw conflict("A withdrawn offer cannot be changed");
  const next = {
    pricePerGpuHour:
      change.pricePerGpuHour == null ? offer.pricePerGpuHour : requirePrice("pricePerGpuHour", change.pricePerGpuHour),
    gpuCount: change.gpuCount == null ? offer.gpuCount : requireGpuCount("gpuCount", change.gpuCount),
    availableUntil: change.availableUntil ?? offer.availableUntil,
    status: change.status ?? offer.status,
  };
  if (change.availableUntil) validateWindow(offer.availableFrom, next.availableUntil, offer.minHours, now);

  const shrinks = next.gpuCount < offer.gpuCount || next.availableUntil < offer.availableUntil;
  if (shrinks) {
    const bookings =
      (await liveBookings(tx, [offer.id], offer.availableFrom, offer.availableUntil, now)).get(offer.id) ?? [];
    if (peakReserved(bookings) > next.gpuCount) {
      throw conflict("Reserved GPUs cannot be taken away: gpuCount is below what some hour has reserved");
    }
    if (bookings.some((b) => b.endsAt > next.availableUntil)) {
      throw conflict("Reserved hours cannot be taken away: a reservation runs past the new availableUntil");
    }
  }
  const [row] = await tx
    .update(offers)
    .set({ ...next, updatedAt: now })
    .where(eq(offers.id, offer.id))
    .returning();
  const grew =
    row.status === "ACTIVE" &&
    (offer.status !== "ACTIVE" ||
      next.gpuCount > offer.gpuCount ||
      next.availableUntil > offer.availableUntil ||
      next.pricePerGpuHour < offer.pricePerGpuHour);
  return { offer: row, capacityGrew: grew };
}

export async function withdrawOffer(tx: Executor, operatorId: number, offerId: number, now: Date): Promise<OfferRow> {
  const offer = await lockOwnOffer(tx, operatorId, offerId);
  if (offer.status === "WITHDRAWN") return offer;
  const bookings = (await liveBookings(tx, [offer.id], now, offer.availableUntil, now)).get(offer.id) ?? [];
  if (bookings.length > 0) throw conflict("This offer has live reservations; it can be paused but not withdrawn");
  const [row] = await tx
    .update(offers)
    .set({ status: "WITHDRAWN", updatedAt: now })
    .where(eq(offers.id, offer.id))
    .returning();
  return row;
}
