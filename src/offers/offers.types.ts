import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { Money } from "../graphql/money.type.js";
import { connectionOf } from "../graphql/pagination.js";
import { Organization } from "../accounts/accounts.types.js";
import { HUB_NAMES } from "../db/reference.js";
import { globalId } from "../graphql/ids.js";
import { GlobalNode } from "../graphql/node.js";
import type { Catalog, GpuModelRow } from "./catalog.js";
import type { ListedOffer, ShownDataCenter } from "./offers.service.js";

/** The hubs as descriptions list them. */
const HUB_LIST = [...HUB_NAMES].join(", ");

export enum OfferStatus {
  ACTIVE = "ACTIVE",
  PAUSED = "PAUSED",
  WITHDRAWN = "WITHDRAWN",
}
registerEnumType(OfferStatus, {
  name: "OfferStatus",
  description: "Whether an offer takes new bids",
  valuesConfig: {
    ACTIVE: { description: "Listed in searches and matched to bids" },
    PAUSED: {
      description: "Not listed nor matched for now; its reservations stand. updateOffer makes it ACTIVE again",
    },
    WITHDRAWN: {
      description: "Taken off the market for good; only an offer without live reservations can be withdrawn",
    },
  },
});

export enum OfferSort {
  PRICE_ASC = "PRICE_ASC",
  PRICE_DESC = "PRICE_DESC",
  NEWEST = "NEWEST",
}
registerEnumType(OfferSort, {
  name: "OfferSort",
  description: "The order of offers in a search",
  valuesConfig: {
    PRICE_ASC: { description: "Cheapest price per GPU-hour first; equal prices oldest offer first" },
    PRICE_DESC: { description: "Dearest price per GPU-hour first; equal prices newest offer first" },
    NEWEST: { description: "Most recently published first" },
  },
});

@ObjectType({
  implements: GlobalNode,
  simpleResolvers: true,
  description: "A GPU model of the catalog, the same in every database",
})
export class GpuModel {
  @Field(() => ID, { description: 'Opaque id, like "gpu_1"; inputs name a model by its name instead' })
  id!: string;

  @Field({ description: 'The name inputs use, like "H800" or "Ascend 910B"' })
  name!: string;

  @Field({ description: 'The maker, like "NVIDIA" or "Huawei"' })
  vendor!: string;

  @Field(() => Int, { description: "Memory per GPU in GB, like 80" })
  memoryGb!: number;

  @Field({ description: "Made in China: some programs pay a higher rate for it (domesticRateBasisPoints)" })
  domestic!: boolean;
}

/** The catalog's models as GraphQL objects, made once each: reference data, never changed by a request. */
const gpuModelObjects = new WeakMap<GpuModelRow, GpuModel>();

export function toGpuModel(row: GpuModelRow): GpuModel {
  let model = gpuModelObjects.get(row);
  if (!model)
    gpuModelObjects.set(row, (model = Object.assign(new GpuModel(), row, { id: globalId("GpuModel", row.id) })));
  return model;
}

@ObjectType({
  implements: GlobalNode,
  simpleResolvers: true,
  description: "A data center in one of the national computing hubs, run by a data center operator",
})
export class DataCenter {
  @Field(() => ID, { description: 'Opaque id, like "dc_2"' })
  id!: string;

  @Field({ description: 'Its name, like "Zhongwei Desert Cloud DC-1"' })
  name!: string;

  @Field({ description: `One of the ten national computing hubs: ${HUB_LIST}` })
  hub!: string;

  @Field({ description: 'The province, like "Ningxia"' })
  province!: string;

  /** Resolved by DataCentersResolver.operator: this value when set, else loaded. */
  @Field(() => Organization, { description: "The data center operator that runs it and publishes its offers" })
  operator?: Organization;

  /** The row key behind the global id. */
  rowId!: number;
  operatorId!: number;
}

export function toDataCenter(row: ShownDataCenter): DataCenter {
  return Object.assign(new DataCenter(), row, { id: globalId("DataCenter", row.id), rowId: row.id });
}

@ObjectType({
  implements: GlobalNode,
  simpleResolvers: true,
  description:
    "GPUs a data center offers for rent: gpuCount GPUs of one model, a price per GPU-hour, a window of whole UTC hours",
})
export class Offer {
  @Field(() => ID, { description: 'Opaque id, like "offer_123"' })
  id!: string;

