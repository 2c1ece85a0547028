import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { Money, moneyOrNull } from "../graphql/money.type.js";
import { ApplicantCategory, Organization } from "../accounts/accounts.types.js";
import { HUB_NAMES } from "../db/reference.js";
import { globalId } from "../graphql/ids.js";
import { GlobalNode } from "../graphql/node.js";
import type { ApplicationRow, VoucherRow } from "./applications.service.js";
import type { ProgramRow } from "./programs.service.js";
import type { BudgetForecast as BudgetForecastData } from "./forecast.js";

export enum ProgramStatus {
  ACTIVE = "ACTIVE",
  SUSPENDED = "SUSPENDED",
  CLOSED = "CLOSED",
}
registerEnumType(ProgramStatus, {
  name: "ProgramStatus",
  description: "Only an ACTIVE program pays subsidies; CLOSED is final",
  valuesConfig: {
    ACTIVE: { description: "Pays subsidies and takes applications (within its validity)" },
    SUSPENDED: { description: "Paused by its finance team: no new subsidies nor applications until resumed" },
    CLOSED: { description: "Closed for good: no new subsidies, applications or grants" },
  },
});

export enum ApplicationStatus {
  PENDING = "PENDING",
  APPROVED = "APPROVED",
  REJECTED = "REJECTED",
}
registerEnumType(ApplicationStatus, {
  name: "ApplicationStatus",
  description: "Where a voucher application stands; a decision is final",
  valuesConfig: {
    PENDING: { description: "Waiting for the program's finance team" },
    APPROVED: { description: "Granted: its voucher is ready to use" },
    REJECTED: { description: "Refused, with a decisionReason" },
  },
});

export enum VoucherStatus {
  ACTIVE = "ACTIVE",
  EXPIRED = "EXPIRED",
  REVOKED = "REVOKED",
}
registerEnumType(VoucherStatus, {
  name: "VoucherStatus",
  description: "Whether a voucher can pay; EXPIRED once validUntil has passed",
  valuesConfig: {
    ACTIVE: { description: "Can pay subsidies until validUntil, up to remaining" },
    EXPIRED: { description: "validUntil has passed" },
    REVOKED: { description: "Revoked by the city: it can no longer pay" },
  },
});

@ObjectType({
  implements: GlobalNode,
  simpleResolvers: true,
  description: "A program's budget: total = available + pending + spent",
})
export class BudgetStatus {
  @Field(() => ID, { description: "Opaque global id, like budget_12: one per program" })
  id!: string;

  @Field(() => Money, { description: "The program's whole budget" })
  total!: Money;

  @Field(() => Money, { description: "Not yet committed to any order" })
  available!: Money;

  @Field(() => Money, { description: "Held by orders awaiting payment (PENDING_PAYMENT)" })
  pending!: Money;

  @Field(() => Money, { description: "Paid out on paid orders (the sum of their subsidies)" })
  spent!: Money;
}

@ObjectType({
  simpleResolvers: true,
  description:
    "Where a program's budget is heading: the budget committed per day over the last 30 days, carried forward " +
    "(exact integer arithmetic; a month is 30 days), and the warning thresholds of the used share crossed",
})
export class BudgetForecast {
  @Field(() => Money, {
    description:
      "Budget committed over the 30 days before now: subsidies reserved at checkout less those voided or refunded then; may be negative",
  })
  committedLast30Days!: Money;

  @Field(() => Money, { description: "committedLast30Days / 30, rounded down to the fen; 0 when not positive" })
  committedPerDay!: Money;

  @Field(() => Date, {
    nullable: true,
    description:
      "When the available budget runs out at that rate: now + available × 30 days / committedLast30Days (UTC, to the millisecond); " +
      "null when nothing was committed (the budget never runs out at this rate)",
  })
  exhaustsAt!: Date | null;

  @Field(() => Float, {
    nullable: true,
    description:
      "Months (of 30 days) the available budget lasts at that rate: available / committedLast30Days, rounded down to hundredths; null with exhaustsAt",
  })
  monthsLeft!: number | null;

  @Field({
    description: "exhaustsAt falls before the program's validUntil: the budget runs out while the program still pays",
  })
  runsOutBeforeEnd!: boolean;

