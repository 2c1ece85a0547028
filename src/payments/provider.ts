// The payment provider seen by the checkout: amounts in fen (bigint), currency CNY, idempotency keys
// chosen by the caller (derived from the order, e.g. `order-<id>-create`) so that a retry after a
// crash or timeout can never charge twice.
import type { Tx } from "../db/client.js";

export const PAYMENT_CURRENCY = "cny";

/**
 * Where a payment stands.
 * - `requires_payment_method` / `requires_action`: waiting for the client app (confirm, 3-D Secure).
 * - `processing`: confirmed, outcome not known yet (a webhook will tell).
 * - `succeeded`: the money is taken. Terminal (refunds are separate).
 * - `canceled`: can no longer be paid. Terminal.
 * - `failed`: the last attempt was declined. Stripe would let the client retry with another method,
 *   so the checkout should `cancelPayment` when it fails the order.
 */
export type PaymentStatus =
  "succeeded" | "processing" | "requires_payment_method" | "requires_action" | "canceled" | "failed";

export const PAYMENT_STATUSES: readonly PaymentStatus[] = [
  "succeeded",
  "processing",
  "requires_payment_method",
  "requires_action",
  "canceled",
  "failed",
];

export type RefundStatus = "succeeded" | "pending" | "failed" | "canceled";

export interface CreatePaymentInput {
  orderId: number | string;
  /** Fen, > 0. */
  amount: bigint;
  /** Same key + same input = the same payment (replayed); same key + other input = error. */
  idempotencyKey: string;
  /** Extra string metadata; `orderId` is always set by the provider. */
  metadata?: Record<string, string>;
}

/** What the payer must do next to finish a payment, as the provider said (a redirect, a QR code to scan). */
export interface PaymentAction {
  /** The provider's name for it: `alipay_handle_redirect`, `wechat_pay_display_qr_code`, `redirect_to_url`, ... */
  type: string;
  /** Where to send the payer (Alipay's page, a 3-D Secure check); null when there is none. */
  redirectUrl: string | null;
  /** Alipay's URL for its app on a phone (native_url); null when none. */
  nativeUrl: string | null;
  /** The data to show as a QR code (WeChat Pay: a weixin:// URL); null when none. */
  qrCodeData: string | null;
  /** The QR code as a PNG and an SVG image URL; null when none. */
  qrCodeImageUrlPng: string | null;
  qrCodeImageUrlSvg: string | null;
  /** A page of the provider that shows the payer what to do; null when none. */
  hostedInstructionsUrl: string | null;
}

export interface CreatedPayment {
  ref: string;
  /** Handed to the client app to confirm the payment; null when there is nothing to confirm. */
  clientSecret: string | null;
  status: PaymentStatus;
  /** The payment method types the payer may use (`card`, `alipay`, `wechat_pay`); empty for the simulated provider. */
  methods?: string[];
  /** What the payer must do next; null when nothing (or nothing yet). */
  nextAction?: PaymentAction | null;
}

/** How the payer chose to pay, for a confirmation by the server (Alipay's redirect, WeChat Pay's QR code). */
export interface ConfirmPaymentInput {
  method: string;
  /** Where Alipay sends the payer back; required for `alipay`. */
  returnUrl: string | null;
}

export interface RetrievedPayment {
  ref: string;
  status: PaymentStatus;
  /** Fen; null only when the provider cannot tell (the simulated provider, for a payment another process made). */
  amount: bigint | null;
  /** Lower case, like `cny`; null when unknown (as above). */
  currency: string | null;
  /** Fen refunded so far; null when unknown (as above). */
  amountRefunded: bigint | null;
  metadata: Record<string, string>;
}

export interface RefundResult {
  ref: string;
  status: RefundStatus;
}

export interface CancelResult {
  ref: string;
  /** The payment's true status after the attempt: `canceled`, or `succeeded` when it was paid first. */
  status: PaymentStatus;
}

/**
 * Errors:
 * - `ProviderUnavailableError`: outage, 5xx, rate limit or timeout after the SDK's own retries. The
 *   outcome is unknown: retry later with the SAME idempotency key, or settle from a webhook / re-read.
 * - `PaymentNotFoundError`: no such payment at the provider.
 * - `PaymentProviderError`: the provider refused the request (bad parameters, idempotency clash, bad
 *   key, a state that forbids it). Not retryable as is.
 * A card decline is never thrown: `createPayment` and `retrievePayment` report it as status `failed`.
 */
export interface PaymentProvider {
  readonly name: "stripe" | "simulated";
  createPayment(input: CreatePaymentInput): Promise<CreatedPayment>;
  retrievePayment(ref: string): Promise<RetrievedPayment>;
  /** Cancels an unpaid payment so it can no longer be paid; reports `succeeded` when it was paid first. */
  cancelPayment(ref: string, idempotencyKey: string): Promise<CancelResult>;
  /** Refunds `amount` fen (> 0) of a succeeded payment. */
  refundPayment(ref: string, amount: bigint, idempotencyKey: string): Promise<RefundResult>;
  /**
   * Confirms an unpaid payment with a method that needs no card details (`alipay`, `wechat_pay`):
   * the answer carries the next action (a redirect, a QR code). Null when the provider has nothing
   * to confirm (the simulated provider pays at once).
   */
  confirmPayment(ref: string, input: ConfirmPaymentInput, idempotencyKey: string): Promise<CreatedPayment | null>;
}

export class PaymentProviderError extends Error {
  readonly retryable: boolean = false;
  constructor(
    message: string,
    /** The provider's error code when it gave one (e.g. `idempotency_error`, `payment_intent_unexpected_state`). */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "PaymentProviderError";
  }
}

/** The provider could not be reached or failed; the outcome of the request is unknown. */
export class ProviderUnavailableError extends PaymentProviderError {
  override readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "provider_unavailable", options);
    this.name = "ProviderUnavailableError";
  }
}

export class PaymentNotFoundError extends PaymentProviderError {
  constructor(
    readonly ref: string,
    options?: { cause?: unknown },
  ) {
    super("No such payment at the provider", "resource_missing", options);
    this.name = "PaymentNotFoundError";
  }
}

/** What a verified webhook tells the checkout, after the payment was re-read from the provider. */
export interface PaymentOutcome {
  eventId: string;
  /** e.g. `payment_intent.succeeded`, `payment_intent.payment_failed`, `payment_intent.canceled`, `charge.refunded`. */
  eventType: string;
  ref: string;
  /** The payment's status as re-read from the provider, not as the (possibly stale) event said. */
  status: PaymentStatus;
  amount: bigint | null;
  currency: string | null;
  amountRefunded: bigint | null;
  metadata: Record<string, string>;
}

/**
 * Registered by the checkout. Runs inside the transaction that records the event id, so a failure
 * (throw) rolls both back and the provider's retry handles the event again. Events may arrive in
 * any order and more than once per payment: act on `status`, and only move an order forward.
 */
export interface PaymentEventHandler {
  /** May return work to run after the transaction commits (calls to the provider, re-matching). */
  onPaymentOutcome(tx: Tx, outcome: PaymentOutcome, now: Date): Promise<void | (() => Promise<void>)>;
}

export const noPaymentEvents: PaymentEventHandler = { onPaymentOutcome: async () => {} };

/** Fen as the integer the providers' APIs take; amounts must be positive and exact. */
export function fenToProviderAmount(amount: bigint, field = "amount"): number {
  if (typeof amount !== "bigint" || amount <= 0n || amount > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`${field} must be a positive number of fen`);
  }
  return Number(amount);
}
