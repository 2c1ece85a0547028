import type { GraphQLResolveInfo } from "graphql";
import { Arg, Authorized, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { dataCenters, offers, organizations } from "../db/schema.js";
import type { Context } from "../graphql/context.js";
import { orgIdOf } from "../graphql/context.js";
import { BadInput, badInput, badInputs, type InputProblem } from "../errors.js";
import { globalId, parseId, parseOptionalId } from "../graphql/ids.js";
import { actorOf, recordAudit, recordAuditMany, type AuditEvent } from "../audit/audit.service.js";
import { formatYuan } from "../money.js";
import { AFTER_DESCRIPTION, FIRST_DESCRIPTION, pageSize } from "../graphql/pagination.js";
import { Organization, toOrganization } from "../accounts/accounts.types.js";
import { freeGpus } from "./capacity.js";
import {
  CreateDataCenterInput,
  DataCenter,
  GpuModel,
  HardwareAttestation,
  HardwareAttestationInput,
  Offer,
  OfferConnection,
  OfferFilter,
  OfferSort,
  PublishOfferInput,
  toDataCenter,
  toGpuModel,
  toOffer,
  UpdateOfferInput,
  UpdateOffersInput,
} from "./offers.types.js";
import { hardwareDetail } from "./hardware.js";
import * as service from "./offers.service.js";
import { liveBookings, type SearchReads } from "./offers.queries.js";
import { fieldsAsked, type Asked } from "../graphql/selection.js";
import { utilizationOf, utilizationRatio, NO_UTILIZATION } from "./utilization.js";

/** What an audit entry says about an offer's terms after the action. */
function offerDetail(ctx: Context, row: service.OfferRow): string {
  const model = ctx.app.catalog.model(row.gpuModelId).name;
  return `${row.status} ${model} x${row.gpuCount} at ${formatYuan(row.pricePerGpuHour)}/GPU-h until ${row.availableUntil.toISOString()}`;
}

function requirePeriod(from: Date, to: Date): void {
  if (to <= from) throw badInput("to", "to must be after from");
}

/** The audit entries of published offers: each offer, and each hardware declaration with it. */
function publicationAudit(ctx: Context, published: service.PublishedOffer[]): AuditEvent[] {
  return published.flatMap(({ offer, hardware }) => [
    { action: "PUBLISH_OFFER" as const, targetId: offer.id, detail: offerDetail(ctx, offer) },
    ...(hardware
      ? [{ action: "DECLARE_OFFER_HARDWARE" as const, targetId: offer.id, detail: hardwareDetail(hardware) }]
      : []),
  ]);
}

/** Bulk inputs with their data center ids decoded; a malformed id is BAD_USER_INPUT naming `inputs[i].dataCenterId`. */
export function parseOfferInputs(inputs: PublishOfferInput[], path = (i: number) => `inputs[${i}]`) {
  const problems: InputProblem[] = [];
  const parsed = inputs.map((input, i) => {
    try {
      return { ...input, dataCenterId: parseId(`${path(i)}.dataCenterId`, input.dataCenterId, "DataCenter") };
    } catch (error) {
      if (!(error instanceof BadInput)) throw error;
      problems.push({ field: error.field, message: error.message });
      return { ...input, dataCenterId: 0 };
    }
  });
  if (problems.length) throw badInputs(problems, "offers");
  return parsed;
}

/** Only a data center operator's view depends on which operator runs the offer's data center. */
const seesSerialsNeedsOperator = (ctx: Context) => ctx.viewer?.role === "DATA_CENTER";

/** Who sees an offer's serial numbers: its operator, the admin and city finance teams. */
function seesSerials(ctx: Context, operatorId: number): boolean {
  const viewer = ctx.viewer;
  if (!viewer) return false;
  return (
    viewer.role === "ADMIN" ||
    viewer.role === "CITY_FINANCE" ||
    (viewer.role === "DATA_CENTER" && viewer.organizationId === operatorId)
  );
}

/** The fields of an offer that its listing columns show (with the data center's and its own key columns). */
const LISTED_OFFER_FIELDS = new Set([
  "__typename",
  "id",
  "gpuModel",
  "gpuCount",
  "pricePerGpuHour",
  "minHours",
  "availableFrom",
  "availableUntil",
  "dataCenter",
  "freeGpus",
  "hardware",
  "hardwareAttested",
]);
const OPERATOR_NAME_FIELDS = new Set(["__typename", "id", "name"]);

const onlyOf = (asked: Asked, fields: ReadonlySet<string>) => [...asked.keys()].every((name) => fields.has(name));

/** What a search reads for the fields asked of its offers; a field it does not know reads everything. */
function searchReads(node: Asked): SearchReads {
  const dataCenter = node.get("dataCenter");
  const operator = dataCenter?.get("operator");
  return {
    wholeOffer: !onlyOf(node, LISTED_OFFER_FIELDS),
    dataCenter: dataCenter != null,
    operator: operator == null ? "none" : onlyOf(operator, OPERATOR_NAME_FIELDS) ? "name" : "all",
  };
}

@Resolver(() => Offer)
export class OffersResolver {
  @Query(() => [GpuModel], {
    description:
      "The GPU catalog, in a fixed order. Role: anyone, no token needed. Errors: UNAUTHENTICATED only for an unknown token",
  })
  gpuModels(@Ctx() ctx: Context): GpuModel[] {
    return ctx.app.catalog.all().map(toGpuModel);
  }

  @Query(() => OfferConnection, {
    description:
      "Searches the ACTIVE offers, cheapest first by default. Role: anyone, no token needed. Errors: BAD_USER_INPUT (a filter " +
      "field, first, after; extensions.field names it), UNAUTHENTICATED only for an unknown token",
  })
  async offers(
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
    @Arg("filter", () => OfferFilter, {
      nullable: true,
      description: "Which offers to keep; omit for all active offers",
    })
    filter?: OfferFilter,
    @Arg("sort", () => OfferSort, { defaultValue: OfferSort.PRICE_ASC, description: "The order of the list" })
    sort: OfferSort = OfferSort.PRICE_ASC,
    @Arg("first", () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER_DESCRIPTION }) after?: string,
  ) {
    const search = {
      ...filter,
      dataCenterId: parseOptionalId("filter.dataCenterId", filter?.dataCenterId, "DataCenter"),
    };
    const reads = searchReads(fieldsAsked(info, ["edges", "node"]));
    const page = await service.searchOffers(ctx.db, ctx.app.catalog, search, sort, pageSize(first), after, reads);
    // The page came with each offer's data center and its operator as far as they are asked: the
    // objects hold them, and the field resolvers below return what they hold without loading.
    const edges = page.edges.map(({ cursor, node: { offer, dataCenter, operator } }) => {
      const node = toOffer(offer, ctx.app.catalog);
      if (dataCenter) node.dataCenter = toDataCenter(dataCenter);
      if (node.dataCenter && operator) node.dataCenter.operator = toOrganization(operator);
      return { cursor, node };
    });
    return { totalCount: page.totalCount, pageInfo: page.pageInfo, edges };
  }

  @Query(() => Offer, {
    nullable: true,
    description:
      "One offer, in any status; null for an unknown id. Role: anyone, no token needed. Errors: UNAUTHENTICATED only for an unknown token",
  })
  async offer(
    @Arg("id", () => ID, { description: 'The offer\'s opaque id, like "offer_123"' }) id: string,
    @Ctx() ctx: Context,
  ): Promise<Offer | null> {
    const row = await ctx.loaders.byId(offers).load(parseId("id", id, "Offer"));
    return row ? toOffer(row, ctx.app.catalog) : null;
  }

  @Authorized("DATA_CENTER")
  @Query(() => OfferConnection, {
    description:
      "The offers of the caller's data centers, newest first, in every status. Role: DATA_CENTER. Errors: UNAUTHENTICATED, " +
      "FORBIDDEN, BAD_USER_INPUT (first, after)",
  })
  async myOffers(
    @Ctx() ctx: Context,
    @Arg("first", () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER_DESCRIPTION }) after?: string,
  ) {
    const page = await service.operatorOffers(ctx.db, orgIdOf(ctx), pageSize(first), after);
    return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: toOffer(e.node, ctx.app.catalog) })) };
  }

  @Authorized("DATA_CENTER")
  @Mutation(() => Offer, {
    description:
      "Publishes an ACTIVE offer in one of the caller's data centers; open bids it can serve are matched to it at once. Role: " +
      "DATA_CENTER. Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (any field: unknown gpuModel, a time not on a whole " +
      "hour, a window ending before it starts or in the past, minHours longer than the window, a malformed price; " +
      "extensions.field names it), NOT_FOUND (unknown data center or another operator's), RATE_LIMITED",
  })
  async publishOffer(
    @Arg("input", { description: "The data center, GPUs, price and window" }) input: PublishOfferInput,
    @Ctx() ctx: Context,
  ): Promise<Offer> {
    const dataCenterId = parseId("dataCenterId", input.dataCenterId, "DataCenter");
    const row = await ctx.db.transaction(async (tx) => {
      const published = await service.publishOffer(
        tx,
        ctx.app.catalog,
        orgIdOf(ctx),
        { ...input, dataCenterId },
        ctx.now,
      );
      await recordAuditMany(tx, actorOf(ctx), publicationAudit(ctx, [published]));
      return published.offer;
    });
    await ctx.app.afterCapacityFreed(ctx, [row.gpuModelId], [row.id]);
    return toOffer(row, ctx.app.catalog);
  }

  @Authorized("DATA_CENTER")
  @Mutation(() => [Offer], {
    description:
      "Publishes up to 1000 ACTIVE offers in the caller's data centers in one transaction, all or nothing; open bids they can " +
      "serve are matched at once. Answers the offers in the order of the inputs. Counts against the rate limit as one " +
      "mutation per 100 offers (or part). Role: DATA_CENTER. Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (no input " +
      "or more than 1000; or bad inputs: extensions.problems lists each as { field, message } with the field's path, like " +
      '"inputs[3].pricePerGpuHour", an unknown or another operator\'s data center as "inputs[i].dataCenterId"; ' +
      "extensions.field is the first), RATE_LIMITED",
  })
  async publishOffers(
    @Arg("inputs", () => [PublishOfferInput], { description: "The offers, 1 to 1000; each as publishOffer takes it" })
    inputs: PublishOfferInput[],
    @Ctx() ctx: Context,
  ): Promise<Offer[]> {
    const rows = await ctx.db.transaction(async (tx) => {
      const published = await service.publishOffers(
        tx,
        ctx.app.catalog,
        orgIdOf(ctx),
        parseOfferInputs(inputs),
        ctx.now,
      );
      await recordAuditMany(tx, actorOf(ctx), publicationAudit(ctx, published));
      return published.map((p) => p.offer);
    });
    await ctx.app.afterCapacityFreed(
      ctx,
      [...new Set(rows.map((row) => row.gpuModelId))],
      rows.map((row) => row.id),
    );
    return rows.map((row) => toOffer(row, ctx.app.catalog));
  }

  @Authorized("DATA_CENTER")
  @Mutation(() => [Offer], {
    description:
      "Changes the price, the status (pause or resume), or both, of up to 1000 of the caller's offers in one transaction, all " +
      "or nothing; a new price holds for new reservations only. Open bids are matched again where capacity grew. Answers the " +
      "offers in the order of the ids. Counts against the rate limit as one mutation per 100 offers (or part). Role: " +
      "DATA_CENTER. Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (no id or more than 1000, no change, a malformed price; " +
      'ids that are not the caller\'s offers: extensions.problems names each, like "ids[2]"), CONFLICT (a WITHDRAWN offer), ' +
      "RATE_LIMITED",
  })
  async updateOffers(
    @Arg("ids", () => [ID], { description: 'The offers, 1 to 1000 opaque ids like "offer_123"' }) ids: string[],
    @Arg("input", () => UpdateOffersInput, { description: "The change; omitted fields stay as they are" })
    input: UpdateOffersInput,
    @Ctx() ctx: Context,
  ): Promise<Offer[]> {
    const offerIds = ids.map((id, i) => parseId(`ids[${i}]`, id, "Offer"));
    const result = await ctx.db.transaction(async (tx) => {
      const updated = await service.updateOffers(tx, orgIdOf(ctx), offerIds, input, ctx.now);
      await recordAuditMany(
        tx,
        actorOf(ctx),
        updated.offers.map((offer) => ({
          action: "UPDATE_OFFER",
          targetId: offer.id,
          detail: offerDetail(ctx, offer),
        })),
      );
      return updated;
    });
    if (result.capacityGrew.length)
      await ctx.app.afterCapacityFreed(
        ctx,
        [...new Set(result.capacityGrew.map((o) => o.gpuModelId))],
        result.capacityGrew.map((o) => o.id),
      );
    return result.offers.map((row) => toOffer(row, ctx.app.catalog));
  }

  @Authorized("DATA_CENTER")
  @Mutation(() => Offer, {
    description:
      "Declares (again) the hardware of one of the caller's offers: serial numbers, an attestation reference, or both, and the " +
      "GPUs covered; it replaces the offer's earlier declaration, and the audit trail keeps each (DECLARE_OFFER_HARDWARE). " +
      "Role: DATA_CENTER (the offer's operator). Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (input.serialNumbers[i], " +
      "input.attestationReference, input.gpuCount), NOT_FOUND (unknown id or another operator's offer), CONFLICT (a " +
      "WITHDRAWN offer), RATE_LIMITED",
  })
  async declareOfferHardware(
    @Arg("id", () => ID, { description: 'The offer\'s opaque id, like "offer_123"' }) id: string,
    @Arg("input", () => HardwareAttestationInput, { description: "The declaration" }) input: HardwareAttestationInput,
    @Ctx() ctx: Context,
  ): Promise<Offer> {
    const offerId = parseId("id", id, "Offer");
    const row = await ctx.db.transaction(async (tx) => {
      const { offer, hardware } = await service.declareHardware(tx, orgIdOf(ctx), offerId, input, ctx.now);
      await recordAudit(tx, actorOf(ctx), {
        action: "DECLARE_OFFER_HARDWARE",
        targetId: offer.id,
        detail: hardwareDetail(hardware),
      });
      return offer;
    });
    return toOffer(row, ctx.app.catalog);
  }

  @Authorized("DATA_CENTER")
  @Mutation(() => Offer, {
    description:
      "Changes the price, GPU count, end or status of one of the caller's offers. Reserved capacity can never be taken away: " +
      "fewer GPUs than some hour has reserved, or an end before a live reservation's, is CONFLICT. Open bids are matched again " +
      "when capacity grows. Role: DATA_CENTER (the offer's operator). Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT, " +
      "NOT_FOUND (unknown id or another operator's offer), CONFLICT (reserved capacity, or a WITHDRAWN offer), RATE_LIMITED",
  })
  async updateOffer(
    @Arg("id", () => ID, { description: 'The offer\'s opaque id, like "offer_123"' }) id: string,
    @Arg("input", { description: "The changes; omitted fields stay as they are" }) input: UpdateOfferInput,
    @Ctx() ctx: Context,
  ): Promise<Offer> {
    const offerId = parseId("id", id, "Offer");
    const result = await ctx.db.transaction(async (tx) => {
      const updated = await service.updateOffer(tx, orgIdOf(ctx), offerId, input, ctx.now);
      await recordAudit(tx, actorOf(ctx), {
        action: "UPDATE_OFFER",
        targetId: offerId,
        detail: offerDetail(ctx, updated.offer),
      });
      return updated;
    });
    if (result.capacityGrew) await ctx.app.afterCapacityFreed(ctx, [result.offer.gpuModelId], [result.offer.id]);
    return toOffer(result.offer, ctx.app.catalog);
  }

  @Authorized("DATA_CENTER")
  @Mutation(() => Offer, {
    description:
      "Withdraws one of the caller's offers for good (WITHDRAWN); only an offer without live (HELD or CONFIRMED, not yet " +
      "ended) reservations can be withdrawn: pause it otherwise. Withdrawing it again returns it unchanged. Role: DATA_CENTER " +
      "(the offer's operator). Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (unknown id or another operator's offer), " +
      "CONFLICT (live reservations), RATE_LIMITED",
  })
  async withdrawOffer(
    @Arg("id", () => ID, { description: 'The offer\'s opaque id, like "offer_123"' }) id: string,
    @Ctx() ctx: Context,
  ): Promise<Offer> {
    const offerId = parseId("id", id, "Offer");
    const row = await ctx.db.transaction(async (tx) => {
      const withdrawn = await service.withdrawOffer(tx, orgIdOf(ctx), offerId, ctx.now);
      await recordAudit(tx, actorOf(ctx), {
        action: "WITHDRAW_OFFER",
        targetId: offerId,
        detail: offerDetail(ctx, withdrawn),
      });
      return withdrawn;
    });
    return toOffer(row, ctx.app.catalog);
  }

  @FieldResolver(() => HardwareAttestation, {
    nullable: true,
    description:
      "The operator's declaration of its hardware; null when none. Programs that require one (requiresHardwareAttestation) " +
      "subsidize the offer only when hardwareAttested",
  })
  async hardware(@Root() offer: Offer, @Ctx() ctx: Context): Promise<HardwareAttestation | null> {
    const row = await this.attestation(offer, ctx);
    if (!row) return null;
    const operatorId = seesSerialsNeedsOperator(ctx)
      ? (await ctx.loaders.byId(dataCenters).load(offer.dataCenterId))!.operatorId
      : -1;
    return Object.assign(new HardwareAttestation(), {
      gpuCount: row.gpuCount,
      attestationReference: row.reference,
      serialNumberCount: row.serialNumbers.length,
      serialNumbers: seesSerials(ctx, operatorId) ? row.serialNumbers : null,
      declaredAt: row.declaredAt,
    });
  }

  @FieldResolver(() => Boolean, {
    description: "Its operator declared the hardware of all its GPUs (hardware.gpuCount >= gpuCount)",
  })
  async hardwareAttested(@Root() offer: Offer, @Ctx() ctx: Context): Promise<boolean> {
    const row = await this.attestation(offer, ctx);
    return row != null && row.gpuCount >= offer.gpuCount;
  }

  /** The offer's declaration, batched over every offer of the answer. */
  private attestation(offer: Offer, ctx: Context) {
    return ctx.loaders
      .named<number, service.AttestationRow | null>("offerAttestation", async (ids) => {
        const found = await service.attestationsOf(ctx.db, ids);
        return ids.map((id) => found.get(id) ?? null);
      })
      .load(offer.row.id);
  }

  @FieldResolver(() => DataCenter, { description: "The data center whose GPUs these are" })
  dataCenter(@Root() offer: Offer, @Ctx() ctx: Context): DataCenter | Promise<DataCenter> {
    // A search page's offers hold theirs; others load it, batched.
    if (offer.dataCenter) return offer.dataCenter;
    return ctx.loaders
      .byId(dataCenters)
      .load(offer.dataCenterId)
      .then((row) => toDataCenter(row!));
  }

  @FieldResolver(() => Int, {
    description:
      "The fewest free GPUs in any hour of [from, to): gpuCount less the GPUs of HELD and CONFIRMED reservations; 0 when " +
      "[from, to) is not inside the offer's window. Errors: BAD_USER_INPUT (to not after from)",
  })
  async freeGpus(
    @Root() offer: Offer,
    @Arg("from", { description: 'The start of the period, like "2027-06-01T00:00:00Z"' }) from: Date,
    @Arg("to", { description: 'The end of the period (exclusive), after from, like "2027-06-02T00:00:00Z"' }) to: Date,
    @Ctx() ctx: Context,
  ): Promise<number> {
    requirePeriod(from, to);
    // Batched: one query for the live reservations of every offer on the page.
    const loader = ctx.loaders.named<{ offer: Offer["row"]; from: Date; to: Date }, number>(
      "freeGpus",
      async (keys) => {
        const rangeFrom = new Date(Math.min(...keys.map((k) => k.from.getTime())));
        const rangeTo = new Date(Math.max(...keys.map((k) => k.to.getTime())));
        const offerIds = [...new Set(keys.map((k) => k.offer.id))];
        const bookings = await liveBookings(ctx.db, offerIds, rangeFrom, rangeTo, ctx.now);
        return keys.map((k) => freeGpus(k.offer, bookings.get(k.offer.id) ?? [], k.from, k.to));
      },
      (k) => `${k.offer.id}:${k.from.getTime()}:${k.to.getTime()}`,
    );
    return loader.load({ offer: offer.row, from, to });
  }
}

