import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { dataCenters } from "../db/schema.js";
import type { Context } from "../graphql/context.js";
import { requireViewer } from "../graphql/context.js";
import { parseId, parseOptionalId, statementId } from "../graphql/ids.js";
import { actorOf, recordAudit } from "../audit/audit.service.js";
import { formatYuan } from "../money.js";
import { Money } from "../graphql/money.type.js";
import { toDataCenter } from "../offers/offers.resolver.js";
import { DataCenter } from "../offers/offers.types.js";
import { toSubsidyProgram } from "../vouchers/vouchers.resolver.js";
import { CityStatement, SpendDimension, SpendReport, StatementLine, StatementStatus } from "./reports.types.js";
import * as reports from "./reports.service.js";

export function toStatement(data: reports.StatementData): CityStatement {
  return Object.assign(new CityStatement(), {
    id: statementId(data.program.id, data.month),
    program: toSubsidyProgram(data.program),
    month: data.month,
    status: data.status as StatementStatus,
    settledAt: data.settledAt,
    total: Money.of(data.total),
    lines: data.lines.map((line) =>
      Object.assign(new StatementLine(), { dataCenterId: line.dataCenterId, orders: line.orders, subsidy: Money.of(line.subsidy) }),
    ),
  });
}

@Resolver()
export class ReportsResolver {
  @Authorized("CITY_FINANCE", "ADMIN")
  @Query(() => SpendReport, {
    description: "Paid orders with a voucher by payment time in [from, to), grouped by the dimensions (a finance team: its own city only)",
  })
  async subsidySpend(
    @Arg("from") from: Date,
    @Arg("to") to: Date,
    @Arg("groupBy", () => [SpendDimension]) groupBy: SpendDimension[],
    @Ctx() ctx: Context,
    @Arg("programId", () => ID, { nullable: true }) programId?: string,
    @Arg("city", () => String, { nullable: true }) city?: string,
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
  @Query(() => CityStatement, { description: 'A program\'s statement for a month like "2026-11"' })
  async cityStatement(
    @Arg("programId", () => ID) programId: string,
    @Arg("month") month: string,
    @Ctx() ctx: Context,
  ): Promise<CityStatement> {
    return toStatement(await reports.cityStatement(ctx.db, requireViewer(ctx), parseId("programId", programId, "SubsidyProgram"), month));
  }

  @Authorized("CITY_FINANCE")
  @Mutation(() => CityStatement, { description: "Marks the month's statement SETTLED; later claims land in the next open statement" })
  async settleCityStatement(
    @Arg("programId", () => ID) programId: string,
    @Arg("month") month: string,
    @Ctx() ctx: Context,
  ): Promise<CityStatement> {
    const data = await ctx.db.transaction(async (tx) => {
      const settled = await reports.settleStatement(tx, requireViewer(ctx), parseId("programId", programId, "SubsidyProgram"), month, ctx.now);
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

@Resolver(() => StatementLine)
export class StatementLineResolver {
  @FieldResolver(() => DataCenter)
  async dataCenter(@Root() line: StatementLine, @Ctx() ctx: Context): Promise<DataCenter> {
    return toDataCenter((await ctx.loaders.byId(dataCenters).load(line.dataCenterId))!);
  }
}
