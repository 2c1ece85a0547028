import { Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { Money } from "../graphql/money.type.js";
import { DataCenter } from "../offers/offers.types.js";
import { SubsidyProgram } from "../vouchers/vouchers.types.js";
import { Node } from "../graphql/node.js";

export enum SpendDimension {
  MONTH = "MONTH",
  PROGRAM = "PROGRAM",
  DATA_CENTER = "DATA_CENTER",
  HUB = "HUB",
  GPU_MODEL = "GPU_MODEL",
  SME = "SME",
}
registerEnumType(SpendDimension, { name: "SpendDimension" });

export enum StatementStatus {
  OPEN = "OPEN",
  SETTLED = "SETTLED",
}
registerEnumType(StatementStatus, { name: "StatementStatus" });

@ObjectType({ simpleResolvers: true })
export class SpendKey {
  @Field(() => SpendDimension)
  dimension!: SpendDimension;

  @Field({ description: 'The id, or for MONTH "2026-11" and for HUB the hub\'s name' })
  value!: string;

  @Field({ description: "A readable name" })
  label!: string;
}

@ObjectType({ simpleResolvers: true })
export class SpendRow {
  @Field(() => [SpendKey], { description: "One key per dimension of groupBy, in its order; none in totals" })
  keys!: SpendKey[];

  @Field(() => Int)
  orders!: number;

  @Field(() => Float)
  gpuHours!: number;

  @Field(() => Money)
  gross!: Money;

  @Field(() => Money)
  subsidy!: Money;

  @Field(() => Money)
  smePaid!: Money;
}

@ObjectType({ simpleResolvers: true, description: "Paid orders with a voucher, by payment time; refunded orders drop out" })
export class SpendReport {
  @Field(() => [SpendRow])
  rows!: SpendRow[];

  @Field(() => SpendRow, { description: "The sum of rows" })
  totals!: SpendRow;
}

@ObjectType({ simpleResolvers: true, description: "Claims of one data center in a statement" })
export class StatementLine {
  @Field(() => DataCenter)
  dataCenter!: DataCenter;

  @Field(() => Int, { description: "Paid orders billed, net of refunds billed here" })
  orders!: number;

  @Field(() => Money, { description: "Subsidy claimed, net of refunds" })
  subsidy!: Money;

  dataCenterId!: number;
}

@ObjectType({ implements: Node, simpleResolvers: true, description: "A program's monthly bill to its city" })
export class CityStatement {
  @Field(() => ID, { description: "Opaque global id, like statement_12_2026-11: one per program and month" })
  id!: string;

  @Field(() => SubsidyProgram)
  program!: SubsidyProgram;

  @Field({ description: '"2026-11"' })
  month!: string;

  @Field(() => [StatementLine])
  lines!: StatementLine[];

  @Field(() => Money)
  total!: Money;

  @Field(() => StatementStatus)
  status!: StatementStatus;

  @Field(() => Date, { nullable: true })
  settledAt!: Date | null;
}
