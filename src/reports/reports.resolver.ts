import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { dataCenters, organizations } from "../db/schema.js";
import { Organization, toOrganization } from "../accounts/accounts.types.js";
import type { Context } from "../graphql/context.js";
import { requireViewer } from "../graphql/context.js";
import { parseId, parseOptionalId } from "../graphql/ids.js";
import { actorOf, recordAudit } from "../audit/audit.service.js";
import { formatYuan } from "../money.js";
import { DataCenter, toDataCenter } from "../offers/offers.types.js";
import {
  CityStatement,
  PolicyGranularity,
  PolicyReport,
  SpendDimension,
  SpendReport,
  StatementLine,
  toPolicyReport,
  toStatement,
} from "./reports.types.js";
import * as reports from "./reports.service.js";
import { policyReport } from "./policy.js";

@Resolver()
export class ReportsResolver {
  @Authorized("CITY_FINANCE", "ADMIN")
  @Query(() => SpendReport, {
    description:
      "The subsidy spend: paid orders with a voucher, by payment time in [from, to), grouped by the dimensions; refunded " +
      "orders drop out. A finance team sees its own city only, the admin every city. Role: CITY_FINANCE, ADMIN. Errors: " +
      "UNAUTHENTICATED, FORBIDDEN (also a finance team asking for another city), NOT_FOUND (unknown programId or another " +
      "city's program), BAD_USER_INPUT (to not after from)",
  })
  async subsidySpend(
    @Arg("from", { description: 'The start of the period (inclusive), like "2026-01-01T00:00:00Z"' }) from: Date,
    @Arg("to", { description: 'The end of the period (exclusive), after from, like "2027-01-01T00:00:00Z"' }) to: Date,
    @Arg("groupBy", () => [SpendDimension], {
      description:
        "The dimensions to group by, in the order of the rows' keys, like [MONTH, DATA_CENTER]; [] for the totals only",
    })
    groupBy: SpendDimension[],
    @Ctx() ctx: Context,
    @Arg("programId", () => ID, {
      nullable: true,
      description: 'Only this program\'s orders, an opaque id like "program_1"; omit for all programs in scope',
    })
    programId?: string,
    @Arg("city", () => String, {
      nullable: true,
      description: 'Only this city\'s programs, like "Shanghai"; a finance team may only name its own',
    })
    city?: string,
  ): Promise<SpendReport> {
    const report = await reports.subsidySpend(ctx.db, requireViewer(ctx), {
      programId: parseOptionalId("programId", programId, "SubsidyProgram"),
      programAsked: programId != null,
      city: city ?? null,
      from,
      to,
      groupBy,
    });
    // The service's rows are already in the answer's shape (a report can hold ten thousand).
    return report as SpendReport;
  }

  @Authorized("CITY_FINANCE", "ADMIN")
  @Query(() => PolicyReport, {
    description:
      "The voucher policy's own figures over [from, to), days of the billing time zone: the share of subsidized GPU-hours in the " +
      "western hubs and on domestic chips, subsidy per GPU-hour, SMEs served and the top 10's share, and each hub's offered and " +
      "rented GPU-hours over time. A finance team sees its own city's subsidies, the admin any city's or all. Role: CITY_FINANCE, " +
      'ADMIN. Errors: UNAUTHENTICATED, FORBIDDEN (also a finance team naming another city), BAD_USER_INPUT (a day not like "2026-11-30", ' +
      "to not after from, more than 1,100 days, or not the first day of a month with granularity MONTH)",
  })
  async policyReport(
    @Arg("from", { description: 'The first day, like "2026-01-01"' }) from: string,
    @Arg("to", { description: 'The day after the last, after from, like "2027-01-01"' }) to: string,
    @Arg("granularity", () => PolicyGranularity, { description: "The length of the periods of the hubs' utilization" })
    granularity: PolicyGranularity,
    @Ctx() ctx: Context,
    @Arg("city", () => String, {
      nullable: true,
      description:
        'Only this city\'s programs, like "Shanghai"; a finance team may only name its own; the admin omits it for all',
    })
    city?: string,
  ): Promise<PolicyReport> {
    return toPolicyReport(
      await policyReport(ctx.db, requireViewer(ctx), { city: city ?? null, from, to, granularity }),
    );
  }

  @Authorized("CITY_FINANCE", "ADMIN")
  @Query(() => CityStatement, {
    description:
      "A program's monthly statement: the subsidy claimed per data center, to settle with the data centers. A month without " +
      "claims reads as an empty OPEN statement. Role: CITY_FINANCE (of the program's city), ADMIN. Errors: UNAUTHENTICATED, " +
      'FORBIDDEN, NOT_FOUND (unknown id or another city\'s program), BAD_USER_INPUT (month not like "2026-11")',
  })
  async cityStatement(
    @Arg("programId", () => ID, { description: 'The program\'s opaque id, like "program_1"' }) programId: string,
    @Arg("month", {
      description: 'A calendar month in the billing time zone (Asia/Shanghai by default), like "2026-11"',
    })
    month: string,
    @Ctx() ctx: Context,
  ): Promise<CityStatement> {
    return toStatement(
      await reports.cityStatement(ctx.db, requireViewer(ctx), parseId("programId", programId, "SubsidyProgram"), month),
    );
  }

  @Authorized("CITY_FINANCE")
  @Mutation(() => CityStatement, {
    description:
      "Marks a month's statement SETTLED; claims that come later land in the next open statement. Role: CITY_FINANCE (of the " +
      "program's city). Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (unknown id or another city's program), " +
      'BAD_USER_INPUT (month not like "2026-11"), CONFLICT (already settled; or extensions.reason DELIVERY_DISPUTED or ' +
      "DELIVERY_NOT_FINAL while a claim of the month is disputed or awaits its delivery report), RATE_LIMITED",
  })
  async settleCityStatement(
    @Arg("programId", () => ID, { description: 'The program\'s opaque id, like "program_1"' }) programId: string,
    @Arg("month", {
      description: 'A calendar month in the billing time zone (Asia/Shanghai by default), like "2026-11"',
    })
    month: string,
    @Ctx() ctx: Context,
  ): Promise<CityStatement> {
    const data = await ctx.db.transaction(async (tx) => {
      const settled = await reports.settleStatement(
        tx,
        requireViewer(ctx),
        parseId("programId", programId, "SubsidyProgram"),
        month,
        ctx.now,
        ctx.app.config.deliveryReportDays,
      );
      await recordAudit(tx, actorOf(ctx), {
        action: "SETTLE_CITY_STATEMENT",
        targetId: settled.program.id,
        programId: settled.program.id,
        detail: `statement ${settled.month}: ${settled.lines.length} lines, ${formatYuan(settled.total)}`,
      });
      return settled;
    });
    return toStatement(data);
  }
}

@Resolver(() => CityStatement)
export class CityStatementResolver {
  @FieldResolver(() => Organization, {
    nullable: true,
    description: "The finance team that settled it; null while OPEN (and for months settled before this was recorded)",
  })
  async settledBy(@Root() statement: CityStatement, @Ctx() ctx: Context): Promise<Organization | null> {
    if (statement.settledById == null) return null;
    const row = await ctx.loaders.byId(organizations).load(statement.settledById);
    return row ? toOrganization(row) : null;
  }
}

@Resolver(() => StatementLine)
export class StatementLineResolver {
  @FieldResolver(() => DataCenter, { description: "The data center rented" })
  async dataCenter(@Root() line: StatementLine, @Ctx() ctx: Context): Promise<DataCenter> {
    return toDataCenter((await ctx.loaders.byId(dataCenters).load(line.dataCenterId))!);
  }
}