@Resolver(() => DataCenter)
export class DataCentersResolver {
  @Query(() => [DataCenter], {
    description:
      "Data centers, oldest first, optionally of one hub. Role: anyone, no token needed. Errors: BAD_USER_INPUT (unknown hub), UNAUTHENTICATED only for an unknown token",
  })
  async dataCenters(
    @Ctx() ctx: Context,
    @Arg("hub", () => String, {
      nullable: true,
      description: 'Only this hub\'s, one of the ten spelled exactly, like "Ningxia Zhongwei"; omit for all',
    })
    hub?: string,
  ): Promise<DataCenter[]> {
    return (await service.listDataCenters(ctx.db, hub)).map(toDataCenter);
  }

  @Authorized("ADMIN")
  @Mutation(() => DataCenter, {
    description:
      "Registers a data center for an operator, whose DATA_CENTER keys may then publish offers in it. Role: ADMIN. Errors: " +
      "UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (name, hub, province, an operatorId that is not a DATA_CENTER_OPERATOR), " +
      "NOT_FOUND (unknown operator), RATE_LIMITED",
  })
  async createDataCenter(
    @Arg("input", { description: "Its name, hub, province and operator" }) input: CreateDataCenterInput,
    @Ctx() ctx: Context,
  ): Promise<DataCenter> {
    const operatorId = parseId("operatorId", input.operatorId, "Organization");
    const row = await ctx.db.transaction(async (tx) => {
      const dc = await service.createDataCenter(tx, { ...input, operatorId });
      await recordAudit(tx, actorOf(ctx), {
        action: "CREATE_DATA_CENTER",
        targetId: dc.id,
        detail: `${dc.name} (${dc.hub}) for operator ${globalId("Organization", operatorId)}`,
      });
      return dc;
    });
    return toDataCenter(row);
  }

