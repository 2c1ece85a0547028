import { Authorized, Ctx, Field, Int, Mutation, ObjectType, Resolver } from "type-graphql";
import type { Context } from "../graphql/context.js";
import { runMaintenance } from "./maintenance.js";

@ObjectType({ simpleResolvers: true })
export class MaintenanceResult {
  @Field()
  task!: string;

  @Field(() => Int)
  changed!: number;
}

@Resolver()
export class MaintenanceResolver {
  @Authorized("ADMIN")
  @Mutation(() => [MaintenanceResult], { description: "Runs the periodic maintenance now (it also runs on a timer)" })
  async runMaintenance(@Ctx() ctx: Context): Promise<MaintenanceResult[]> {
    return (await runMaintenance(ctx.app, ctx.now)).map((r) => Object.assign(new MaintenanceResult(), r));
  }
}
