// The offers domain's statements that run on every search and every bid, written once from the
// schema (src/db/client.ts): a page of the search, the live reservations of offers, the
// utilization of data centers. Their rows become the domain's types here.
import { sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { columnsRead, perShape, prepared, tableAs, type Executor, type Placeholders } from "../db/client.js";
import { dataCenters, offers, organizations, reservations } from "../db/schema.js";
import type { ListedOffer, OfferOrder, ShownDataCenter, ShownOrganization } from "./offers.service.js";
import type { Utilization } from "./utilization.js";

// ------------------------------------------------------------------ search

/** A search's filter once checked (searchOffers), in the order its conditions are written. */
export interface SearchTerms {
  gpuModelId?: number;
  hub?: string;
  province?: string;
  dataCenterId?: number;
  maxPricePerGpuHour?: bigint;
  minGpuCount?: number;
  availableFrom?: Date;
  availableUntil?: Date;
}

type Filter = keyof SearchTerms;
const FILTERS: readonly Filter[] = [
  "gpuModelId",
  "hub",
  "province",
  "dataCenterId",
  "maxPricePerGpuHour",
  "minGpuCount",
  "availableFrom",
  "availableUntil",
];

/** Where a page starts: after the sort key of the last row shown (the price too, sorted by price). */
export interface SearchAfter {
  price?: bigint;
  id: number;
}

type SearchValues = {
  gpuModelId?: number;
  hub?: string;
  province?: string;
  dataCenterId?: number;
  maxPricePerGpuHour?: string;
  minGpuCount?: number;
  availableFrom?: string;
  availableUntil?: string;
  afterPrice?: string;
  afterId?: number;
  limit?: number;
};
type P = Placeholders<SearchValues>;

/** Each filter as conditions on `offers` and `data_centers`. */
const CONDITIONS: Record<Filter, (p: P) => SQL> = {
  gpuModelId: (p) => sql`${offers.gpuModelId} = ${p.gpuModelId}::bigint`,
  hub: (p) => sql`${dataCenters.hub} = ${p.hub}::text`,
  province: (p) => sql`${dataCenters.province} = ${p.province}::text`,
  dataCenterId: (p) => sql`${offers.dataCenterId} = ${p.dataCenterId}::bigint`,
  maxPricePerGpuHour: (p) => sql`${offers.pricePerGpuHour} <= ${p.maxPricePerGpuHour}::bigint`,
  minGpuCount: (p) => sql`${offers.gpuCount} >= ${p.minGpuCount}::int`,
  availableFrom: (p) =>
    sql`${offers.availableFrom} <= ${p.availableFrom}::timestamptz and ${offers.availableUntil} > ${p.availableFrom}::timestamptz`,
  availableUntil: (p) =>
    sql`${offers.availableUntil} >= ${p.availableUntil}::timestamptz and ${offers.availableFrom} < ${p.availableUntil}::timestamptz`,
};

const searchWhere = (filters: readonly Filter[], p: P) =>
  sql.join([sql`${offers.status} = 'ACTIVE'`, ...filters.map((filter) => CONDITIONS[filter](p))], sql` and `);

/** The offers a filter matches, counted; joined to their data centers only when a filter needs them. */
const counted = (filters: readonly Filter[], p: P) =>
  sql`select count(*) from ${offers} ${
    filters.includes("hub") || filters.includes("province")
      ? sql`join ${dataCenters} on ${dataCenters.id} = ${offers.dataCenterId}`
      : sql``
  } where ${searchWhere(filters, p)}`;

/** Keyset pagination: the order, and the condition for the rows after the cursor's sort key. */
const ORDERS: Record<OfferOrder, { by: SQL; after: (p: P) => SQL }> = {
  NEWEST: { by: sql`order by ${offers.id} desc`, after: (p) => sql`${offers.id} < ${p.afterId}::bigint` },
  PRICE_ASC: {
    by: sql`order by ${offers.pricePerGpuHour}, ${offers.id}`,
    after: (p) =>
      sql`(${offers.pricePerGpuHour} > ${p.afterPrice}::bigint or (${offers.pricePerGpuHour} = ${p.afterPrice}::bigint and ${offers.id} > ${p.afterId}::bigint))`,
  },
  PRICE_DESC: {
    by: sql`order by ${offers.pricePerGpuHour} desc, ${offers.id} desc`,
    after: (p) =>
      sql`(${offers.pricePerGpuHour} < ${p.afterPrice}::bigint or (${offers.pricePerGpuHour} = ${p.afterPrice}::bigint and ${offers.id} < ${p.afterId}::bigint))`,
  },
};

/**
 * What a search reads of each row beside the offer's key columns (id, price, model, data center),
 * as the fields a request asks need: a few fixed sets, so that a handful of statements serve every
 * selection a client may write.
 */
export interface SearchReads {
  /** Every column of the offer but updated_at; else those a listing shows, without status and created_at. */
  wholeOffer: boolean;
  /** The data center's columns (it is joined for the filters either way). */
  dataCenter: boolean;
  /** The operator's: none (not joined), only its name, or all. */
  operator: "none" | "name" | "all";
}

/** The offer's columns a listing shows: all but status and created_at (and updated_at, which no answer shows). */
const LISTED_OFFER = [
  "id",
  "dataCenterId",
  "gpuModelId",
  "gpuCount",
  "pricePerGpuHour",
  "availableFrom",
  "availableUntil",
  "minHours",
] as const satisfies readonly (keyof ListedOffer)[];
const WHOLE_OFFER = [...LISTED_OFFER, "status", "createdAt"] as const satisfies readonly (keyof ListedOffer)[];
const DATA_CENTER = [
  "id",
  "name",
  "hub",
  "province",
  "operatorId",
] as const satisfies readonly (keyof ShownDataCenter)[];
const OPERATOR = {
  name: ["id", "name"],
  all: ["id", "name", "kind", "city", "creditCode", "category"],
} as const satisfies Record<string, readonly (keyof ShownOrganization)[]>;

/**
 * A page of active offers with what the request shows of their data centers and operators and,
 * as a column, the count of every offer the filter matches: PostgreSQL computes it once (an
 * InitPlan). Every column of an offer but updated_at is in offers_search_idx's key, so the offers
 * it skips are read from the index alone. Prepared: with that index, one plan serves any filter
 * values (over 120 filters at full bench scale, the slowest run of the cached plan, 7.5 ms, was no
 * slower than the slowest plan made for its values, and planning each call cost 0.55 ms every time).
 * Reading only the columns asked spares PostgreSQL writing them and the driver parsing them: for a
 * page with the name and hub of each data center and its operator's name, 16 columns instead of 22.
 * Each shape comes with the reader of its rows.
 */
const searchPageStatement = perShape(
  ({ filters, sort, after, reads }: { filters: Filter[]; sort: OfferOrder; after: boolean; reads: SearchReads }) => {
    const offer = columnsRead(offers, reads.wholeOffer ? WHOLE_OFFER : LISTED_OFFER);
    // The joined rows' ids are the foreign keys they were joined on.
    const dataCenter = reads.dataCenter
      ? columnsRead(dataCenters, DATA_CENTER, "dc_", { id: "data_center_id" })
      : undefined;
    const operator =
      reads.operator === "none"
        ? undefined
        : columnsRead(organizations, OPERATOR[reads.operator], "op_", { id: "dc_operator_id" });
    const statement = prepared<SearchValues>("offers_search_page", (p) => {
      const order = ORDERS[sort];
      const columns = [sql`(${counted(filters, p)}) as total_count`, offer.list];
      if (dataCenter) columns.push(dataCenter.list);
      if (operator) columns.push(operator.list);
      return sql`select ${sql.join(columns, sql`, `)}
          from ${offers} join ${dataCenters} on ${dataCenters.id} = ${offers.dataCenterId}
            ${operator ? sql`join ${organizations} on ${organizations.id} = ${dataCenters.operatorId}` : sql``}
          where ${searchWhere(filters, p)}${after ? sql` and ${order.after(p)}` : sql``} ${order.by}
          limit ${p.limit}::int`;
    });
    const read = (raw: Record<string, unknown>): SearchRow => ({
      offer: offer.read(raw) as ListedOffer,
      dataCenter: dataCenter?.read(raw),
      operator: operator?.read(raw),
    });
    return { statement, read };
  },
);

const countStatement = perShape((filters: Filter[]) =>
  prepared<SearchValues>("offers_search_count", (p) => counted(filters, p)),
);

function searchValues(terms: SearchTerms): { filters: Filter[]; values: SearchValues } {
  const filters = FILTERS.filter((filter) => terms[filter] != null);
  const { maxPricePerGpuHour, availableFrom, availableUntil, ...rest } = terms;
  return {
    filters,
    values: {
      ...rest,
      maxPricePerGpuHour: maxPricePerGpuHour == null ? undefined : String(maxPricePerGpuHour),
      availableFrom: availableFrom?.toISOString(),
      availableUntil: availableUntil?.toISOString(),
    },
  };
}

/** A row of a search page: only the columns its SearchReads read are set; a part not read is absent. */
export interface SearchRow {
  offer: ListedOffer;
  dataCenter?: ShownDataCenter;
  operator?: ShownOrganization;
}

/** Up to `limit` offers after `after`, and the count of all that match (null on an empty page: no row carried it). */
export async function searchPage(
  db: Executor,
  terms: SearchTerms,
  sort: OfferOrder,
  after: SearchAfter | null,
  limit: number,
  reads: SearchReads,
): Promise<{ rows: SearchRow[]; total: number | null }> {
  const { filters, values } = searchValues(terms);
  const { statement, read } = searchPageStatement({ filters, sort, after: after != null, reads });
  const raw = await statement.rows(db, {
    ...values,
    afterPrice: after?.price == null ? undefined : String(after.price),
    afterId: after?.id,
    limit,
  });
  return { total: raw.length ? Number(raw[0].total_count) : null, rows: raw.map(read) };
}

/** How many active offers the filter matches. */
export async function countOffers(db: Executor, terms: SearchTerms): Promise<number> {
  const { filters, values } = searchValues(terms);
  const [row] = await countStatement(filters).rows<{ count: string | number }>(db, values);
  return Number(row.count);
}

// ------------------------------------------------------------------ live reservations
//
// Live reservations: HELD with an unexpired hold, or CONFIRMED. Only these take capacity.

export interface LiveBooking {
  offerId: number;
  startsAt: Date;
  endsAt: Date;
  gpuCount: number;
}

export type LiveBookings = Map<number, LiveBooking[]>;

/**
 * One offer's live bookings as liveBookingsStatement packs them: int arrays in their text form,
 * like {1,2,3}; `lapsed` when some HELD reservation of the offer in the span has lapsed.
 */
export type PackedBookings = {
  offer_id: string | number;
  starts: string;
  ends: string;
  gpus: string;
  lapsed?: boolean;
};

/**
 * Live reservations of the offers that overlap [from, to), grouped by offer. A popular offer has
 * hundreds of them and every bid on it reads them all, twice: PostgreSQL packs each offer's into
 * three integer arrays (starts and ends in epoch seconds, GPUs), far cheaper to build and decode
 * than a row with two timestamps each. It also tells which offers carry a hold in the span that
 * has lapsed (its capacity is free, but not swept yet): those rows are read anyway, in the same
 * range of reservations_offer_live_idx. One array parameter: one statement whatever the number of
 * offers.
 */
const liveBookingsStatement = prepared(
  "reservations_live_by_offer",
  (p: Placeholders<{ offerIds: string; from: string; to: string; now: string }>) =>
    sql`select booked.offer_id,
               coalesce(array_agg(booked.starts) filter (where booked.live), '{}')::text as starts,
               coalesce(array_agg(booked.ends) filter (where booked.live), '{}')::text as ends,
               coalesce(array_agg(booked.gpus) filter (where booked.live), '{}')::text as gpus,
               bool_or(not booked.live) as lapsed
        from (select ${reservations.offerId} as offer_id, extract(epoch from ${reservations.startsAt})::int8 as starts,
                     extract(epoch from ${reservations.endsAt})::int8 as ends, ${reservations.gpuCount} as gpus,
                     ${reservations.status} = 'CONFIRMED' or ${reservations.holdExpiresAt} > ${p.now}::timestamptz as live
              from ${reservations}
              where ${reservations.offerId} = any(${p.offerIds}::bigint[]) and ${reservations.status} in ('HELD', 'CONFIRMED')
                and ${reservations.startsAt} < ${p.to}::timestamptz and ${reservations.endsAt} > ${p.from}::timestamptz) as booked
        group by booked.offer_id`,
);

/**
 * The live reservations of these offers over [from, to), and which of them carry a lapsed hold
 * there. The statement goes out at once (it may follow a lock in the same round trip).
 */
export async function readLiveBookings(
  db: Executor,
  offerIds: readonly number[],
  from: Date,
  to: Date,
  now: Date,
): Promise<{ bookings: LiveBookings; lapsed: Set<number> }> {
  const rows = await liveBookingsStatement.rows<PackedBookings>(db, {
    offerIds: `{${offerIds.join(",")}}`,
    from: from.toISOString(),
    to: to.toISOString(),
    now: now.toISOString(),
  });
  return { bookings: bookingsByOffer(rows), lapsed: new Set(offersWithLapsedHolds(rows)) };
}

/** The live reservations of these offers that overlap [from, to), by offer. */
export async function liveBookings(
  db: Executor,
  offerIds: readonly number[],
  from: Date,
  to: Date,
  now: Date,
): Promise<LiveBookings> {
  if (offerIds.length === 0) return new Map();
  return (await readLiveBookings(db, offerIds, from, to, now)).bookings;
}

/** The offers whose rows carry a lapsed hold. */
function offersWithLapsedHolds(rows: readonly PackedBookings[]): number[] {
  return rows.filter((row) => row.lapsed).map((row) => Number(row.offer_id));
}

/** The integers of an int array's text form, like {1,-2,3}: one pass, no strings in between (twice as fast). */
export function integers(packed: string): number[] {
  const values: number[] = [];
  let value = 0;
  let negative = false;
  let digits = false;
  for (let i = 1; i < packed.length; i++) {
    const c = packed.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      digits = true;
    } else if (c === 45) {
      negative = true;
    } else {
      // "," or the closing "}"
      if (digits) values.push(negative ? -value : value);
      value = 0;
      negative = false;
      digits = false;
    }
  }
  return values;
}

