import { inArray } from "drizzle-orm";
import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { organizations, reservations, subsidyPrograms, vouchers } from "../db/schema.js";
import type { Context } from "../graphql/context.js";
import { orgIdOf, requireViewer } from "../graphql/context.js";
import { notFound } from "../errors.js";
import { globalId, parseId, parseOptionalId } from "../graphql/ids.js";
import { actorOf, recordAudit } from "../audit/audit.service.js";
import { Money } from "../graphql/money.type.js";
import { formatYuan } from "../money.js";
import { Organization, toOrganization } from "../accounts/accounts.types.js";
import {
  ApplicationStatus,
  ApplyForVoucherInput,
  BudgetForecast,
  toForecast,
  CreateSubsidyProgramInput,
  ProgramStatus,
  Quote,
  SubsidyProgram,
  toApplication,
  toSubsidyProgram,
  toVoucher,
  Voucher,
  VoucherApplication,
} from "./vouchers.types.js";
import * as programs from "./programs.service.js";
import { FORECAST_WINDOW_DAYS, forecastBudget } from "./forecast.js";
import { committedBetween } from "../ledger/ledger.service.js";
import * as applications from "./applications.service.js";
import { priceReservation } from "./quote.service.js";

async function loadProgram(ctx: Context, programId: number): Promise<SubsidyProgram> {
  return toSubsidyProgram((await ctx.loaders.byId(subsidyPrograms).load(programId))!);
}

@Resolver(() => SubsidyProgram)
export class SubsidyProgramsResolver {
  @Authorized()
  @Query(() => [SubsidyProgram], {
    description:
      "Subsidy programs in every status, oldest first, optionally of one city: an SME finds programs to apply to, a finance team " +
      "watches its budgets. Role: any signed-in caller. Errors: UNAUTHENTICATED",
  })
  async subsidyPrograms(
    @Ctx() ctx: Context,
    @Arg("city", () => String, {
      nullable: true,
      description: 'Only this city\'s programs, like "Shanghai"; omit for all',
    })
    city?: string,
  ): Promise<SubsidyProgram[]> {
    return (await programs.listPrograms(ctx.db, city)).map(toSubsidyProgram);
  }

