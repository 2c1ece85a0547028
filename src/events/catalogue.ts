// The catalogue of events: each type, who receives it and what its payload holds. The triggers of
// migration 0009_events_triggers and the maintenance tasks of events/maintenance.ts write them;
// docs/events.md and the schema's EventType describe the same list (a test compares them).
import type { Role } from "../graphql/context.js";

export interface EventKind {
  /** The name on the wire (webhooks, the Event's `name`), like `bid.matched`. */
  name: string;
  /** The GraphQL enum value, like `BID_MATCHED`. */
  key: string;
  /** The role of the organization that receives it. */
  audience: Exclude<Role, "ADMIN">;
  /** What happened, for the schema's descriptions and the docs. */
  description: string;
  /** The payload's fields, in order. */
  payload: string[];
}

const RESERVATION = ["reservationId", "offerId", "gpuCount", "startsAt", "endsAt", "status", "total"];
const ORDER = ["orderId", "reservationId", "status", "gross", "subsidy", "smeShare", "voucherId", "paidAt"];

export const EVENT_KINDS: readonly EventKind[] = [
  {
    name: "bid.matched",
    key: "BID_MATCHED",
    audience: "SME",
    description:
      "A bid was matched (at once, or later when capacity appeared): its reservation is HELD until holdExpiresAt; check out before then",
    payload: ["bidId", ...RESERVATION, "holdExpiresAt"],
  },
  {
    name: "reservation.hold_expiring",
    key: "RESERVATION_HOLD_EXPIRING",
    audience: "SME",
    description:
      "A HELD reservation with no order lapses soon (HOLD_EXPIRING_MINUTES before holdExpiresAt, default 5): check out or lose it",
    payload: ["reservationId", "bidId", "offerId", "holdExpiresAt"],
  },
  {
    name: "reservation.expired",
    key: "RESERVATION_EXPIRED",
    audience: "SME",
    description: "A hold lapsed without checkout: the reservation and its bid are EXPIRED and the GPUs freed",
    payload: ["bidId", ...RESERVATION, "holdExpiresAt"],
  },
  {
    name: "order.paid",
    key: "ORDER_PAID",
    audience: "SME",
    description: "An order is PAID: the reservation is CONFIRMED and the subsidy posted",
    payload: ORDER,
  },
  {
    name: "order.payment_failed",
    key: "ORDER_PAYMENT_FAILED",
    audience: "SME",
    description: "The payment of an order was refused: the order is FAILED, its subsidy returned and its GPUs freed",
    payload: ORDER,
  },
  {
    name: "order.cancelled",
    key: "ORDER_CANCELLED",
    audience: "SME",
    description: "An unpaid order was cancelled (by the SME, or its payment was cancelled): its GPUs are freed",
    payload: ORDER,
  },
  {
    name: "order.refunded",
    key: "ORDER_REFUNDED",
    audience: "SME",
    description:
      "A paid order was cancelled before the rental: the SME's share refunded, the subsidy back on the voucher",
    payload: ORDER,
  },
  {
    name: "voucher_application.decided",
    key: "VOUCHER_APPLICATION_DECIDED",
    audience: "SME",
    description: "The city decided a voucher application: APPROVED with its voucher, or REJECTED with a reason",
    payload: ["applicationId", "programId", "status", "decisionReason", "voucherId", "grantedAmount", "validUntil"],
  },
  {
    name: "reservation.created",
    key: "RESERVATION_CREATED",
    audience: "DATA_CENTER",
    description: "A bid was matched to one of the operator's offers: GPUs are HELD for checkout until holdExpiresAt",
    payload: [...RESERVATION, "holdExpiresAt"],
  },
  {
    name: "reservation.confirmed",
    key: "RESERVATION_CONFIRMED",
    audience: "DATA_CENTER",
    description: "A reservation on the operator's offer was paid for: the GPUs are booked",
    payload: RESERVATION,
  },
  {
    name: "reservation.released",
    key: "RESERVATION_RELEASED",
    audience: "DATA_CENTER",
    description:
      "A reservation on the operator's offer ended before use (status EXPIRED or CANCELLED): its GPUs are free again",
    payload: RESERVATION,
  },
  {
    name: "voucher_application.submitted",
    key: "VOUCHER_APPLICATION_SUBMITTED",
    audience: "CITY_FINANCE",
    description: "An SME applied for a voucher of one of the city's programs: decide it with decideVoucherApplication",
    payload: ["applicationId", "programId", "smeId", "requestedAmount", "purpose"],
  },
  {
    name: "program.budget_threshold",
    key: "PROGRAM_BUDGET_THRESHOLD",
    audience: "CITY_FINANCE",
    description:
      "80, 95 or 100 % of a program's budget is committed (pending + spent); each threshold once per program",
    payload: ["programId", "thresholdPercent", "total", "available", "pending", "spent"],
  },
  {
    name: "statement.ready",
    key: "STATEMENT_READY",
    audience: "CITY_FINANCE",
    description:
      "A month with claims has ended: its statement can be settled with settleCityStatement; once per statement",
    payload: ["statementId", "programId", "month", "total"],
  },
];

export const KIND_BY_NAME = new Map(EVENT_KINDS.map((kind) => [kind.name, kind]));
export const KIND_BY_KEY = new Map(EVENT_KINDS.map((kind) => [kind.key, kind]));

/** The event types an organization of this role receives. */
export function kindsFor(role: Role): EventKind[] {
  return role === "ADMIN" ? [...EVENT_KINDS] : EVENT_KINDS.filter((kind) => kind.audience === role);
}
