import { inArray } from "drizzle-orm";
import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { organizations, reservations, subsidyPrograms, vouchers } from "../db/schema.js";
import type { Context } from "../graphql/context.js";
import { orgIdOf, requireViewer } from "../graphql/context.js";
import { notFound } from "../graphql/errors.js";
import { globalId, parseId, parseOptionalId } from "../graphql/ids.js";
import { actorOf, recordAudit } from "../audit/audit.service.js";
import { Money, moneyOrNull } from "../graphql/money.type.js";
import { formatYuan } from "../money.js";
import { toOrganization } from "../accounts/accounts.resolver.js";
import { Organization } from "../accounts/accounts.types.js";
import {
  ApplicationStatus,
  ApplyForVoucherInput,
  BudgetStatus,
  CreateSubsidyProgramInput,
  ProgramStatus,
  Quote,
  SubsidyProgram,
  Voucher,
  VoucherApplication,
  VoucherStatus,
} from "./vouchers.types.js";
import * as programs from "./programs.service.js";
import * as applications from "./applications.service.js";
import { priceReservation } from "./quote.service.js";

export function toSubsidyProgram(row: programs.ProgramRow): SubsidyProgram {
  return Object.assign(new SubsidyProgram(), {
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

export function toVoucher(row: applications.VoucherRow, now: Date): Voucher {
  const status = row.status === "REVOKED" ? VoucherStatus.REVOKED : row.validUntil <= now ? VoucherStatus.EXPIRED : VoucherStatus.ACTIVE;
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

export function toApplication(row: applications.ApplicationRow): VoucherApplication {
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

async function loadProgram(ctx: Context, programId: number): Promise<SubsidyProgram> {
  return toSubsidyProgram((await ctx.loaders.byId(subsidyPrograms).load(programId))!);
}

@Resolver(() => SubsidyProgram)
export class SubsidyProgramsResolver {
  @Authorized()
  @Query(() => [SubsidyProgram], { description: "Subsidy programs, optionally of one city; anyone signed in may read them" })
  async subsidyPrograms(@Ctx() ctx: Context, @Arg("city", () => String, { nullable: true }) city?: string): Promise<SubsidyProgram[]> {
    return (await programs.listPrograms(ctx.db, city)).map(toSubsidyProgram);
  }

  @Authorized("CITY_FINANCE")
  @Mutation(() => SubsidyProgram, { description: "A program of the caller's own city" })
  async createSubsidyProgram(@Arg("input") input: CreateSubsidyProgramInput, @Ctx() ctx: Context): Promise<SubsidyProgram> {
    const viewer = requireViewer(ctx);
    const row = await ctx.db.transaction(async (tx) => {
      const program = await programs.createProgram(tx, { organizationId: orgIdOf(ctx), city: viewer.city! }, input, ctx.now);
      await recordAudit(tx, actorOf(ctx), {
        action: "CREATE_SUBSIDY_PROGRAM",
        targetId: program.id,
        programId: program.id,
        detail: `${program.name}: budget ${formatYuan(program.budgetTotal)}, rate ${program.rateBasisPoints} bp`,
      });
      return program;
    });
    return toSubsidyProgram(row);
  }

  @Authorized("CITY_FINANCE")
  @Mutation(() => SubsidyProgram, { description: "Suspend (no new subsidies), resume, or close for good; CONFLICT once CLOSED" })
  async setSubsidyProgramStatus(
    @Arg("programId", () => ID) programId: string,
    @Arg("status", () => ProgramStatus) status: ProgramStatus,
    @Ctx() ctx: Context,
  ): Promise<SubsidyProgram> {
    const row = await ctx.db.transaction(async (tx) => {
      const program = await programs.setProgramStatus(tx, requireViewer(ctx), parseId("programId", programId, "SubsidyProgram"), status);
      await recordAudit(tx, actorOf(ctx), { action: "SET_SUBSIDY_PROGRAM_STATUS", targetId: program.id, programId: program.id, detail: program.status });
      return program;
    });
    return toSubsidyProgram(row);
  }
}

@Resolver(() => VoucherApplication)
export class VoucherApplicationsResolver {
  @Authorized("SME")
  @Mutation(() => VoucherApplication)
  async applyForVoucher(@Arg("input") input: ApplyForVoucherInput, @Ctx() ctx: Context): Promise<VoucherApplication> {
    const row = await applications.applyForVoucher(ctx.db, orgIdOf(ctx), { ...input, programId: parseId("programId", input.programId, "SubsidyProgram") }, ctx.now);
    return toApplication(row);
  }

  @Authorized("CITY_FINANCE", "ADMIN")
  @Query(() => [VoucherApplication], { description: "A program's applications, oldest first (its city's finance team, or the admin)" })
  async voucherApplications(
    @Arg("programId", () => ID) programId: string,
    @Ctx() ctx: Context,
    @Arg("status", () => ApplicationStatus, { nullable: true }) status?: ApplicationStatus,
  ): Promise<VoucherApplication[]> {
    const rows = await applications.listApplications(ctx.db, requireViewer(ctx), parseId("programId", programId, "SubsidyProgram"), status);
    return rows.map(toApplication);
  }

  @Authorized("SME")
  @Query(() => [VoucherApplication], { description: "The calling SME's applications, oldest first" })
  async myVoucherApplications(@Ctx() ctx: Context): Promise<VoucherApplication[]> {
    return (await applications.smeApplications(ctx.db, orgIdOf(ctx))).map(toApplication);
  }

  @Authorized("CITY_FINANCE")
  @Mutation(() => VoucherApplication, {
    description: "Approve (grantedAmount defaults to the requested amount, within the per-SME annual cap) or reject with a reason; final",
  })
  async decideVoucherApplication(
    @Arg("id", () => ID) id: string,
    @Arg("approve") approve: boolean,
    @Ctx() ctx: Context,
    @Arg("grantedAmount", () => String, { nullable: true }) grantedAmount?: string,
    @Arg("reason", () => String, { nullable: true }) reason?: string,
  ): Promise<VoucherApplication> {
    const { application } = await ctx.db.transaction(async (tx) => {
      const decided = await applications.decideApplication(tx, requireViewer(ctx), parseId("id", id, "VoucherApplication"), { approve, grantedAmount, reason }, ctx.now);
      const voucher = decided.voucher;
      await recordAudit(tx, actorOf(ctx), {
        action: "DECIDE_VOUCHER_APPLICATION",
        targetId: decided.application.id,
        programId: decided.application.programId,
        detail: voucher
          ? `APPROVED for SME ${globalId("Organization", decided.application.smeId)}: voucher ${globalId("Voucher", voucher.id)} of ${formatYuan(voucher.grantedAmount)}`
          : `${decided.application.status} for SME ${globalId("Organization", decided.application.smeId)}`,
      });
      return decided;
    });
    return toApplication(application);
  }

  @FieldResolver(() => SubsidyProgram)
  program(@Root() application: VoucherApplication, @Ctx() ctx: Context): Promise<SubsidyProgram> {
    return loadProgram(ctx, application.programId);
  }

  @FieldResolver(() => Organization)
  async sme(@Root() application: VoucherApplication, @Ctx() ctx: Context): Promise<Organization> {
    return toOrganization((await ctx.loaders.byId(organizations).load(application.smeId))!);
  }

  @FieldResolver(() => Voucher, { nullable: true })
  async voucher(@Root() application: VoucherApplication, @Ctx() ctx: Context): Promise<Voucher | null> {
    if (application.status !== ApplicationStatus.APPROVED) return null;
    const loader = ctx.loaders.named<number, applications.VoucherRow | null>("voucherByApplication", async (ids) => {
      const rows = await ctx.db.select().from(vouchers).where(inArray(vouchers.applicationId, ids as number[]));
      const byApplication = new Map(rows.map((row) => [row.applicationId, row]));
      return ids.map((id) => byApplication.get(id) ?? null);
    });
    const row = await loader.load(application.rowId);
    return row ? toVoucher(row, ctx.now) : null;
  }
}

@Resolver(() => Voucher)
export class VouchersResolver {
  @Authorized("SME")
  @Query(() => [Voucher], { description: "The calling SME's vouchers, oldest first" })
  async myVouchers(@Ctx() ctx: Context): Promise<Voucher[]> {
    return (await applications.smeVouchers(ctx.db, orgIdOf(ctx))).map((row) => toVoucher(row, ctx.now));
  }

  @Authorized("SME")
  @Query(() => Quote, { description: "What checking out this reservation would cost, with the voucher when given; NOT_ELIGIBLE with a reason otherwise" })
  async quote(
    @Arg("reservationId", () => ID) reservationId: string,
    @Ctx() ctx: Context,
    @Arg("voucherId", () => ID, { nullable: true }) voucherId?: string,
  ): Promise<Quote> {
    const smeId = orgIdOf(ctx);
    const reservation = await ctx.loaders.byId(reservations).load(parseId("reservationId", reservationId, "Reservation"));
    if (!reservation || reservation.smeId !== smeId) throw notFound("Reservation");
    const voucher = parseOptionalId("voucherId", voucherId, "Voucher");
    const priced = await priceReservation(ctx.db, { reservation, voucherId: voucher, smeId, now: ctx.now, lock: false });
    return Object.assign(new Quote(), {
      gross: Money.of(priced.gross),
      subsidy: Money.of(priced.subsidy),
      smeShare: Money.of(priced.smeShare),
    });
  }

  @FieldResolver(() => SubsidyProgram)
  program(@Root() voucher: Voucher, @Ctx() ctx: Context): Promise<SubsidyProgram> {
    return loadProgram(ctx, voucher.programId);
  }
}