  @Field(() => Int, {
    description: "The share of the budget committed (pending and spent), in basis points rounded down: 8000 = 80 %",
  })
  usedBasisPoints!: number;

  @Field(() => [Int], {
    description:
      "The warning thresholds (80, 95 and 100 percent of the budget committed) that the budget has reached, like [80, 95]; [] below 80 %",
  })
  thresholdsCrossed!: number[];
}

export function toForecast(data: BudgetForecastData): BudgetForecast {
  return Object.assign(new BudgetForecast(), {
    committedLast30Days: Money.of(data.committedInWindow),
    committedPerDay: Money.of(data.committedPerDay),
    exhaustsAt: data.exhaustsAt,
    monthsLeft: data.monthsLeftHundredths == null ? null : Number(data.monthsLeftHundredths) / 100,
    runsOutBeforeEnd: data.runsOutBeforeEnd,
    usedBasisPoints: data.usedBasisPoints,
    thresholdsCrossed: data.thresholdsCrossed,
  });
}

@ObjectType({
  implements: GlobalNode,
  simpleResolvers: true,
  description:
    "A city's compute-voucher (算力券) program: a budget with its rules. The subsidy of an order is " +
    "min(floor(base × rate / 10000), the voucher's remaining, perOrderCap, what is left of perSmeAnnualCap, the available budget), " +
    "where base = gpuCount × hours × min(price, maxSubsidizedPricePerGpuHour)",
})
export class SubsidyProgram {
  @Field(() => ID, { description: 'Opaque id, like "program_1"' })
  id!: string;

  @Field({ description: 'The city that pays, like "Shanghai"' })
  city!: string;

  @Field({ description: 'Its name, like "Shanghai Compute Voucher 2027"' })
  name!: string;

  @Field(() => Money, { description: "The whole budget (the same as budgetStatus.total)" })
  budget!: Money;

  @Field(() => Int, {
    description: "Share of the (ceiling-limited) gross paid by the city, in basis points (8000 = 80 %)",
  })
  rateBasisPoints!: number;

  @Field(() => Int, {
    nullable: true,
    description: "The rate for domestic GPU models in basis points, when it differs; null = rateBasisPoints",
  })
  domesticRateBasisPoints!: number | null;

  @Field(() => Money, { nullable: true, description: "The most one order's subsidy may be; null = no cap" })
  perOrderCap!: Money | null;

  @Field(() => Money, {
    nullable: true,
    description:
      "The most one SME's subsidies (pending and spent) may add up to per calendar year in the billing time zone (Asia/Shanghai by default); null = no cap",
  })
  perSmeAnnualCap!: Money | null;

  @Field(() => Money, {
    nullable: true,
    description:
      "The highest price per GPU-hour the rate applies to (a dearer rental is subsidized as if at this price); null = no ceiling",
  })
  maxSubsidizedPricePerGpuHour!: Money | null;

  @Field(() => [String], { description: 'Hubs whose data centers qualify, like ["Ningxia Zhongwei"]; empty = all' })
  eligibleHubs!: string[];

  @Field({
    description:
      "Only offers whose operator declared the hardware of all their GPUs (Offer.hardware) are subsidized; another is " +
      "NOT_ELIGIBLE with reason UNATTESTED_HARDWARE",
  })
  requiresHardwareAttestation!: boolean;
  @Field(() => [ApplicantCategory], {
    description:
      "The applicant categories it pays for, like [SME] or [RESEARCH_INSTITUTE]; another category's application or checkout is NOT_ELIGIBLE with reason CATEGORY",
  })
  eligibleCategories!: ApplicantCategory[];

  @Field({ description: "The start of its validity (UTC): subsidies and applications from then" })
  validFrom!: Date;

  @Field({ description: "The end of its validity (UTC, exclusive); its vouchers expire then" })
  validUntil!: Date;

  @Field(() => ProgramStatus, { description: "Whether it pays subsidies" })
  status!: ProgramStatus;

  @Field(() => BudgetStatus, { description: "Where the budget stands now: total = available + pending + spent" })
  budgetStatus!: BudgetStatus;

  @Field({ description: "When it was created (UTC)" })
  createdAt!: Date;

