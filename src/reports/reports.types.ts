import { Extensions, Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { Money } from "../graphql/money.type.js";
import { DataCenter } from "../offers/offers.types.js";
import { SubsidyProgram, toSubsidyProgram } from "../vouchers/vouchers.types.js";
import { globalId, statementId } from "../graphql/ids.js";
import { GlobalNode } from "../graphql/node.js";
import type { StatementData } from "./reports.service.js";
import { basisPoints, type PolicyData } from "./policy.js";

export enum SpendDimension {
  MONTH = "MONTH",
  DAY = "DAY",
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
    MONTH: {
      description:
        'The calendar month of payment in the billing time zone (Asia/Shanghai by default); value like "2026-11"',
    },
    DAY: {
      description:
        'The calendar day of payment in the billing time zone (Asia/Shanghai by default); value like "2026-11-30"',
    },
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
  // Thousands of rows already in the answer's shape: projected in one pass (src/graphql/plain-data.ts).
  @Extensions({ plainData: true })
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

@ObjectType({
  simpleResolvers: true,
  description:
    "Where to download a statement as a file: paths on this server, to fetch with the same Authorization header as GraphQL",
})
export class StatementFiles {
  @Field({
    description:
      'CSV, UTF-8 with a byte order mark (Excel opens Chinese names correctly): one row per claim line and a TOTAL row, like "/exports/statements/program_1/2026-11.csv"',
  })
  csv!: string;

  @Field({
    description:
      "XLSX: a sheet of lines per data center and order and a sheet of totals; amounts are numbers in yuan with two decimals",
  })
  xlsx!: string;

  @Field({
    description:
      "PDF, in Chinese and English: the program, month, status, lines per data center, total, and when and by whom it was settled",
  })
  pdf!: string;
}

@ObjectType({ implements: GlobalNode, simpleResolvers: true, description: "A program's monthly bill to its city" })
export class CityStatement {
  @Field(() => ID, { description: "Opaque global id, like statement_12_2026-11: one per program and month" })
  id!: string;

  @Field(() => SubsidyProgram, { description: "The program billed" })
  program!: SubsidyProgram;

  @Field({
    description:
      'The calendar month in the billing time zone (Asia/Shanghai by default), like "2026-11". A paid order is billed in the month of payment and a refund in its own month, ' +
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

  @Field(() => StatementFiles, { description: "The statement as CSV, XLSX and PDF files to file with a payment order" })
  files!: StatementFiles;

  settledById!: number | null;
}

/** The download paths of a month's statement (served by src/exports). */
export function statementFiles(programId: number, month: string): { csv: string; xlsx: string; pdf: string } {
  const base = `/exports/statements/${globalId("SubsidyProgram", programId)}/${month}`;
  return { csv: `${base}.csv`, xlsx: `${base}.xlsx`, pdf: `${base}.pdf` };
}

export function toStatement(data: StatementData): CityStatement {
  return Object.assign(new CityStatement(), {
    id: statementId(data.program.id, data.month),
    program: toSubsidyProgram(data.program),
    month: data.month,
    status: data.status as StatementStatus,
    settledAt: data.settledAt,
    settledById: data.settledBy,
    files: Object.assign(new StatementFiles(), statementFiles(data.program.id, data.month)),
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

// ------------------------------------------------------------------ the policy report

export enum PolicyGranularity {
  DAY = "DAY",
  WEEK = "WEEK",
  MONTH = "MONTH",
}
registerEnumType(PolicyGranularity, {
  name: "PolicyGranularity",
  description: "The length of the periods of a policy report's utilization over time (days of the billing time zone)",
  valuesConfig: {
    DAY: { description: "One period per day" },
    WEEK: { description: "ISO weeks, Monday to Sunday; the first and last may be cut by from and to" },
    MONTH: { description: "Calendar months: from and to must then be first days of months, like 2026-01-01" },
  },
});

@ObjectType({ simpleResolvers: true, description: "A hub's capacity in one period of a policy report" })
export class HubPeriod {
  @Field({ description: 'The period\'s first day inside the report, like "2026-11-01"' })
  start!: string;

  @Field(() => Float, {
    description:
      "GPU-hours offered: every ACTIVE or PAUSED offer's gpuCount × its hours in the period; a whole number, a Float because sums can pass the Int range",
  })
  offeredGpuHours!: number;

  @Field(() => Float, {
    description: "GPU-hours rented and paid for: every CONFIRMED reservation's gpuCount × its hours in the period",
  })
  reservedGpuHours!: number;

  @Field(() => Float, {
    nullable: true,
    description: "reservedGpuHours / offeredGpuHours, from 0 to 1; null when nothing was offered",
  })
  utilization!: number | null;
}

@ObjectType({ simpleResolvers: true, description: "One national hub's capacity over a policy report's period" })
export class HubUtilization {
  @Field({ description: 'The hub, like "Ningxia Zhongwei"' })
  hub!: string;

  @Field({
    description:
      "A western hub of East Data, West Computing: Ningxia Zhongwei, Gansu Qingyang, Inner Mongolia Horinger, Guizhou Gui'an, Chengdu Tianfu or Chongqing",
  })
  western!: boolean;

  @Field(() => Float, { description: "GPU-hours offered over the whole period" })
  offeredGpuHours!: number;

  @Field(() => Float, { description: "GPU-hours rented and paid for over the whole period" })
  reservedGpuHours!: number;

  @Field(() => Float, {
    nullable: true,
    description: "reservedGpuHours / offeredGpuHours over the whole period; null when nothing was offered",
  })
  utilization!: number | null;

  @Field(() => [HubPeriod], {
    description: "The same figures per period of the granularity, oldest first, every period listed",
  })
  periods!: HubPeriod[];
}

@ObjectType({
  simpleResolvers: true,
  description:
    "The figures of the voucher policy over [from, to) (days of the billing time zone): whether subsidized rentals go to the " +
    "western hubs and to domestic chips, how much subsidy a GPU-hour costs, how widely it is spread, and how used each hub is " +
    "over time. Definitions in docs/domain.md",
})
export class PolicyReport {
  @Field(() => String, {
    nullable: true,
    description: "The city whose programs' subsidies are counted; null = every city",
  })
  city!: string | null;

  @Field({ description: 'The first day, like "2026-01-01"' })
  from!: string;

  @Field({ description: 'The day after the last, like "2027-01-01"' })
  to!: string;

  @Field(() => PolicyGranularity, { description: "The length of the hubs' periods" })
  granularity!: PolicyGranularity;

  @Field(() => Float, {
    description:
      "GPU-hours of the paid orders with a program paid in the period (refunded orders drop out, as in subsidySpend); a whole number",
  })
  subsidizedGpuHours!: number;

  @Field(() => Float, { description: "Of subsidizedGpuHours, those in the western hubs" })
  westernGpuHours!: number;

  @Field(() => Float, { description: "Of subsidizedGpuHours, those in the other (eastern) hubs" })
  easternGpuHours!: number;

  @Field(() => Int, {
    nullable: true,
    description:
      "westernGpuHours / subsidizedGpuHours in basis points, rounded down (6000 = 60 %); null without GPU-hours",
  })
  westernShareBasisPoints!: number | null;

  @Field(() => Float, { description: "Of subsidizedGpuHours, those on domestic GPU models (Ascend, Hygon, Cambricon)" })
  domesticGpuHours!: number;

  @Field(() => Int, {
    nullable: true,
    description: "domesticGpuHours / subsidizedGpuHours in basis points, rounded down; null without GPU-hours",
  })
  domesticShareBasisPoints!: number | null;

  @Field(() => Money, { description: "The subsidy of those orders" })
  subsidy!: Money;

  @Field(() => Money, {
    nullable: true,
    description: "subsidy / subsidizedGpuHours, rounded down to the fen; null without GPU-hours",
  })
  subsidyPerGpuHour!: Money | null;

  @Field(() => Int, { description: "Distinct SMEs (of any applicant category) with at least one of those orders" })
  smesServed!: number;

  @Field(() => Money, { description: "The subsidy of the 10 SMEs that got the most (all of it with 10 SMEs or fewer)" })
  top10Subsidy!: Money;

  @Field(() => Int, {
    nullable: true,
    description:
      "top10Subsidy / subsidy in basis points, rounded down: the concentration of the subsidy; null without subsidy",
  })
  top10ShareBasisPoints!: number | null;

  @Field(() => [HubUtilization], {
    description:
      "Every national hub's offered and rented GPU-hours, whole period and per period: the whole market's capacity, the same for every city",
  })
  hubs!: HubUtilization[];
}

const ratio = (part: bigint, whole: bigint): number | null => (whole === 0n ? null : Number(part) / Number(whole));

export function toPolicyReport(data: PolicyData): PolicyReport {
  const s = data.subsidy;
  return Object.assign(new PolicyReport(), {
    city: data.city,
    from: data.from,
    to: data.to,
    granularity: data.granularity as PolicyGranularity,
    subsidizedGpuHours: Number(s.gpuHours),
    westernGpuHours: Number(s.westernGpuHours),
    easternGpuHours: Number(s.gpuHours - s.westernGpuHours),
    westernShareBasisPoints: basisPoints(s.westernGpuHours, s.gpuHours),
    domesticGpuHours: Number(s.domesticGpuHours),
    domesticShareBasisPoints: basisPoints(s.domesticGpuHours, s.gpuHours),
    subsidy: Money.of(s.subsidy),
    subsidyPerGpuHour: s.gpuHours === 0n ? null : Money.of(s.subsidy / s.gpuHours),
    smesServed: s.smes,
    top10Subsidy: Money.of(s.top10Subsidy),
    top10ShareBasisPoints: basisPoints(s.top10Subsidy, s.subsidy),
    hubs: data.hubs.map((hub) =>
      Object.assign(new HubUtilization(), {
        hub: hub.hub,
        western: hub.western,
        offeredGpuHours: Number(hub.offered),
        reservedGpuHours: Number(hub.reserved),
        utilization: ratio(hub.reserved, hub.offered),
        periods: hub.periods.map((p) =>
          Object.assign(new HubPeriod(), {
            start: p.start,
            offeredGpuHours: Number(p.offered),
            reservedGpuHours: Number(p.reserved),
            utilization: ratio(p.reserved, p.offered),
          }),
        ),
      }),
    ),
  });
}