export function bookingsByOffer(rows: readonly PackedBookings[]): LiveBookings {
  const byOffer: LiveBookings = new Map();
  for (const row of rows) {
    const offerId = Number(row.offer_id);
    const [starts, ends, gpus] = [integers(row.starts), integers(row.ends), integers(row.gpus)];
    byOffer.set(
      offerId,
      starts.map((start, i) => ({
        offerId,
        startsAt: new Date(start * 1000),
        endsAt: new Date(ends[i] * 1000),
        gpuCount: gpus[i],
      })),
    );
  }
  return byOffer;
}

// ------------------------------------------------------------------ utilization

const o = alias(offers, "o");

/**
 * Offered and reserved GPU-hours of each data center over [from, to), in one pass over the offers
 * running in the period, each with its live reservations summed from reservations_offer_live_idx
 * (a lateral join): planned in a fifth of the time of two aggregates joined. A reservation lies
 * within its offer's window, so only those offers can hold one; a WITHDRAWN offer is no longer
 * offered, but what it served before still counts as reserved. The statuses of a live reservation
 * are parameters, which keeps the plan on reservations_offer_live_idx. One array parameter: one
 * statement whatever the number of data centers.
 */
const utilizationStatement = prepared(
  "data_centers_utilization",
  (p: Placeholders<{ ids: string; from: string; to: string; now: string }>) =>
    sql`select ${o.dataCenterId} as dc,
               coalesce(sum(${o.gpuCount} * extract(epoch from least(${o.availableUntil}, ${p.to}::timestamptz) - greatest(${o.availableFrom}, ${p.from}::timestamptz)) / 3600)
                        filter (where ${o.status} <> 'WITHDRAWN'), 0)::bigint as offered,
               coalesce(sum(booked.gpu_hours), 0)::bigint as reserved
        from ${tableAs(offers, o)}
        left join lateral (
          select sum(${reservations.gpuCount} * extract(epoch from least(${reservations.endsAt}, ${p.to}::timestamptz) - greatest(${reservations.startsAt}, ${p.from}::timestamptz)) / 3600) as gpu_hours
          from ${reservations}
          where ${reservations.offerId} = ${o.id} and ${reservations.status} in ('HELD', 'CONFIRMED')
            and (${reservations.status} = ${"CONFIRMED"} or (${reservations.status} = ${"HELD"} and ${reservations.holdExpiresAt} > ${p.now}::timestamptz))
            and ${reservations.startsAt} < ${p.to}::timestamptz and ${reservations.endsAt} > ${p.from}::timestamptz
        ) booked on true
        where ${o.dataCenterId} = any(${p.ids}::bigint[]) and ${o.availableUntil} > ${p.from}::timestamptz and ${o.availableFrom} < ${p.to}::timestamptz
        group by ${o.dataCenterId}`,
);

/** Utilization of these data centers over [from, to), by data center (absent: nothing offered or reserved). */
export async function readUtilization(
  db: Executor,
  dataCenterIds: readonly number[],
  from: Date,
  to: Date,
  now: Date,
): Promise<Map<number, Utilization>> {
  const rows = await utilizationStatement.rows<{
    dc: string | number;
    offered: string | number;
    reserved: string | number;
  }>(db, {
    ids: `{${dataCenterIds.join(",")}}`,
    from: from.toISOString(),
    to: to.toISOString(),
    now: now.toISOString(),
  });
  const result = new Map<number, Utilization>();
  for (const row of rows) {
    result.set(Number(row.dc), { offeredGpuHours: Number(row.offered), reservedGpuHours: Number(row.reserved) });
  }
  return result;
}
