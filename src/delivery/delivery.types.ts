import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { Money } from "../graphql/money.type.js";
import { globalId } from "../graphql/ids.js";
import { outagesFromJson } from "./credit.js";
import type { DeliveryView } from "./delivery.service.js";

export enum DeliveryStatus {
  AWAITING_REPORT = "AWAITING_REPORT",
  REPORTED = "REPORTED",
  DISPUTED = "DISPUTED",
  FINAL = "FINAL",
}
registerEnumType(DeliveryStatus, {
  name: "DeliveryStatus",
  description: "Where the delivery of a paid rental stands; its claim on the city's statement waits until it is FINAL",
  valuesConfig: {
    AWAITING_REPORT: {
      description:
        "Nothing reported yet: the rental has not ended, or its grace period (DELIVERY_REPORT_DAYS) runs. Nothing reported " +
        "by the deadline counts as delivered in full",
    },
    REPORTED: { description: "The data center reported; the SME may still dispute it until the deadline" },
    DISPUTED: { description: "The SME disputed it: the claim waits until the admin corrects it (correctDelivery)" },
    FINAL: { description: "Settled for good, with the credit for any undelivered GPU-hours made" },
  },
});

@ObjectType({ simpleResolvers: true, description: "GPUs of a rental that were not available for some whole hours" })
export class Outage {
  @Field({ description: "The first hour out, a whole UTC hour inside the rental" })
  from!: Date;

  @Field({ description: "The end of the outage (exclusive), a whole UTC hour inside the rental" })
  to!: Date;

  @Field(() => Int, { description: "How many of the rental's GPUs were out in each of these hours" })
  gpus!: number;
}

@InputType({ description: "GPUs of a rental that were not available over [from, to)" })
export class OutageInput {
  @Field({ description: 'The first hour out, a whole UTC hour inside the rental, like "2027-03-10T04:00:00Z"' })
  from!: Date;

  @Field({
    description: 'The end (exclusive), a whole UTC hour after from and inside the rental, like "2027-03-10T06:00:00Z"',
  })
  to!: Date;

  @Field(() => Int, {
    description:
      "How many GPUs were out in each of these hours, 1 to the rental's gpuCount; overlapping outages may not put more out in one hour",
  })
  gpus!: number;
}

@InputType({ description: "What a data center delivered of one rental" })
export class DeliveryReportInput {
  @Field(() => Int, {
    description:
      "GPU-hours delivered, 0 to the rental's gpuCount × hours; the outages account for every GPU-hour missing",
  })
  deliveredGpuHours!: number;

  @Field(() => [OutageInput], {
    defaultValue: [],
    description:
      "Where the missing GPU-hours were: their gpus × hours add up to booked − deliveredGpuHours; empty when delivered in full",
  })
  outages!: OutageInput[];
}

@ObjectType({
  simpleResolvers: true,
  description:
    "What a data center delivered of a paid rental, and the credit for what it did not: the subsidy's part back to the " +
    "program, the SME's part refunded. Credits are pro rata and rounded down to the fen, each part on its own",
})
export class Delivery {
  @Field(() => ID, { description: 'The rental, an opaque id like "reservation_12"' })
  reservationId!: string;

  @Field(() => ID, { nullable: true, description: 'The rental\'s paid order, like "order_7"; null when it has none' })
  orderId!: string | null;

  @Field(() => DeliveryStatus, { description: "Where the delivery stands" })
  status!: DeliveryStatus;

  @Field(() => Int, { description: "GPU-hours booked: the rental's gpuCount × hours" })
  bookedGpuHours!: number;

  @Field(() => Int, {
    description: "GPU-hours delivered: as reported or corrected; the booked ones while nothing is reported",
  })
  deliveredGpuHours!: number;

  @Field(() => [Outage], { description: "The outages reported, in the order given" })
  outages!: Outage[];

  @Field({ description: "Nobody reported within the grace period, so it counts as delivered in full" })
  assumed!: boolean;

  @Field({
    description: "Until when the data center may report and the SME dispute: the rental's end + DELIVERY_REPORT_DAYS",
  })
  reportDeadline!: Date;

  @Field(() => Date, { nullable: true, description: "When the data center reported (UTC); null when it did not" })
  reportedAt!: Date | null;

  @Field(() => String, { nullable: true, description: "The SME's reason for disputing; null when not disputed" })
  disputeReason!: string | null;

  @Field(() => Date, { nullable: true, description: "When the SME disputed (UTC)" })
  disputedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "When the admin corrected the figures (UTC)" })
  correctedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "When it became FINAL (UTC)" })
  finalAt!: Date | null;

  @Field(() => Money, {
    description:
      "Subsidy given back to the program and the voucher: floor(subsidy × undelivered / booked); 0 until FINAL",
  })
  subsidyCredit!: Money;

  @Field(() => Money, {
    description:
      "SME's share refunded through the payment provider: floor(smeShare × undelivered / booked); 0 until FINAL",
  })
  smeShareCredit!: Money;

  @Field(() => String, {
    nullable: true,
    description: "The provider's refund of smeShareCredit: pending, succeeded, failed; null when nothing is refunded",
  })
  refundStatus!: string | null;
}

export function toDelivery(view: DeliveryView, now: Date): Delivery {
  const { row, reservation } = view;
  const hours = Math.floor((reservation.endsAt.getTime() - reservation.startsAt.getTime()) / 3_600_000);
  const booked = row?.bookedGpuHours ?? reservation.gpuCount * hours;
  // Nothing stored: awaiting its report, or delivered in full once the deadline has passed (by the clock).
  const lapsed = !row && view.deadline <= now && reservation.status === "CONFIRMED";
  const status = row ? (row.status as DeliveryStatus) : lapsed ? DeliveryStatus.FINAL : DeliveryStatus.AWAITING_REPORT;
  return Object.assign(new Delivery(), {
    reservationId: globalId("Reservation", reservation.id),
    orderId: view.orderId == null ? null : globalId("Order", view.orderId),
    status,
    bookedGpuHours: booked,
    deliveredGpuHours: row?.deliveredGpuHours ?? booked,
    outages: row ? outagesFromJson(row.outages).map((o) => Object.assign(new Outage(), o)) : [],
    assumed: row ? row.assumed : lapsed,
    reportDeadline: view.deadline,
    reportedAt: row?.reportedAt ?? null,
    disputeReason: row?.disputeReason ?? null,
    disputedAt: row?.disputedAt ?? null,
    correctedAt: row?.correctedAt ?? null,
    finalAt: row?.finalAt ?? null,
    subsidyCredit: Money.of(row?.subsidyCredit ?? 0n),
    smeShareCredit: Money.of(row?.smeShareCredit ?? 0n),
    refundStatus: row?.refundStatus ?? null,
  });
}