  @FieldResolver(() => Organization, { description: "The data center operator that runs it and publishes its offers" })
  operator(@Root() dc: DataCenter, @Ctx() ctx: Context): Organization | Promise<Organization> {
    // A search page's data centers hold theirs; others load it, batched.
    if (dc.operator) return dc.operator;
    return ctx.loaders
      .byId(organizations)
      .load(dc.operatorId)
      .then((row) => toOrganization(row!));
  }

  @FieldResolver(() => Number, {
    description:
      "Reserved GPU-hours (HELD and CONFIRMED) / offered GPU-hours of its offers in [from, to), from 0 to 1, like 0.27; 0 " +
      "when nothing is offered. Matching prefers the least-used data center among equal prices. Errors: BAD_USER_INPUT (to not after from)",
  })
  async utilization(
    @Root() dc: DataCenter,
    @Arg("from", { description: 'The start of the period, like "2027-06-01T00:00:00Z"' }) from: Date,
    @Arg("to", { description: 'The end of the period (exclusive), after from, like "2027-07-01T00:00:00Z"' }) to: Date,
    @Ctx() ctx: Context,
  ): Promise<number> {
    requirePeriod(from, to);
    const loader = ctx.loaders.named<{ id: number; from: Date; to: Date }, number>(
      "utilization",
      async (keys) => {
        // Usually one period per request: one query per distinct period.
        const periods = new Map<string, { from: Date; to: Date; ids: number[] }>();
        for (const k of keys) {
          const key = `${k.from.getTime()}:${k.to.getTime()}`;
          const period = periods.get(key) ?? { from: k.from, to: k.to, ids: [] };
          period.ids.push(k.id);
          periods.set(key, period);
        }
        const results = new Map<string, number>();
        for (const [key, period] of periods) {
          const byDc = await utilizationOf(ctx.db, period.ids, period.from, period.to, ctx.now);
          for (const id of period.ids) results.set(`${id}:${key}`, utilizationRatio(byDc.get(id) ?? NO_UTILIZATION));
        }
        return keys.map((k) => results.get(`${k.id}:${k.from.getTime()}:${k.to.getTime()}`) ?? 0);
      },
      (k) => `${k.id}:${k.from.getTime()}:${k.to.getTime()}`,
    );
    return loader.load({ id: dc.rowId, from, to });
  }
}