  /** Resolved by OffersResolver.dataCenter: this value when set, else loaded. */
  @Field(() => DataCenter, { description: "The data center whose GPUs these are" })
  dataCenter?: DataCenter;

  @Field(() => GpuModel, { description: "The GPU model" })
  gpuModel!: GpuModel;

  @Field(() => Int, {
    description: "How many GPUs are offered in every hour of the window (reserved ones included; see freeGpus)",
  })
  gpuCount!: number;

  @Field(() => Money, { description: "The rent per GPU per hour, before any subsidy" })
  pricePerGpuHour!: Money;

  @Field(() => Int, {
    description: "The shortest rental it takes, in hours: a bid for fewer hours is not matched to it",
  })
  minHours!: number;

  @Field({ description: "The start of the window, a whole UTC hour" })
  availableFrom!: Date;

  @Field({ description: "The end of the window (exclusive), a whole UTC hour" })
  availableUntil!: Date;

  @Field(() => OfferStatus, { description: "Whether it takes new bids" })
  status!: OfferStatus;

  @Field({ description: "When it was published (UTC)" })
  createdAt!: Date;

  dataCenterId!: number;
  gpuModelId!: number;
  row!: { id: number; gpuCount: number; availableFrom: Date; availableUntil: Date };
}

/** The model comes from the catalog in memory, so it is a plain property: no resolver runs for it. */
export function toOffer(row: ListedOffer, catalog: Catalog): Offer {
  return Object.assign(new Offer(), row, {
    id: globalId("Offer", row.id),
    gpuModel: toGpuModel(catalog.model(row.gpuModelId)),
    pricePerGpuHour: Money.of(row.pricePerGpuHour),
    status: row.status as OfferStatus,
    row,
  });
}

export const OfferConnection = connectionOf("Offer", Offer);

@InputType({
  description:
    "The filter of offers: which offers a search keeps; every condition given must hold, an omitted one keeps all",
})
export class OfferFilter {
  @Field(() => String, {
    nullable: true,
    description: 'A GPU model name listed by gpuModels, like "H800"; another is BAD_USER_INPUT',
  })
  gpuModel?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'One of the ten national hubs spelled exactly, like "Ningxia Zhongwei"; another is BAD_USER_INPUT',
  })
  hub?: string | null;

  @Field(() => String, { nullable: true, description: 'A province spelled as data centers list it, like "Ningxia"' })
  province?: string | null;

  @Field(() => ID, { nullable: true, description: 'One data center, an opaque id like "dc_2"' })
  dataCenterId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'At most this price per GPU-hour: yuan with at most two decimals, like "20.00"',
  })
  maxPricePerGpuHour?: string | null;

  @Field(() => Int, {
    nullable: true,
    description: "At least this many GPUs offered (reserved ones included), 1 to 100000",
  })
  minGpuCount?: number | null;

  @Field({
    nullable: true,
    description:
      "Keep offers available at this instant (availableFrom <= it < availableUntil); with availableUntil too, offers whose " +
      'window covers all of [availableFrom, availableUntil). Like "2027-06-01T00:00:00Z"',
  })
  availableFrom?: Date;

  @Field({
    nullable: true,
    description:
      'Keep offers whose window reaches this instant (availableFrom < it <= availableUntil); after availableFrom when both are given. Like "2027-06-08T00:00:00Z"',
  })
  availableUntil?: Date;
}

@InputType({
  description:
    "The operator's declaration of an offer's hardware: serial numbers, an attestation reference, or both, and the GPUs it covers",
})
export class HardwareAttestationInput {
  @Field(() => [String], {
    nullable: true,
    description:
      'The GPUs\' serial numbers, one per GPU covered, 1 to 100 printable characters each without spaces, no repeats, like ["1652823056789"]',
  })
  serialNumbers?: string[] | null;

  @Field(() => String, {
    nullable: true,
    description:
      'A reference to an attestation of the hardware, 1 to 500 characters, like a certificate or audit report number "CAICT-2027-00123"',
  })
  attestationReference?: string | null;

  @Field(() => Int, {
    description:
      "How many GPUs the declaration covers, 1 to 100000; the offer counts as attested when it covers all its gpuCount",
  })
  gpuCount!: number;
}

@ObjectType({ simpleResolvers: true, description: "The operator's declaration of an offer's hardware" })
export class HardwareAttestation {
  @Field(() => Int, { description: "How many GPUs it covers" })
  gpuCount!: number;

  @Field(() => String, { nullable: true, description: "The attestation reference; null when none was given" })
  attestationReference!: string | null;

