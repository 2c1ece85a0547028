import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { Money } from "../graphql/money.type.js";
import { connectionOf } from "../graphql/pagination.js";
import { Reservation } from "../bids/bids.types.js";
import { Voucher } from "../vouchers/vouchers.types.js";
import { Node } from "../graphql/node.js";

export enum OrderStatus {
  PENDING_PAYMENT = "PENDING_PAYMENT",
  PAID = "PAID",
  FAILED = "FAILED",
  CANCELLED = "CANCELLED",
  REFUNDED = "REFUNDED",
}
registerEnumType(OrderStatus, { name: "OrderStatus" });

@ObjectType({ simpleResolvers: true, description: "The SME's share of an order, charged through the payment provider" })
export class Payment {
  @Field({ description: '"stripe" or "simulated"' })
  provider!: string;

  @Field(() => String, { nullable: true, description: "The provider's id, e.g. a Stripe PaymentIntent id" })
  providerRef!: string | null;

  @Field({ description: "The provider's status, e.g. requires_payment_method, processing, succeeded, canceled, refunded" })
  status!: string;

  @Field(() => String, { nullable: true, description: "For the client app to confirm the payment (Stripe.js); null when nothing is to confirm" })
  clientSecret!: string | null;
}

@ObjectType({ implements: Node, simpleResolvers: true })
export class Order {
  @Field(() => ID)
  id!: string;

  @Field(() => Reservation)
  reservation!: Reservation;

  @Field(() => Voucher, { nullable: true })
  voucher!: Voucher | null;

  @Field(() => Money)
  gross!: Money;

  @Field(() => Money, { description: "Paid by the city's budget" })
  subsidy!: Money;

  @Field(() => Money, { description: "Paid by the SME through the payment provider" })
  smeShare!: Money;

  @Field(() => OrderStatus)
  status!: OrderStatus;

  @Field(() => Payment)
  payment!: Payment;

  @Field(() => Date, { nullable: true })
  paidAt!: Date | null;

  @Field()
  createdAt!: Date;

  reservationId!: number;
  voucherId!: number | null;
}

export const OrderConnection = connectionOf("Order", Order);

@InputType()
export class CheckoutInput {
  @Field(() => ID)
  reservationId!: string;

  @Field(() => ID, { nullable: true, description: "A voucher of the caller's; without one the SME pays the gross" })
  voucherId?: string | null;

  @Field({ description: "Chosen by the client; the same key with the same input returns the same order" })
  idempotencyKey!: string;
}
