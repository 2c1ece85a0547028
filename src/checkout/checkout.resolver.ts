import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { reservations, vouchers } from "../db/schema.js";
import type { Executor } from "../db/client.js";
import type { Context } from "../graphql/context.js";
import { orgIdOf } from "../graphql/context.js";
import { globalId, parseId, parseOptionalId } from "../graphql/ids.js";
import { actorOf, recordAudit } from "../audit/audit.service.js";
import { formatYuan } from "../money.js";
import { DomainError } from "../errors.js";
import { AFTER_DESCRIPTION, FIRST_DESCRIPTION, pageSize } from "../graphql/pagination.js";
import { Reservation, toReservation } from "../bids/bids.types.js";
import { toVoucher, Voucher } from "../vouchers/vouchers.types.js";
import {
  CheckoutInput,
  Order,
  OrderConnection,
  PaymentConfiguration,
  PaymentMethod,
  STRIPE_METHOD,
  toOrder,
} from "./checkout.types.js";
import * as service from "./checkout.service.js";
import type { OrderRow } from "./settlement.js";

/** The audit trail's view of an order: amounts and status, never the payment's client secret. */
function orderDetail(order: OrderRow): string {
  const voucher = order.voucherId == null ? "no voucher" : `voucher ${globalId("Voucher", order.voucherId)}`;
  return `${order.status} reservation ${globalId("Reservation", order.reservationId)}, ${voucher}: gross ${formatYuan(order.gross)}, subsidy ${formatYuan(order.subsidy)}, SME ${formatYuan(order.smeShare)}`;
}

@Resolver(() => Order)
export class CheckoutResolver {
  @Authorized("SME")
  @Mutation(() => Order, {
    description:
      "Checks out a HELD reservation, with a voucher when given: the subsidy (see quote) is taken from the program's budget and " +
      "the voucher, and the SME's share is charged. With the simulated provider, or a share of 0, the order is PAID at once; " +
      "with Stripe it is PENDING_PAYMENT with payment.clientSecret for Stripe.js, and becomes PAID when Stripe confirms. The " +
      "same idempotencyKey with the same input returns the same order; with other input it is CONFLICT. Role: SME (the " +
      "reservation's holder). Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (idempotencyKey, malformed voucherId), " +
      "NOT_FOUND (unknown reservation or another SME's), CONFLICT (not HELD, hold lapsed, already has an order, key reused), " +
      "NOT_ELIGIBLE (the voucher may not pay; extensions.reason says why, e.g. VOUCHER_EXPIRED, HUB_NOT_ELIGIBLE), " +
      "PAYMENT_FAILED (extensions.retryable true: the provider was unreachable, retry with the same key; false: refused, " +
      "the order is FAILED), RATE_LIMITED",
  })
  async checkout(
    @Arg("input", { description: "The reservation, the voucher and the idempotency key" }) input: CheckoutInput,
    @Ctx() ctx: Context,
  ): Promise<Order> {
    const request = {
      smeId: orgIdOf(ctx),
      reservationId: parseId("reservationId", input.reservationId, "Reservation"),
      voucherId: parseOptionalId("voucherId", input.voucherId, "Voucher"),
      idempotencyKey: input.idempotencyKey,
    };
    const actor = actorOf(ctx);
    const created = (tx: Executor, order: OrderRow) =>
      recordAudit(tx, actor, {
        action: "CHECKOUT",
        targetId: order.id,
        programId: order.programId,
        detail: orderDetail(order),
      });
    let order: OrderRow;
    try {
      order = await service.checkout(ctx.app, request, ctx.now, created);
    } catch (error) {
      ctx.app.meters.checkout(error instanceof DomainError ? "REFUSED" : "ERROR");
      throw error;
    }
    ctx.app.meters.checkout(order.status);
    return toOrder(order);
  }

  @Query(() => PaymentConfiguration, {
    description:
      "How checkout takes the SME's share on this server: the provider, and for Stripe the publishable key Stripe.js needs " +
      "and the payment methods offered. Role: anyone, no token needed. Errors: UNAUTHENTICATED only for an unknown token",
  })
  paymentConfiguration(@Ctx() ctx: Context): PaymentConfiguration {
    const stripe = ctx.app.payments.name === "stripe";
    return {
      provider: ctx.app.payments.name,
      publishableKey: stripe ? (ctx.app.config.stripePublishableKey ?? null) : null,
      methods: stripe
        ? (Object.entries(STRIPE_METHOD) as [PaymentMethod, string][])
            .filter(([, name]) => ctx.app.config.stripePaymentMethods.some((offered) => offered === name))
            .map(([method]) => method)
        : [],
    };
  }

