import { Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { Money } from "../graphql/money.type.js";
import { DataCenter } from "../offers/offers.types.js";
import { SubsidyProgram, toSubsidyProgram } from "../vouchers/vouchers.types.js";
import { statementId } from "../graphql/ids.js";
import { GlobalNode } from "../graphql/node.js";
import type { StatementData } from "./reports.service.js";

export enum SpendDimension {
  MONTH = "MONTH",
  PROGRAM = "PROGRAM",
  DATA_CENTER = "DATA_CENTER",
  HUB = "HUB",
  GPU_MODEL = "GPU_MODEL",
  SME = "SME",
}
registerEnumType(SpendDimension, {
  name: "SpendDimension",
  description: "What a spend report groups by; one SpendKey per dimension in each row",
  valuesConfig: {
    MONTH: { description: 'The UTC calendar month of payment; value like "2026-11"' },
    PROGRAM: { description: "The subsidy program; value its opaque id, label its name" },
    DATA_CENTER: { description: "The data center rented; value its opaque id, label its name" },
    HUB: { description: 'The national hub of the data center; value and label its name, like "Ningxia Zhongwei"' },
    GPU_MODEL: { description: 'The GPU model rented; value its opaque id, label its name, like "H800"' },
    SME: { description: "The SME that rented; value its opaque id, label its name" },
  },
});

export enum StatementStatus {
  OPEN = "OPEN",
  SETTLED = "SETTLED",
}
registerEnumType(StatementStatus, {
  name: "StatementStatus",
  description: "Whether a monthly statement still takes claims",
  valuesConfig: {
    OPEN: { description: "Still takes claims; not yet settled" },
    SETTLED: {
      description: "Settled by the finance team (settleCityStatement); later claims land in the next open statement",
    },
  },
});

@ObjectType({
  simpleResolvers: true,
  description: "One group key of a spend row: which program, month, data center, ... it counts",
})
export class SpendKey {
  @Field(() => SpendDimension, { description: "The dimension this key is of" })
  dimension!: SpendDimension;

  @Field({
    description:
      'The opaque id of the program, data center, GPU model or SME, like "dc_2"; for MONTH a month like "2026-11", for HUB the hub\'s name',
  })
  value!: string;

  @Field({ description: 'A readable name, like "Zhongwei Desert Cloud DC-1"; the value itself for MONTH and HUB' })
  label!: string;
}

@ObjectType({
  simpleResolvers: true,
  description: "The paid orders of one group (or of all, in totals) and their sums",
})
export class SpendRow {
  @Field(() => [SpendKey], { description: "One key per dimension of groupBy, in its order; none in totals" })
  keys!: SpendKey[];

  @Field(() => Int, { description: "How many paid orders" })
  orders!: number;

  @Field(() => Float, {
    description:
      "GPU-hours rented by them (gpuCount × hours, summed): a whole number, a Float because sums can pass the Int range",
  })
  gpuHours!: number;

  @Field(() => Money, { description: "Their rent: subsidy + smePaid" })
  gross!: Money;

  @Field(() => Money, { description: "Paid by the city's budget" })
  subsidy!: Money;

  @Field(() => Money, { description: "Paid by the SMEs" })
  smePaid!: Money;
}

@ObjectType({
  simpleResolvers: true,
  description: "Paid orders with a voucher, by payment time; refunded orders drop out",
})
export class SpendReport {
  @Field(() => [SpendRow], {
    description:
      "One row per group that has paid orders, sorted by the keys in groupBy's order; with an empty groupBy, one row equal to totals",
  })
  rows!: SpendRow[];

  @Field(() => SpendRow, { description: "The sum of rows, without keys" })
  totals!: SpendRow;
}

@ObjectType({ simpleResolvers: true, description: "Claims of one data center in a statement" })
export class StatementLine {
  @Field(() => DataCenter, { description: "The data center rented" })
  dataCenter!: DataCenter;

  @Field(() => Int, { description: "Paid orders billed, less refunds billed here (so it may be negative)" })
  orders!: number;

  @Field(() => Money, {
    description:
      "Subsidy claimed, less refunds and credits billed here (so it may be negative): only delivered hours are billed",
  })
  subsidy!: Money;

  @Field(() => Money, {
    description:
      "Of subsidy: the credits for GPU-hours the data center did not deliver (0 or negative); they do not change orders",
  })
  credits!: Money;

  dataCenterId!: number;
}

@ObjectType({ implements: GlobalNode, simpleResolvers: true, description: "A program's monthly bill to its city" })
export class CityStatement {
  @Field(() => ID, { description: "Opaque global id, like statement_12_2026-11: one per program and month" })
  id!: string;

  @Field(() => SubsidyProgram, { description: "The program billed" })
  program!: SubsidyProgram;

  @Field({
    description:
      'The UTC calendar month, like "2026-11". A paid order is billed in the month of payment and a refund in its own month, ' +
      "or in the next open statement when that month's is already settled",
  })
  month!: string;

  @Field(() => [StatementLine], { description: "One line per data center with claims in this statement" })
  lines!: StatementLine[];

  @Field(() => Money, { description: "The sum of the lines' subsidy: what the city owes for the month" })
  total!: Money;

  @Field(() => StatementStatus, { description: "OPEN until the finance team settles it" })
  status!: StatementStatus;

  @Field(() => Date, { nullable: true, description: "When it was settled (UTC); null while OPEN" })
  settledAt!: Date | null;
}

export function toStatement(data: StatementData): CityStatement {
  return Object.assign(new CityStatement(), {
    id: statementId(data.program.id, data.month),
    program: toSubsidyProgram(data.program),
    month: data.month,
    status: data.status as StatementStatus,
    settledAt: data.settledAt,
    total: Money.of(data.total),
    lines: data.lines.map((line) =>
      Object.assign(new StatementLine(), {
        dataCenterId: line.dataCenterId,
        orders: line.orders,
        subsidy: Money.of(line.subsidy),
        credits: Money.of(line.credits),
      }),
    ),
  });
}
