import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from "type-graphql";
import type { Context } from "../graphql/context.js";
import { requireViewer } from "../graphql/context.js";
import { idOrNull } from "../graphql/ids.js";
import { Money } from "../graphql/money.type.js";
import { AFTER_DESCRIPTION, FIRST_DESCRIPTION, pageSize } from "../graphql/pagination.js";
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
  @Query(() => LedgerEntryConnection, {
    description:
      "A program's budget moves, newest first: every change of available, pending and spent, append-only. Role: CITY_FINANCE " +
      "(of the program's city), ADMIN. Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (unknown id or another city's program), " +
      "BAD_USER_INPUT (first, after)",
  })
  async budgetLedger(
    @Arg("programId", () => ID, { description: 'The program\'s opaque id, like "program_1"' }) programId: string,
    @Ctx() ctx: Context,
    @Arg("first", () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER_DESCRIPTION }) after?: string,
  ) {
    const limit = pageSize(first);
    const program = await programInScope(ctx.db, requireViewer(ctx), idOrNull(programId));
    const page = await programLedger(ctx.db, program.id, limit, after);
    return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: toLedgerEntry(e.node) })) };
  }
}
