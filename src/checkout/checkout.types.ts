import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { Money } from "../graphql/money.type.js";
import { connectionOf } from "../graphql/pagination.js";
import { Reservation } from "../bids/bids.types.js";
import { Voucher } from "../vouchers/vouchers.types.js";
import { globalId } from "../graphql/ids.js";
import { GlobalNode } from "../graphql/node.js";
import type { OrderRow } from "./settlement.js";

export enum OrderStatus {
  PENDING_PAYMENT = "PENDING_PAYMENT",
  PAID = "PAID",
  FAILED = "FAILED",
  CANCELLED = "CANCELLED",
  REFUNDED = "REFUNDED",
}
registerEnumType(OrderStatus, {
  name: "OrderStatus",
  description: "Where an order stands: PENDING_PAYMENT, then PAID, FAILED or CANCELLED; a PAID one may become REFUNDED",
  valuesConfig: {
    PENDING_PAYMENT: {
      description:
        "Waiting for the SME's payment (confirm it with payment.clientSecret); the subsidy is pending. Unpaid after 60 minutes, it is CANCELLED",
    },
    PAID: { description: "Paid: the reservation is CONFIRMED, the subsidy spent and billed to the city" },
    FAILED: {
      description:
        "The payment failed: nothing charged, the subsidy back in the budget and the voucher, the GPUs freed",
    },
    CANCELLED: {
      description:
        "Cancelled before payment (cancelOrder, or the payment window passed): nothing charged, subsidy and GPUs back",
    },
    REFUNDED: {
      description:
        "Cancelled after payment, before the rental started: the SME's share refunded, subsidy and GPUs back",
    },
  },
});

@ObjectType({ simpleResolvers: true, description: "The SME's share of an order, charged through the payment provider" })
export class Payment {
  @Field({ description: '"stripe", or "simulated" on a server without Stripe keys (succeeds at once)' })
  provider!: string;

  @Field(() => String, {
    nullable: true,
    description:
      'The provider\'s id, like a Stripe PaymentIntent id "pi_3Q…"; null when nothing was charged (smeShare 0) or not yet',
  })
  providerRef!: string | null;

  @Field({
    description: "The provider's status, e.g. requires_payment_method, processing, succeeded, canceled, refunded",
  })
  status!: string;

  @Field(() => String, {
    nullable: true,
    description:
      "For the client app to confirm the payment with Stripe.js; null when nothing is left to confirm (any status but PENDING_PAYMENT)",
  })
  clientSecret!: string | null;
}

@ObjectType({
  implements: GlobalNode,
  simpleResolvers: true,
  description: "The checkout of one reservation: gross = subsidy + smeShare, to the fen, and the SME's payment",
})
export class Order {
  @Field(() => ID, { description: 'Opaque id, like "order_7"' })
  id!: string;

  @Field(() => Reservation, { description: "The reservation checked out" })
  reservation!: Reservation;

  @Field(() => Voucher, { nullable: true, description: "The voucher that pays the subsidy; null without one" })
  voucher!: Voucher | null;

  @Field(() => Money, { description: "The rent: gpuCount × hours × pricePerGpuHour of the reservation" })
  gross!: Money;

  @Field(() => Money, { description: "Paid by the city's budget through the voucher; 0 without one" })
  subsidy!: Money;

  @Field(() => Money, { description: "Paid by the SME through the payment provider: gross - subsidy" })
  smeShare!: Money;

  @Field(() => OrderStatus, { description: "Where the order stands" })
  status!: OrderStatus;

  @Field(() => Payment, { description: "The SME's payment" })
  payment!: Payment;

  @Field(() => Date, {
    nullable: true,
    description:
      "When the payment succeeded (UTC); null until PAID. Claims are billed to its month in the billing time zone (Asia/Shanghai by default)",
  })
  paidAt!: Date | null;

  @Field({ description: "When the checkout was made (UTC)" })
  createdAt!: Date;

  reservationId!: number;
  voucherId!: number | null;
}

export function toOrder(row: OrderRow): Order {
  return Object.assign(new Order(), {
    id: globalId("Order", row.id),
    reservationId: row.reservationId,
    voucherId: row.voucherId,
    gross: Money.of(row.gross),
    subsidy: Money.of(row.subsidy),
    smeShare: Money.of(row.smeShare),
    status: row.status as OrderStatus,
    payment: Object.assign(new Payment(), {
      provider: row.paymentProvider,
      providerRef: row.paymentRef,
      status: row.paymentStatus,
      clientSecret: row.status === "PENDING_PAYMENT" ? row.clientSecret : null,
    }),
    paidAt: row.paidAt,
    createdAt: row.createdAt,
  });
}

export const OrderConnection = connectionOf("Order", Order);

@InputType({ description: "The input of checkout: which reservation, with which voucher, under which idempotency key" })
export class CheckoutInput {
  @Field(() => ID, { description: 'A HELD reservation of the caller\'s, an opaque id like "reservation_12"' })
  reservationId!: string;

  @Field(() => ID, {
    nullable: true,
    description: 'A voucher of the caller\'s, an opaque id like "voucher_1"; without one the SME pays the gross',
  })
  voucherId?: string | null;

  @Field({
    description:
      'Chosen by the client, 1 to 200 printable ASCII characters without spaces, like "rent-2027-06-01-a": the same key with ' +
      "the same input returns the same order (retry safely), with other input it is CONFLICT",
  })
  idempotencyKey!: string;
}
