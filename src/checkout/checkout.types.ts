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

export enum PaymentMethod {
  CARD = "CARD",
  ALIPAY = "ALIPAY",
  WECHAT_PAY = "WECHAT_PAY",
}
registerEnumType(PaymentMethod, {
  name: "PaymentMethod",
  description: "How an SME pays its share through Stripe; the server offers those of STRIPE_PAYMENT_METHODS",
  valuesConfig: {
    CARD: {
      description:
        "A bank card (UnionPay, Visa, ...), confirmed in the client app with Stripe.js and payment.clientSecret",
    },
    ALIPAY: {
      description: "Alipay (支付宝): confirmPayment answers the redirect to Alipay (payment.nextAction.redirectUrl)",
    },
    WECHAT_PAY: {
      description:
        "WeChat Pay (微信支付): confirmPayment answers a QR code to scan with WeChat (payment.nextAction.qrCodeData)",
    },
  },
});

/** Stripe's names of the methods, and back. */
export const STRIPE_METHOD: Record<PaymentMethod, string> = {
  CARD: "card",
  ALIPAY: "alipay",
  WECHAT_PAY: "wechat_pay",
};
const METHOD_OF_STRIPE = new Map(
  Object.entries(STRIPE_METHOD).map(([method, name]) => [name, method as PaymentMethod]),
);

@ObjectType({
  simpleResolvers: true,
  description:
    "What the payer must do next to finish paying: open a redirect (Alipay, 3-D Secure) or scan a QR code (WeChat Pay)",
})
export class PaymentNextAction {
  @Field({
    description:
      'Stripe\'s name for it: "alipay_handle_redirect", "wechat_pay_display_qr_code", "redirect_to_url" or another Stripe may add',
  })
  type!: string;

  @Field(() => String, {
    nullable: true,
    description: "Send the payer here (Alipay's payment page, a bank's check); null when none",
  })
  redirectUrl!: string | null;

  @Field(() => String, {
    nullable: true,
    description: "Alipay: the URL that opens the Alipay app on a phone; null when none",
  })
  nativeUrl!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "WeChat Pay: the data to show as a QR code (a weixin:// URL) for the payer to scan with WeChat; null when none",
  })
  qrCodeData!: string | null;

  @Field(() => String, { nullable: true, description: "WeChat Pay: the QR code as a PNG image URL; null when none" })
  qrCodeImageUrlPng!: string | null;

  @Field(() => String, { nullable: true, description: "WeChat Pay: the QR code as an SVG image URL; null when none" })
  qrCodeImageUrlSvg!: string | null;

  @Field(() => String, { nullable: true, description: "A Stripe page showing the payer what to do; null when none" })
  hostedInstructionsUrl!: string | null;
}

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

  @Field(() => [PaymentMethod], {
    description:
      "How this payment may be made (STRIPE_PAYMENT_METHODS when it was created); empty with the simulated provider. " +
      "CARD through Stripe.js with clientSecret; ALIPAY and WECHAT_PAY through confirmPayment",
  })
  methods!: PaymentMethod[];

  @Field(() => PaymentNextAction, {
    nullable: true,
    description:
      "What the payer must do next (after confirmPayment: Alipay's redirect, WeChat Pay's QR code); null when nothing, and " +
      "in any status but PENDING_PAYMENT",
  })
  nextAction!: PaymentNextAction | null;
}

/** The methods and next action an order keeps of its payment (orders.payment_action). */
function paymentChoices(row: OrderRow): { methods: PaymentMethod[]; nextAction: PaymentNextAction | null } {
  if (!row.paymentAction) return { methods: [], nextAction: null };
  const stored = JSON.parse(row.paymentAction) as { methods?: string[]; nextAction?: PaymentNextAction | null };
  const methods = (stored.methods ?? []).flatMap((name) => {
    const method = METHOD_OF_STRIPE.get(name);
    return method ? [method] : [];
  });
  const nextAction =
    row.status === "PENDING_PAYMENT" && stored.nextAction
      ? Object.assign(new PaymentNextAction(), stored.nextAction)
      : null;
  return { methods, nextAction };
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

  @Field(() => Money, {
    description:
      "Subsidy given back to the program for GPU-hours not delivered (see Delivery); the city pays subsidy − subsidyCredited",
  })
  subsidyCredited!: Money;

  @Field(() => Money, {
    description:
      "SME's share refunded for GPU-hours not delivered (see Delivery); the SME pays smeShare − smeShareCredited",
  })
  smeShareCredited!: Money;

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
    subsidyCredited: Money.of(row.subsidyCredited),
    smeShareCredited: Money.of(row.smeShareCredited),
    status: row.status as OrderStatus,
    payment: Object.assign(new Payment(), {
      provider: row.paymentProvider,
      providerRef: row.paymentRef,
      status: row.paymentStatus,
      clientSecret: row.status === "PENDING_PAYMENT" ? row.clientSecret : null,
      ...paymentChoices(row),
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

@ObjectType({
  simpleResolvers: true,
  description:
    "How this server takes the SME's share, for a client app such as the web console: public, no token needed",
})
export class PaymentConfiguration {
  @Field({ description: '"stripe", or "simulated" on a server without Stripe keys (every payment succeeds at once)' })
  provider!: string;

  @Field(() => String, {
    nullable: true,
    description:
      "Stripe's publishable key (pk_live_... or pk_test_..., STRIPE_PUBLISHABLE_KEY) for Stripe.js, public by design; " +
      "null with the simulated provider, or when the server was given none (then the payment is collected elsewhere)",
  })
  publishableKey!: string | null;

  @Field(() => [PaymentMethod], {
    description:
      "The methods checkout offers through Stripe (STRIPE_PAYMENT_METHODS); empty with the simulated provider",
  })
  methods!: PaymentMethod[];
}
