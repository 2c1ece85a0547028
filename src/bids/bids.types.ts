import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { Money } from "../graphql/money.type.js";
import { connectionOf } from "../graphql/pagination.js";
import { GpuModel, Offer } from "../offers/offers.types.js";
import { globalId } from "../graphql/ids.js";
import { GlobalNode } from "../graphql/node.js";
import { hoursBetween } from "../time.js";
import type { BidRow } from "./bids.service.js";
import type { ReservationRow } from "./reservations.service.js";

export enum BidStatus {
  OPEN = "OPEN",
  MATCHED = "MATCHED",
  CANCELLED = "CANCELLED",
  EXPIRED = "EXPIRED",
}
registerEnumType(BidStatus, {
  name: "BidStatus",
  description: "Where a bid stands: OPEN, then MATCHED, CANCELLED or EXPIRED",
  valuesConfig: {
    OPEN: {
      description:
        "Waiting for capacity; matched as soon as some appears (open bids are served highest maxPricePerGpuHour first, then oldest)",
    },
    MATCHED: { description: "Holds a reservation, HELD until checkout and CONFIRMED once paid" },
    CANCELLED: {
      description: "Cancelled by its SME (cancelBid), or its order was cancelled, refunded or failed to pay; final",
    },
    EXPIRED: {
      description: "Its hold lapsed unpaid, or it can no longer start in time (latestEnd - hours has passed); final",
    },
  },
});

export enum ReservationStatus {
  HELD = "HELD",
  CONFIRMED = "CONFIRMED",
  EXPIRED = "EXPIRED",
  CANCELLED = "CANCELLED",
}
registerEnumType(ReservationStatus, {
  name: "ReservationStatus",
  description: "Where a reservation stands: HELD, then CONFIRMED, EXPIRED or CANCELLED",
  valuesConfig: {
    HELD: {
      description: "Capacity held for checkout until holdExpiresAt (HOLD_MINUTES after matching, 15 by default)",
    },
    CONFIRMED: { description: "Paid: the GPUs are the SME's for [startsAt, endsAt)" },
    EXPIRED: { description: "The hold lapsed before checkout; the capacity is free again" },
    CANCELLED: {
      description:
        "Its bid was cancelled, or its order was cancelled, refunded or failed to pay; the capacity is free again",
    },
  },
});

@ObjectType({
  implements: GlobalNode,
  simpleResolvers: true,
  description:
    "An SME's request for GPU time: gpuCount GPUs of one model for one contiguous block of hours, at most at a price, served by one offer",
})
export class Bid {
  @Field(() => ID, { description: 'Opaque id, like "bid_45"' })
  id!: string;

  @Field(() => GpuModel, { description: "The GPU model wanted" })
  gpuModel!: GpuModel;

  @Field(() => Int, { description: "How many GPUs, all in one data center" })
  gpuCount!: number;

  @Field(() => Int, { description: "One contiguous block of this many hours" })
  hours!: number;

  @Field({ description: "The earliest start, a whole UTC hour" })
  earliestStart!: Date;

  @Field({ description: "The latest end, a whole UTC hour: the block of hours fits in [earliestStart, latestEnd)" })
  latestEnd!: Date;

  @Field(() => Money, { description: "The most the SME pays per GPU-hour, before any subsidy" })
  maxPricePerGpuHour!: Money;

  @Field(() => [String], { description: 'Acceptable hubs, like ["Ningxia Zhongwei"]; empty means any hub' })
  hubs!: string[];

  @Field(() => BidStatus, { description: "Where the bid stands" })
  status!: BidStatus;

  @Field(() => Reservation, {
    nullable: true,
    description: "The reservation the bid got, in whatever state it is now; null for a bid that was never matched",
  })
  reservation?: Reservation | null;

  @Field({ description: "When the bid was placed (UTC)" })
  createdAt!: Date;

  /** The row key behind the global id. */
  rowId!: number;
  gpuModelId!: number;
}

export function toBid(row: BidRow): Bid {
  return Object.assign(new Bid(), {
    ...row,
    id: globalId("Bid", row.id),
    rowId: row.id,
    maxPricePerGpuHour: Money.of(row.maxPricePerGpuHour),
    hubs: row.hubs ?? [],
    status: row.status as BidStatus,
  });
}

@ObjectType({
  implements: GlobalNode,
  simpleResolvers: true,
  description: "The capacity one bid holds on one offer: gpuCount GPUs over [startsAt, endsAt), at the offer's price",
})
export class Reservation {
  @Field(() => ID, { description: 'Opaque id, like "reservation_12"' })
  id!: string;

  @Field(() => Bid, { nullable: true, description: "The bid behind it; null for anyone but the SME that placed it" })
  bid?: Bid | null;

  @Field(() => Offer, { description: "The offer the capacity is on" })
  offer!: Offer;

  @Field(() => Int, { description: "How many GPUs" })
  gpuCount!: number;

  @Field({ description: "The first hour, a whole UTC hour" })
  startsAt!: Date;

  @Field({ description: "The end (exclusive), a whole UTC hour" })
  endsAt!: Date;

  @Field(() => Money, { description: "The offer's price when the reservation was made" })
  pricePerGpuHour!: Money;

  @Field(() => Money, { description: "The gross rent: gpuCount × hours × pricePerGpuHour, before any subsidy" })
  total!: Money;

  @Field(() => ReservationStatus, { description: "Where the reservation stands" })
  status!: ReservationStatus;

  @Field({
    description:
      "A HELD reservation frees its capacity at this time (UTC) unless checked out; meaningless once it is not HELD",
  })
  holdExpiresAt!: Date;

  bidId!: number;
  offerId!: number;
  smeId!: number;
}

export function toReservation(row: ReservationRow): Reservation {
  const gpuHours = BigInt(row.gpuCount) * BigInt(hoursBetween(row.startsAt, row.endsAt));
  return Object.assign(new Reservation(), {
    ...row,
    id: globalId("Reservation", row.id),
    pricePerGpuHour: Money.of(row.pricePerGpuHour),
    total: Money.of(gpuHours * row.pricePerGpuHour),
    status: row.status as ReservationStatus,
  });
}

export const BidConnection = connectionOf("Bid", Bid);
export const ReservationConnection = connectionOf("Reservation", Reservation);

@InputType({
  description:
    "The input of placeBid: what to rent, when, where, and the most to pay; every field is checked before anything is written",
})
export class PlaceBidInput {
  @Field({ description: 'A GPU model name listed by gpuModels, like "H800"' })
  gpuModel!: string;

  @Field(() => Int, { description: "How many GPUs, 1 to 100000, all in one data center" })
  gpuCount!: number;

  @Field(() => Int, { description: "One contiguous block of this many whole hours, 1 to 8784" })
  hours!: number;

  @Field({ description: 'The earliest start, a whole UTC hour, like "2027-06-01T00:00:00Z"' })
  earliestStart!: Date;

  @Field({
    description:
      'The latest end, a whole UTC hour at least earliestStart + hours, like "2027-06-08T00:00:00Z"; latestEnd - hours must not have passed',
  })
  latestEnd!: Date;

  @Field({
    description:
      'The most to pay per GPU-hour before subsidy: yuan with at most two decimals, more than 0 and at most "100000.00", like "30.00"',
  })
  maxPricePerGpuHour!: string;

  @Field(() => [String], {
    nullable: true,
    description:
      'Acceptable hubs, each one of the ten national hubs spelled exactly, like ["Ningxia Zhongwei", "Gansu Qingyang"]; omitted or empty means any hub',
  })
  hubs?: string[] | null;
}
