import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from "type-graphql";
import { orders } from "../db/schema.js";
import type { Context } from "../graphql/context.js";
import { requireViewer } from "../graphql/context.js";
import { parseId } from "../graphql/ids.js";
import { AFTER_DESCRIPTION, FIRST_DESCRIPTION, pageSize } from "../graphql/pagination.js";
import { programInScope } from "../vouchers/programs.service.js";
import { Order, toOrder } from "../checkout/checkout.types.js";
import { LedgerEntry, LedgerEntryConnection, toLedgerEntry } from "./ledger.types.js";
import { programLedger } from "./ledger.service.js";

@Resolver(() => LedgerEntry)
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
    const program = await programInScope(ctx.db, requireViewer(ctx), parseId("programId", programId, "SubsidyProgram"));
    const page = await programLedger(ctx.db, program.id, limit, after);
    return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: toLedgerEntry(e.node) })) };
  }

  @FieldResolver(() => Order, { description: "The order this entry moved budget for" })
  async order(@Root() entry: LedgerEntry, @Ctx() ctx: Context): Promise<Order> {
    const order = toOrder((await ctx.loaders.byId(orders).load(entry.orderId))!);
    // The client secret pays the SME's share: only the SME sees it, never a finance team.
    order.payment.clientSecret = null;
    return order;
  }
}
