import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { Context } from "../graphql/context.js";
import { orgIdOf, requireViewer } from "../graphql/context.js";
import { globalId, parseId } from "../graphql/ids.js";
import { actorOf, recordAudit } from "../audit/audit.service.js";
import { formatYuan } from "../money.js";
import { Delivery, DeliveryReportInput, toDelivery } from "./delivery.types.js";
import * as service from "./delivery.service.js";
import type { DeliveryRow } from "./delivery.service.js";

/** What the audit trail says about a delivery. */
function deliveryDetail(row: DeliveryRow): string {
  const outages = JSON.parse(row.outages) as unknown[];
  const credit =
    row.status === "FINAL"
      ? `; credit subsidy ${formatYuan(row.subsidyCredit)}, SME ${formatYuan(row.smeShareCredit)}`
      : "";
  return `${row.status} ${row.deliveredGpuHours}/${row.bookedGpuHours} GPU-h delivered, ${outages.length} outage(s)${credit}`;
}

const report = (input: DeliveryReportInput) => ({ deliveredGpuHours: input.deliveredGpuHours, outages: input.outages });

@Resolver(() => Delivery)
export class DeliveryResolver {
  @Authorized("SME", "DATA_CENTER", "ADMIN")
  @Query(() => Delivery, {
    nullable: true,
    description:
      "The delivery of a rental: what its data center delivered, disputes, and the credit for what it did not. Null for an " +
      "unknown reservation or one the caller may not see. Role: SME (the rental's), DATA_CENTER (its data center's operator), " +
      "ADMIN. Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (malformed id)",
  })
  async delivery(
    @Arg("reservationId", () => ID, { description: 'The rental, an opaque id like "reservation_12"' })
    reservationId: string,
    @Ctx() ctx: Context,
  ): Promise<Delivery | null> {
    const id = parseId("reservationId", reservationId, "Reservation");
    const view = await service.deliveryOf(ctx.db, requireViewer(ctx), id, ctx.app.config.deliveryReportDays);
    return view ? toDelivery(view, ctx.now) : null;
  }

  @Authorized("DATA_CENTER")
  @Mutation(() => Delivery, {
    description:
      "Reports what a data center delivered of a CONFIRMED rental that has ended, once, before the deadline (its end + " +
      "DELIVERY_REPORT_DAYS, default 3 days); only the admin corrects it afterwards. The credit for undelivered GPU-hours is " +
      "made when the delivery is final (the deadline passed without a dispute). Role: DATA_CENTER (the rental's data center's " +
      "operator). Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (deliveredGpuHours, outages[i].from/to/gpus; " +
      "extensions.field names it), NOT_FOUND (unknown reservation or another operator's), CONFLICT (not paid, not ended; " +
      "extensions.reason DELIVERY_ALREADY_REPORTED or DELIVERY_REPORT_CLOSED), RATE_LIMITED",
  })
  async reportDelivery(
    @Arg("reservationId", () => ID, { description: 'The rental, an opaque id like "reservation_12"' })
    reservationId: string,
    @Arg("input", () => DeliveryReportInput, { description: "GPU-hours delivered and the outages behind the rest" })
    input: DeliveryReportInput,
    @Ctx() ctx: Context,
  ): Promise<Delivery> {
    const id = parseId("reservationId", reservationId, "Reservation");
    const grace = ctx.app.config.deliveryReportDays;
    await ctx.db.transaction(async (tx) => {
      const row = await service.reportDelivery(tx, orgIdOf(ctx), id, report(input), grace, ctx.now);
      await recordAudit(tx, actorOf(ctx), { action: "REPORT_DELIVERY", targetId: id, detail: deliveryDetail(row) });
    });
    return this.answer(ctx, id);
  }

  @Authorized("SME")
  @Mutation(() => Delivery, {
    description:
      "Disputes the delivery of the caller's rental, reported or not, before the deadline (its end + DELIVERY_REPORT_DAYS): " +
      "the claim on the city's statement waits, and the month cannot be settled, until the admin corrects it. Role: SME (the " +
      "rental's). Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (reason: 1 to 1000 characters), NOT_FOUND, CONFLICT " +
      "(not paid, not ended, already final; extensions.reason DELIVERY_DISPUTED or DELIVERY_REPORT_CLOSED), RATE_LIMITED",
  })
  async disputeDelivery(
    @Arg("reservationId", () => ID, { description: 'The rental, an opaque id like "reservation_12"' })
    reservationId: string,
    @Arg("reason", {
      description: 'Why, 1 to 1000 characters, like "4 GPUs were down on 10 March from 04:00 to 06:00"',
    })
    reason: string,
    @Ctx() ctx: Context,
  ): Promise<Delivery> {
    const id = parseId("reservationId", reservationId, "Reservation");
    const grace = ctx.app.config.deliveryReportDays;
    await ctx.db.transaction(async (tx) => {
      const row = await service.disputeDelivery(tx, orgIdOf(ctx), id, reason, grace, ctx.now);
      await recordAudit(tx, actorOf(ctx), { action: "DISPUTE_DELIVERY", targetId: id, detail: deliveryDetail(row) });
    });
    return this.answer(ctx, id);
  }

  @Authorized("ADMIN")
  @Mutation(() => Delivery, {
    description:
      "Sets what was delivered of an ended, paid rental whose delivery is not final (reported, disputed or not reported), " +
      "resolving any dispute: the delivery is FINAL at once and the credit for undelivered GPU-hours is made (subsidy back to " +
      "the program and the voucher, the SME's part refunded). Role: ADMIN. Errors: UNAUTHENTICATED, FORBIDDEN, " +
      "BAD_USER_INPUT (as reportDelivery), NOT_FOUND, CONFLICT (not paid, not ended, already final), RATE_LIMITED",
  })
  async correctDelivery(
    @Arg("reservationId", () => ID, { description: 'The rental, an opaque id like "reservation_12"' })
    reservationId: string,
    @Arg("input", () => DeliveryReportInput, { description: "GPU-hours delivered and the outages behind the rest" })
    input: DeliveryReportInput,
    @Ctx() ctx: Context,
  ): Promise<Delivery> {
    const id = parseId("reservationId", reservationId, "Reservation");
    const { due } = await ctx.db.transaction(async (tx) => {
      const result = await service.correctDelivery(tx, id, report(input), ctx.now);
      await recordAudit(tx, actorOf(ctx), {
        action: "CORRECT_DELIVERY",
        targetId: id,
        detail: deliveryDetail(result.row),
      });
      return result;
    });
    if (due) await service.refundCredit(ctx.app, due, ctx.now);
    return this.answer(ctx, id);
  }

  private async answer(ctx: Context, id: number): Promise<Delivery> {
    const view = await service.deliveryOf(ctx.db, requireViewer(ctx), id, ctx.app.config.deliveryReportDays);
    if (!view) throw new Error(`delivery of ${globalId("Reservation", id)} vanished`);
    return toDelivery(view, ctx.now);
  }
}
