import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { Money } from "../graphql/money.type.js";
import { connectionOf } from "../graphql/pagination.js";
import { Organization } from "../accounts/accounts.types.js";
import { Node } from "../graphql/node.js";

export enum OfferStatus {
  ACTIVE = "ACTIVE",
  PAUSED = "PAUSED",
  WITHDRAWN = "WITHDRAWN",
}
registerEnumType(OfferStatus, { name: "OfferStatus" });

export enum OfferSort {
  PRICE_ASC = "PRICE_ASC",
  PRICE_DESC = "PRICE_DESC",
  NEWEST = "NEWEST",
}
registerEnumType(OfferSort, { name: "OfferSort" });

@ObjectType({ implements: Node, simpleResolvers: true })
export class GpuModel {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'The name inputs use, like "H800"' })
  name!: string;

  @Field()
  vendor!: string;

  @Field(() => Int)
  memoryGb!: number;

  @Field({ description: "Made in China: some programs pay a higher rate for it" })
  domestic!: boolean;
}

@ObjectType({ implements: Node, simpleResolvers: true })
export class DataCenter {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field({ description: "One of the ten national computing hubs" })
  hub!: string;

  @Field()
  province!: string;

  @Field(() => Organization)
  operator!: Organization;

  /** The row key behind the global id. */
  rowId!: number;
  operatorId!: number;
  /** The operator, when the query that found the data center brought it along. */
  loadedOperator?: Organization;
}

@ObjectType({ implements: Node, simpleResolvers: true })
export class Offer {
  @Field(() => ID)
  id!: string;

  @Field(() => DataCenter)
  dataCenter!: DataCenter;

  @Field(() => GpuModel)
  gpuModel!: GpuModel;

  @Field(() => Int)
  gpuCount!: number;

  @Field(() => Money)
  pricePerGpuHour!: Money;

  @Field(() => Int)
  minHours!: number;

  @Field()
  availableFrom!: Date;

  @Field()
  availableUntil!: Date;

  @Field(() => OfferStatus)
  status!: OfferStatus;

  @Field()
  createdAt!: Date;

  dataCenterId!: number;
  gpuModelId!: number;
  row!: { id: number; gpuCount: number; availableFrom: Date; availableUntil: Date };
  /** The data center, when the query that found the offer brought it along. */
  loadedDataCenter?: DataCenter;
  /** The GPU model, when the resolver that found the offer looked it up already. */
  loadedGpuModel?: GpuModel;
}

export const OfferConnection = connectionOf("Offer", Offer);

@InputType()
export class OfferFilter {
  @Field(() => String, { nullable: true })
  gpuModel?: string | null;

  @Field(() => String, { nullable: true })
  hub?: string | null;

  @Field(() => String, { nullable: true })
  province?: string | null;

  @Field(() => ID, { nullable: true })
  dataCenterId?: string | null;

  @Field(() => String, { nullable: true, description: "Yuan, like \"20.00\"" })
  maxPricePerGpuHour?: string | null;

  @Field(() => Int, { nullable: true })
  minGpuCount?: number | null;

  @Field({ nullable: true, description: "With availableUntil: keep offers whose window covers [availableFrom, availableUntil)" })
  availableFrom?: Date;

  @Field({ nullable: true })
  availableUntil?: Date;
}

@InputType()
export class PublishOfferInput {
  @Field(() => ID)
  dataCenterId!: string;

  @Field()
  gpuModel!: string;

  @Field(() => Int)
  gpuCount!: number;

  @Field({ description: "Yuan per GPU-hour, like \"18.50\"" })
  pricePerGpuHour!: string;

  @Field()
  availableFrom!: Date;

  @Field()
  availableUntil!: Date;

  @Field(() => Int, { defaultValue: 1 })
  minHours!: number;
}

export enum UpdatableOfferStatus {
  ACTIVE = "ACTIVE",
  PAUSED = "PAUSED",
}
registerEnumType(UpdatableOfferStatus, { name: "UpdatableOfferStatus" });

@InputType()
export class UpdateOfferInput {
  @Field(() => String, { nullable: true })
  pricePerGpuHour?: string | null;

  @Field(() => Int, { nullable: true })
  gpuCount?: number | null;

  @Field({ nullable: true })
  availableUntil?: Date;

  @Field(() => UpdatableOfferStatus, { nullable: true })
  status?: UpdatableOfferStatus | null;
}

@InputType()
export class CreateDataCenterInput {
  @Field()
  name!: string;

  @Field()
  hub!: string;

  @Field()
  province!: string;

  @Field(() => ID)
  operatorId!: string;
}
