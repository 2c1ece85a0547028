import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from "type-graphql";
import type { Context } from "../graphql/context.js";
import { requireViewer } from "../graphql/context.js";
import { idOrNull } from "../graphql/ids.js";
import { Money } from "../graphql/money.type.js";
import { pageSize } from "../graphql/pagination.js";
import { programInScope } from "../vouchers/programs.service.js";
import { LedgerEntry, LedgerEntryConnection, LedgerEntryKind, OrderRef } from "./ledger.types.js";
import { programLedger, type LedgerEntryRow } from "./ledger.service.js";

export function toLedgerEntry(row: LedgerEntryRow): LedgerEntry {
  return Object.assign(new LedgerEntry(), {
    id: String(row.id),
    kind: row.kind as LedgerEntryKind,
    amount: Money.of(row.amount),
    order: Object.assign(new OrderRef(), { id: String(row.orderId) }),
    voucherId: String(row.voucherId),
    createdAt: row.createdAt,
  });
}

@Resolver()
export class LedgerResolver {
  @Authorized("CITY_FINANCE", "ADMIN")
  @Query(() => LedgerEntryConnection, { description: "A program's budget moves, newest first (its city's finance team, or the admin)" })
  async budgetLedger(
    @Arg("programId", () => ID) programId: string,
    @Ctx() ctx: Context,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
  ) {
    const limit = pageSize(first);
    const program = await programInScope(ctx.db, requireViewer(ctx), idOrNull(programId));
    const page = await programLedger(ctx.db, program.id, limit, after);
    return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: toLedgerEntry(e.node) })) };
  }
}
