// Data centers and offers: search, publish, update, withdraw. Tenant checks happen here.
import { and, count, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { nameOf, type Executor } from "../db/client.js";
import { dataCenters, offerAttestations, offers, organizations } from "../db/schema.js";
import { BadInput, badInput, badInputs, conflict, notFound, type InputProblem } from "../errors.js";
import { decodeCursor, encodeCursor, toPage, type Page } from "../graphql/pagination.js";
import { parsePositiveYuan } from "../money.js";
import { hoursBetween, requireWholeHour } from "../time.js";
import { requireStorable, requireText, type OrganizationRow } from "../accounts/accounts.service.js";
import { type Catalog, requireHub } from "./catalog.js";
import { peakReserved } from "./capacity.js";
import { checkHardware, type CheckedHardware, type HardwareDeclaration } from "./hardware.js";
import {
  countOffers,
  liveBookings,
  searchPage,
  type SearchAfter,
  type SearchReads,
  type SearchRow,
  type SearchTerms,
} from "./offers.queries.js";

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
  reads: SearchReads,
): Promise<Page<SearchRow>> {
  const terms = searchTerms(catalog, filter);
  const order = ordering(sort, after);
  const { rows, total: counted } = await searchPage(db, terms, sort, order.after, first + 1, reads);
  // An empty page has no row to carry the count: none match, or the cursor is past the last.
  const total = counted ?? (after ? await countOffers(db, terms) : 0);
  return toPage(
    rows,
    first,
    total,
    (r) => order.cursorOf(r.offer),
    (r) => r,
    after != null,
  );
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
  hardware?: HardwareDeclaration | null;
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

/** A new offer's row from its input, checked (BAD_USER_INPUT names the field); the data center is checked apart. */
function offerValues(catalog: Catalog, input: PublishOffer, now: Date) {
  const model = catalog.modelNamed("gpuModel", input.gpuModel);
  const gpuCount = requireGpuCount("gpuCount", input.gpuCount);
  const price = requirePrice("pricePerGpuHour", input.pricePerGpuHour);
  validateWindow(input.availableFrom, input.availableUntil, input.minHours, now);
  const hardware = input.hardware == null ? null : checkHardware("hardware", input.hardware);
  return {
    row: {
      dataCenterId: input.dataCenterId,
      gpuModelId: model.id,
      gpuCount,
      pricePerGpuHour: price,
      availableFrom: input.availableFrom,
      availableUntil: input.availableUntil,
      minHours: input.minHours,
      createdAt: now,
      updatedAt: now,
    },
    hardware,
  };
}

export interface PublishedOffer {
  offer: OfferRow;
  hardware: CheckedHardware | null;
}

export async function publishOffer(
  db: Executor,
  catalog: Catalog,
  operatorId: number,
  input: PublishOffer,
  now: Date,
): Promise<PublishedOffer> {
  const { row: values, hardware } = offerValues(catalog, input, now);
  await ownDataCenter(db, operatorId, input.dataCenterId);
  const [row] = await db.insert(offers).values(values).returning();
  if (hardware) await saveHardware(db, [{ offerId: row.id, hardware }], operatorId, now);
  return { offer: row, hardware };
}

/** Most offers one publishOffers or updateOffers takes (and one CSV import). */
export const MAX_BULK_OFFERS = 1_000;

/**
 * Checks every input of a bulk publication; all or nothing: BAD_USER_INPUT lists each bad input by
 * index and field (`inputs[3].pricePerGpuHour`), a data center that is not the operator's among
 * them. One query (the operator's data centers) whatever the number of inputs.
 */
export async function checkOffers(
  db: Executor,
  catalog: Catalog,
  operatorId: number,
  inputs: PublishOffer[],
  now: Date,
  path = (index: number) => `inputs[${index}]`,
) {
  if (inputs.length === 0 || inputs.length > MAX_BULK_OFFERS)
    throw badInput("inputs", `give 1 to ${MAX_BULK_OFFERS} offers`);
  const ids = [...new Set(inputs.map((input) => input.dataCenterId).filter((id) => Number.isSafeInteger(id)))];
  const mine = new Set(
    (
      await db
        .select({ id: dataCenters.id })
        .from(dataCenters)
        .where(and(inArray(dataCenters.id, ids), eq(dataCenters.operatorId, operatorId)))
    ).map((dc) => dc.id),
  );
  const problems: InputProblem[] = [];
  const checked = inputs.map((input, index) => {
    try {
      const values = offerValues(catalog, input, now);
      if (!mine.has(input.dataCenterId)) throw badInput("dataCenterId", "no data center of yours has this id");
      return values;
    } catch (error) {
      if (!(error instanceof BadInput)) throw error;
      problems.push({ field: `${path(index)}.${error.field}`, message: error.message });
      return null;
    }
  });
  if (problems.length) throw badInputs(problems, "offers");
  return checked as NonNullable<(typeof checked)[number]>[];
}

/**
 * Publishes up to MAX_BULK_OFFERS offers in the caller's transaction, all or nothing: one query for
 * the data centers, one multi-row insert of the offers, one of their hardware declarations.
 */
export async function publishOffers(
  tx: Executor,
  catalog: Catalog,
  operatorId: number,
  inputs: PublishOffer[],
  now: Date,
): Promise<PublishedOffer[]> {
  const checked = await checkOffers(tx, catalog, operatorId, inputs, now);
  const rows = await tx
    .insert(offers)
    .values(checked.map((c) => c.row))
    .returning();
  // RETURNING of a multi-row insert comes in the order of the VALUES.
  const published = rows.map((offer, i) => ({ offer, hardware: checked[i].hardware }));
  await saveHardware(
    tx,
    published.filter((p) => p.hardware).map((p) => ({ offerId: p.offer.id, hardware: p.hardware! })),
    operatorId,
    now,
  );
  return published;
}

/** Stores (or replaces) hardware declarations, one statement. */
async function saveHardware(
  db: Executor,
  declarations: { offerId: number; hardware: CheckedHardware }[],
  operatorId: number,
  now: Date,
): Promise<void> {
  if (declarations.length === 0) return;
  await db
    .insert(offerAttestations)
    .values(
      declarations.map(({ offerId, hardware }) => ({
        offerId,
        serialNumbers: hardware.serialNumbers,
        reference: hardware.reference,
        gpuCount: hardware.gpuCount,
        declaredBy: operatorId,
        declaredAt: now,
      })),
    )
    .onConflictDoUpdate({
      target: offerAttestations.offerId,
      set: {
        serialNumbers: sql`excluded.${nameOf(offerAttestations.serialNumbers)}`,
        reference: sql`excluded.${nameOf(offerAttestations.reference)}`,
        gpuCount: sql`excluded.${nameOf(offerAttestations.gpuCount)}`,
        declaredBy: sql`excluded.${nameOf(offerAttestations.declaredBy)}`,
        declaredAt: sql`excluded.${nameOf(offerAttestations.declaredAt)}`,
      },
    });
}

/** The operator declares (or declares again) an offer's hardware; a withdrawn offer is CONFLICT. */
export async function declareHardware(
  tx: Executor,
  operatorId: number,
  offerId: number,
  input: HardwareDeclaration,
  now: Date,
): Promise<{ offer: OfferRow; hardware: CheckedHardware }> {
  const hardware = checkHardware("input", input);
  const offer = await lockOwnOffer(tx, operatorId, offerId);
  if (offer.status === "WITHDRAWN") throw conflict("A withdrawn offer cannot be changed");
  await saveHardware(tx, [{ offerId, hardware }], operatorId, now);
  return { offer, hardware };
}

export type AttestationRow = typeof offerAttestations.$inferSelect;

/** The hardware declarations of these offers, by offer id. */
export async function attestationsOf(db: Executor, offerIds: readonly number[]): Promise<Map<number, AttestationRow>> {
  if (offerIds.length === 0) return new Map();
  const rows = await db
    .select()
    .from(offerAttestations)
    .where(inArray(offerAttestations.offerId, [...offerIds]));
  return new Map(rows.map((row) => [row.offerId, row]));
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

/** A change updateOffers makes to many offers at once: a price, a status, or both. */
export interface BulkOfferChange {
  pricePerGpuHour?: string | null;
  status?: "ACTIVE" | "PAUSED" | null;
}

/**
 * One price or status change across up to MAX_BULK_OFFERS of the operator's offers, all or
 * nothing: the offers locked in one query (in id order), changed in one. An id that is not one of
 * the operator's offers is BAD_USER_INPUT naming `ids[i]`; a withdrawn one is CONFLICT. A price or
 * status change never touches reserved capacity. Returns the offers in the order of the ids, and
 * whether capacity may have grown (resumed, or cheaper) so that open bids deserve another look.
 */
export async function updateOffers(
  tx: Executor,
  operatorId: number,
  offerIds: number[],
  change: BulkOfferChange,
  now: Date,
): Promise<{ offers: OfferRow[]; capacityGrew: OfferRow[] }> {
  if (offerIds.length === 0 || offerIds.length > MAX_BULK_OFFERS)
    throw badInput("ids", `give 1 to ${MAX_BULK_OFFERS} offers`);
  if (change.pricePerGpuHour == null && change.status == null)
    throw badInput("input", "give a new pricePerGpuHour, a status, or both");
  const price = change.pricePerGpuHour == null ? null : requirePrice("input.pricePerGpuHour", change.pricePerGpuHour);
  const unique = [...new Set(offerIds)].sort((a, b) => a - b);
  const locked = await tx
    .select({ offer: offers, operatorId: dataCenters.operatorId })
    .from(offers)
    .innerJoin(dataCenters, eq(dataCenters.id, offers.dataCenterId))
    .where(inArray(offers.id, unique))
    .orderBy(offers.id)
    .for("no key update", { of: offers });
  const before = new Map(locked.filter((r) => r.operatorId === operatorId).map((r) => [r.offer.id, r.offer]));
  const problems: InputProblem[] = [];
  offerIds.forEach((id, index) => {
    if (!before.has(id)) problems.push({ field: `ids[${index}]`, message: "no offer of yours has this id" });
  });
  if (problems.length) throw badInputs(problems, "offers");
  const withdrawn = offerIds.findIndex((id) => before.get(id)!.status === "WITHDRAWN");
  if (withdrawn >= 0) throw conflict(`ids[${withdrawn}] is withdrawn: a withdrawn offer cannot be changed`);
  const rows = await tx
    .update(offers)
    .set({
      ...(price == null ? {} : { pricePerGpuHour: price }),
      ...(change.status == null ? {} : { status: change.status }),
      updatedAt: now,
    })
    .where(inArray(offers.id, unique))
    .returning();
  const after = new Map(rows.map((row) => [row.id, row]));
  const grew = rows.filter((row) => {
    const old = before.get(row.id)!;
    return row.status === "ACTIVE" && (old.status !== "ACTIVE" || row.pricePerGpuHour < old.pricePerGpuHour);
  });
  return { offers: offerIds.map((id) => after.get(id)!), capacityGrew: grew };
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