  @Field(() => Int, { description: "How many serial numbers were declared (0 with a reference alone)" })
  serialNumberCount!: number;

  @Field(() => [String], {
    nullable: true,
    description:
      "The serial numbers, for the offer's operator, the admin and city finance teams (who audit subsidies); null for anyone else",
  })
  serialNumbers!: string[] | null;

  @Field({
    description:
      "When it was declared (UTC); the audit trail (DECLARE_OFFER_HARDWARE) keeps every declaration and who made it",
  })
  declaredAt!: Date;
}

@InputType({ description: "The input of publishOffer: a new offer" })
export class PublishOfferInput {
  @Field(() => ID, { description: 'One of the caller\'s data centers, an opaque id like "dc_2"' })
  dataCenterId!: string;

  @Field({ description: 'A GPU model name listed by gpuModels, like "H800"' })
  gpuModel!: string;

  @Field(() => Int, { description: "How many GPUs in every hour of the window, 1 to 100000" })
  gpuCount!: number;

  @Field({
    description:
      'The rent per GPU per hour: yuan with at most two decimals, more than 0 and at most "100000.00", like "18.50"',
  })
  pricePerGpuHour!: string;

  @Field({ description: 'The start of the window, a whole UTC hour, like "2027-01-04T00:00:00Z"' })
  availableFrom!: Date;

  @Field({
    description:
      'The end of the window (exclusive), a whole UTC hour after availableFrom and in the future, at most 8784 hours (366 days) on; like "2027-01-11T00:00:00Z"',
  })
  availableUntil!: Date;

  @Field(() => Int, {
    defaultValue: 1,
    description: "The shortest rental it takes, in hours: at least 1 and no longer than the window",
  })
  minHours!: number;

  @Field(() => HardwareAttestationInput, {
    nullable: true,
    description:
      "The declaration of its hardware; programs that require one (requiresHardwareAttestation) subsidize only offers whose declaration covers all their GPUs",
  })
  hardware?: HardwareAttestationInput | null;
}

export enum UpdatableOfferStatus {
  ACTIVE = "ACTIVE",
  PAUSED = "PAUSED",
}
registerEnumType(UpdatableOfferStatus, {
  name: "UpdatableOfferStatus",
  description: "The statuses updateOffer may set (withdrawOffer withdraws)",
  valuesConfig: {
    ACTIVE: { description: "Listed and matched again" },
    PAUSED: { description: "Not listed nor matched; its reservations stand" },
  },
});

@InputType({ description: "The input of updateOffer: the changes to an offer; an omitted field stays as it is" })
export class UpdateOfferInput {
  @Field(() => String, {
    nullable: true,
    description:
      'A new price per GPU-hour in yuan, like "17.00", for new reservations only: existing ones keep their price',
  })
  pricePerGpuHour?: string | null;

  @Field(() => Int, {
    nullable: true,
    description: "A new GPU count, 1 to 100000; not below what some hour has reserved (CONFLICT)",
  })
  gpuCount?: number | null;

  @Field({
    nullable: true,
    description:
      "A new end of the window, a whole UTC hour in the future; not before a live reservation ends (CONFLICT)",
  })
  availableUntil?: Date;

  @Field(() => UpdatableOfferStatus, { nullable: true, description: "Pause or resume the offer" })
  status?: UpdatableOfferStatus | null;
}

@InputType({ description: "The input of updateOffers: one change for many offers; an omitted field stays as it is" })
export class UpdateOffersInput {
  @Field(() => String, {
    nullable: true,
    description:
      'A new price per GPU-hour in yuan, like "17.00", for new reservations only: existing ones keep their price',
  })
  pricePerGpuHour?: string | null;

  @Field(() => UpdatableOfferStatus, { nullable: true, description: "Pause or resume the offers" })
  status?: UpdatableOfferStatus | null;
}

@InputType({ description: "The input of createDataCenter: a new data center" })
export class CreateDataCenterInput {
  @Field({ description: 'Its name, 1 to 200 characters, like "Horinger DC-2"' })
  name!: string;

  @Field({ description: `One of the ten national hubs, spelled exactly: ${HUB_LIST}` })
  hub!: string;

  @Field({ description: 'The province, 1 to 100 characters, like "Inner Mongolia"' })
  province!: string;

  @Field(() => ID, { description: 'The organization that runs it, a DATA_CENTER_OPERATOR, an opaque id like "org_3"' })
  operatorId!: string;
}
