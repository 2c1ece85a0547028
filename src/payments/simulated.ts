// The provider used without Stripe keys: every payment succeeds at once. Refs are derived from the
// order (and refund refs from the idempotency key), so every server process answers alike.
import { createHash } from "node:crypto";
import {
  PAYMENT_CURRENCY,
  fenToProviderAmount,
  type CancelResult,
  type CreatedPayment,
  type CreatePaymentInput,
  type PaymentProvider,
  type RefundResult,
  type RetrievedPayment,
} from "./provider.js";

const REF_PREFIX = "sim_";

export class SimulatedProvider implements PaymentProvider {
  readonly name = "simulated" as const;
  // Only to report amounts back in this process; nothing depends on it.
  private readonly amounts = new Map<string, { amount: bigint; refunded: bigint; refundKeys: Set<string> }>();

  async createPayment(input: CreatePaymentInput): Promise<CreatedPayment> {
    fenToProviderAmount(input.amount);
    const ref = `${REF_PREFIX}${String(input.orderId)}`;
    if (!this.amounts.has(ref)) this.amounts.set(ref, { amount: input.amount, refunded: 0n, refundKeys: new Set() });
    return { ref, clientSecret: null, status: "succeeded" };
  }

  async retrievePayment(ref: string): Promise<RetrievedPayment> {
    const known = this.amounts.get(ref);
    const orderId = ref.startsWith(REF_PREFIX) ? ref.slice(REF_PREFIX.length) : "";
    return {
      ref,
      status: "succeeded",
      amount: known?.amount ?? null,
      currency: known ? PAYMENT_CURRENCY : null,
      amountRefunded: known?.refunded ?? null,
      metadata: orderId ? { orderId } : {},
    };
  }

  /** A simulated payment is paid the moment it exists, so there is never anything to cancel. */
  async cancelPayment(ref: string): Promise<CancelResult> {
    return { ref, status: "succeeded" };
  }

  /** Nothing to confirm: a simulated payment is paid the moment it exists. */
  async confirmPayment(): Promise<null> {
    return null;
  }

  async refundPayment(ref: string, amount: bigint, idempotencyKey: string): Promise<RefundResult> {
    fenToProviderAmount(amount);
    const known = this.amounts.get(ref);
    if (known && !known.refundKeys.has(idempotencyKey)) {
      known.refundKeys.add(idempotencyKey);
      known.refunded += amount;
    }
    const refundRef = `simre_${createHash("sha256").update(`${ref}\n${idempotencyKey}`).digest("hex").slice(0, 24)}`;
    return { ref: refundRef, status: "succeeded" };
  }
}