  /** The row it was read from, for the fields that compute more (forecast). */
  row!: ProgramRow;
}

export function toSubsidyProgram(row: ProgramRow): SubsidyProgram {
  return Object.assign(new SubsidyProgram(), {
    row,
    id: globalId("SubsidyProgram", row.id),
    city: row.city,
    name: row.name,
    budget: Money.of(row.budgetTotal),
    rateBasisPoints: row.rateBasisPoints,
    domesticRateBasisPoints: row.domesticRateBasisPoints,
    perOrderCap: moneyOrNull(row.perOrderCap),
    perSmeAnnualCap: moneyOrNull(row.perSmeAnnualCap),
    maxSubsidizedPricePerGpuHour: moneyOrNull(row.maxSubsidizedPricePerGpuHour),
    eligibleHubs: row.eligibleHubs,
    requiresHardwareAttestation: row.requiresHardwareAttestation,
    eligibleCategories: row.eligibleCategories as ApplicantCategory[],
    validFrom: row.validFrom,
    validUntil: row.validUntil,
    status: row.status as ProgramStatus,
    budgetStatus: Object.assign(new BudgetStatus(), {
      id: globalId("BudgetStatus", row.id),
      total: Money.of(row.budgetTotal),
      available: Money.of(row.available),
      pending: Money.of(row.pending),
      spent: Money.of(row.spent),
    }),
    createdAt: row.createdAt,
  });
}

@ObjectType({
  implements: GlobalNode,
  simpleResolvers: true,
  description: "A compute voucher: a grant of one program to one SME, with a balance that pays subsidies at checkout",
})
export class Voucher {
  @Field(() => ID, { description: 'Opaque id, like "voucher_1"; pass it to quote and checkout' })
  id!: string;

  @Field(() => SubsidyProgram, { description: "The program that pays" })
  program!: SubsidyProgram;

  @Field(() => Money, { description: "The amount granted" })
  grantedAmount!: Money;

  @Field(() => Money, {
    description: "What is left to pay subsidies with; a cancelled or refunded order gives its subsidy back",
  })
  remaining!: Money;

  @Field({ description: "The end of its validity (UTC): the program's validUntil" })
  validUntil!: Date;

  @Field(() => VoucherStatus, { description: "Whether it can pay" })
  status!: VoucherStatus;

  @Field({ description: "When it was granted (UTC)" })
  createdAt!: Date;

  programId!: number;
}

export function toVoucher(row: VoucherRow, now: Date): Voucher {
  const status =
    row.status === "REVOKED"
      ? VoucherStatus.REVOKED
      : row.validUntil <= now
        ? VoucherStatus.EXPIRED
        : VoucherStatus.ACTIVE;
  return Object.assign(new Voucher(), {
    id: globalId("Voucher", row.id),
    programId: row.programId,
    grantedAmount: Money.of(row.grantedAmount),
    remaining: Money.of(row.remaining),
    validUntil: row.validUntil,
    status,
    createdAt: row.createdAt,
  });
}

@ObjectType({
  implements: GlobalNode,
  simpleResolvers: true,
  description: "An SME's request for a voucher of a program, decided once by the program's finance team",
})
export class VoucherApplication {
  @Field(() => ID, { description: 'Opaque id, like "application_3"' })
  id!: string;

  @Field(() => SubsidyProgram, { description: "The program applied to" })
  program!: SubsidyProgram;

  @Field(() => Organization, { description: "The SME that applied" })
  sme!: Organization;

  @Field(() => Money, { description: "The amount asked for" })
  requestedAmount!: Money;

  @Field({ description: 'What the compute is for, like "Fine-tuning on Ascend 910B"' })
  purpose!: string;

  @Field(() => ApplicationStatus, { description: "Where it stands" })
  status!: ApplicationStatus;

  @Field(() => String, {
    nullable: true,
    description: "The finance team's reason, required on rejection; null when none was given",
  })
  decisionReason!: string | null;

  @Field(() => Date, { nullable: true, description: "When it was decided (UTC); null while PENDING" })
  decidedAt!: Date | null;

  @Field(() => Voucher, { nullable: true, description: "The voucher granted on approval; null otherwise" })
  voucher!: Voucher | null;