  @Authorized("CITY_FINANCE")
  @Mutation(() => SubsidyProgram, {
    description:
      "Creates an ACTIVE subsidy program of the caller's own city, its whole budget available. Role: CITY_FINANCE. Errors: " +
      "UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (any field: a malformed amount, a rate outside 0 to 10000, a cap above " +
      "the budget, an unknown hub, validUntil not after validFrom or in the past; extensions.field names it), RATE_LIMITED",
  })
  async createSubsidyProgram(
    @Arg("input", { description: "The program's budget, rates, caps, hubs and validity" })
    input: CreateSubsidyProgramInput,
    @Ctx() ctx: Context,
  ): Promise<SubsidyProgram> {
    const viewer = requireViewer(ctx);
    const row = await ctx.db.transaction(async (tx) => {
      const program = await programs.createProgram(
        tx,
        { organizationId: orgIdOf(ctx), city: viewer.city! },
        input,
        ctx.now,
      );
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
  @Mutation(() => SubsidyProgram, {
    description:
      "Suspends (no new subsidies), resumes, or closes for good one of the city's programs; orders already checked out keep " +
      "their subsidy. Setting the status it has changes nothing. Role: CITY_FINANCE (of the program's city). Errors: " +
      "UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (unknown id or another city's program), CONFLICT (the program is CLOSED), RATE_LIMITED",
  })
  async setSubsidyProgramStatus(
    @Arg("programId", () => ID, { description: 'The program\'s opaque id, like "program_1"' }) programId: string,
    @Arg("status", () => ProgramStatus, {
      description: "ACTIVE to resume, SUSPENDED to pause, CLOSED to close for good",
    })
    status: ProgramStatus,
    @Ctx() ctx: Context,
  ): Promise<SubsidyProgram> {
    const row = await ctx.db.transaction(async (tx) => {
      const program = await programs.setProgramStatus(
        tx,
        requireViewer(ctx),
        parseId("programId", programId, "SubsidyProgram"),
        status,
      );
      await recordAudit(tx, actorOf(ctx), {
        action: "SET_SUBSIDY_PROGRAM_STATUS",
        targetId: program.id,
        programId: program.id,
        detail: program.status,
      });
      return program;
    });
    return toSubsidyProgram(row);
  }
}

@Resolver(() => SubsidyProgram)
export class SubsidyProgramFieldsResolver {
  @FieldResolver(() => BudgetForecast, {
    nullable: true,
    description:
      "Where the budget is heading at the rate of the last 30 days, and the warning thresholds (80, 95, 100 %) it has crossed. " +
      "For the finance team of the program's city and the admin; null for everyone else",
  })
  async forecast(@Root() program: SubsidyProgram, @Ctx() ctx: Context): Promise<BudgetForecast | null> {
    const { row } = program;
    if (!ctx.viewer || !programs.inScope(ctx.viewer, row.city)) return null;
    const since = new Date(ctx.now.getTime() - FORECAST_WINDOW_DAYS * 86_400_000);
    const committed = await committedBetween(ctx.db, row.id, since, ctx.now);
    return toForecast(
      forecastBudget({
        total: row.budgetTotal,
        available: row.available,
        committed,
        now: ctx.now,
        validUntil: row.validUntil,
      }),
    );
  }
}

@Resolver(() => VoucherApplication)
export class VoucherApplicationsResolver {
  @Authorized("SME")
  @Mutation(() => VoucherApplication, {
    description:
      "Applies for a voucher of a program; the program's finance team decides (decideVoucherApplication). Role: SME. Errors: " +
      "UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (requestedAmount, purpose), NOT_FOUND (unknown program), NOT_ELIGIBLE " +
      "(extensions.reason PROGRAM_NOT_ACTIVE, PROGRAM_OUTSIDE_VALIDITY or CATEGORY), RATE_LIMITED",
  })
  async applyForVoucher(
    @Arg("input", { description: "The program, the amount and the purpose" }) input: ApplyForVoucherInput,
    @Ctx() ctx: Context,
  ): Promise<VoucherApplication> {
    const row = await applications.applyForVoucher(
      ctx.db,
      orgIdOf(ctx),
      { ...input, programId: parseId("programId", input.programId, "SubsidyProgram") },
      ctx.now,
    );
    return toApplication(row);
  }

  @Authorized("CITY_FINANCE", "ADMIN")
  @Query(() => [VoucherApplication], {
    description:
      "A program's applications, oldest first. Role: CITY_FINANCE (of the program's city), ADMIN. Errors: UNAUTHENTICATED, " +
      "FORBIDDEN, NOT_FOUND (unknown id or another city's program)",
  })
  async voucherApplications(
    @Arg("programId", () => ID, { description: 'The program\'s opaque id, like "program_1"' }) programId: string,
    @Ctx() ctx: Context,
    @Arg("status", () => ApplicationStatus, {
      nullable: true,
      description: "Only applications in this status, like PENDING; omit for all",
    })
    status?: ApplicationStatus,
  ): Promise<VoucherApplication[]> {
    const rows = await applications.listApplications(
      ctx.db,
      requireViewer(ctx),
      parseId("programId", programId, "SubsidyProgram"),
      status,
    );
    return rows.map(toApplication);
  }

  @Authorized("SME")
  @Query(() => [VoucherApplication], {
    description: "The calling SME's applications, oldest first. Role: SME. Errors: UNAUTHENTICATED, FORBIDDEN",
  })
  async myVoucherApplications(@Ctx() ctx: Context): Promise<VoucherApplication[]> {
    return (await applications.smeApplications(ctx.db, orgIdOf(ctx))).map(toApplication);
  }

  @Authorized("CITY_FINANCE")
  @Mutation(() => VoucherApplication, {
    description:
      "Approves a PENDING application, granting a voucher valid until the program ends, or rejects it with a reason; the " +
      "decision is final. Role: CITY_FINANCE (of the program's city). Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT " +
      "(grantedAmount malformed or above the requested amount, the per-SME annual cap or the budget; no reason to reject), " +
      "NOT_FOUND (unknown id or another city's application), CONFLICT (already decided, or approving in a CLOSED program), RATE_LIMITED",
  })
  async decideVoucherApplication(
    @Arg("id", () => ID, { description: 'The application\'s opaque id, like "application_3"' }) id: string,
    @Arg("approve", { description: "true to approve and grant a voucher, false to reject" }) approve: boolean,
    @Ctx() ctx: Context,
    @Arg("grantedAmount", () => String, {
      nullable: true,
      description:
        'On approval, the voucher\'s amount in yuan, like "15000" or "15000.00"; default: the requested amount, capped at perSmeAnnualCap. Ignored on rejection',
    })
    grantedAmount?: string,
    @Arg("reason", () => String, {
      nullable: true,
      description: "Why, up to 1000 characters; required to reject, optional to approve",
    })
    reason?: string,
  ): Promise<VoucherApplication> {
    const { application } = await ctx.db.transaction(async (tx) => {
      const decided = await applications.decideApplication(
        tx,
        requireViewer(ctx),
        parseId("id", id, "VoucherApplication"),
        { approve, grantedAmount, reason },
        ctx.now,
      );
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

  @FieldResolver(() => SubsidyProgram, { description: "The program applied to" })
  program(@Root() application: VoucherApplication, @Ctx() ctx: Context): Promise<SubsidyProgram> {
    return loadProgram(ctx, application.programId);
  }

  @FieldResolver(() => Organization, { description: "The SME that applied" })
  async sme(@Root() application: VoucherApplication, @Ctx() ctx: Context): Promise<Organization> {
    return toOrganization((await ctx.loaders.byId(organizations).load(application.smeId))!);
  }

  @FieldResolver(() => Voucher, { nullable: true, description: "The voucher granted on approval; null otherwise" })
  async voucher(@Root() application: VoucherApplication, @Ctx() ctx: Context): Promise<Voucher | null> {
    if (application.status !== ApplicationStatus.APPROVED) return null;
    const loader = ctx.loaders.named<number, applications.VoucherRow | null>("voucherByApplication", async (ids) => {
      const rows = await ctx.db
        .select()
        .from(vouchers)
        .where(inArray(vouchers.applicationId, ids as number[]));
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
  @Query(() => [Voucher], {
    description:
      "The calling SME's vouchers, oldest first, in every status. Role: SME. Errors: UNAUTHENTICATED, FORBIDDEN",
  })
  async myVouchers(@Ctx() ctx: Context): Promise<Voucher[]> {
    return (await applications.smeVouchers(ctx.db, orgIdOf(ctx))).map((row) => toVoucher(row, ctx.now));
  }

  @Authorized("SME")
  @Query(() => Quote, {
    description:
      "What checking out this reservation would cost now, with the voucher when given: the split checkout would make, changing " +
      "nothing. Role: SME (the reservation's holder). Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (unknown reservation or " +
      "another SME's), NOT_ELIGIBLE (the voucher may not pay this rental; extensions.reason: VOUCHER_NOT_OWNED, " +
      "VOUCHER_NOT_ACTIVE, VOUCHER_EXPIRED, PROGRAM_NOT_ACTIVE, PROGRAM_OUTSIDE_VALIDITY, CATEGORY, HUB_NOT_ELIGIBLE, " +
      "UNATTESTED_HARDWARE or AFFILIATED_WITH_DATA_CENTER)",
  })
  async quote(
    @Arg("reservationId", () => ID, { description: 'The reservation\'s opaque id, like "reservation_12"' })
    reservationId: string,
    @Ctx() ctx: Context,
    @Arg("voucherId", () => ID, {
      nullable: true,
      description: 'One of the caller\'s vouchers, an opaque id like "voucher_1"; omit to price without a subsidy',
    })
    voucherId?: string,
  ): Promise<Quote> {
    const smeId = orgIdOf(ctx);
    const reservation = await ctx.loaders
      .byId(reservations)
      .load(parseId("reservationId", reservationId, "Reservation"));
    if (!reservation || reservation.smeId !== smeId) throw notFound("Reservation");
    const voucher = parseOptionalId("voucherId", voucherId, "Voucher");
    const priced = await priceReservation(ctx.db, {
      reservation,
      voucherId: voucher,
      smeId,
      now: ctx.now,
      lock: false,
    });
    return Object.assign(new Quote(), {
      gross: Money.of(priced.gross),
      subsidy: Money.of(priced.subsidy),
      smeShare: Money.of(priced.smeShare),
    });
  }

  @FieldResolver(() => SubsidyProgram, { description: "The program that pays" })
  program(@Root() voucher: Voucher, @Ctx() ctx: Context): Promise<SubsidyProgram> {
    return loadProgram(ctx, voucher.programId);
  }
}
