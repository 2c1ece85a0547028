import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { Money } from "../graphql/money.type.js";
import { Organization } from "../accounts/accounts.types.js";
import { Node } from "../graphql/node.js";

export enum ProgramStatus {
  ACTIVE = "ACTIVE",
  SUSPENDED = "SUSPENDED",
  CLOSED = "CLOSED",
}
registerEnumType(ProgramStatus, {
  name: "ProgramStatus",
  description: "Only an ACTIVE program pays subsidies; CLOSED is final",
});

export enum ApplicationStatus {
  PENDING = "PENDING",
  APPROVED = "APPROVED",
  REJECTED = "REJECTED",
}
registerEnumType(ApplicationStatus, { name: "ApplicationStatus" });

export enum VoucherStatus {
  ACTIVE = "ACTIVE",
  EXPIRED = "EXPIRED",
  REVOKED = "REVOKED",
}
registerEnumType(VoucherStatus, { name: "VoucherStatus", description: "EXPIRED once validUntil has passed" });

@ObjectType({ implements: Node, simpleResolvers: true, description: "A program's budget: total = available + pending + spent" })
export class BudgetStatus {
  @Field(() => ID, { description: "Opaque global id, like budget_12: one per program" })
  id!: string;

  @Field(() => Money)
  total!: Money;

  @Field(() => Money, { description: "Not yet committed to any order" })
  available!: Money;

  @Field(() => Money, { description: "Held by orders awaiting payment" })
  pending!: Money;

  @Field(() => Money, { description: "Paid out on paid orders" })
  spent!: Money;
}

@ObjectType({ implements: Node, simpleResolvers: true, description: "A city's budget with its rules" })
export class SubsidyProgram {
  @Field(() => ID)
  id!: string;

  @Field()
  city!: string;

  @Field()
  name!: string;

  @Field(() => Money)
  budget!: Money;

  @Field(() => Int, { description: "Share of the (ceiling-limited) gross paid by the city, in basis points (8000 = 80 %)" })
  rateBasisPoints!: number;

  @Field(() => Int, { nullable: true, description: "The rate for domestic GPU models, when it differs" })
  domesticRateBasisPoints!: number | null;

  @Field(() => Money, { nullable: true })
  perOrderCap!: Money | null;

  @Field(() => Money, { nullable: true, description: "Per SME and calendar year (UTC)" })
  perSmeAnnualCap!: Money | null;

  @Field(() => Money, { nullable: true, description: "The highest price per GPU-hour the rate applies to" })
  maxSubsidizedPricePerGpuHour!: Money | null;

  @Field(() => [String], { description: "Hubs whose data centers qualify; empty = all" })
  eligibleHubs!: string[];

  @Field()
  validFrom!: Date;

  @Field()
  validUntil!: Date;

  @Field(() => ProgramStatus)
  status!: ProgramStatus;

  @Field(() => BudgetStatus)
  budgetStatus!: BudgetStatus;

  @Field()
  createdAt!: Date;
}

@ObjectType({ implements: Node, simpleResolvers: true, description: "A grant to one SME with a balance" })
export class Voucher {
  @Field(() => ID)
  id!: string;

  @Field(() => SubsidyProgram)
  program!: SubsidyProgram;

  @Field(() => Money)
  grantedAmount!: Money;

  @Field(() => Money)
  remaining!: Money;

  @Field()
  validUntil!: Date;

  @Field(() => VoucherStatus)
  status!: VoucherStatus;

  @Field()
  createdAt!: Date;

  programId!: number;
}

@ObjectType({ implements: Node, simpleResolvers: true })
export class VoucherApplication {
  @Field(() => ID)
  id!: string;

  @Field(() => SubsidyProgram)
  program!: SubsidyProgram;

  @Field(() => Organization)
  sme!: Organization;

  @Field(() => Money)
  requestedAmount!: Money;

  @Field()
  purpose!: string;

  @Field(() => ApplicationStatus)
  status!: ApplicationStatus;

  @Field(() => String, { nullable: true })
  decisionReason!: string | null;

  @Field(() => Date, { nullable: true })
  decidedAt!: Date | null;

  @Field(() => Voucher, { nullable: true, description: "The voucher granted on approval" })
  voucher!: Voucher | null;

  @Field()
  createdAt!: Date;

  /** The row key behind the global id. */
  rowId!: number;
  programId!: number;
  smeId!: number;
}

@ObjectType({ simpleResolvers: true, description: "What a checkout would charge: subsidy + smeShare = gross, to the fen" })
export class Quote {
  @Field(() => Money)
  gross!: Money;

  @Field(() => Money)
  subsidy!: Money;

  @Field(() => Money)
  smeShare!: Money;
}

@InputType()
export class CreateSubsidyProgramInput {
  @Field()
  name!: string;

  @Field({ description: 'Yuan, like "1000000.00"' })
  budget!: string;

  @Field(() => Int)
  rateBasisPoints!: number;

  @Field(() => Int, { nullable: true })
  domesticRateBasisPoints?: number | null;

  @Field(() => String, { nullable: true, description: "Yuan; none = no per-order cap" })
  perOrderCap?: string | null;

  @Field(() => String, { nullable: true, description: "Yuan; none = no annual cap" })
  perSmeAnnualCap?: string | null;

  @Field(() => String, { nullable: true, description: "Yuan per GPU-hour; none = no ceiling" })
  maxSubsidizedPricePerGpuHour?: string | null;

  @Field(() => [String], { nullable: true, description: "Hub names; none or empty = every hub" })
  eligibleHubs?: string[] | null;

  @Field()
  validFrom!: Date;

  @Field()
  validUntil!: Date;
}

@InputType()
export class ApplyForVoucherInput {
  @Field(() => ID)
  programId!: string;

  @Field({ description: 'Yuan, like "50000.00"' })
  requestedAmount!: string;

  @Field()
  purpose!: string;
}