  @Field({ description: "When the SME applied (UTC)" })
  createdAt!: Date;

  /** The row key behind the global id. */
  rowId!: number;
  programId!: number;
  smeId!: number;
}

export function toApplication(row: ApplicationRow): VoucherApplication {
  return Object.assign(new VoucherApplication(), {
    id: globalId("VoucherApplication", row.id),
    rowId: row.id,
    programId: row.programId,
    smeId: row.smeId,
    requestedAmount: Money.of(row.requestedAmount),
    purpose: row.purpose,
    status: row.status as ApplicationStatus,
    decisionReason: row.decisionReason,
    decidedAt: row.decidedAt,
    createdAt: row.createdAt,
  });
}

@ObjectType({
  simpleResolvers: true,
  description: "What a checkout would charge: subsidy + smeShare = gross, to the fen",
})
export class Quote {
  @Field(() => Money, { description: "The rent: gpuCount × hours × pricePerGpuHour of the reservation" })
  gross!: Money;

  @Field(() => Money, { description: "What the voucher would pay from the city's budget; 0 without a voucher" })
  subsidy!: Money;

  @Field(() => Money, { description: "What the SME would pay: gross - subsidy" })
  smeShare!: Money;
}

@InputType({ description: "The input of createSubsidyProgram: a new subsidy program of the caller's city" })
export class CreateSubsidyProgramInput {
  @Field({ description: 'Its name, 1 to 200 characters, like "Shanghai Compute Voucher 2027"' })
  name!: string;

  @Field({ description: 'The whole budget: yuan with at most two decimals, more than 0, like "1000000.00"' })
  budget!: string;

  @Field(() => Int, {
    description:
      "Share of the (ceiling-limited) gross the city pays, in basis points from 0 to 10000, like 3000 for 30 %",
  })
  rateBasisPoints!: number;

  @Field(() => Int, {
    nullable: true,
    description: "Another rate for domestic GPU models, 0 to 10000 basis points; none = rateBasisPoints",
  })
  domesticRateBasisPoints?: number | null;

  @Field(() => String, {
    nullable: true,
    description:
      'The most one order\'s subsidy may be, in yuan, like "50000.00", at most the budget; none = no per-order cap',
  })
  perOrderCap?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'The most one SME\'s subsidies may add up to per calendar year (billing time zone), in yuan, like "2000000.00", at most the budget; none = no annual cap',
  })
  perSmeAnnualCap?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'The highest price per GPU-hour the rate applies to, in yuan, like "25.00"; none = no ceiling',
  })
  maxSubsidizedPricePerGpuHour?: string | null;

  @Field(() => [String], {
    nullable: true,
    description: `Hubs whose data centers qualify, each one of: ${[...HUB_NAMES].join(", ")}; none or empty = every hub`,
  })
  eligibleHubs?: string[] | null;

  @Field(() => Boolean, {
    nullable: true,
    description:
      "true: only offers whose operator declared the hardware of all their GPUs are subsidized (others are NOT_ELIGIBLE, " +
      "reason UNATTESTED_HARDWARE); none = false",
  })
  requiresHardwareAttestation?: boolean | null;
  @Field(() => [ApplicantCategory], {
    nullable: true,
    description:
      "The applicant categories it pays for, at least one, like [RESEARCH_INSTITUTE, UNIVERSITY]; none = [SME], the SMEs only",
  })
  eligibleCategories?: ApplicantCategory[] | null;

  @Field({ description: 'The start of its validity, like "2027-01-01T00:00:00Z"' })
  validFrom!: Date;

  @Field({
    description: 'The end of its validity (exclusive), after validFrom and in the future, like "2028-01-01T00:00:00Z"',
  })
  validUntil!: Date;
}

@InputType({ description: "The input of applyForVoucher: a voucher application" })
export class ApplyForVoucherInput {
  @Field(() => ID, { description: 'The program, an opaque id like "program_1"' })
  programId!: string;

  @Field({ description: 'The amount asked for: yuan with at most two decimals, more than 0, like "50000.00"' })
  requestedAmount!: string;

  @Field({ description: 'What the compute is for, 1 to 2000 characters, like "Fine-tuning on Ascend 910B"' })
  purpose!: string;
}
