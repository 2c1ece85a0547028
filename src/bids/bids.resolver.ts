import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { bids, offers } from "../db/schema.js";
import type { Context } from "../graphql/context.js";
import { orgIdOf } from "../graphql/context.js";
import { globalId, parseId } from "../graphql/ids.js";
import { actorOf, recordAudit } from "../audit/audit.service.js";
import { AFTER_DESCRIPTION, FIRST_DESCRIPTION, pageSize } from "../graphql/pagination.js";
import { GpuModel, Offer, toGpuModel, toOffer } from "../offers/offers.types.js";
import {
  Bid,
  BidConnection,
  BidStatus,
  PlaceBidInput,
  Reservation,
  ReservationConnection,
  ReservationStatus,
  toBid,
  toReservation,
} from "./bids.types.js";
import * as service from "./bids.service.js";
import * as reservationsService from "./reservations.service.js";
import { lapsedHoldsFirst } from "./sweeper.js";

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
    description:
      "Places a bid for GPU time. It is matched at once when some offer can serve it (status MATCHED, reservation HELD for checkout " +
      "until holdExpiresAt): the cheapest price per GPU-hour wins, then the least-used data center, the earliest start, the oldest " +
      "offer. Otherwise it stays OPEN and is matched when capacity appears, until latestEnd - hours passes (EXPIRED). Role: SME. " +
      "Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (any field: unknown gpuModel or hub, a time not on a whole hour, " +
      "latestEnd before earliestStart + hours or too late to start, a malformed price; extensions.field names it), RATE_LIMITED",
  })
  async placeBid(
    @Arg("input", { description: "What to rent, when, where and at what price at most" }) input: PlaceBidInput,
    @Ctx() ctx: Context,
  ): Promise<Bid> {
    const { holdMinutes } = ctx.app.config;
    // Capacity freed by a lapsed hold goes to the standing open bids before this one.
    const { bid, reservation } = await lapsedHoldsFirst(ctx.app.db, ctx.now, holdMinutes, (lapsedFirst) =>
      ctx.db.transaction(async (tx) => {
        const placed = await service.placeBid(
          tx,
          ctx.app.catalog,
          orgIdOf(ctx),
          input,
          ctx.now,
          holdMinutes,
          lapsedFirst,
        );
        const detail =
          `${placed.bid.status} ${input.gpuModel} x${placed.bid.gpuCount} for ${placed.bid.hours} h` +
          (placed.reservation
            ? `, reservation ${globalId("Reservation", placed.reservation.id)} on offer ${globalId("Offer", placed.reservation.offerId)}`
            : "");
        await recordAudit(tx, actorOf(ctx), { action: "PLACE_BID", targetId: placed.bid.id, detail });
        return placed;
      }),
    );
    if (bid.status === "MATCHED") ctx.app.meters.matched("placeBid", 1);
    // The bid's reservation is known: its field resolver needs no query.
    reservationOfBid(ctx).prime(bid.id, reservation);
    return toBid(bid);
  }

  @Authorized("SME")
  @Mutation(() => Bid, {
    description:
      "Cancels one of the caller's bids: an OPEN one, or a MATCHED one whose reservation is still HELD and not in checkout (its " +
      "GPUs are freed). Cancelling a CANCELLED bid returns it unchanged. Role: SME (the bid's owner). Errors: UNAUTHENTICATED, " +
      "FORBIDDEN, NOT_FOUND (unknown id or another SME's bid), CONFLICT (EXPIRED, or the reservation is paid or in checkout: " +
      "cancel the order instead), RATE_LIMITED",
  })
  async cancelBid(
    @Arg("id", () => ID, { description: 'The bid\'s opaque id, like "bid_45"' }) id: string,
    @Ctx() ctx: Context,
  ): Promise<Bid> {
    const bidId = parseId("id", id, "Bid");
    const result = await ctx.db.transaction(async (tx) => {
      const cancelled = await service.cancelBid(tx, orgIdOf(ctx), bidId, ctx.now);
      const detail = cancelled.freedGpuModelId != null ? "cancelled, held reservation freed" : "cancelled";
      await recordAudit(tx, actorOf(ctx), { action: "CANCEL_BID", targetId: bidId, detail });
      return cancelled;
    });
    if (result.freedGpuModelId != null)
      await ctx.app.afterCapacityFreed(ctx, [result.freedGpuModelId], [result.freedOfferId!]);
    return toBid(result.bid);
  }

  @Authorized("SME")
  @Query(() => Bid, {
    nullable: true,
    description:
      "One of the caller's bids; null for an unknown id or another SME's bid. Role: SME. Errors: UNAUTHENTICATED, FORBIDDEN",
  })
  async bid(
    @Arg("id", () => ID, { description: 'The bid\'s opaque id, like "bid_45"' }) id: string,
    @Ctx() ctx: Context,
  ): Promise<Bid | null> {
    const row = await service.ownBid(ctx.db, orgIdOf(ctx), parseId("id", id, "Bid"));
    return row ? toBid(row) : null;
  }

  @Authorized("SME")
  @Query(() => BidConnection, {
    description:
      "The caller's bids, newest first. Role: SME. Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (first, after)",
  })
  async myBids(
    @Ctx() ctx: Context,
    @Arg("status", () => BidStatus, { nullable: true, description: "Only bids in this status; omit for all" })
    status?: BidStatus | null,
    @Arg("first", () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER_DESCRIPTION }) after?: string,
  ) {
    const page = await service.smeBids(ctx.db, orgIdOf(ctx), status, pageSize(first), after, ctx.now);
    return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: toBid(e.node) })) };
  }

  @FieldResolver(() => GpuModel, { description: "The GPU model wanted" })
  gpuModel(@Root() bid: Bid, @Ctx() ctx: Context): GpuModel {
    return toGpuModel(ctx.app.catalog.model(bid.gpuModelId));
  }

  /** MATCHED with a lapsed hold is EXPIRED, whether or not the sweeper has written it yet. */
  @FieldResolver(() => BidStatus, { description: "Where the bid stands; MATCHED with a lapsed hold reads EXPIRED" })
  async status(@Root() bid: Bid, @Ctx() ctx: Context): Promise<BidStatus> {
    if (bid.status !== BidStatus.MATCHED) return bid.status;
    const reservation = await reservationOfBid(ctx).load(bid.rowId);
    return reservation && service.holdLapsed(reservation, ctx.now) ? BidStatus.EXPIRED : bid.status;
  }

  @FieldResolver(() => Reservation, {
    nullable: true,
    description: "The reservation the bid got, in whatever state it is now; null for a bid that was never matched",
  })
  async reservation(@Root() bid: Bid, @Ctx() ctx: Context): Promise<Reservation | null> {
    const row = await reservationOfBid(ctx).load(bid.rowId);
    return row ? toReservation(row) : null;
  }
}