  @Authorized("SME")
  @Mutation(() => Order, {
    description:
      "Cancels one of the caller's orders before the rental starts: a PAID one is refunded (REFUNDED), a PENDING_PAYMENT one " +
      "CANCELLED (its payment can no longer be made). Either way the subsidy goes back to the budget and the voucher, and the " +
      "GPUs are freed. Role: SME (the order's owner). Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (unknown id or another " +
      "SME's order), CONFLICT (the rental has started, or the order is already FAILED, CANCELLED or REFUNDED), PAYMENT_FAILED " +
      "(the provider could not cancel or refund; retry), RATE_LIMITED",
  })
  async cancelOrder(
    @Arg("id", () => ID, { description: 'The order\'s opaque id, like "order_7"' }) id: string,
    @Ctx() ctx: Context,
  ): Promise<Order> {
    const orderId = parseId("id", id, "Order");
    const actor = actorOf(ctx);
    const cancelled = (tx: Executor, order: OrderRow) =>
      recordAudit(tx, actor, {
        action: "CANCEL_ORDER",
        targetId: order.id,
        programId: order.programId,
        detail: orderDetail(order),
      });
    return toOrder(await service.cancelOrder(ctx.app, orgIdOf(ctx), orderId, ctx.now, cancelled));
  }

  @Authorized("SME")
  @Mutation(() => Order, {
    description:
      "Pays a PENDING_PAYMENT order's share with Alipay or WeChat Pay: the server confirms the Stripe payment with that " +
      "method and answers the order with payment.nextAction: Alipay's redirect (redirectUrl, nativeUrl) or WeChat Pay's QR " +
      "code (qrCodeData, qrCodeImageUrlPng). The order becomes PAID when Stripe reports the payment. The same method and " +
      "returnUrl again answer the same action. A card is confirmed in the client with Stripe.js instead. Role: SME (the " +
      "order's owner). Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (method not among payment.methods, or CARD; " +
      "returnUrl missing or not http(s) for ALIPAY), NOT_FOUND (unknown id or another SME's order), CONFLICT (not " +
      "PENDING_PAYMENT, or nothing to confirm), PAYMENT_FAILED (the provider refused or was unreachable), RATE_LIMITED",
  })
  async confirmPayment(
    @Arg("orderId", () => ID, { description: 'The order\'s opaque id, like "order_7"' }) orderId: string,
    @Arg("method", () => PaymentMethod, { description: "ALIPAY or WECHAT_PAY, one of the order's payment.methods" })
    method: PaymentMethod,
    @Arg("returnUrl", () => String, {
      nullable: true,
      description: 'ALIPAY: the http(s) page Alipay sends the payer back to, like "https://app.example.com/orders/7"',
    })
    returnUrl: string | null | undefined,
    @Ctx() ctx: Context,
  ): Promise<Order> {
    const id = parseId("orderId", orderId, "Order");
    return toOrder(
      await service.confirmOrderPayment(
        ctx.app,
        orgIdOf(ctx),
        id,
        { method: STRIPE_METHOD[method], returnUrl: returnUrl ?? null },
        ctx.now,
      ),
    );
  }

  @Authorized("SME")
  @Query(() => Order, {
    nullable: true,
    description:
      "One of the caller's orders; null for an unknown id or another SME's order. Role: SME. Errors: UNAUTHENTICATED, FORBIDDEN",
  })
  async order(
    @Arg("id", () => ID, { description: 'The order\'s opaque id, like "order_7"' }) id: string,
    @Ctx() ctx: Context,
  ): Promise<Order | null> {
    const row = await service.ownOrder(ctx.db, orgIdOf(ctx), parseId("id", id, "Order"));
    return row ? toOrder(row) : null;
  }

  @Authorized("SME")
  @Query(() => OrderConnection, {
    description:
      "The caller's orders, newest first, in every status. Role: SME. Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (first, after)",
  })
  async myOrders(
    @Ctx() ctx: Context,
    @Arg("first", () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER_DESCRIPTION }) after?: string,
  ) {
    const page = await service.smeOrders(ctx.db, orgIdOf(ctx), pageSize(first), after);
    return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: toOrder(e.node) })) };
  }

  @FieldResolver(() => Reservation, { description: "The reservation checked out" })
  async reservation(@Root() order: Order, @Ctx() ctx: Context): Promise<Reservation> {
    return toReservation((await ctx.loaders.byId(reservations).load(order.reservationId))!);
  }

  @FieldResolver(() => Voucher, { nullable: true, description: "The voucher that pays the subsidy; null without one" })
  async voucher(@Root() order: Order, @Ctx() ctx: Context): Promise<Voucher | null> {
    if (order.voucherId == null) return null;
    const row = await ctx.loaders.byId(vouchers).load(order.voucherId);
    return row ? toVoucher(row, ctx.now) : null;
  }
}
