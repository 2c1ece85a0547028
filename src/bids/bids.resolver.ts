import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { bids, offers } from "../db/schema.js";
import type { Context } from "../graphql/context.js";
import { orgIdOf } from "../graphql/context.js";
import { notFound } from "../graphql/errors.js";
import { idOrNull } from "../graphql/ids.js";
import { actorOf, recordAudit } from "../audit/audit.service.js";
import { Money } from "../graphql/money.type.js";
import { pageSize } from "../graphql/pagination.js";
import { toGpuModel, toOffer } from "../offers/offers.resolver.js";
import { GpuModel, Offer } from "../offers/offers.types.js";
import { hoursBetween } from "../time.js";
import { Bid, BidConnection, BidStatus, PlaceBidInput, Reservation, ReservationConnection, ReservationStatus } from "./bids.types.js";
import * as service from "./bids.service.js";
import * as reservationsService from "./reservations.service.js";
import { lapsedHoldsFirst } from "./sweeper.js";

export function toBid(row: service.BidRow): Bid {
  return Object.assign(new Bid(), {
    ...row,
    id: String(row.id),
    maxPricePerGpuHour: Money.of(row.maxPricePerGpuHour),
    hubs: row.hubs ?? [],
    status: row.status as BidStatus,
  });
}

export function toReservation(row: reservationsService.ReservationRow): Reservation {
  const gpuHours = BigInt(row.gpuCount) * BigInt(hoursBetween(row.startsAt, row.endsAt));
  return Object.assign(new Reservation(), {
    ...row,
    id: String(row.id),
    pricePerGpuHour: Money.of(row.pricePerGpuHour),
    total: Money.of(gpuHours * row.pricePerGpuHour),
    status: row.status as ReservationStatus,
  });
}

/** Reservations by bid id, batched: one query for the reservations of every bid on a page. */
function reservationOfBid(ctx: Context) {
  return ctx.loaders.named<number, reservationsService.ReservationRow | null>("reservationOfBid", async (bidIds) => {
    const byBid = await reservationsService.reservationsOfBids(ctx.db, bidIds);
    return bidIds.map((id) => byBid.get(id) ?? null);
  });
}

@Resolver(() => Bid)
export class BidsResolver {
  @Authorized("SME")
  @Mutation(() => Bid, {
    description: "Matched at once when some offer can serve it (status MATCHED, reservation HELD); otherwise OPEN until capacity appears",
  })
  async placeBid(@Arg("input") input: PlaceBidInput, @Ctx() ctx: Context): Promise<Bid> {
    const { holdMinutes } = ctx.app.config;
    // Capacity freed by a lapsed hold goes to the standing open bids before this one.
    const { bid, reservation } = await lapsedHoldsFirst(ctx.app.db, ctx.now, holdMinutes, (lapsedFirst) =>
      ctx.db.transaction(async (tx) => {
        const placed = await service.placeBid(tx, ctx.app.catalog, orgIdOf(ctx), input, ctx.now, holdMinutes, lapsedFirst);
        const detail = `${placed.bid.status} ${input.gpuModel} x${placed.bid.gpuCount} for ${placed.bid.hours} h` +
          (placed.reservation ? `, reservation ${placed.reservation.id} on offer ${placed.reservation.offerId}` : "");
        await recordAudit(tx, actorOf(ctx), { action: "PLACE_BID", targetId: placed.bid.id, detail });
        return placed;
      }),
    );
    // The bid's reservation is known: its field resolver needs no query.
    reservationOfBid(ctx).prime(bid.id, reservation);
    return toBid(bid);
  }

