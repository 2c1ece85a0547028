// The order's status machine. An order is created PENDING_PAYMENT by its checkout; its payment's
// outcome or the SME's cancellation moves it on, only ever forward. settlement.ts and
// checkout.service.ts move orders by this table; docs/domain.md shows it.
import { orderStatus } from "../db/schema.js";
import type { StateMachine } from "../states.js";

export type OrderStatus = (typeof orderStatus.enumValues)[number];

export type OrderEvent =
  /** The provider reports the payment succeeded (the checkout's call, a webhook, the reconciler). */
  | "paymentSucceeded"
  /** The provider refused or declined the payment, or was not reached within the payment window. */
  | "paymentFailed"
  /** Paid after the hold lapsed and its GPUs went to another bid: the money goes back. */
  | "gpusTaken"
  /** The payment was cancelled at the provider (by the reconciler once the payment window passed). */
  | "paymentCanceled"
  /** The SME's cancelOrder, before the rental starts. */
  | "cancelOrder";

export const orderStates: StateMachine<OrderStatus, OrderEvent> = {
  name: "order",
  states: orderStatus.enumValues,
  initial: ["PENDING_PAYMENT"],
  moves: [
    { from: "PENDING_PAYMENT", to: "PAID", on: "paymentSucceeded" },
    { from: "PENDING_PAYMENT", to: "FAILED", on: "paymentFailed" },
    { from: "PENDING_PAYMENT", to: "FAILED", on: "gpusTaken" },
    { from: "PENDING_PAYMENT", to: "CANCELLED", on: "paymentCanceled" },
    { from: "PENDING_PAYMENT", to: "CANCELLED", on: "cancelOrder" },
    { from: "PAID", to: "REFUNDED", on: "cancelOrder" },
  ],
};
