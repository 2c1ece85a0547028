import { Authorized, Ctx, Field, Int, Mutation, ObjectType, Resolver } from "type-graphql";
import type { Context } from "../graphql/context.js";
import { runMaintenance } from "./maintenance.js";

@ObjectType({ simpleResolvers: true, description: "What one maintenance task did" })
export class MaintenanceResult {
  @Field({
    description:
      'The task: "reconcile-payments", "expireLapsedHolds", "expireStaleBids", "rematchOpenBids" or "deliveries"',
  })
  task!: string;

  @Field(() => Int, { description: "How many records it changed" })
  changed!: number;
}

@Resolver()
export class MaintenanceResolver {
  @Authorized("ADMIN")
  @Mutation(() => [MaintenanceResult], {
    description:
      "Runs the periodic maintenance now (it also runs every MAINTENANCE_INTERVAL_MS): finishes or cancels unfinished payments, " +
      "expires lapsed holds and stale bids, re-matches open bids, makes deliveries final once their grace period has passed " +
      "(with their credits); one result per task, in that order. Role: ADMIN. Errors: " +
      "UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED",
  })
  async runMaintenance(@Ctx() ctx: Context): Promise<MaintenanceResult[]> {
    return (await runMaintenance(ctx.app, ctx.now)).map((r) => Object.assign(new MaintenanceResult(), r));
  }
}