@Resolver(() => Reservation)
export class ReservationsResolver {
  @Authorized("SME", "DATA_CENTER")
  @Query(() => Reservation, {
    nullable: true,
    description:
      "A reservation, seen by the SME that holds it and by the operator of the offer's data center; null for anyone else or an " +
      "unknown id. Role: SME, DATA_CENTER. Errors: UNAUTHENTICATED, FORBIDDEN",
  })
  async reservation(
    @Arg("id", () => ID, { description: 'The reservation\'s opaque id, like "reservation_12"' }) id: string,
    @Ctx() ctx: Context,
  ): Promise<Reservation | null> {
    const row = await reservationsService.visibleReservation(ctx.db, ctx.viewer!, parseId("id", id, "Reservation"));
    return row ? toReservation(row) : null;
  }

  @Authorized("DATA_CENTER")
  @Query(() => ReservationConnection, {
    description:
      "Reservations on one of the caller's offers, newest first, in every status. Role: DATA_CENTER (the offer's operator). " +
      "Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (unknown id or another operator's offer), BAD_USER_INPUT (first, after)",
  })
  async offerReservations(
    @Arg("offerId", () => ID, { description: 'The offer\'s opaque id, like "offer_123"' }) offerId: string,
    @Ctx() ctx: Context,
    @Arg("first", () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER_DESCRIPTION }) after?: string,
  ) {
    const id = parseId("offerId", offerId, "Offer");
    const page = await reservationsService.offerReservations(ctx.db, orgIdOf(ctx), id, pageSize(first), after);
    return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: toReservation(e.node) })) };
  }

  /** A HELD reservation whose hold has lapsed is EXPIRED, whether or not the sweeper has written it yet. */
  @FieldResolver(() => ReservationStatus, {
    description: "Where the reservation stands; HELD past holdExpiresAt reads EXPIRED",
  })
  status(@Root() reservation: Reservation, @Ctx() ctx: Context): ReservationStatus {
    return service.holdLapsed(reservation, ctx.now) ? ReservationStatus.EXPIRED : reservation.status;
  }

  @FieldResolver(() => Bid, {
    nullable: true,
    description: "The bid behind it; null for anyone but the SME that placed it",
  })
  async bid(@Root() reservation: Reservation, @Ctx() ctx: Context): Promise<Bid | null> {
    // A bid shows what its SME would pay at most: only that SME sees it.
    if (ctx.viewer?.role !== "SME" || ctx.viewer.organizationId !== reservation.smeId) return null;
    const row = await ctx.loaders.byId(bids).load(reservation.bidId);
    return row ? toBid(row) : null;
  }

  @FieldResolver(() => Offer, { description: "The offer the capacity is on" })
  async offer(@Root() reservation: Reservation, @Ctx() ctx: Context): Promise<Offer> {
    return toOffer((await ctx.loaders.byId(offers).load(reservation.offerId))!, ctx.app.catalog);
  }
}
