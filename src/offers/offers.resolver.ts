import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { dataCenters, offers, organizations } from "../db/schema.js";
import type { Context } from "../graphql/context.js";
import { orgIdOf } from "../graphql/context.js";
import { badInput } from "../errors.js";
import { globalId, parseId, parseOptionalId } from "../graphql/ids.js";
import { actorOf, recordAudit } from "../audit/audit.service.js";
import { formatYuan } from "../money.js";
import { AFTER_DESCRIPTION, FIRST_DESCRIPTION, pageSize } from "../graphql/pagination.js";
import { Organization, toOrganization } from "../accounts/accounts.types.js";
import { freeGpus } from "./capacity.js";
import {
  CreateDataCenterInput,
  DataCenter,
  GpuModel,
  Offer,
  OfferConnection,
  OfferFilter,
  OfferSort,
  PublishOfferInput,
  toDataCenter,
  toGpuModel,
  toOffer,
  UpdateOfferInput,
} from "./offers.types.js";
import * as service from "./offers.service.js";
import { liveBookings } from "./offers.queries.js";
import { utilizationOf, utilizationRatio, NO_UTILIZATION } from "./utilization.js";

/** What an audit entry says about an offer's terms after the action. */
function offerDetail(ctx: Context, row: service.OfferRow): string {
  const model = ctx.app.catalog.model(row.gpuModelId).name;
  return `${row.status} ${model} x${row.gpuCount} at ${formatYuan(row.pricePerGpuHour)}/GPU-h until ${row.availableUntil.toISOString()}`;
}

function requirePeriod(from: Date, to: Date): void {
  if (to <= from) throw badInput("to", "to must be after from");
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
    const page = await service.searchOffers(ctx.db, ctx.app.catalog, search, sort, pageSize(first), after);
    // The page came with each offer's data center and its operator: the objects hold them, and the
    // field resolvers below return what they hold without loading.
    const edges = page.edges.map((e, i) => {
      const node = toOffer(e.node, ctx.app.catalog);
      node.dataCenter = toDataCenter(page.related[i].dataCenter);
      node.dataCenter.operator = toOrganization(page.related[i].operator);
      return { cursor: e.cursor, node };
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
      const offer = await service.publishOffer(tx, ctx.app.catalog, orgIdOf(ctx), { ...input, dataCenterId }, ctx.now);
      await recordAudit(tx, actorOf(ctx), {
        action: "PUBLISH_OFFER",
        targetId: offer.id,
        detail: offerDetail(ctx, offer),
      });
      return offer;
    });
    await ctx.app.afterCapacityFreed(ctx, [row.gpuModelId], [row.id]);
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