  @Authorized("SME")
  @Mutation(() => Bid, {
    description: "The owner cancels an OPEN bid, or a MATCHED one whose reservation is still HELD (freeing it); a paid one is CONFLICT",
  })
  async cancelBid(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<Bid> {
    const bidId = idOrNull(id);
    if (bidId == null) throw notFound("Bid");
    const result = await ctx.db.transaction(async (tx) => {
      const cancelled = await service.cancelBid(tx, orgIdOf(ctx), bidId, ctx.now);
      const detail = cancelled.freedGpuModelId != null ? "cancelled, held reservation freed" : "cancelled";
      await recordAudit(tx, actorOf(ctx), { action: "CANCEL_BID", targetId: bidId, detail });
      return cancelled;
    });
    if (result.freedGpuModelId != null) await ctx.app.afterCapacityFreed(ctx, [result.freedGpuModelId], [result.freedOfferId!]);
    return toBid(result.bid);
  }

  @Authorized("SME")
  @Query(() => Bid, { nullable: true, description: "One of the caller's bids; null for an unknown id or another SME's bid" })
  async bid(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<Bid | null> {
    const bidId = idOrNull(id);
    const row = bidId == null ? null : await service.ownBid(ctx.db, orgIdOf(ctx), bidId);
    return row ? toBid(row) : null;
  }

  @Authorized("SME")
  @Query(() => BidConnection, { description: "The caller's bids, newest first" })
  async myBids(
    @Ctx() ctx: Context,
    @Arg("status", () => BidStatus, { nullable: true }) status?: BidStatus | null,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ) {
    const page = await service.smeBids(ctx.db, orgIdOf(ctx), status, pageSize(first), after, ctx.now);
    return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: toBid(e.node) })) };
  }

  @FieldResolver(() => GpuModel)
  gpuModel(@Root() bid: Bid, @Ctx() ctx: Context): GpuModel {
    return toGpuModel(ctx.app.catalog.model(bid.gpuModelId));
  }

  /** MATCHED with a lapsed hold is EXPIRED, whether or not the sweeper has written it yet. */
  @FieldResolver(() => BidStatus)
  async status(@Root() bid: Bid, @Ctx() ctx: Context): Promise<BidStatus> {
    if (bid.status !== BidStatus.MATCHED) return bid.status;
    const reservation = await reservationOfBid(ctx).load(Number(bid.id));
    return reservation && service.holdLapsed(reservation, ctx.now) ? BidStatus.EXPIRED : bid.status;
  }

  @FieldResolver(() => Reservation, { nullable: true })
  async reservation(@Root() bid: Bid, @Ctx() ctx: Context): Promise<Reservation | null> {
    const row = await reservationOfBid(ctx).load(Number(bid.id));
    return row ? toReservation(row) : null;
  }
}

@Resolver(() => Reservation)
export class ReservationsResolver {
  @Authorized("SME", "DATA_CENTER")
  @Query(() => Reservation, {
    nullable: true,
    description: "Seen by the SME that holds it and by the operator of the offer's data center; null for anyone else or an unknown id",
  })
  async reservation(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<Reservation | null> {
    const reservationId = idOrNull(id);
    const row = reservationId == null ? null : await reservationsService.visibleReservation(ctx.db, ctx.viewer!, reservationId);
    return row ? toReservation(row) : null;
  }

  @Authorized("DATA_CENTER")
  @Query(() => ReservationConnection, { description: "Reservations on one of the caller's offers, newest first; another operator's offer is NOT_FOUND" })
  async offerReservations(
    @Arg("offerId", () => ID) offerId: string,
    @Ctx() ctx: Context,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ) {
    const id = idOrNull(offerId);
    if (id == null) throw notFound("Offer");
    const page = await reservationsService.offerReservations(ctx.db, orgIdOf(ctx), id, pageSize(first), after);
    return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: toReservation(e.node) })) };
  }

  /** A HELD reservation whose hold has lapsed is EXPIRED, whether or not the sweeper has written it yet. */
  @FieldResolver(() => ReservationStatus)
  status(@Root() reservation: Reservation, @Ctx() ctx: Context): ReservationStatus {
    return service.holdLapsed(reservation, ctx.now) ? ReservationStatus.EXPIRED : reservation.status;
  }

  @FieldResolver(() => Bid, { nullable: true })
  async bid(@Root() reservation: Reservation, @Ctx() ctx: Context): Promise<Bid | null> {
    // A bid shows what its SME would pay at most: only that SME sees it.
    if (ctx.viewer?.role !== "SME" || ctx.viewer.organizationId !== reservation.smeId) return null;
    const row = await ctx.loaders.byId(bids).load(reservation.bidId);
    return row ? toBid(row) : null;
  }

  @FieldResolver(() => Offer)
  async offer(@Root() reservation: Reservation, @Ctx() ctx: Context): Promise<Offer> {
    return toOffer((await ctx.loaders.byId(offers).load(reservation.offerId))!);
  }
}
