import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { Money } from "../graphql/money.type.js";
import { connectionOf } from "../graphql/pagination.js";
import { GpuModel, Offer } from "../offers/offers.types.js";
import { Node } from "../graphql/node.js";

export enum BidStatus {
  OPEN = "OPEN",
  MATCHED = "MATCHED",
  CANCELLED = "CANCELLED",
  EXPIRED = "EXPIRED",
}
registerEnumType(BidStatus, {
  name: "BidStatus",
  valuesConfig: {
    OPEN: { description: "Waiting for capacity; matched as soon as some appears" },
    MATCHED: { description: "Holds a reservation" },
    EXPIRED: { description: "Its hold lapsed, or it can no longer start in time" },
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
  valuesConfig: {
    HELD: { description: "Capacity held for checkout until holdExpiresAt" },
    CONFIRMED: { description: "Paid" },
  },
});

@ObjectType({ implements: Node, simpleResolvers: true })
export class Bid {
  @Field(() => ID)
  id!: string;

  @Field(() => GpuModel)
  gpuModel!: GpuModel;

  @Field(() => Int)
  gpuCount!: number;

  @Field(() => Int, { description: "One contiguous block of this many hours" })
  hours!: number;

  @Field()
  earliestStart!: Date;

  @Field()
  latestEnd!: Date;

  @Field(() => Money)
  maxPricePerGpuHour!: Money;

  @Field(() => [String], { description: "Acceptable hubs; empty means any hub" })
  hubs!: string[];

  @Field(() => BidStatus)
  status!: BidStatus;

  @Field(() => Reservation, { nullable: true, description: "The reservation the bid got, in whatever state it is now" })
  reservation?: Reservation | null;

  @Field()
  createdAt!: Date;

  /** The row key behind the global id. */
  rowId!: number;
  gpuModelId!: number;
}

@ObjectType({ implements: Node, simpleResolvers: true })
export class Reservation {
  @Field(() => ID)
  id!: string;

  @Field(() => Bid, { nullable: true, description: "The bid behind it; null for anyone but the SME that placed it" })
  bid?: Bid | null;

  @Field(() => Offer)
  offer!: Offer;

  @Field(() => Int)
  gpuCount!: number;

  @Field()
  startsAt!: Date;

  @Field()
  endsAt!: Date;

  @Field(() => Money, { description: "The offer's price when the reservation was made" })
  pricePerGpuHour!: Money;

  @Field(() => Money, { description: "gpuCount × hours × pricePerGpuHour" })
  total!: Money;

  @Field(() => ReservationStatus)
  status!: ReservationStatus;

  @Field({ description: "A HELD reservation frees its capacity at this time unless checked out" })
  holdExpiresAt!: Date;

  bidId!: number;
  offerId!: number;
  smeId!: number;
}

export const BidConnection = connectionOf("Bid", Bid);
export const ReservationConnection = connectionOf("Reservation", Reservation);

@InputType()
export class PlaceBidInput {
  @Field({ description: 'A name listed by gpuModels, like "H800"' })
  gpuModel!: string;

  @Field(() => Int)
  gpuCount!: number;

  @Field(() => Int, { description: "One contiguous block of this many whole hours" })
  hours!: number;

  @Field({ description: "A whole UTC hour" })
  earliestStart!: Date;

  @Field({ description: "A whole UTC hour, at least earliestStart + hours" })
  latestEnd!: Date;

  @Field({ description: 'Yuan per GPU-hour, like "20.00"' })
  maxPricePerGpuHour!: string;

  @Field(() => [String], { nullable: true, description: "Acceptable hubs; omitted or empty means any hub" })
  hubs?: string[] | null;
}
